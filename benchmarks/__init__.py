"""Benchmarks against the peers, side by side in one run: `bertfam bench`.

Suites, run in this order (each also runs alone: `python -m benchmarks.<suite>`):

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

Every system runs in its own worker process, the systems alternate, warm-up is excluded,
and every figure is a ratio to a peer measured in the same run (DESIGN.md, "Measuring
speed honestly"). `run_suite` prints each suite's table, then writes `bench.json` and one
PNG bar chart of ratios per suite into `out_dir`.

    bertfam bench --quick                      # the default suites, under 3 minutes
    bertfam bench                              # full: more rounds, BERT-base too
    bertfam bench core albert --out /tmp/bench
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from benchmarks.timing import bar_chart, machine, mode_name, write_json

SUITES = ("core", "albert", "data", "finetune")


def run_suite(names, quick: bool, out_dir, overrides: dict | None = None) -> dict:
    """Run the suites `names` (in `SUITES` order); write bench.json and PNG charts.

    Args:
        names: suite names from `SUITES`.
        quick: the quick settings of every suite (fewer rounds and steps).
        out_dir: folder for `bench.json` and `<suite>.png`.
        overrides: `{suite: {keyword: value}}` passed on to that suite's `run`
            (e.g. `{"albert": {"shape": {...}, "settings": {...}}}` for a tiny run).

    Returns:
        `{"mode", "machine", "elapsed_s", "suites": {name: results}, "charts": [paths]}`.
    """
    unknown = sorted(set(names) - set(SUITES))
    if unknown:
        raise ValueError(f"unknown bench suite(s) {unknown}; available: {list(SUITES)}")
    overrides = overrides or {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mode = mode_name(quick)
    start = time.perf_counter()
    chosen = [name for name in SUITES if name in names]
    print(f"bertfam bench, {mode} mode: {', '.join(chosen)}; {machine()}", flush=True)
    report = {"mode": mode, "machine": machine(), "suites": {}, "charts": []}
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
    write_json(out_dir / "bench.json", report)
    print(
        f"\nbertfam bench ({mode} mode) took {report['elapsed_s']:.0f}s; wrote "
        f"{out_dir / 'bench.json'} and {len(report['charts'])} chart(s)",
        flush=True,
    )
    return report
