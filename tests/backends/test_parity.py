"""Hugging Face checkpoints imported on this backend give transformers' outputs: the
committed fixtures of tests/fixtures/hf/ (written by tests/parity/), read with numpy
and safetensors, as tests/test_convert.py, tests/test_modernbert.py and
tests/test_import_classifier.py check them on TensorFlow."""

from pathlib import Path

import keras
import numpy as np
import pytest

import keras_bertfam as bf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hf"
TOL = 1e-4  # as on TensorFlow: transformers ran in float32 on another machine
ENCODERS = ("bert", "albert", "albert_inner", "roberta", "modernbert", "modernbert_v4",
            "electra_discriminator", "electra_generator")  # fmt: skip
CLASSIFIERS = ("classifier_bert", "classifier_albert", "classifier_roberta",
               "classifier_modernbert_mean", "classifier_modernbert_cls")  # fmt: skip


def _reference(case):
    return dict(np.load(FIXTURES / case / "reference.npz"))


def _close(got, want):
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, atol=TOL, rtol=0)


@pytest.mark.parametrize("case", ENCODERS)
def test_pretrainer_and_its_encoder_equal_transformers(case):
    ref = _reference(case)
    pretrainer = bf.from_pretrained(FIXTURES / case, task="pretraining")
    out = pretrainer({name: ref[name] for name in pretrainer.input})
    heads = sorted(k for k in ref if k.endswith("_logits"))
    assert sorted(out) == heads
    for head in heads:
        _close(out[head], ref[head])
    # without a sentence head the pretrainer's encoder has no pooler to import
    sentence_head = len(heads) > 1
    encoder = pretrainer.encoder if sentence_head else bf.from_pretrained(FIXTURES / case)
    out = encoder({name: ref[name] for name in encoder.input})
    real = ref["padding_mask"].astype(bool)
    _close(keras.ops.convert_to_numpy(out["sequence_output"])[real], ref["sequence_output"][real])
    _close(out["pooled_output"], ref["pooled_output"])


@pytest.mark.parametrize("case", CLASSIFIERS)
def test_classifier_logits_equal_transformers(case):
    ref = _reference(case)
    model = bf.from_pretrained(FIXTURES / case, task="classification")
    _close(model({name: ref[name] for name in model.input})["logits"], ref["logits"])
