"""Fine-tuning throughput on real variable-length data: packing vs length buckets vs pad-to-max.

Data: the fortunes topics training set (3,580 short texts, 14 labels), tokenized
with all-MiniLM-L6-v2's vocabulary, max 128 tokens. Model: all-MiniLM-L6-v2's
shape (L=6, H=384, A=12, I=1536), mean pooling + a 14-way classifier, AdamW.
The figure is *useful* tokens per second: non-padding tokens trained on / time.

Systems (each in its own process, alternating A, B, C, C, B, A, ...):
- `bertfam_bucketed`: keras_bertfam's fine-tuning batches (`data.tasks.batches`,
  length buckets 16/32/64/128), the real MiniLM weights;
- `bertfam_pad128`: the same model, every batch padded to 128 (the usual recipe);
- `bertfam_packed`: the same weights in the packed twin of the model
  (`packed_sequences=8`), on rows of 128 tokens that hold up to 8 examples each
  (`data.batching.packed_batches`, first-fit decreasing): no padding to speak of,
  and attention only within each example;
- `keras_hub_pad128`: keras-hub's BertBackbone of the same shape + mean pooling +
  Dense, every batch padded to 128 as its BertTextClassifierPreprocessor does. It is
  the peer: the table divides by it.

The same shuffled order of the same examples goes to every system; the batches are
padded before timing (the input pipeline is not timed, as in the core suite). Before
timing, each process trains on `warmup` batches and on one batch of every other shape
the timed steps will see (each new shape traces the step, and compiles it under XLA),
so no tracing is timed; then `repeats` runs of `steps` steps are timed. The median and
spread of all timed runs are printed with versions, core count and the share of the
cores other processes used meanwhile.

The data ships with the package (`keras_bertfam.resources.FORTUNES_TRAIN`); pass
`--train` for another classification file. The keras-hub model is built in
`benchmarks.peers`.

    python -m benchmarks finetune [--quick]
    python -m benchmarks.finetune            # full: 2 rounds x 2 x 6 steps
    python -m benchmarks.finetune --quick --train path/to/train.tsv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import peers
from benchmarks.optional import minilm_dir
from benchmarks.report import RESULTS, print_suite, table, write_json
from benchmarks.timing import (
    TIMING,
    OtherLoad,
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
    worker_exit,
)
from keras_bertfam.resources import FORTUNES_TRAIN

MODULE = "benchmarks.finetune"
TRAIN = FORTUNES_TRAIN
SYSTEMS = ("bertfam_bucketed", "bertfam_packed", "bertfam_pad128", "keras_hub_pad128")
PEER = "keras_hub_pad128"
BATCH, MAX_LEN, CLASSES = 32, 128, 14
SLOTS = 8  # examples per packed row, at most
# quick mode leaves out the pad-to-128 control of our own model (one process less) and
# warms up on one batch per shape only
SETTINGS = {
    "quick": {
        "systems": ("bertfam_bucketed", PEER),
        "rounds": 1,
        "warmup": 0,
        "steps": 1,
        "repeats": 2,
    },
    "full": {"systems": SYSTEMS, "rounds": 2, "warmup": 2, "steps": 6, "repeats": 2},
}


def _batches(train: Path, system: str):
    import keras_bertfam as bf
    from keras_bertfam.data.batching import task_batches
    from keras_bertfam.data.tasks import prepare

    tokenizer = bf.load_tokenizer(minilm_dir("the finetune suite"))
    data = prepare("classification", train, tokenizer, MAX_LEN)
    batching = {"bertfam_packed": "pack", "bertfam_bucketed": "buckets"}.get(system, "pad")
    return task_batches(batching, data["features"], data["targets"], BATCH, MAX_LEN, 0, True,
                        0, SLOTS)  # fmt: skip


def _bertfam_model(system: str):
    import keras_bertfam as bf
    from keras_bertfam.models.packed import with_packing
    from keras_bertfam.models.tasks import build_task_model

    encoder = bf.from_pretrained(minilm_dir("the finetune suite"))
    if system == "bertfam_packed":
        encoder = with_packing(encoder, SLOTS)
    return build_task_model(encoder, "classification", CLASSES, pooling="mean")


def _useful(x) -> int:
    mask = x["padding_mask"] if "padding_mask" in x else x["sequence_ids"] > 0
    return int(np.count_nonzero(np.asarray(mask)))


def worker(system: str, train: Path, warmup: int, steps: int, repeats: int, jit: bool) -> dict:
    from keras_bertfam.training.optimizers import build_optimizer
    from keras_bertfam.training.recipe import compile_pretrainer

    model = peers.keras_hub_classifier(CLASSES) if system == PEER else _bertfam_model(system)
    optimizer = build_optimizer("adamw", model, 1e-4, 10_000, 100)
    compile_pretrainer(model, optimizer, jit)
    # one iterator only (a second one would reshuffle): the same batches in the same
    # order in every process, prepared before timing
    data = _batches(train, system).repeat()
    batches = list(data.take(warmup + steps * repeats))
    warm, timed = batches[:warmup], batches[warmup:]
    # warm-up, not timed: `warmup` batches, then one batch of each shape the timed steps
    # will see and the warm-up has not (a new shape traces the step again)
    seen = {tuple(batch[0]["token_ids"].shape) for batch in warm}
    for batch in timed:
        if tuple(batch[0]["token_ids"].shape) not in seen:
            seen.add(tuple(batch[0]["token_ids"].shape))
            warm.append(batch)
    for batch in warm:
        model.train_on_batch(*batch)
    runs = []
    for r in range(repeats):
        chunk = timed[r * steps : (r + 1) * steps]
        useful = sum(_useful(batch[0]) for batch in chunk)
        padded = sum(int(batch[0]["token_ids"].numpy().size) for batch in chunk)
        with OtherLoad() as load:
            start = time.perf_counter()
            for batch in chunk:  # (x, y) or (x, y, sample weights) of packed rows
                model.train_on_batch(*batch)
            seconds = time.perf_counter() - start
        runs.append(
            {
                "useful_tokens_per_s": useful / seconds,
                "padded_tokens_per_s": padded / seconds,
                "pad_share": 1 - useful / padded,
                "other_load": load.value,
            }
        )
    return {"runs": runs}


def run(quick: bool, train: Path = TRAIN, jit: bool = False, settings=None) -> dict:
    """Run the suite and print its table; a dict with `skipped` when `train` is missing."""
    mode = mode_name(quick)
    train = Path(train)
    if not train.is_file():
        reason = f"fine-tuning data not found: {train} (pass --train to the finetune suite)"
        print(f"  finetune: skipped, {reason}", flush=True)
        return {"mode": mode, "skipped": reason}
    s = {**SETTINGS[mode], **(settings or {})}
    timing = {k: s[k] for k in ("warmup", "steps", "repeats")}
    results = {system: [] for system in s["systems"]}
    for round_, system in alternating(results, s["rounds"]):
        args = [system, *flags(train=train, **timing), "--jit" if jit else "--no-jit"]
        results[system] += run_worker(MODULE, args, f"finetune round {round_ + 1}: {system}")[
            "runs"
        ]

    reference = median_spread(r["useful_tokens_per_s"] for r in results[PEER])[0]
    summary, rows = {}, []
    for system, runs in results.items():
        rates = [r["useful_tokens_per_s"] for r in runs]
        median = median_spread(rates)[0]
        share = median_spread(r["pad_share"] for r in runs)[0]
        other = max(r["other_load"] for r in runs)
        summary[system] = {
            "useful_tokens_per_s": median,
            "pad_share": share,
            "vs_peer": median / reference,
            "other_load": other,
        }
        rows.append(
            [
                system,
                f"{median:,.0f}",
                spread_text(rates),
                f"{share:.0%}",
                f"{median / reference:.2f}x",
                f"{other:.0%}",
            ]
        )
    notes = [f"not run: {x} (full mode only)" for x in SYSTEMS if x not in results]
    notes.append(busy_note({x: m["other_load"] for x, m in summary.items()}))
    title = (
        f"fortunes topics, MiniLM shape, batch {BATCH}: {s['rounds']} round(s) x "
        f"{s['repeats']} repeats x {s['steps']} steps; warm-up ({s['warmup']} batch(es) + one "
        "per new batch shape) excluded"
    )
    columns = ["system", "useful tok/s", "spread", "pad share", f"/{PEER}", "other"]
    ratios = {f"{x} / {PEER}": m["vs_peer"] for x, m in summary.items() if x != PEER}
    goals = []
    if "bertfam_packed" in summary and "bertfam_bucketed" in summary:
        packed, bucketed = summary["bertfam_packed"], summary["bertfam_bucketed"]
        goals.append(
            {
                "goal": "finetune.packed_vs_bucketed",
                "label": "useful tokens/s, bertfam_packed / bertfam_bucketed",
                "value": packed["useful_tokens_per_s"] / bucketed["useful_tokens_per_s"],
            }
        )
    if "bertfam_bucketed" in summary:
        goals.append(
            {
                "goal": "finetune.bucketed_vs_keras_hub",
                "label": f"useful tokens/s, bertfam_bucketed / {PEER}",
                "value": summary["bertfam_bucketed"]["vs_peer"],
            }
        )
    out = {
        "mode": mode,
        "jit": jit,
        "title": f"fine-tuning, {mode} mode; XLA {'on' if jit else 'off'}",
        "settings": s,
        "raw": results,
        "median": summary,
        "ratios": ratios,
        "tables": [table(title, columns, rows, notes)],
        "goals": goals,
        "chart": {
            "title": f"fine-tuning useful tokens/s ({mode} mode, same run)",
            "panels": {f"ratio to {PEER}": ratios},
        },
    }
    print_suite(out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_timing_arguments(parser)
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, help="default: the mode's")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--train", type=Path, default=TRAIN, help="classification TSV")
    parser.add_argument("--json", type=Path, default=RESULTS / "finetune.json")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    given = settings_given(args, ("systems", *TIMING))
    if args.worker:
        s = {**SETTINGS["full"], **given}
        out = worker(args.worker, args.train, s["warmup"], s["steps"], s["repeats"], args.jit)
        worker_exit(out)
    start = time.perf_counter()
    print(machine(), flush=True)
    results = run(args.quick, args.train, args.jit, given)
    write_json(args.json, results)
    print(f"\nelapsed {time.perf_counter() - start:.0f}s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
