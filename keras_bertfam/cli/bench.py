"""`bertfam bench`: the benchmarks of a keras_bertfam checkout, side by side in one run.

The benchmarks are not part of the installed package: they live in the `benchmarks/`
folder of the source repository, with the peers and data they need. `bertfam bench`
runs them when it finds that folder: in the current directory or one above it, or
beside the installed source tree (an editable install, `pip install -e .`). Elsewhere
it says where they are and how to run them (exit code 2).
"""

from __future__ import annotations

import importlib
import shlex
import sys
from pathlib import Path

from keras_bertfam.cli.pretrain import duration
from keras_bertfam.errors import InputError

SUITE_NAMES = "core | albert | data | finetune | modern | pretrain"

MISSING = """the benchmarks are not installed with keras_bertfam: they live in the benchmarks/ \
folder of its source repository, and none was found in {cwd} or above it, nor beside the \
installed package ({tree}). To run them, get the repository's source and, at its root:

    pip install -e .             # or .[bench] to add tf-models-official as a peer
    python -m benchmarks --quick # every suite, quick settings; or: make bench (full)

(`bertfam bench` works there too.) benchmarks/README.md tells what each suite measures."""


def add_parser(commands):
    parser = commands.add_parser(
        "bench",
        help="run the benchmarks of a keras_bertfam checkout against the peers "
        "(python -m benchmarks)",
        description="Runs the benchmark suites of a keras_bertfam source checkout (the "
        "benchmarks/ folder, not installed with the package; found in the current directory "
        "or above it, or beside an editable install): each system in its own process, "
        "alternated; every table with ratios to the peer measured in the same run; "
        "bench.json and one PNG chart per suite written to --out. Same as "
        "`python -m benchmarks` at the checkout's root.",
    )
    parser.add_argument(
        "suites", nargs="*", metavar="SUITE", help=f"{SUITE_NAMES} (default: all but pretrain)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and steps")
    parser.add_argument(
        "--budget",
        type=duration,
        help="pretrain: wall time per system, e.g. 5m (default 10m; --quick 1m)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="folder for bench.json and the PNG charts (default: the checkout's "
        "benchmarks/results)",
    )
    parser.set_defaults(run=run)


def installed_tree() -> Path:
    """The folder holding the installed `keras_bertfam` package (a checkout, if editable)."""
    import keras_bertfam

    return Path(keras_bertfam.__file__).resolve().parents[1]


def is_checkout(root: Path) -> bool:
    """Whether `root` is a keras_bertfam source checkout with its benchmarks."""
    return all(
        (root / part).is_file()
        for part in ("benchmarks/__init__.py", "benchmarks/goals.py", "keras_bertfam/__init__.py")
    )


def find_benchmarks(start: Path | None = None) -> Path | None:
    """The checkout holding `benchmarks/`: `start` (default: the current directory) or a
    folder above it, else the installed source tree; None when there is none."""
    start = Path.cwd() if start is None else Path(start)
    for root in (start, *start.parents, installed_tree()):
        if is_checkout(root):
            return root
    return None


def run(args) -> int:
    root = find_benchmarks()
    if root is None:
        raise InputError(MISSING.format(cwd=Path.cwd(), tree=installed_tree()))
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    benchmarks = importlib.import_module("benchmarks")
    unknown = sorted(set(args.suites) - set(benchmarks.SUITES))
    if unknown:
        raise InputError(
            f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(benchmarks.SUITES)}"
        )
    out = Path(args.out) if args.out else root / "benchmarks" / "results"
    argv = ["bertfam", "bench", *args.suites, *(["--quick"] if args.quick else [])]
    argv += ["--out", str(args.out)] if args.out else []
    argv += ["--budget", f"{args.budget:g}s"] if args.budget else []
    overrides = {"pretrain": {"settings": {"budget": args.budget}}} if args.budget else None
    benchmarks.run_suite(args.suites or benchmarks.DEFAULT_SUITES, args.quick, out, overrides,
                         command=shlex.join(argv))  # fmt: skip
    return 0
