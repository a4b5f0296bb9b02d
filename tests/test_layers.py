import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bertfam.layers as layers
from keras_bertfam.layers import (
    EncoderEmbedding,
    EncoderStack,
    FeedForward,
    FoldChoices,
    MaskedLMBias,
    MaskedLMHead,
    PackedSequences,
    Pooler,
    PositionEmbedding,
    ReplacedTokenHead,
    ReplaceTokens,
    RotaryEmbedding,
    SelfAttention,
    SentenceHead,
    SequencePooling,
    SpanLogits,
    TokenEmbedding,
    TransformerEncoderBlock,
    UnfoldChoices,
)
from tests.helpers import Weights, check_keras_contract, layer_model

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 6, 16)).astype("float32")
PADDING = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], "int32")
IDS = np.array([[2, 5, 7, 9, 1, 3], [4, 4, 8, 2, 0, 0]], "int32")
SEGMENTS = np.array([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]], "int32")
POSITIONS = np.array([[0, 3], [1, 2]], "int32")

# Parameters of the sublayers at H = 16, intermediate 32 (weight tensors: 6 each).
H, INNER = 16, 32
ATTENTION = 4 * H * H + 4 * H + 2 * H  # fused QKV + output, their biases, LayerNorm
FEEDFORWARD = 2 * H * INNER + INNER + H + 2 * H


def contract(tmp_path, layer_factory, inputs, shapes, weights, **kwargs):
    """The shared contract on a functional model of `layer_factory(dtype)` called on `inputs`."""
    return check_keras_contract(
        lambda d: layer_model(layer_factory, inputs, d),
        inputs,
        tmp_path,
        expected_shapes=shapes,
        expected_weights=weights,
        **kwargs,
    )


# -- the shared contract, one test per public layer ------------------------------------


def test_token_embedding_contract(tmp_path):
    def layer(d):
        table = TokenEmbedding(10, 8, dtype=d)
        return lambda ids: {"embeddings": table(ids), "logits": table(table(ids), reverse=True)}

    shapes = {"embeddings": (2, 6, 8), "logits": (2, 6, 10)}
    contract(tmp_path, layer, {"ids": IDS}, shapes, Weights(1, 0, 10 * 8))


@pytest.mark.parametrize("hidden_dim", [None, 32])
def test_encoder_embedding_contract(tmp_path, hidden_dim):
    def layer(d):
        table = TokenEmbedding(10, 8, dtype=d)
        block = EncoderEmbedding(8, 2, position_offset=2, hidden_dim=hidden_dim, dtype=d)
        return lambda ids, seg: block(table(ids), seg)

    # token table, position table (8 + 2 rows), segment table, LayerNorm; E x H projection
    params = 10 * 8 + (8 + 2) * 8 + 2 * 8 + 2 * 8
    weights = Weights(5, 0, params) if hidden_dim is None else Weights(7, 0, params + 8 * 32 + 32)
    shape = (2, 6, hidden_dim or 8)
    contract(tmp_path, layer, {"ids": IDS, "seg": SEGMENTS}, shape, weights)


def test_position_embedding_contract(tmp_path):
    layer = lambda d: PositionEmbedding(8, offset=2, dtype=d)  # noqa: E731
    contract(tmp_path, layer, {"x": X}, (2, 6, H), Weights(1, 0, (8 + 2) * H))


def test_rotary_embedding_contract(tmp_path):
    def layer(d):
        rope = RotaryEmbedding(theta=1000.0, dtype=d)
        return lambda x: rope(keras.ops.reshape(x, (-1, 6, 4, 4)))

    contract(tmp_path, layer, {"x": X}, (2, 6, 4, 4), Weights(0, 0, 0))


def test_self_attention_contract(tmp_path):
    mask = PADDING[:, None, None, :].astype(bool)
    layer = lambda d: SelfAttention(4, dtype=d)  # noqa: E731
    contract(tmp_path, layer, {"x": X, "mask": mask}, (2, 6, H), Weights(6, 0, ATTENTION))


def test_feed_forward_contract(tmp_path):
    layer = lambda d: FeedForward(INNER, norm_first=True, dtype=d)  # noqa: E731
    contract(tmp_path, layer, {"x": X}, (2, 6, H), Weights(6, 0, FEEDFORWARD))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_block_contract(tmp_path, norm_first):
    layer = lambda d: TransformerEncoderBlock(4, INNER, norm_first=norm_first, dtype=d)  # noqa: E731
    inputs = {"x": X, "padding_mask": PADDING}
    contract(tmp_path, layer, inputs, (2, 6, H), Weights(12, 0, ATTENTION + FEEDFORWARD))


def test_encoder_stack_contract(tmp_path):
    """Two layers sharing one attention sublayer, each with its own feed-forward, pre-LN."""

    def layer(d):
        return EncoderStack(
            2, 4, INNER, num_groups=1, sharing="attention", norm_first=True, dtype=d
        )

    # 1 attention + 2 feed-forward sublayers + the final LayerNorm of pre-LN
    weights = Weights(6 + 2 * 6 + 2, 0, ATTENTION + 2 * FEEDFORWARD + 2 * H)
    contract(tmp_path, layer, {"x": X, "padding_mask": PADDING}, (2, 6, H), weights)


@pytest.mark.parametrize("use_dense", [True, False])
def test_pooler_contract(tmp_path, use_dense):
    weights = Weights(2, 0, H * H + H) if use_dense else Weights(0, 0, 0)
    layer = lambda d: Pooler(use_dense=use_dense, dtype=d)  # noqa: E731
    contract(tmp_path, layer, {"x": X}, (2, H), weights)


def test_masked_lm_head_contract(tmp_path):
    layer = lambda d: MaskedLMHead(8, dtype=d)  # noqa: E731
    inputs = {"x": X, "mask_positions": POSITIONS}
    contract(tmp_path, layer, inputs, (2, 2, 8), Weights(4, 0, H * 8 + 8 + 2 * 8))


def test_masked_lm_bias_contract(tmp_path):
    logits = RNG.normal(size=(2, 2, 10)).astype("float32")
    layer = lambda d: MaskedLMBias(dtype=d)  # noqa: E731
    contract(tmp_path, layer, {"logits": logits}, (2, 2, 10), Weights(1, 0, 10))


def test_replaced_token_head_contract(tmp_path):
    layer = lambda d: ReplacedTokenHead(activation="gelu", dtype=d)  # noqa: E731
    contract(tmp_path, layer, {"x": X}, (2, 6), Weights(4, 0, H * H + H + H + 1))


def test_replace_tokens_contract(tmp_path):
    """A generator sure of its token (so every call samples the same): token 7 at real
    slots, nothing written at the padding slot; replaced where the original was not 7."""
    logits = np.full((2, 2, 10), -1e4, "float32")
    logits[..., 7] = 0.0
    inputs = {"logits": logits, "ids": IDS, "positions": POSITIONS,
              "mask_ids": np.array([[7, 5], [8, 2]], "int32"),
              "weights": np.array([[1, 1], [1, 0]], "float32")}  # fmt: skip

    def layer(d):
        replace = ReplaceTokens(seed=4, dtype=d)
        return lambda *a: dict(zip(("ids", "labels"), replace(*a), strict=True))

    _, out = contract(tmp_path, layer, inputs, {"ids": (2, 6), "labels": (2, 6)}, Weights(0, 0, 0))
    expected = IDS.copy()
    expected[0, [0, 3]] = 7
    expected[1, 1] = 7
    np.testing.assert_array_equal(out["ids"], expected)
    labels = np.zeros((2, 6))
    labels[0, 3] = labels[1, 1] = 1  # row 0, position 0: 7 sampled where 7 was (original)
    np.testing.assert_array_equal(out["labels"], labels)


def test_sentence_head_contract(tmp_path):
    """On the pooled output (NSP, BERT's init), on every position (3 classes, torch's), and
    with ModernBERT's transform (Dense H -> H without bias, GELU, a bias-free LayerNorm)."""

    def layer(d):
        nsp = SentenceHead(2, dtype=d)
        tokens = SentenceHead(3, dropout=0.1, init="fan_in_uniform", dtype=d)
        modern = SentenceHead(4, transform_activation="gelu", use_bias=False, dtype=d)
        return lambda pooled, sequence: {"nsp": nsp(pooled), "tokens": tokens(sequence),
                                         "modern": modern(pooled)}  # fmt: skip

    inputs = {"pooled": X[:, 0], "sequence": X}
    shapes = {"nsp": (2, 2), "tokens": (2, 6, 3), "modern": (2, 4)}
    modern = Weights(4, 0, H * H + H + H * 4 + 4)
    weights = Weights(4 + modern[0], 0, (H * 2 + 2) + (H * 3 + 3) + modern[2])
    contract(tmp_path, layer, inputs, shapes, weights)


def test_sequence_pooling_contract(tmp_path):
    def layer(d):
        cls, mean = SequencePooling("cls", dtype=d), SequencePooling("mean", dtype=d)
        return lambda x, padding_mask: {"cls": cls(x, padding_mask), "mean": mean(x, padding_mask)}

    inputs = {"x": X, "padding_mask": PADDING}
    contract(tmp_path, layer, inputs, {"cls": (2, H), "mean": (2, H)}, Weights(0, 0, 0))


def test_span_logits_contract(tmp_path):
    def layer(d):
        span = SpanLogits(dtype=d)
        return lambda scores, padding_mask: dict(
            zip(("start_logits", "end_logits"), span(scores, padding_mask), strict=True)
        )

    inputs = {"scores": X[..., :2], "padding_mask": PADDING}
    shapes = {"start_logits": (2, 6), "end_logits": (2, 6)}
    contract(tmp_path, layer, inputs, shapes, Weights(0, 0, 0))


def test_fold_choices_contract(tmp_path):
    """Integer ids stay integers (the contract runs a jit predict step: nothing to train)."""
    ids = np.stack([IDS, IDS + 1, IDS + 2], axis=1)  # [batch=2, C=3, seq=6]
    _, out = contract(
        tmp_path, lambda d: FoldChoices(dtype=d), {"ids": ids}, (6, 6), Weights(0, 0, 0)
    )
    np.testing.assert_array_equal(out["output"], ids.reshape(6, 6))


def test_unfold_choices_contract(tmp_path):
    """Per-choice scores [batch * C, 1] back to [batch, C] (folded from [batch, C, 1])."""

    def layer(d):
        fold, unfold = FoldChoices(dtype=d), UnfoldChoices(3, dtype=d)
        return lambda scores: unfold(fold(scores))

    scores = RNG.normal(size=(2, 3, 1)).astype("float32")
    _, out = contract(tmp_path, layer, {"scores": scores}, (2, 3), Weights(0, 0, 0))
    np.testing.assert_array_equal(out["output"], scores[..., 0])


def test_packed_sequences_contract(tmp_path):
    """Positions restart at each sequence; slots point at each sequence's first token."""
    ids = np.array([[1, 1, 2, 2, 2, 0], [1, 2, 3, 3, 0, 0]], "int32")
    shapes = {"padding_mask": (2, 6), "positions": (2, 6), "starts": (2, 3), "present": (2, 3)}
    _, out = contract(tmp_path, lambda d: PackedSequences(3, dtype=d), {"sequence_ids": ids},
                      shapes, Weights(0, 0, 0))  # fmt: skip
    np.testing.assert_array_equal(out["positions"], [[0, 1, 0, 1, 2, 0], [0, 0, 0, 1, 0, 1]])
    np.testing.assert_array_equal(out["starts"], [[0, 2, 0], [0, 1, 2]])
    np.testing.assert_array_equal(out["present"], [[True, True, False], [True, True, True]])
    np.testing.assert_array_equal(out["padding_mask"], ids > 0)


def test_every_public_layer_has_a_contract_test():
    """A test named `test_<layer in snake case>_contract` above, for each class of `__all__`."""
    classes = [getattr(layers, n) for n in layers.__all__ if isinstance(getattr(layers, n), type)]
    words = r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"
    wanted = {f"test_{re.sub(words, '_', c.__name__).lower()}_contract" for c in classes}
    assert len(classes) >= 14 and not wanted - set(globals()), sorted(wanted - set(globals()))


# -- the contract itself fails on each kind of mistake --------------------------------


@keras.saving.register_keras_serializable(package="tests")
class _Scale(keras.layers.Layer):
    """`x * w * factor`, with one flaw on request, for checking that the contract catches it."""

    def __init__(self, factor=1.0, flaw=None, **kwargs):
        super().__init__(**kwargs)
        self.factor, self.flaw = factor, flaw

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")
        if self.flaw == "unused_weight":
            self.unused = self.add_weight(name="unused", shape=(), initializer="zeros")

    def call(self, x):
        y = x * self.w * self.factor
        if self.flaw == "overflow":  # -inf in float16
            y = y - keras.ops.cast(1e9, y.dtype)
        return keras.ops.cast(y, "float32") if self.flaw == "float32_output" else y

    def get_config(self):
        config = super().get_config()
        config.update(flaw=self.flaw)
        if self.flaw != "factor_not_saved":
            config.update(factor=self.factor)
        return config


def _scale_contract(tmp_path, flaw, shape, weights):
    layer = lambda d: _Scale(2.0, flaw, dtype=d)  # noqa: E731
    contract(tmp_path, layer, {"x": X}, shape, weights)


@pytest.mark.parametrize(
    "flaw, shape, weights, message",
    [
        (None, (2, 6, 8), Weights(1, 0, H), "^output shapes"),
        (None, {"x": (2, 6, H)}, Weights(1, 0, H), "^output shapes"),
        (None, (2, 6, H), Weights(2, 0, H), "^weights Weights"),
        (None, (2, 6, H), Weights(1, 0, H + 1), "^weights Weights"),
        ("unused_weight", (2, 6, H), Weights(2, 0, H + 1), "without a gradient update"),
        ("factor_not_saved", (2, 6, H), Weights(1, 0, H), "Not equal to tolerance"),
        ("float32_output", (2, 6, H), Weights(1, 0, H), "mixed_float16"),
        ("overflow", (2, 6, H), Weights(1, 0, H), "not finite"),
    ],
)
def test_the_contract_catches(tmp_path, flaw, shape, weights, message):
    with pytest.raises(AssertionError, match=message):
        _scale_contract(tmp_path, flaw, shape, weights)


def test_the_contract_passes_without_a_flaw_and_needs_shapes_and_weights(tmp_path):
    _scale_contract(tmp_path, None, (2, 6, H), Weights(1, 0, H))
    with pytest.raises(TypeError, match="expected_shapes"):
        check_keras_contract(lambda d: None, {"x": X}, tmp_path, expected_weights=(0, 0, 0))
    with pytest.raises(TypeError, match="expected_weights"):
        check_keras_contract(lambda d: None, {"x": X}, tmp_path, expected_shapes=(2,))


# -- what each layer computes ----------------------------------------------------------


def test_factorized_projection_only_when_e_differs_from_h():
    table = TokenEmbedding(10, 8)
    same = EncoderEmbedding(8, hidden_dim=8)
    same(table(IDS), SEGMENTS)
    factorized = EncoderEmbedding(8, hidden_dim=32)
    out = factorized(table(IDS), SEGMENTS)
    assert same.projection is None
    assert out.shape == (2, 6, 32)
    assert tuple(factorized.projection.kernel.shape) == (8, 32)


def test_position_offset_uses_rows_from_the_offset():
    block = EncoderEmbedding(4, num_segments=0, position_offset=2)
    zeros = np.zeros((1, 3, 8), "float32")
    block(zeros)
    table = np.arange(6 * 8, dtype="float32").reshape(6, 8)
    block.position_embedding.assign(table)
    block.layer_norm.set_weights([np.ones(8), np.zeros(8)])
    expected = block.layer_norm(table[2:5][None]).numpy()
    np.testing.assert_allclose(block(zeros).numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("norm_first", [False, True])
def test_post_ln_and_pre_ln_compute_the_documented_formulas(norm_first):
    ffn = FeedForward(32, dropout=0.0, norm_first=norm_first)
    out = ffn(X).numpy()

    def inner(v):
        return ffn.output_dense(ffn.intermediate(v)).numpy()

    if norm_first:
        expected = X + inner(ffn.layer_norm(X))
    else:
        expected = ffn.layer_norm(X + inner(X)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_padding_does_not_leak_into_real_positions():
    block = TransformerEncoderBlock(4, 32, dropout=0.0, attention_dropout=0.0)
    x = X.copy()
    first = block(x, PADDING).numpy()
    x[1, 4:] = 100.0  # change what sits at padded positions only
    second = block(x, PADDING).numpy()
    np.testing.assert_allclose(first[1, :4], second[1, :4], atol=1e-5)
    assert not np.allclose(first[1, 4:], second[1, 4:])


def test_attention_matches_keras_multi_head_attention():
    """Our fused-QKV attention computes standard multi-head attention."""
    ours = SelfAttention(4, attention_dropout=0.0, dropout=0.0)
    ours(X)
    reference = keras.layers.MultiHeadAttention(4, 4)
    reference(X, X)
    qkv_kernel, qkv_bias = ours.qkv.get_weights()
    out_kernel, out_bias = ours.output_dense.get_weights()
    split = lambda w: [p.reshape(16, 4, 4) for p in np.split(w, 3, axis=-1)]  # noqa: E731
    bsplit = lambda b: [p.reshape(4, 4) for p in np.split(b, 3)]  # noqa: E731
    (qk, kk, vk), (qb, kb, vb) = split(qkv_kernel), bsplit(qkv_bias)
    reference.set_weights([qk, qb, kk, kb, vk, vb, out_kernel.reshape(4, 4, 16), out_bias])
    mask = PADDING[:, None, :].astype(bool).repeat(6, axis=1)
    expected = ours.layer_norm(X + reference(X, X, attention_mask=mask).numpy()).numpy()
    got = ours(X, PADDING[:, None, None, :].astype(bool)).numpy()
    np.testing.assert_allclose(got[0], expected[0], atol=1e-5)
    np.testing.assert_allclose(got[1, :4], expected[1, :4], atol=1e-5)


def test_sentence_head_initializations():
    hidden = 384
    torch_like = SentenceHead(14, init="fan_in_uniform")
    torch_like.build((None, hidden))
    kernel, bias = (np.asarray(w) for w in torch_like.dense.get_weights())
    limit = hidden**-0.5  # torch.nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias too
    assert np.abs(kernel).max() <= limit and np.abs(bias).max() <= limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05) and np.any(bias != 0)
    bert = SentenceHead(14)
    bert.build((None, hidden))
    kernel, bias = (np.asarray(w) for w in bert.dense.get_weights())
    assert np.abs(kernel).max() <= 0.04 and not np.any(bias)  # N(0, 0.02) cut at 2 stddev
    assert SentenceHead.from_config(torch_like.get_config()).init == "fan_in_uniform"
    with pytest.raises(ValueError, match="init='xavier'"):
        SentenceHead(2, init="xavier")


def test_masked_lm_head_gathers_the_given_positions():
    head = MaskedLMHead(16, activation="relu")
    positions = np.array([[5, 0], [3, 3]], "int32")
    out = head(X, positions).numpy()
    expected = head.layer_norm(head.dense(X[[[0], [1]], positions])).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_out_of_range_ids_raise_naming_input_and_bound(mode):
    table = TokenEmbedding(10, 4)
    bad = np.array([[1, 10]], "int32")
    call = table if mode == "eager" else tf.function(table)
    error = ValueError if mode == "eager" else tf.errors.InvalidArgumentError
    with pytest.raises(error, match=r"token_ids holds values outside \[0, vocabulary_size=10\)"):
        call(bad)
    with pytest.raises(error, match="token_ids holds values outside"):
        call(np.array([[-1, 2]], "int32"))


def test_out_of_range_ids_under_xla_give_nan_not_clamped_rows():
    table = TokenEmbedding(10, 4)
    out = tf.function(table, jit_compile=True)(np.array([[1, 10]], "int32")).numpy()
    assert np.isfinite(out[0, 0]).all() and np.isnan(out[0, 1]).all()


def test_bad_segment_ids_and_positions_are_named():
    block = EncoderEmbedding(8, num_segments=2)
    with pytest.raises(ValueError, match=r"segment_ids holds values outside \[0, num_segments=2\)"):
        block(np.zeros((1, 3, 4), "float32"), np.array([[0, 2, 1]]))
    head = MaskedLMHead(4)
    with pytest.raises(
        ValueError, match=r"mask_positions holds values outside \[0, seq_length=6\)"
    ):
        head(X, np.array([[0, 6], [1, 1]]))


def test_sequence_longer_than_position_table():
    block = EncoderEmbedding(4, num_segments=0)
    with pytest.raises(ValueError, match="sequence length 5 but max_sequence_length=4"):
        block(np.zeros((1, 5, 8), "float32"))
    dynamic = tf.function(block, input_signature=[tf.TensorSpec([None, None, 8])])
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_sequence_length=4"):
        dynamic(tf.zeros((1, 5, 8)))


# -- modern parts: rotary positions, sliding windows, gated feed-forwards, RMSNorm ------


def test_rotary_scores_depend_only_on_the_distance():
    """q_i . k_j after rotation is a function of i - j: shifting both positions keeps it."""
    rope = RotaryEmbedding(theta=10000.0)
    q = np.broadcast_to(RNG.normal(size=(1, 1, 1, 8)), (1, 12, 1, 8)).astype("float32")
    k = np.broadcast_to(RNG.normal(size=(1, 1, 1, 8)), (1, 12, 1, 8)).astype("float32")
    rq, rk = np.asarray(rope(q))[0, :, 0], np.asarray(rope(k))[0, :, 0]
    scores = rq @ rk.T  # [i, j]
    for d in (-3, 0, 2, 5):
        band = np.diagonal(scores, offset=d)
        np.testing.assert_allclose(band, band[0], rtol=1e-4, atol=1e-4)
    assert not np.allclose(np.diagonal(scores, 0)[0], np.diagonal(scores, 3)[0])
    # explicit positions: the same rotation as the default 0 .. S-1, shifted by 7
    shifted = np.asarray(rope(q, positions=np.arange(7, 19)))[0, :, 0]
    np.testing.assert_allclose(
        shifted @ np.asarray(rope(k, positions=np.arange(7, 19)))[0, :, 0].T,
        scores,
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize("window", [2, 4, 6])
def test_sliding_window_sees_only_keys_within_half_the_window(window):
    """Changing the input at position p changes outputs at i exactly where |i - p| <= w/2."""
    attention = SelfAttention(2, dropout=0.0, attention_dropout=0.0, norm_first=True)
    x = RNG.normal(size=(1, 11, 8)).astype("float32")
    base = np.asarray(attention(x, local_window=window))
    for p in (0, 5, 10):
        y = x.copy()
        y[0, p] += RNG.normal(size=8)  # not a constant shift, which the norm would remove
        changed = np.abs(np.asarray(attention(y, local_window=window)) - base).max(-1)[0] > 1e-6
        expected = np.abs(np.arange(11) - p) <= window // 2
        np.testing.assert_array_equal(changed, expected)


def test_sliding_window_equals_global_attention_under_a_band_mask():
    attention = SelfAttention(2, dropout=0.0, attention_dropout=0.0)
    x = RNG.normal(size=(2, 9, 8)).astype("float32")
    padding = np.ones((2, 9), bool)
    padding[1, 6:] = False
    band = np.abs(np.arange(9)[:, None] - np.arange(9)[None]) <= 2
    full = padding[:, None, None, :] & band[None, None]
    local = np.asarray(attention(x, padding[:, None, None, :], local_window=4))
    banded = np.asarray(attention(x, full))
    np.testing.assert_allclose(local[0], banded[0], atol=1e-5)
    np.testing.assert_allclose(local[1, :6], banded[1, :6], atol=1e-5)


@pytest.mark.parametrize("kind, act", [("geglu", "gelu"), ("swiglu", "silu")])
def test_gated_feed_forward_computes_act_of_value_times_gate(kind, act):
    ffn = FeedForward(6, kind=kind, activation=act, dropout=0.0, norm_first=True,
                      use_norm=False, use_bias=False)  # fmt: skip
    out = np.asarray(ffn(X))
    (wi,), (wo,) = ffn.intermediate.get_weights(), ffn.output_dense.get_weights()
    value, gate = np.split(X @ wi, 2, axis=-1)
    expected = X + (np.asarray(keras.activations.get(act)(value)) * gate) @ wo
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert wi.shape == (H, 12) and len(ffn.weights) == 2


def test_rms_norm_without_bias():
    ffn = FeedForward(8, norm="rms", use_bias=False, norm_first=True, dropout=0.0)
    ffn(X)
    assert [w.name for w in ffn.weights if "norm" in w.path] == ["scale"]
    assert not any("bias" in w.path for w in ffn.weights)
