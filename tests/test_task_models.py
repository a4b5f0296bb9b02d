"""The shared contract on the task models of `build_task_model`, for every task."""

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.models.tasks import build_task_model
from tests.helpers import TINY, Weights, check_keras_contract, encoder_weights, make_batch

CONFIG = bf.get_preset("bert_tiny", num_layers=1, **TINY)
H = CONFIG.hidden_dim
KEYS = ("token_ids", "segment_ids", "padding_mask")
BATCH = {k: v for k, v in make_batch(CONFIG.vocabulary_size).items() if k in KEYS}
# 3 choices per example: [batch=2, C=3, seq=8]
CHOICES = {
    k: np.stack([make_batch(CONFIG.vocabulary_size, seed=i)[k] for i in range(3)], axis=1)
    for k in KEYS
}


def _build(task, dtype, **kwargs):
    """A task model whose every layer has `dtype`: the head layers follow the global policy."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype or "float32")
    try:
        return build_task_model(bf.build_encoder(CONFIG), task, **kwargs)
    finally:
        keras.config.set_dtype_policy(previous)


def _contract(tmp_path, task, inputs, shapes, head, pooler, **kwargs):
    """The contract on `task` over CONFIG; `head` holds the head's weights."""
    encoder = encoder_weights(CONFIG, 1, 1, pooler=pooler)
    weights = Weights(*(a + b for a, b in zip(encoder, head, strict=True)))
    return check_keras_contract(
        lambda d: _build(task, d, **kwargs),
        inputs,
        tmp_path,
        expected_shapes=shapes,
        expected_weights=weights,
    )


@pytest.mark.parametrize("pooling", ["pooled", "cls", "mean"])
def test_classification_contract(tmp_path, pooling):
    """Only "pooled" keeps the pooler: with the others it would get no gradient."""
    head = Weights(2, 0, H * 3 + 3)
    _contract(
        tmp_path,
        "classification",
        BATCH,
        {"logits": (2, 3)},
        head,
        pooler=pooling == "pooled",
        num_classes=3,
        pooling=pooling,
    )


def test_token_classification_contract(tmp_path):
    head = Weights(2, 0, H * 4 + 4)
    _contract(
        tmp_path,
        "token_classification",
        BATCH,
        {"logits": (2, 8, 4)},
        head,
        pooler=False,
        num_classes=4,
    )


def test_question_answering_contract(tmp_path):
    _, out = _contract(
        tmp_path,
        "question_answering",
        BATCH,
        {"start_logits": (2, 8), "end_logits": (2, 8)},
        Weights(2, 0, H * 2 + 2),
        pooler=False,
    )
    padding = BATCH["padding_mask"] == 0
    assert (out["start_logits"][padding] < -1e8).all() and (out["end_logits"][padding] < -1e8).all()


def test_multiple_choice_contract(tmp_path):
    _contract(
        tmp_path,
        "multiple_choice",
        CHOICES,
        {"logits": (2, 3)},
        Weights(2, 0, H + 1),
        pooler=True,
        num_classes=3,
    )


@pytest.mark.parametrize("pooling", ["pooled", "mean"])
def test_encoder_of_a_task_model_gives_both_outputs_after_a_keras_round_trip(tmp_path, pooling):
    """A mean-pooled classifier keeps only its encoder's sequence output; the encoder taken
    back out of it (for the TF-Hub export, say) still has `pooled_output`, the first
    token's state when the pooler Dense was left out."""
    from keras_bertfam.models.builders import encoder_of

    encoder = bf.build_encoder(CONFIG)
    model = build_task_model(encoder, "classification", 3, pooling=pooling)
    model.save(tmp_path / "m.keras")
    back = encoder_of(bf.load_model(tmp_path / "m.keras"))
    out = back(BATCH)
    expected = encoder(BATCH)
    np.testing.assert_allclose(out["sequence_output"], expected["sequence_output"], atol=1e-6)
    want = expected["pooled_output"] if pooling == "pooled" else expected["sequence_output"][:, 0]
    np.testing.assert_allclose(out["pooled_output"], want, atol=1e-6)
