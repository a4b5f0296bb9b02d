"""The shared layer and model contract (tests/helpers.py) on this backend: one case per
family and mix, each with the seven checks (shapes, weights, config, symbolic shapes,
.keras round trip, a jit-compiled fit step, mixed precision)."""

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.layers import SelfAttention
from tests.helpers import TINY, Weights, check_keras_contract, encoder_weights, make_batch
from tests.test_models import CASES, ENCODER_KEYS, MODERN_CASES

PRETRAINERS = ("bert", "albert")  # ALBERT: 4 layers in 2 groups, E=8 != H=16, SOP


def _pretrainer_weights(cfg, attention, feedforward):
    V, E, H = cfg.vocabulary_size, cfg.resolved_embedding_dim, cfg.hidden_dim
    encoder = encoder_weights(cfg, attention, feedforward, pooler=True)
    mlm = Weights(5, 0, H * E + E + 2 * E + V)
    sentence = Weights(2, 0, 2 * H + 2)
    return Weights(*(sum(w) for w in zip(encoder, mlm, sentence, strict=True)))


@pytest.mark.parametrize("case", PRETRAINERS)
def test_pretrainer_contract(tmp_path, case):
    preset, overrides, attention, feedforward = CASES[case]
    cfg = bf.get_preset(preset, **TINY, **overrides)
    check_keras_contract(
        lambda d: bf.build_pretrainer(cfg, dtype=d),
        make_batch(cfg.vocabulary_size, num_segments=cfg.num_segments),
        tmp_path,
        expected_shapes={"mlm_logits": (2, 3, cfg.vocabulary_size),
                         f"{cfg.sentence_objective}_logits": (2, 2)},
        expected_weights=_pretrainer_weights(cfg, attention, feedforward),
        atol=1e-4,
    )  # fmt: skip


@pytest.mark.parametrize("case", ["modernbert"])
def test_modern_encoder_contract(tmp_path, case):
    preset, overrides, encoder, _ = MODERN_CASES[case]
    cfg = bf.get_preset(preset, **TINY, **overrides)
    batch = make_batch(cfg.vocabulary_size, num_segments=cfg.num_segments)
    inputs = bf.build_encoder(cfg).input  # ModernBERT has no segment_ids
    check_keras_contract(
        lambda d: bf.build_encoder(cfg, dtype=d),
        {k: v for k, v in batch.items() if k in ENCODER_KEYS and k in inputs},
        tmp_path,
        expected_shapes={"sequence_output": (2, 8, cfg.hidden_dim),
                         "pooled_output": (2, cfg.hidden_dim)},
        expected_weights=encoder,
    )  # fmt: skip


def test_fused_attention_equals_the_explicit_softmax(monkeypatch):
    """`ops.dot_product_attention` (this backend's path) and the einsum path TensorFlow
    takes give the same outputs, with padding in the mask."""
    layer = SelfAttention(num_heads=4, attention_dropout=0.1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 12, 32)).astype("float32")
    mask = np.ones((2, 1, 1, 12), bool)
    mask[1, ..., 7:] = False
    assert layer._fused(training=False) and not layer._fused(training=True)
    fused = keras.ops.convert_to_numpy(layer(x, mask, training=False))
    monkeypatch.setattr("keras_bertfam.layers.attention.FUSED_BACKENDS", ())
    assert not layer._fused(training=False)
    explicit = keras.ops.convert_to_numpy(layer(x, mask, training=False))
    np.testing.assert_allclose(fused, explicit, atol=1e-5, rtol=1e-5)
    keras.config.set_dtype_policy("mixed_bfloat16")
    half = SelfAttention(num_heads=4, dtype="mixed_bfloat16")
    half.build(x.shape)
    for variable, value in zip(half.weights, layer.get_weights(), strict=True):
        variable.assign(value)
    out = keras.ops.convert_to_numpy(keras.ops.cast(half(x, mask), "float32"))
    np.testing.assert_allclose(out, explicit, atol=0.1)
