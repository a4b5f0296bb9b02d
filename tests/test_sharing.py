"""Cross-layer sharing really shares: weight counts, group layout and gradients."""

import numpy as np
import pytest
import tensorflow as tf

from keras_bertfam.layers import EncoderStack
from keras_bertfam.models.info import parameter_breakdown
from tests.helpers import Weights, check_keras_contract, layer_model

H, INNER, HEADS = 16, 32, 2
ATTENTION = 4 * H * H + 4 * H + 2 * H  # fused QKV + output + biases + LayerNorm
FEEDFORWARD = 2 * H * INNER + INNER + H + 2 * H
X = np.random.default_rng(0).normal(size=(2, 5, H)).astype("float32")
PADDING = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], "int32")


def stack(num_layers, num_groups, sharing):
    layer = EncoderStack(
        num_layers,
        HEADS,
        INNER,
        num_groups=num_groups,
        sharing=sharing,
        dropout=0.0,
        attention_dropout=0.0,
    )
    layer(X, PADDING)
    return layer


@pytest.mark.parametrize(
    "groups, sharing, attention_blocks, feedforward_blocks",
    [
        (1, "all", 1, 1),  # ALBERT
        (1, "attention", 1, 12),
        (1, "ffn", 12, 1),
        (3, "all", 3, 3),
        (4, "attention", 4, 12),
        (12, "none", 12, 12),  # BERT
    ],
)
def test_weight_counts(groups, sharing, attention_blocks, feedforward_blocks):
    layer = stack(12, groups, sharing)
    assert len(layer.attention_layers) == attention_blocks
    assert len(layer.feedforward_layers) == feedforward_blocks
    assert layer.count_params() == attention_blocks * ATTENTION + feedforward_blocks * FEEDFORWARD


def test_feedforward_sharing_contract(tmp_path):
    """Two layers with attention of their own and one shared feed-forward, through the contract."""
    inputs = {"x": X, "padding_mask": PADDING}
    layer = lambda d: EncoderStack(2, HEADS, INNER, num_groups=1, sharing="ffn", dtype=d)  # noqa: E731
    check_keras_contract(
        lambda d: layer_model(layer, inputs, d),
        inputs,
        tmp_path,
        expected_shapes=(2, 5, H),
        expected_weights=Weights(3 * 6, 0, 2 * ATTENTION + FEEDFORWARD),
    )


def test_albert_stack_holds_exactly_one_block():
    layer = stack(12, 1, "all")
    paths = sorted({v.path.split("/")[1] for v in layer.weights})
    assert paths == ["attention_0", "feedforward_0"]


def test_groups_split_consecutive_layers():
    attention, feedforward = EncoderStack.sharing_plan(12, 3, "all")
    assert attention == feedforward == [0] * 4 + [1] * 4 + [2] * 4
    attention, feedforward = EncoderStack.sharing_plan(6, 2, "ffn")
    assert attention == [0, 1, 2, 3, 4, 5] and feedforward == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="num_layers=12 is not a multiple of num_groups=5"):
        EncoderStack.sharing_plan(12, 5, "all")


def _gradients(layer):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(X, PADDING)))
    return dict(
        zip(
            [v.path for v in layer.trainable_weights],
            tape.gradient(loss, layer.trainable_weights),
            strict=True,
        )
    )


@pytest.mark.parametrize("sharing", ["all", "attention", "ffn"])
def test_shared_gradient_is_the_sum_over_every_layer(sharing):
    """A shared sublayer's gradient equals the sum of the gradients of 12 unshared copies."""
    shared = stack(12, 1, sharing)
    unshared = stack(12, 12, "none")
    # Give every unshared layer the weights its shared counterpart uses.
    for i, (a, f) in enumerate(zip(shared.attention_plan, shared.feedforward_plan, strict=True)):
        unshared.attention_layers[i].set_weights(shared.attention_layers[a].get_weights())
        unshared.feedforward_layers[i].set_weights(shared.feedforward_layers[f].get_weights())
    np.testing.assert_allclose(shared(X, PADDING), unshared(X, PADDING), atol=1e-5)
    g_shared, g_unshared = _gradients(shared), _gradients(unshared)
    kinds = {
        "all": ("attention", "feedforward"),
        "attention": ("attention",),
        "ffn": ("feedforward",),
    }[sharing]
    for kind in kinds:
        for path, grad in g_shared.items():
            if f"/{kind}_0/" not in path:
                continue
            suffix = path.split(f"/{kind}_0/")[1]
            per_layer = [g_unshared[f"{unshared.path}/{kind}_{i}/{suffix}"] for i in range(12)]
            assert all(float(tf.norm(g)) > 0 for g in per_layer), path
            np.testing.assert_allclose(grad, tf.add_n(per_layer), rtol=1e-4, atol=1e-5)


def test_breakdown_counts_shared_blocks_once():
    from keras_bertfam import get_preset

    albert = get_preset("albert_base")
    assert parameter_breakdown(albert)["encoder blocks"] == 7_087_872
    attention_only = albert.replace(sharing="attention")
    assert parameter_breakdown(attention_only)["encoder blocks"] == (
        (4 * 768 * 768 + 6 * 768) + 12 * (2 * 768 * 3072 + 3072 + 3 * 768)
    )
