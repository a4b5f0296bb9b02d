"""keras_bertfam's benchmarks against its peers, side by side in one run.

Not installed with the package: run from a checkout of the repository,

    python -m benchmarks --quick                    # every suite, the quick settings
    python -m benchmarks                            # full: more rounds, BERT-base too
    python -m benchmarks core albert --out /tmp/bench
    make bench                                      # full, into benchmarks/results

or `bertfam bench` inside the checkout. Suites, run in this order (each also runs
alone: `python -m benchmarks.<suite>`):

- `core`: a pretraining step and an inference pass, keras_bertfam vs keras-hub (and
  tf-models-official when installed) and vs the whole `bertfam pretrain` recipe; each
  system's training FLOP/s as a share of the machine's matmul peak, measured in the same
  run. Full mode adds a BERT-base-shaped config at batch 8.
- `albert`: ALBERT vs BERT at equal hidden size: parameters, weight memory, step time,
  inference tokens/s.
- `data`: the input pipelines against the training step measured by `core`, and our
  masking vs keras-hub's.
- `finetune`: fine-tuning with length bucketing vs pad-to-128 vs keras-hub, on the
  fortunes topics bundled in `keras_bertfam.resources`.
- `modern`: ModernBERT vs BERT at equal parameter counts, and local (sliding-window)
  vs global attention at S=512 and 1024 with their training FLOPs; runs on any Keras
  backend (`KERAS_BACKEND=jax`).

Modules: the suites (`core`, `albert`, `data`, `finetune`, `modern`), `peers` (the keras-hub and
tf-models-official models), `timing` (worker processes, alternation, medians, the
machine), `report` (tables, bench.json, charts, docs/benchmarks.md), `goals` (what each
figure is held against), `optional` (imports of packages keras_bertfam does not
install). How every figure is measured: benchmarks/README.md.

`run_suite` prints each suite's tables, then writes `bench.json` and one PNG bar chart
of ratios per suite into its output folder.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

SUITES = ("core", "albert", "data", "finetune", "modern", "pretrain")
# what `python -m benchmarks` runs without names: pretrain trains for minutes per system
DEFAULT_SUITES = ("core", "albert", "data", "finetune", "modern")

__all__ = ["DEFAULT_SUITES", "SUITES", "run_suite"]


def run_suite(
    names, quick: bool, out_dir=None, overrides: dict | None = None, command: str | None = None
) -> dict:
    """Run the suites `names` (in `SUITES` order); write bench.json and PNG charts.

    Args:
        names: suite names from `SUITES`.
        quick: the quick settings of every suite (fewer rounds and steps).
        out_dir: folder for `bench.json` and `<suite>.png` (default: benchmarks/results).
        overrides: `{suite: {keyword: value}}` passed on to that suite's `run`
            (e.g. `{"albert": {"shape": {...}, "settings": {...}}}` for a tiny run).
        command: the command line that started the run, recorded in bench.json.

    Returns:
        `{"mode", "machine", "command", "elapsed_s", "suites": {name: results},
        "goals", "charts": [paths]}`.
    """
    # here, not on import: `python -m benchmarks.report` and the timing workers run these
    # modules as __main__
    from benchmarks.report import RESULTS, bar_chart, goal_lines, write_json
    from benchmarks.timing import machine, mode_name

    unknown = sorted(set(names) - set(SUITES))
    if unknown:
        raise ValueError(f"unknown benchmark suite(s) {unknown}; available: {list(SUITES)}")
    overrides = overrides or {}
    out_dir = Path(RESULTS if out_dir is None else out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mode = mode_name(quick)
    start = time.perf_counter()
    chosen = [name for name in SUITES if name in names]
    print(f"benchmarks, {mode} mode: {', '.join(chosen)}; {machine()}", flush=True)
    report = {
        "mode": mode,
        "machine": machine(),
        "command": command,
        "suites": {},
        "goals": [],
        "charts": [],
    }
    for name in chosen:
        kwargs = dict(overrides.get(name, {}))
        if name == "data":  # the pipelines' peer: the training step timed by core
            core = report["suites"].get("core", {}).get("configs", {}).get("small", {})
            ours = core.get("median", {}).get("keras_bertfam")
            if ours:
                kwargs.setdefault("train_tokens_per_s", ours["train_tokens_per_s"])
        print(f"\n== {name} ==", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        suite_start = time.perf_counter()
        results = module.run(quick, **kwargs)
        results["elapsed_s"] = time.perf_counter() - suite_start
        print(f"({name}: {results['elapsed_s']:.0f}s)", flush=True)
        report["suites"][name] = results
        chart = results.get("chart")
        path = chart and bar_chart(out_dir / f"{name}.png", chart["title"], chart["panels"])
        if path:
            report["charts"].append(str(path))
    report["elapsed_s"] = time.perf_counter() - start
    if chosen == list(DEFAULT_SUITES) and not overrides:
        report["goals"].append(
            {
                "goal": f"run.{mode}_seconds",
                "label": f"all suites, {mode} mode: wall time",
                "value": report["elapsed_s"],
            }
        )
    write_json(out_dir / "bench.json", report)
    print(
        "\n"
        + "\n".join(
            [
                f"benchmarks ({mode} mode) took {report['elapsed_s']:.0f}s; wrote "
                f"{out_dir / 'bench.json'} and {len(report['charts'])} chart(s)",
                *goal_lines(report["goals"]),
            ]
        ),
        flush=True,
    )
    return report
