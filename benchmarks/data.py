"""Input-pipeline benchmark: raw text -> masked batches, and TFRecords -> masked batches.

Measured on the bundled corpus (Python docs, 2.2 MB) with the all-MiniLM-L6-v2
WordPiece vocabulary, S=128, batch 32, 20 predictions:

1. text -> tokens -> NSP pairs -> dynamic masking (`pretraining_dataset`);
2. unmasked TFRecords -> dynamic masking (`create_data --masking dynamic` + `load_data`);
3. statically masked TFRecords (`create_data` + `load_data`);
4. the masking step alone, ours vs keras-hub's `MaskedLMMaskGenerator` on the same
   batches (token-level masking; keras-hub has no whole-word or n-gram masking), one
   after the other in the same process.

Tokens/s count real (non-padding) tokens. Each figure is the median of `repeats` full
passes after one warm-up pass, measured in a worker process. The peer of a pipeline is
the training step it feeds: keras_bertfam's core training tokens/s from the same
`python -m benchmarks` run. Run alone, the suite reads it from `--core-json` (the
core.json of `python -m benchmarks.core` or a bench.json, an earlier run, and says so)
or `--train-tokens-per-s`.

    python -m benchmarks core data [--quick]
    python -m benchmarks.data [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import peers
from benchmarks.optional import minilm_dir
from benchmarks.report import RESULTS, print_suite, table, write_json
from benchmarks.timing import (
    flags,
    machine,
    median_spread,
    mode_name,
    run_worker,
    spread_text,
    worker_exit,
)

MODULE = "benchmarks.data"
BATCH, SEQ_LENGTH, PREDICTIONS = 32, 128, 20
SETTINGS = {"quick": {"repeats": 1}, "full": {"repeats": 3}}
MASK_OURS = "mask only: keras_bertfam"
MASK_HUB = "mask only: keras-hub MaskedLMMaskGenerator"


def _rate(make_dataset, repeats):
    import numpy as np

    rates = []
    for i in range(repeats + 1):
        start, tokens = time.perf_counter(), 0
        for x, _, _ in make_dataset():
            tokens += int(np.sum(x["padding_mask"]))
        if i:  # the first pass warms up (tracing, file cache)
            rates.append(tokens / (time.perf_counter() - start))
    return rates


def worker(repeats: int) -> dict:
    """Tokens/s of every pipeline and of both maskers: `repeats` values each."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    from keras_bertfam.data import DataConfig, MaskingConfig, load_tokenizer, pretraining_dataset
    from keras_bertfam.data.pipeline import masker, unmasked_dataset
    from keras_bertfam.data.records import create_data, load_data
    from keras_bertfam.resources import PYDOCS_CORPUS

    tok = load_tokenizer(minilm_dir("the data suite") / "vocab.txt")
    masking = MaskingConfig(max_predictions_per_seq=PREDICTIONS)
    cfg = DataConfig(objective="nsp", max_seq_length=SEQ_LENGTH, masking=masking)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        create_data([PYDOCS_CORPUS], tok, work / "dynamic", cfg, masking="dynamic", progress=False)
        create_data([PYDOCS_CORPUS], tok, work / "static", cfg, dupe_factor=1, progress=False)
        results = {
            "text -> masked batches (dynamic)": _rate(
                lambda: pretraining_dataset([PYDOCS_CORPUS], tok, cfg, BATCH), repeats
            ),
            "TFRecords -> dynamic masking": _rate(
                lambda: load_data(work / "dynamic", BATCH, shuffle_buffer=0), repeats
            ),
            "TFRecords, static masks": _rate(
                lambda: load_data(work / "static", BATCH, shuffle_buffer=0), repeats
            ),
        }

    # masking alone: ours vs keras-hub's MaskedLMMaskGenerator on the same batches
    sequences = list(unmasked_dataset([PYDOCS_CORPUS], tok, cfg).batch(BATCH, drop_remainder=True))
    ours = tf.function(masker(tok, cfg))
    generator = peers.keras_hub_masker(tok, PREDICTIONS)
    theirs = tf.function(lambda ids: generator(ids))

    def hub(b):
        lengths = tf.reduce_sum(b["padding_mask"], 1)
        return theirs(tf.RaggedTensor.from_tensor(b["token_ids"], lengths=lengths))

    n_tokens = sum(int(np.sum(b["padding_mask"])) for b in sequences)
    for name, fn in (
        (MASK_OURS, lambda b: ours(b, tf.constant([1, 2], tf.int64))),
        (MASK_HUB, hub),
    ):
        rates = []
        for i in range(repeats + 1):
            start = time.perf_counter()
            for b in sequences:
                out = fn(b)
            tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)
            if i:
                rates.append(n_tokens / (time.perf_counter() - start))
        results[name] = rates
    return results


def run(quick: bool, train_tokens_per_s=None, train_source="core, same run", settings=None):
    """Run the suite in a worker process and print its table.

    `train_tokens_per_s`: the training step the pipelines feed (keras_bertfam, core
    small config); without it the "x train step" column is left empty.
    """
    mode = mode_name(quick)
    s = {**SETTINGS[mode], **(settings or {})}
    raw = run_worker(MODULE, ["pipelines", *flags(**s)], "data: pipelines")
    raw.pop("worker_seconds")
    train = train_tokens_per_s
    medians = {name: median_spread(rates)[0] for name, rates in raw.items()}
    rows = [
        [
            name,
            f"{medians[name]:,.0f}",
            spread_text(rates),
            f"{medians[name] / train:,.0f}x" if train else "-",
        ]
        for name, rates in raw.items()
    ]
    masking_ratio = medians[MASK_OURS] / medians[MASK_HUB]
    notes = [f"masking alone: keras_bertfam / keras-hub = {masking_ratio:.2f}x"]
    goals = []
    if train:
        notes.append(f"the training step ({train_source}) consumes {train:,.0f} tokens/s")
        pipelines = [name for name in raw if name not in (MASK_OURS, MASK_HUB)]
        slowest = min(pipelines, key=medians.get)
        goals.append(
            {
                "goal": "data.slowest_pipeline_vs_train_step",
                "label": f"slowest pipeline ({slowest}) / training step",
                "value": medians[slowest] / train,
            }
        )
    else:
        notes.append("no training step to compare with: run the core suite in the same run")
    title = (
        f"bundled corpus, MiniLM WordPiece, S={SEQ_LENGTH} batch={BATCH} "
        f"predictions={PREDICTIONS}; median of {s['repeats']} pass(es) after a warm-up pass"
    )
    columns = ["pipeline", "tokens/s", "spread", "x train step"]
    panels = {"masking alone: keras_bertfam / keras-hub": {"masking": masking_ratio}}
    if train:
        panels["pipeline tokens/s / training step tokens/s"] = {
            name: medians[name] / train for name in raw
        }
    results = {
        "mode": mode,
        "title": f"data, {mode} mode",
        "settings": s,
        "train_tokens_per_s": train,
        "train_source": train_source if train else None,
        "raw": raw,
        "median": medians,
        "ratios": {"masking: keras_bertfam / keras-hub": masking_ratio},
        "tables": [table(title, columns, rows, notes)],
        "goals": goals,
        "chart": {"title": f"input pipelines ({mode} mode)", "panels": panels},
    }
    print_suite(results)
    return results


def _train_from(core_json: Path):
    """keras_bertfam's training tokens/s at the small config in a core.json or bench.json."""
    if not core_json.is_file():
        return None
    core = json.loads(core_json.read_text())
    core = core.get("suites", {}).get("core", core)  # a bench.json holds the core suite
    small = core.get("configs", {}).get("small", {})
    return small.get("median", {}).get("keras_bertfam", {}).get("train_tokens_per_s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one timed pass")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--train-tokens-per-s", type=float, default=None)
    parser.add_argument("--core-json", type=Path, default=RESULTS / "core.json")
    parser.add_argument("--json", type=Path, default=RESULTS / "data.json")
    parser.add_argument("--worker", choices=["pipelines"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_exit(worker(args.repeats or SETTINGS["full"]["repeats"]))
    start = time.perf_counter()
    train, source = args.train_tokens_per_s, "--train-tokens-per-s"
    if train is None:
        train, source = _train_from(args.core_json), f"{args.core_json}, an earlier run"
    settings = {"repeats": args.repeats} if args.repeats else None
    print(machine(), flush=True)
    results = run(args.quick, train, source, settings)
    write_json(args.json, results)
    print(f"\nelapsed {time.perf_counter() - start:.0f}s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
