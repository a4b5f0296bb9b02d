"""Time-to-quality: pretraining recipes under one wall-clock budget, scored on held-out text.

Every system (`benchmarks.pretrain_systems`: the keras-hub guide's recipe, the same
model with keras_bertfam's schedule and a padding mask, keras_bertfam's `bert`
recipe, its `budget` recipe and ELECTRA) trains in its own process, one after another,
from the same training documents of the bundled corpus (every 20th document held
out) with the same WordPiece vocabulary, at the same size (L=4, H=256, S=128;
parameter counts within 10%, embeddings counted; batches of 32 sequences, of 8 for the
`budget` recipe and ELECTRA) for the same budget of wall time (compilation included,
evaluation left out). Each is scored on the same
masked held-out batches (15% of the tokens, token-level) every tenth of the budget:
MLM accuracy and cross-entropy on a validation and a test split of the held-out
documents, beside always guessing the corpus's most frequent token. keras_bertfam's
best recipe is the masked-LM recipe with the best validation accuracy at the end; its
test figures are the ones reported. ELECTRA is scored by replaced-token detection.
Then every pretrained encoder, and one not pretrained, is fine-tuned on the fortunes
topics with one fixed recipe, 3 seeds each (`benchmarks.pretrain_downstream`).

`python -m benchmarks pretrain` (10 minutes per system; `--quick`: 1 minute) or
alone: `python -m benchmarks.pretrain --budget 10m`; `--stage downstream` fine-tunes the
encoders a previous run left in `--folder` again. Not part of the default suites
(`python -m benchmarks` without names), for its length.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks import pretrain_downstream
from benchmarks.report import RESULTS, print_suite, table, write_json
from benchmarks.timing import (
    alternating,
    busy_note,
    flags,
    machine,
    mode_name,
    run_worker,
    worker_exit,
)

MODULE = "benchmarks.pretrain"
SETTINGS = {
    "quick": {"budget": 60.0, "evaluations": 4},
    "full": {"budget": 600.0, "evaluations": 10},
}
SYSTEMS = ("keras_hub_guide", "keras_hub_scheduled", "bertfam_bert", "bertfam_best",
           "bertfam_electra")  # fmt: skip
HUB = ("keras_hub_guide", "keras_hub_scheduled")
PRETRAINED = "pretrained.json"  # the pretraining stage's results, in --folder
STAGES = ("all", "pretrain", "downstream")


def run(quick: bool, settings=None, systems=SYSTEMS, folder=None, stage="all",
        overrides=()) -> dict:  # fmt: skip
    """Prepare the data, train every system for the budget, fine-tune every encoder on
    the fortunes topics; tables, goals and a chart. `stage="downstream"` reads the
    pretraining results and weights of an earlier run in `folder`. `overrides`:
    `--set` pairs for `bertfam_best` (`pretrain_systems.apply_settings`)."""
    mode = mode_name(quick)
    s = {**SETTINGS[mode], **(settings or {})}
    folder = Path(folder or RESULTS / "pretrain")
    if stage == "downstream":
        saved = json.loads((folder / PRETRAINED).read_text())
        info, raw, s, mode = saved["info"], saved["raw"], saved["settings"], saved["mode"]
        overrides = saved.get("overrides", [])
    set_flags = [part for pair in overrides for part in ("--set", pair)]
    if stage != "downstream":
        info = run_worker(MODULE, ["prepare", *flags(folder=folder)], "pretrain: data prepared")
        every = s["budget"] / s["evaluations"]
        raw = {}
        for _, system in alternating(systems, 1):
            args = [system, *flags(folder=folder, budget=s["budget"], eval_every=every)]
            raw[system] = run_worker(MODULE, [*args, *set_flags], f"pretrain: {system}")
        saved = {"info": info, "raw": raw, "settings": s, "mode": mode,
                 "overrides": list(overrides)}  # fmt: skip
        (folder / PRETRAINED).write_text(json.dumps(saved, indent=2))
    downstream = None
    if stage != "pretrain":
        downstream = {"tfidf_logreg": pretrain_downstream.tfidf()}
        for system in [*raw, "random_init"]:
            args = ["downstream", *flags(folder=folder, system=system), *set_flags]
            downstream[system] = run_worker(MODULE, args, f"downstream: {system}")
    results = summarize(raw, info, s, mode, downstream)
    results["curves_png"] = curves_chart(raw, info, folder / "curves.png")
    return results


def _final(result: dict) -> dict:
    last = result["curve"][-1]
    return dict(
        zip(
            ("seconds", "updates", "val_acc", "val_loss", "test_acc", "test_loss"),
            last,
            strict=True,
        )
    )


def _time_to(result: dict, accuracy: float):
    """Seconds of the first evaluation at or above `accuracy` on the test split."""
    return next((row[0] for row in result["curve"] if row[4] >= accuracy), None)


def summarize(raw: dict, info: dict, s: dict, mode: str, downstream=None) -> dict:
    final = {name: _final(r) for name, r in raw.items()}
    hub = max((n for n in HUB if n in final), key=lambda n: final[n]["test_acc"], default=None)
    ours = [n for n in final if n.startswith("bertfam") and not raw[n].get("rtd")]
    best = max(ours, key=lambda n: final[n]["val_acc"], default=None)
    base = info["test_baseline"]
    guide_params = raw.get("keras_hub_guide", next(iter(raw.values())))["parameters"]
    rows = []
    for name, f in final.items():
        to_hub = _time_to(raw[name], final[hub]["test_acc"]) if hub else None
        label = " (generator)" if raw[name].get("rtd") else ""
        label = " (best of ours)" if name == best else label
        rows.append(
            [
                name + label,
                f"{raw[name]['parameters']:,}",
                f"{raw[name]['parameters'] / guide_params:.2f}x",
                f"{f['updates']:,}",
                f"{f['val_acc']:.4f}",
                f"{f['test_acc']:.4f}",
                f"{f['test_loss']:.3f}",
                f"{f['test_acc'] / base:.2f}x",
                f"{f['test_acc'] / final[hub]['test_acc']:.2f}x" if hub else "-",
                "-" if to_hub is None else f"{to_hub:.0f}s ({to_hub / s['budget']:.0%})",
                f"{raw[name].get('other_load', float('nan')):.0%}",
            ]
        )
    columns = [
        "system",
        "parameters",
        "/guide",
        "updates",
        "val MLM acc",
        "test MLM acc",
        "test loss",
        "/baseline",
        f"/{hub}",
        "reaches it at",
        "other",
    ]
    notes = [
        f"baseline: always the most frequent training token, test accuracy {base:.4f} "
        f"({info['test_predictions']:,} positions; validation {info['validation_baseline']:.4f})",
        f"budget {s['budget']:.0f}s per system, scored every {s['budget'] / s['evaluations']:.0f}s",
        f"the better keras-hub variant: {hub}; keras_bertfam's best by validation accuracy: {best}",
        busy_note({n: r.get("other_load", 0.0) for n, r in raw.items()}),
    ]
    title = (
        f"time-to-quality, {mode} mode: L=4 H=256 S=128 batch 32, the bundled corpus, "
        f"{info['documents']['train']} training documents"
    )
    results = {
        "title": title,
        "tables": [table("at the end of the budget", columns, rows, notes)],
        "raw": raw,
        "downstream": downstream,
        "info": info,
        "settings": s,
        "goals": [],
    }
    electra = {n: r["rtd"] for n, r in raw.items() if r.get("rtd")}
    if electra:
        results["tables"].append(pretrain_downstream.rtd_table(electra))
    if downstream:
        downstream_table, goals = pretrain_downstream.summary(downstream, best, hub)
        results["tables"].append(downstream_table)
        results["goals"] += goals
    if hub and best:
        f, h = final[best], final[hub]
        reach = _time_to(raw[best], h["test_acc"])
        results["goals"] += [
            {
                "goal": "pretrain.best_vs_keras_hub",
                "value": f["test_acc"] / h["test_acc"],
                "label": f"held-out MLM accuracy at the budget's end, {best} / {hub}",
            },
            {
                "goal": "pretrain.best_time_to_keras_hub",
                "value": (reach if reach is not None else float("inf")) / s["budget"],
                "label": f"share of the budget {best} takes to reach {hub}'s final accuracy",
            },
            {
                "goal": "pretrain.best_vs_baseline",
                "value": f["test_acc"] / base,
                "label": f"held-out MLM accuracy, {best} / the most-frequent-token baseline",
            },
        ]
        ratios = {n: final[n]["test_acc"] / h["test_acc"] for n in final}
        results["chart"] = {
            "title": f"pretrain ({mode} mode): test MLM accuracy / {hub}",
            "panels": {"test MLM accuracy ratio": ratios},
        }
    return results


def curves_chart(raw: dict, info: dict, path: Path):
    """Held-out (test) MLM accuracy against time, one line per system; the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(7, 4))
    for name, result in raw.items():
        curve = result["curve"]
        axis.plot([r[0] for r in curve], [r[4] for r in curve], marker="o", label=name)
    axis.axhline(info["test_baseline"], color="grey", linestyle="--", label="most frequent token")
    axis.set(xlabel="seconds of training", ylabel="held-out MLM accuracy (test)")
    axis.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def main(argv=None) -> int:
    from keras_bertfam.training.budget import parse_budget

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 minute per system")
    parser.add_argument("--budget", type=parse_budget, help="per system (default 10m; quick 1m)")
    parser.add_argument("--evaluations", type=int, help="held-out scorings per run")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--folder", type=Path, default=RESULTS / "pretrain")
    parser.add_argument("--json", type=Path, default=RESULTS / "pretrain.json")
    parser.add_argument("--stage", choices=STAGES, default="all",
                        help="pretrain, fine-tune the encoders (downstream) or both")  # fmt: skip
    parser.add_argument("--worker", choices=["prepare", "downstream", *SYSTEMS],
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="change bertfam_best's recipe (model., data., masking., train.), "
                        "e.g. --set train.batch_size=16; repeatable")  # fmt: skip
    parser.add_argument("--eval-every", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        from benchmarks import pretrain_systems

        pretrain_systems.apply_settings(args.set)
        if args.worker == "prepare":
            worker_exit(pretrain_systems.prepare(args.folder))
        if args.worker == "downstream":
            worker_exit(pretrain_downstream.worker(args.system, args.folder))
        worker_exit(pretrain_systems.worker(args.worker, args.folder, args.budget, args.eval_every))
    start = time.perf_counter()
    print(machine(), flush=True)
    given = {k: v for k, v in (("budget", args.budget), ("evaluations", args.evaluations)) if v}
    results = run(args.quick, given, tuple(args.systems), args.folder, args.stage, args.set)
    print_suite(results)
    write_json(args.json, results)
    print(
        f"\nelapsed {time.perf_counter() - start:.0f}s; wrote {args.json}, {results['curves_png']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
