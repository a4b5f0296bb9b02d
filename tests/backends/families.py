"""One small pretrainer per family, the same on every backend for a seed, and a batch for it.

Used by the cross-backend tests: `write_models(folder)` trains each model a few steps
on this backend, saves it as `<name>.keras` and records its inputs and outputs in
`outputs.npz`; `tensorflow_side.py` loads the files under TensorFlow and compares.
"""

from __future__ import annotations

import numpy as np

from tests.helpers import TINY, make_batch

# name: (preset, overrides): BERT, ALBERT with groups and E != H, RoBERTa, ModernBERT
FAMILIES = {
    "bert": ("bert_tiny", {"num_layers": 2}),
    "albert": ("albert_tiny", {"num_layers": 4, "num_groups": 2, "embedding_dim": 8}),
    "roberta": ("roberta_tiny", {"num_layers": 2}),
    "modernbert": ("modernbert_tiny", {"num_layers": 3, "local_window": 4}),
}


def batch_for(model, cfg):
    batch = make_batch(cfg.vocabulary_size, num_segments=cfg.num_segments, seq=8)
    return {name: batch[name] for name in model.input}


def write_models(folder, steps: int = 2) -> dict:
    """Build, train `steps` fit steps (numpy arrays) and save each family; returns the arrays."""
    import keras

    import keras_bertfam as bf

    arrays = {}
    for name, (preset, overrides) in FAMILIES.items():
        keras.utils.set_random_seed(3)
        cfg = bf.get_preset(preset, **TINY, **overrides)
        model = bf.build_pretrainer(cfg)
        x = batch_for(model, cfg)
        targets = {k: np.zeros(v.shape[:-1], "int32") for k, v in model(x).items()}
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss={k: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                  for k in targets},
            jit_compile=True,
        )  # fmt: skip
        model.fit(x, targets, epochs=steps, batch_size=len(x["token_ids"]), verbose=0)
        model.save(f"{folder}/{name}.keras")
        arrays.update({f"{name}/input/{k}": v for k, v in x.items()})
        for key, value in model(x, training=False).items():
            arrays[f"{name}/output/{key}"] = keras.ops.convert_to_numpy(value)
    np.savez(f"{folder}/outputs.npz", **arrays)
    return arrays
