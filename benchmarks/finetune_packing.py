"""Fine-tuning on packed rows against length buckets, at the accuracy each one reaches.

`benchmarks.finetune` times steps of prepared batches. This benchmark runs what a user
runs: `keras_bertfam.training.finetune.finetune` on the real all-MiniLM-L6-v2 and the
bundled fortunes topics (3,580 train / 478 dev texts, 14 topics), AdamW 1e-4 with 10%
warmup, mean pooling, max 128 tokens, to the end of its epochs, and reads from the run:

- dev accuracy (the model `finetune` writes, on ordinary batches of the dev texts);
- useful (non-pad) tokens/s of training, as `finetune` reports it: the texts' tokens
  over each epoch's wall time of training steps (validation excluded; the tracing of a
  step for each new batch shape included, as a user pays it);
- what every epoch computed, counted on the same batches: padded token slots and the
  attention scores (rows x S x S, per head and layer). A packed row's attention is
  block-diagonal, but the scores of the whole row are computed and masked, so packing
  adds attention work while it removes padding.

Systems, `BATCHING:SIZE[@RATE]`: `buckets:32` (the default recipe: 32 texts per batch,
length buckets, peak rate 1e-4) and `pack:R` (R rows of 128 tokens, each holding up to 8
texts, first-fit decreasing: about 3.5 texts per row here, so 9 rows make about as many
updates an epoch as 32 bucketed texts; 16 rows make 64 updates of about 56 texts, and
`@1.75e-4` scales the rate with the texts per update, as the linear scaling rule
does). Each run is its own process; the systems alternate from seed to seed (A B C,
C B A, ...). The goal takes the fastest packed system whose mean dev accuracy is under
the buckets' by no more than the larger of their two standard deviations over the
seeds.

    python -m benchmarks.finetune_packing                      # 4 systems x 3 seeds, ~30 min
    python -m benchmarks.finetune_packing --systems buckets:32 pack:9 --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.optional import minilm_dir
from benchmarks.report import RESULTS, print_suite, table, write_json
from benchmarks.timing import OtherLoad, busy_note, machine, run_worker, worker_exit
from keras_bertfam.resources import FORTUNES_DEV, FORTUNES_TRAIN

MODULE = "benchmarks.finetune_packing"
SYSTEMS = ("buckets:32", "pack:9", "pack:16", "pack:16@1.75e-4")
SEEDS = (0, 1, 2)
RATE = 1e-4  # the peak learning rate unless a system names its own
RECIPE = {"pooling": "mean", "sequence_length": 128}
BASE = "buckets:32"


def parse_system(system: str) -> tuple[str, int, float]:
    """`pack:16@1.75e-4` -> ("pack", 16, 1.75e-4); the rate defaults to `RATE`."""
    spec, _, rate = system.partition("@")
    batching, _, size = spec.partition(":")
    try:
        rate = float(rate) if rate else RATE
    except ValueError:
        rate = -1.0
    size = int(size) if size.isdigit() else 0
    if batching not in ("buckets", "pad", "pack") or size < 1 or rate <= 0:
        raise argparse.ArgumentTypeError(
            f"system={system!r}: expected BATCHING:SIZE[@RATE], BATCHING buckets, pad or pack, "
            "SIZE a positive number of texts (rows for pack) and RATE a positive peak "
            "learning rate, e.g. pack:9 or pack:16@1.75e-4"
        )
    return batching, size, rate


def epoch_work(train: Path, batching: str, size: int, seed: int) -> dict:
    """Padded slots, useful tokens and attention scores of one epoch's batches, as
    `finetune` builds them for `batching`, `size` and `seed`."""
    import keras_bertfam as bf
    from keras_bertfam.data.batching import task_batches
    from keras_bertfam.data.tasks import prepare

    tokenizer = bf.load_tokenizer(minilm_dir("the finetune_packing benchmark"))
    length = RECIPE["sequence_length"]
    data = prepare("classification", train, tokenizer, length)
    pad_id = tokenizer.special_ids.get("pad", 0)
    ds = task_batches(batching, data["features"], data["targets"], size, length, pad_id,
                      True, seed)  # fmt: skip
    work = {"updates": 0, "slots": 0, "useful": 0, "scores": 0, "shapes": set()}
    for x, *_ in ds:
        rows, seq = (int(d) for d in x["token_ids"].shape)
        mask = x["sequence_ids"] > 0 if "sequence_ids" in x else x["padding_mask"]
        work["updates"] += 1
        work["slots"] += rows * seq
        work["useful"] += int(mask.numpy().sum())
        work["scores"] += rows * seq * seq
        work["shapes"].add((rows, seq))
    work["shapes"] = len(work["shapes"])
    return work


def worker(system: str, seed: int, epochs: int, train: Path, dev: Path) -> dict:
    from keras_bertfam.training.finetune import finetune

    batching, size, rate = parse_system(system)
    with tempfile.TemporaryDirectory() as out, OtherLoad() as load:
        summary = finetune(minilm_dir("the finetune_packing benchmark"), train, dev,
                           out=Path(out) / "run", epochs=epochs, batch_size=size,
                           batching=batching, learning_rate=rate, warmup_ratio=0.1,
                           patience=epochs, seed=seed, verbose=0, **RECIPE)  # fmt: skip
    rates = summary["useful_tokens_per_s"]
    return {
        "dev_accuracy": summary["dev"]["accuracy"],
        "useful_tokens_per_s": rates,
        "epoch_seconds": [summary["train_tokens_per_epoch"] / r for r in rates],
        "work": epoch_work(train, batching, size, seed),
        "other_load": load.value,
    }


def _sd(values) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(results: dict, epochs: int) -> dict:
    """The table and the goal from `{system: [worker result per seed]}`."""
    base = results[BASE]
    base_rate = statistics.median(r["useful_tokens_per_s"][-1] for r in base)
    base_acc = [r["dev_accuracy"] for r in base]
    rows, summary = [], {}
    for system, runs in results.items():
        accuracy = [r["dev_accuracy"] for r in runs]
        mean = statistics.mean(accuracy)
        rate = statistics.median(r["useful_tokens_per_s"][-1] for r in runs)
        work = runs[0]["work"]
        summary[system] = {
            "dev_accuracy": mean,
            "dev_accuracy_sd": _sd(accuracy),
            "useful_tokens_per_s": rate,
            "vs_buckets": rate / base_rate,
            # no worse than the buckets by more than the larger of the two sds
            "same_accuracy": mean >= statistics.mean(base_acc) - max(_sd(base_acc), _sd(accuracy)),
            "work": work,
            "other_load": max(r["other_load"] for r in runs),
        }
        seconds = statistics.median(r["epoch_seconds"][-1] for r in runs)
        rows.append([
            system, f"{work['updates']:,}", f"{mean:.3f} ± {_sd(accuracy):.3f}",
            f"{rate:,.0f}", f"{rate / base_rate:.2f}x", f"{seconds:.0f}",
            f"{1 - work['useful'] / work['slots']:.0%}",
            f"{work['scores'] / work['useful']:.0f}", str(work["shapes"]),
            f"{summary[system]['other_load']:.0%}",
        ])  # fmt: skip
    same = [s for s in summary if s != BASE and summary[s]["same_accuracy"]]
    best = max(same, key=lambda s: summary[s]["useful_tokens_per_s"], default=None)
    seeds = len(base)
    title = (f"fortunes topics, all-MiniLM-L6-v2 fine-tuned {epochs} epoch(s), {seeds} seed(s) "
             "per system, alternating")  # fmt: skip
    columns = ["system", "updates", "dev accuracy", "useful tok/s", f"/{BASE}", "epoch s",
               "pad share", "scores/token", "shapes", "other"]  # fmt: skip
    notes = [
        "useful tok/s: median over seeds of the last epoch's, as finetune reports it "
        "(tracing of new shapes included, validation excluded)",
        "scores/token: attention scores computed per useful token, per head and layer",
        busy_note({s: m["other_load"] for s, m in summary.items()}),
    ]
    goal = {
        "goal": "finetune.packed_vs_bucketed_same_accuracy",
        "label": f"useful tokens/s, {best or 'no packed system'} / {BASE} at the same accuracy",
        "value": summary[best]["vs_buckets"] if best else float("nan"),
    }
    return {
        "title": "fine-tuning at the same accuracy: packed rows vs length buckets",
        "median": summary,
        "tables": [table(title, columns, rows, notes)],
        "goals": [goal],
    }


def run(systems=SYSTEMS, seeds=SEEDS, epochs: int = 1, train=FORTUNES_TRAIN,
        dev=FORTUNES_DEV) -> dict:  # fmt: skip
    if BASE not in systems:
        raise ValueError(f"systems={list(systems)} must include {BASE}, the reference")
    results = {system: [] for system in systems}
    for i, seed in enumerate(seeds):
        for system in systems if i % 2 == 0 else systems[::-1]:
            args = [system, "--seed", seed, "--epochs", epochs, "--train", train, "--dev", dev]
            results[system].append(run_worker(MODULE, args, f"seed {seed}: {system}"))
    out = {"systems": list(systems), "seeds": list(seeds), "epochs": epochs, "raw": results,
           **summarize(results, epochs)}  # fmt: skip
    print_suite(out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="+", type=str, default=list(SYSTEMS),
                        help=f"BATCHING:SIZE[@RATE] (default: {' '.join(SYSTEMS)})")  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train", type=Path, default=FORTUNES_TRAIN)
    parser.add_argument("--dev", type=Path, default=FORTUNES_DEV)
    parser.add_argument("--json", type=Path, default=RESULTS / "finetune_packing.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for system in [*args.systems, *([args.worker] if args.worker else [])]:
        try:
            parse_system(system)
        except argparse.ArgumentTypeError as e:
            parser.error(str(e))
    if args.worker:
        worker_exit(worker(args.worker, args.seed, args.epochs, args.train, args.dev))
    start = time.perf_counter()
    print(machine(), flush=True)
    results = run(tuple(args.systems), tuple(args.seeds), args.epochs, args.train, args.dev)
    write_json(args.json, results)
    print(f"\nelapsed {time.perf_counter() - start:.0f}s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
