"""Quickstart: build ALBERT, a hybrid and BERT from one config, and run them once.

Run with `python examples/quickstart.py` (or `make demo`).
"""

import numpy as np

import keras_bertfam as bf

# A small ALBERT pretrainer (factorized embedding, one shared block, SOP head).
config = bf.get_preset("albert_tiny")
pretrainer = bf.build_pretrainer(config)
rng = np.random.default_rng(0)
batch = {
    "token_ids": rng.integers(5, config.vocabulary_size, (2, 16)).astype("int32"),
    "segment_ids": np.repeat([[0] * 8 + [1] * 8], 2, axis=0).astype("int32"),
    "padding_mask": np.ones((2, 16), "int32"),
    "mask_positions": np.array([[1, 5, 9], [2, 3, 14]], "int32"),
}
outputs = pretrainer(batch)
print(f"albert_tiny pretrainer: {pretrainer.count_params():,} parameters")
for name, value in outputs.items():
    print(f"  {name}: {tuple(value.shape)}")

# A hybrid is a change of fields: RoBERTa with ALBERT's factorized embedding and SOP.
hybrid = bf.get_preset("roberta_tiny", embedding_dim=32, sentence_objective="sop")
encoder = bf.build_encoder(hybrid)
encoded = encoder(
    {k: batch[k] for k in ("token_ids", "padding_mask")}
    | {"segment_ids": np.zeros((2, 16), "int32")}
)
print(f"roberta_tiny + E=32 + SOP encoder: {encoder.count_params():,} parameters")
for name, value in encoded.items():
    print(f"  {name}: {tuple(value.shape)}")

# The published sizes, counted exactly as the reference implementations count them.
for name in ("bert_base", "albert_base", "roberta_base"):
    print(f"{name}: {bf.build_encoder(name).count_params():,} parameters")
