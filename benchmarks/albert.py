"""ALBERT vs BERT at equal hidden size: the paper's trade-off, at a size 2 cores can run.

ALBERT (Lan et al., 2020, https://arxiv.org/abs/1909.11942) cuts parameters two ways:
a V×E token table with E < H plus an E×H projection, and one block shared by all
layers. Sharing saves weights but no computation: every layer still runs. This suite
measures both models built by keras_bertfam from the same config, which differs only
in those two choices:

- bert: L=6, H=256, A=4, I=1024, V=30522, S=128, batch 16, MLM at 20 positions + NSP;
- albert: the same with E=128 and all 6 layers sharing one block.

Per system: parameters (of the built pretrainer, beside `models.info.parameter_breakdown`),
weight memory in MB (float32 bytes of every weight), the worker process's peak RSS,
training step time with Adam under XLA and steps/s, and encoder inference tokens/s.
Each system runs in its own process, the two alternate (B, A, A, B), warm-up
steps are excluded, and the table shows the median and spread of all repeats, the
ratio ALBERT / BERT measured in the same run, and the share of the cores other processes
used while each was timed.

    python -m benchmarks albert [--quick]
    python -m benchmarks.albert            # full: 2 rounds
    python -m benchmarks.albert --quick    # 1 round
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from benchmarks.report import RESULTS, print_suite, table, write_json
from benchmarks.timing import (
    add_timing_arguments,
    alternating,
    busy_note,
    flags,
    machine,
    median_spread,
    mode_name,
    run_worker,
    settings_given,
    spread_text,
    time_model,
    worker_exit,
)

MODULE = "benchmarks.albert"
SYSTEMS = ("bert", "albert")
SHAPE = {"L": 6, "H": 256, "A": 4, "I": 1024, "S": 128, "batch": 16, "V": 30522, "P": 20, "E": 128}
SETTINGS = {
    "quick": {"rounds": 1, "warmup": 1, "steps": 1, "repeats": 3},
    "full": {"rounds": 2, "warmup": 2, "steps": 5, "repeats": 3},
}


def model_config(system: str, shape: dict):
    """BERT's config of `shape`; ALBERT's is the same with E and one shared block."""
    from benchmarks.core import model_config as bert_config

    config = bert_config(shape)
    if system == "albert":
        config = config.replace(embedding_dim=shape["E"], num_groups=1, sharing="all")
    return config


def worker(system: str, shape: dict, jit: bool, warmup: int, steps: int, repeats: int) -> dict:
    import keras
    import numpy as np

    import keras_bertfam as bf
    from benchmarks.core import synthetic_batch

    config = model_config(system, shape)
    pretrainer, encoder = bf.build_pretrainer(config), bf.build_encoder(config)
    weight_bytes = sum(
        int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in pretrainer.weights
    )
    x, y = synthetic_batch(shape)
    y = {"mlm_logits": y["mlm"], "nsp_logits": y["nsp"]}
    seconds = time_model(keras, pretrainer, encoder, x, y, jit, warmup, steps, repeats)
    tokens = shape["batch"] * shape["S"] * steps
    return {
        "parameters": pretrainer.count_params(),
        "weight_mb": weight_bytes / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
        "step_seconds": [t / steps for t in seconds["train_seconds"]],
        "infer_tokens_per_s": [tokens / t for t in seconds["infer_seconds"]],
        "other_load": seconds["train_other_load"] + seconds["infer_other_load"],
    }


def _predicted(system: str, shape: dict) -> dict:
    from keras_bertfam.models.info import parameter_breakdown, training_flops_per_token

    config = model_config(system, shape)
    return {
        "parameters": parameter_breakdown(config)["total pretrainer"],
        "training_flops_per_token": training_flops_per_token(config, shape["S"], shape["P"])[
            "total"
        ],
    }


def run(quick: bool, jit: bool = True, settings=None, shape=None) -> dict:
    """Run the suite and print its table; `settings` and `shape` override the defaults."""
    mode = mode_name(quick)
    s = {**SETTINGS[mode], **(settings or {})}
    shape = {**SHAPE, **(shape or {})}
    raw = {system: [] for system in SYSTEMS}
    timing = {k: s[k] for k in ("warmup", "steps", "repeats")}
    for round_, system in alternating(SYSTEMS, s["rounds"]):
        args = [system, *flags(shape=json.dumps(shape), **timing), "--jit" if jit else "--no-jit"]
        raw[system].append(run_worker(MODULE, args, f"albert round {round_ + 1}: {system}"))

    summary = {}
    for system, runs in raw.items():
        steps = [t for r in runs for t in r["step_seconds"]]
        infer = [v for r in runs for v in r["infer_tokens_per_s"]]
        summary[system] = {
            "parameters": runs[0]["parameters"],
            "weight_mb": runs[0]["weight_mb"],
            "peak_rss_mb": median_spread(r["peak_rss_mb"] for r in runs)[0],
            "step_ms": median_spread(steps)[0] * 1000,
            "steps_per_s": 1 / median_spread(steps)[0],
            "infer_tokens_per_s": median_spread(infer)[0],
            "step_ms_spread": spread_text([t * 1000 for t in steps], ",.1f"),
            "infer_spread": spread_text(infer),
            "other_load": max(v for r in runs for v in r["other_load"]),
            **{f"predicted_{k}": v for k, v in _predicted(system, shape).items()},
        }
    bert, albert = summary["bert"], summary["albert"]
    rows = (
        ("parameters", "parameters", ",.0f"),
        ("parameters (models.info)", "predicted_parameters", ",.0f"),
        ("weight memory MB (float32)", "weight_mb", ",.1f"),
        ("worker peak RSS MB", "peak_rss_mb", ",.0f"),
        ("training FLOPs/token (models.info)", "predicted_training_flops_per_token", ",.0f"),
        ("train step ms", "step_ms", ",.1f"),
        ("train steps/s", "steps_per_s", ",.2f"),
        ("inference tokens/s", "infer_tokens_per_s", ",.0f"),
    )
    ratios = {label: albert[key] / bert[key] for label, key, _ in rows}
    cells = [
        [label, f"{bert[key]:{fmt}}", f"{albert[key]:{fmt}}", f"{ratios[label]:.2f}x"]
        for label, key, fmt in rows
    ]
    cells.append(
        [
            "other (highest while timed)",
            f"{bert['other_load']:.0%}",
            f"{albert['other_load']:.0%}",
            "",
        ]
    )
    notes = [
        busy_note({x: m["other_load"] for x, m in summary.items()}),
        f"spread: train step ms bert {bert['step_ms_spread']}, albert {albert['step_ms_spread']}; "
        f"inference tokens/s bert {bert['infer_spread']}, albert {albert['infer_spread']}",
    ]
    title = (
        " ".join(f"{k}={shape[k]}" for k in SHAPE if k != "E")
        + f"; ALBERT: E={shape['E']}, all {shape['L']} layers share one block; "
        f"{s['rounds']} round(s) x {s['repeats']} repeats x {s['steps']} steps, "
        f"{s['warmup']} warm-up step(s) excluded"
    )
    chart_rows = [label for label, _, _ in rows if "models.info" not in label]
    results = {
        "mode": mode,
        "jit": jit,
        "title": f"albert vs bert, {mode} mode; XLA {'on' if jit else 'off'}",
        "shape": shape,
        "settings": s,
        "raw": raw,
        "median": summary,
        "ratios": ratios,
        "tables": [table(title, ["", "bert", "albert", "albert/bert"], cells, notes)],
        "goals": [],
        "chart": {
            "title": f"ALBERT / BERT at H={shape['H']} ({mode} mode, same run)",
            "panels": {"albert / bert": {k: ratios[k] for k in chart_rows}},
        },
    }
    print_suite(results)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_timing_arguments(parser)
    parser.add_argument("--shape", type=json.loads, default={}, help="JSON overrides of SHAPE")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--json", type=Path, default=RESULTS / "albert.json")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    given = settings_given(args)
    if args.worker:
        s = {**SETTINGS["full"], **given}
        shape = {**SHAPE, **args.shape}
        out = worker(args.worker, shape, args.jit, s["warmup"], s["steps"], s["repeats"])
        worker_exit(out)
    start = time.perf_counter()
    print(machine(), flush=True)
    results = run(args.quick, args.jit, given, args.shape)
    write_json(args.json, results)
    print(f"\nelapsed {time.perf_counter() - start:.0f}s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
