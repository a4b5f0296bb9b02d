"""Hugging Face sequence classifiers imported with their heads (fixtures written by
tests/parity/make_classifiers.py with transformers 5.24): logits equal transformers', the
label names travel to task.json, and the converted folder exports a raw-text SavedModel
that serves those labels.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.convert import CheckpointError

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
CASES = {
    "classifier_bert": ["negative", "neutral", "positive"],
    "classifier_albert": ["entailment", "neutral", "contradiction"],
    "classifier_roberta": ["ham", "spam"],
    "classifier_modernbert_mean": ["a", "b", "c", "d"],
    "classifier_modernbert_cls": ["no", "yes"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_equal_transformers_and_labels_come_along(case):
    ref = dict(np.load(FIXTURES / case / "reference.npz"))
    model, report = bf.from_pretrained(FIXTURES / case, task="classification", return_report=True)
    logits = model({k: ref[k] for k in model.input})["logits"]
    np.testing.assert_allclose(logits, ref["logits"], atol=1e-4, rtol=0)
    assert report["labels"] == CASES[case] and report["initialized_fresh"] == []
    # the encoder alone: the classifier's head is dropped, and reported
    _, report = bf.from_pretrained(FIXTURES / case, return_report=True)
    assert report["dropped"] == ["classifier"]


def test_modernbert_pooling_and_head_follow_the_config():
    mean = bf.from_pretrained(FIXTURES / "classifier_modernbert_mean", task="classification")
    cls = bf.from_pretrained(FIXTURES / "classifier_modernbert_cls", task="classification")
    assert mean.get_layer("pooling").mode == "mean" and cls.get_layer("pooling").mode == "cls"
    head = mean.get_layer("classifier")
    assert head.transform_activation == "gelu" and head.use_bias is False


def _edited(tmp_path, case, change) -> Path:
    folder = tmp_path / case
    shutil.copytree(FIXTURES / case, folder)
    values = json.loads((folder / "config.json").read_text())
    change(values)
    (folder / "config.json").write_text(json.dumps(values))
    return folder


REFUSED = [
    ("classifier_bert", lambda v: v.update(problem_type="regression"), "problem_type='regression'"),
    ("classifier_bert", lambda v: v.update(id2label={"0": "score"}, num_labels=1), "num_labels=1"),
    ("classifier_modernbert_cls", lambda v: v.update(classifier_pooling="max"), "pooling='max'"),
]


@pytest.mark.parametrize("case, change, message", REFUSED)
def test_heads_it_cannot_serve_are_refused_by_name(tmp_path, case, change, message):
    with pytest.raises(CheckpointError, match=message):
        bf.from_pretrained(_edited(tmp_path, case, change), task="classification")


def test_a_checkpoint_without_a_classifier_is_refused():
    with pytest.raises(CheckpointError, match=r"no classifier\.\* tensors: not a sequence"):
        bf.from_pretrained(FIXTURES / "modernbert", task="classification")


def test_convert_then_export_serves_the_checkpoints_labels(tmp_path):
    """`bertfam convert --task classification` then `bertfam export`: the SavedModel, run
    without the library, gives transformers' probabilities and label names."""
    from tests.test_export import keras_softmax, serve

    folder = tmp_path / "hf"
    shutil.copytree(FIXTURES / "classifier_bert", folder)
    words = [f"w{i}" for i in range(95)]
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")  # fmt: skip  # noqa: E501
    out = tmp_path / "converted"
    assert main(["convert", str(folder), "--out", str(out), "--task", "classification"]) == 0
    info = json.loads((out / "task.json").read_text())
    assert info["labels"] == CASES["classifier_bert"] and info["pairs"] is False
    assert main(["export", str(out), "--root", str(tmp_path / "served"), "--name", "clf",
                 "--sequence-length", "8"]) == 0  # fmt: skip
    texts = ["w3 w7 w9", "w1 w1 w2 w3 w4 w5 w6 w7 w8 w9"]  # the second is cut to 8 tokens
    served = serve(tmp_path / "served" / "clf" / "1", {"t": ("serving_default", {"text": texts})})
    ids = np.array([[2, 8, 12, 14, 3, 0, 0, 0], [2, 6, 6, 7, 8, 9, 10, 3]], "int32")
    batch = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": (ids > 0).astype("int32")}  # fmt: skip  # noqa: E501
    expected = keras_softmax(bf.from_pretrained(FIXTURES / "classifier_bert", task="classification")(batch)["logits"])  # fmt: skip  # noqa: E501
    np.testing.assert_allclose(served["t"]["probabilities"], expected, atol=1e-5)
    assert served["t"]["label"] == [CASES["classifier_bert"][k] for k in expected.argmax(-1)]
