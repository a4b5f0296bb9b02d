"""Packed rows on this backend: each sequence gets the outputs it has alone in a row
(block-diagonal attention, fused on JAX and PyTorch; restarting learned and rotary
positions; a sliding window that stays inside its sequence)."""

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.models.encoder import Encoder
from keras_bertfam.models.packed import with_packing

CASES = {
    "bert": ("bert_tiny", {}),
    "modernbert_window": ("modernbert_tiny", {"local_window": 4, "global_every": 2}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_packed_rows_keep_sequences_apart(case):
    preset, fields = CASES[case]
    config = bf.get_preset(preset).replace(dropout=0.0, attention_dropout=0.0, **fields)
    plain = Encoder(config)
    packed = with_packing(plain, 3)
    rng = np.random.default_rng(0)
    lengths, row = (6, 6, 6), 20  # one shape alone: JAX traces each new shape once
    tokens, ids = np.zeros((1, row), "int32"), np.zeros((1, row), "int32")
    x = {"token_ids": tokens, "sequence_ids": ids}
    if config.num_segments:
        x["segment_ids"] = np.zeros((1, row), "int32")
    starts = np.cumsum([0, *lengths[:-1]])
    for k, (start, n) in enumerate(zip(starts, lengths, strict=True)):
        tokens[0, start : start + n] = rng.integers(5, config.vocabulary_size, n)
        ids[0, start : start + n] = k + 1
    out = packed(x)
    for k, (start, n) in enumerate(zip(starts, lengths, strict=True)):
        alone = {
            "token_ids": tokens[:, start : start + n],
            "padding_mask": np.ones((1, n), "int32"),
        }
        if config.num_segments:
            alone["segment_ids"] = np.zeros((1, n), "int32")
        want = plain(alone)
        got = np.asarray(out["sequence_output"])[0, start : start + n]
        np.testing.assert_allclose(got, np.asarray(want["sequence_output"])[0], atol=1e-5)
        np.testing.assert_allclose(np.asarray(out["pooled_output"])[0, k],
                                   np.asarray(want["pooled_output"])[0], atol=1e-5)  # fmt: skip
