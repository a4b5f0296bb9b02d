"""The input checks of keras_bertfam/layers/checks.py on this backend: eager calls raise
`InputError` naming the input and the bound; jit-compiled JAX steps (whose values are not
known when traced) give NaN rows for invalid ids instead of silently clamped ones, and
PyTorch's compiled steps, which see real tensors, raise as eager calls do."""

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.errors import InputError
from keras_bertfam.layers import EncoderEmbedding, MaskedLMHead, TokenEmbedding
from tests.helpers import make_batch

ENCODER_KEYS = ("token_ids", "segment_ids", "padding_mask")
# JAX traces jit-compiled steps with abstract values; PyTorch runs them on real tensors
TRACED_WITHOUT_VALUES = keras.backend.backend() == "jax"


def test_eager_calls_name_the_input_and_the_bound():
    with pytest.raises(
        InputError,
        match=r"outside \[0, vocabulary_size=10\): found 10 at index \[0, 1\]",
    ):
        TokenEmbedding(10, 4)(np.array([[1, 10]], "int32"))
    block = EncoderEmbedding(8, num_segments=2)
    with pytest.raises(InputError, match=r"segment_ids holds values outside \[0, num_segments=2\)"):
        block(np.zeros((1, 3, 4), "float32"), np.array([[0, 2, 1]]))
    with pytest.raises(InputError, match="sequence length 5 but max_sequence_length=4"):
        EncoderEmbedding(4, num_segments=0)(np.zeros((1, 5, 8), "float32"))
    x = np.zeros((2, 6, 4), "float32")
    with pytest.raises(
        InputError, match=r"mask_positions holds values outside \[0, seq_length=6\)"
    ):
        MaskedLMHead(4)(x, np.array([[0, 6], [1, 1]]))


def test_a_model_called_eagerly_raises_and_a_jit_compiled_one_gives_nan_rows():
    model = bf.build_encoder("bert_tiny", num_layers=1, max_sequence_length=8)
    batch = {k: v for k, v in make_batch(30522, seq=8).items() if k in ENCODER_KEYS}
    bad = dict(batch, token_ids=batch["token_ids"].copy())
    bad["token_ids"][1, 2] = 30522
    with pytest.raises(
        InputError, match=r"token_ids holds values outside \[0, vocabulary_size=30522\)"
    ):
        model(bad)
    if TRACED_WITHOUT_VALUES:
        out = model.predict(bad, verbose=0, batch_size=2)  # jit-compiled
    else:  # PyTorch's steps see concrete tensors: the check raises there too
        with pytest.raises(InputError, match="token_ids holds values outside"):
            model.predict(bad, verbose=0, batch_size=2)
        return
    assert np.isnan(out["sequence_output"][1]).all() and np.isnan(out["pooled_output"][1]).all()
    good = model.predict(batch, verbose=0, batch_size=2)
    np.testing.assert_allclose(out["sequence_output"][0], good["sequence_output"][0], atol=1e-5)


def test_a_jit_compiled_fit_on_bad_ids_reports_a_nan_loss():
    model = bf.build_pretrainer("bert_tiny", num_layers=1, vocabulary_size=50)
    x = make_batch(50)
    x["segment_ids"][0, 0] = 2
    y = {"mlm_logits": np.zeros((2, 3), "int32"), "nsp_logits": np.zeros((2,), "int32")}
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="sgd", loss={k: loss for k in y}, jit_compile=True)
    if not TRACED_WITHOUT_VALUES:
        with pytest.raises(InputError, match=r"segment_ids holds values outside"):
            model.fit(x, y, batch_size=2, verbose=0)
        return
    history = model.fit(x, y, batch_size=2, verbose=0).history["loss"]
    assert np.isnan(history[0])
