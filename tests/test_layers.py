import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bertfam.layers import (
    EncoderEmbedding,
    EncoderStack,
    FeedForward,
    MaskedLMBias,
    MaskedLMHead,
    Pooler,
    SelfAttention,
    SentenceHead,
    TokenEmbedding,
    TransformerEncoderBlock,
)
from tests.helpers import check_keras_contract, layer_model

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 6, 16)).astype("float32")
PADDING = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], "int32")
IDS = np.array([[2, 5, 7, 9, 1, 3], [4, 4, 8, 2, 0, 0]], "int32")
SEGMENTS = np.array([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]], "int32")


def test_token_embedding_contract(tmp_path):
    check_keras_contract(
        lambda d: layer_model(lambda d: TokenEmbedding(10, 8, dtype=d), {"ids": IDS}, d),
        {"ids": IDS},
        tmp_path,
    )


@pytest.mark.parametrize("hidden_dim", [None, 32])
def test_encoder_embedding_contract(tmp_path, hidden_dim):
    def make(d):
        def layer(d):
            table = TokenEmbedding(10, 8, dtype=d)
            block = EncoderEmbedding(8, 2, position_offset=2, hidden_dim=hidden_dim, dtype=d)
            return lambda ids, seg: block(table(ids), seg)

        return layer_model(layer, {"ids": IDS, "seg": SEGMENTS}, d)

    check_keras_contract(make, {"ids": IDS, "seg": SEGMENTS}, tmp_path)


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
def test_transformer_block_contract(tmp_path, norm_first):
    def make(d):
        return layer_model(
            lambda d: TransformerEncoderBlock(4, 32, norm_first=norm_first, dtype=d),
            {"x": X, "padding_mask": PADDING},
            d,
        )

    check_keras_contract(make, {"x": X, "padding_mask": PADDING}, tmp_path)


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


def test_encoder_stack_contract(tmp_path):
    def make(d):
        return layer_model(
            lambda d: EncoderStack(4, 4, 32, num_groups=2, sharing="attention", dtype=d),
            {"x": X, "padding_mask": PADDING},
            d,
        )

    check_keras_contract(make, {"x": X, "padding_mask": PADDING}, tmp_path)


def test_heads_contract(tmp_path):
    positions = np.array([[0, 3], [1, 2]], "int32")

    def make(d):
        def layer(d):
            table = TokenEmbedding(10, 8, dtype=d)
            head = MaskedLMHead(8, dtype=d)
            bias = MaskedLMBias(dtype=d)
            pooler = Pooler(dtype=d)
            sentence = SentenceHead(2, dropout=0.1, init="fan_in_uniform", dtype=d)

            def call(x, mask_positions):
                tied = bias(table(head(x, mask_positions), reverse=True))
                return {"mlm": tied, "nsp": sentence(pooler(x))}

            return call

        return layer_model(layer, {"x": X, "mask_positions": positions}, d)

    _, out = check_keras_contract(make, {"x": X, "mask_positions": positions}, tmp_path)
    assert out["mlm"].shape == (2, 2, 10) and out["nsp"].shape == (2, 2)


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
