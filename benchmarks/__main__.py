"""`python -m benchmarks [SUITE ...] [--quick] [--out DIR] [--markdown FILE]`."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from benchmarks import DEFAULT_SUITES, SUITES, run_suite
from benchmarks.report import RESULTS, markdown
from keras_bertfam.cli.pretrain import duration


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Runs keras_bertfam's benchmark suites against its peers (keras-hub, and "
        "tf-models-official when installed), each system in its own process, alternated; "
        "prints every table with ratios to the peer measured in the same run and each "
        "figure beside its goal (benchmarks/goals.py), and writes bench.json and one PNG "
        "chart per suite to --out. What each suite measures: benchmarks/README.md.",
    )
    parser.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"{' | '.join(SUITES)} (default: all but pretrain, in this order)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and steps")
    parser.add_argument(
        "--budget",
        type=duration,
        help="pretrain: wall time per system, e.g. 5m (default 10m; --quick 1m)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="folder for bench.json and the PNG charts (default: benchmarks/results)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="also write the tables as Markdown (as `python -m benchmarks.report` does), "
        "e.g. docs/benchmarks.md",
    )
    return parser


def main(argv=None, prog: str = "python -m benchmarks") -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.suites) - set(SUITES))
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    command = shlex.join([*prog.split(), *argv])
    overrides = {"pretrain": {"settings": {"budget": args.budget}}} if args.budget else None
    report = run_suite(args.suites or DEFAULT_SUITES, args.quick, args.out, overrides, command)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(report, str(args.out / "bench.json")), encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
