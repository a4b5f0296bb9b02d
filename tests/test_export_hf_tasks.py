"""Hugging Face export of token classifiers and question answering models, and the
tokenizer-less export of a converted task folder.

tests/fixtures/hf/token_<family> and qa_<family> are transformers' own
`*ForTokenClassification` / `*ForQuestionAnswering` files with their logits
(tests/parity/make_classifiers.py); transformers loads our exports of them and gives
those logits (tests/parity/check_hf_tasks.py).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import keras_bertfam as bf
from keras_bertfam import tasks
from keras_bertfam.cli import main
from keras_bertfam.convert.checkpoint import CheckpointError
from keras_bertfam.convert.hf_heads import HEADS, architecture
from keras_bertfam.convert.names import Target, map_name
from keras_bertfam.export.huggingface import export_huggingface
from keras_bertfam.models.tasks import build_task_model
from tests.helpers import make_batch

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hf"
TINY = dict(num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32, vocabulary_size=60)


def _task(kind: str) -> str:
    """The task whose Hugging Face head is of `kind` (the registry says, not a name)."""
    import importlib

    found = [t.name for t in map(tasks.get, tasks.names())
             if t.hf_head and kind == importlib.import_module(t.hf_head).HEAD]  # fmt: skip
    assert len(found) == 1, (kind, found)
    return found[0]


def test_the_head_table_reads_back_through_the_import_rules():
    for kind, head in HEADS.items():
        for family, layers in head.layers.items():
            for ours, theirs in layers.items():
                for suffix, variable, transpose in (("weight", "kernel", True),
                                                    ("bias", "bias", False)):  # fmt: skip
                    target = map_name(f"hf_{family}", f"{theirs}.{suffix}")
                    assert target == Target(f"{ours}/{variable}", transpose), (kind, family)


@pytest.mark.parametrize("family", ["bert", "albert", "roberta", "electra"])
def test_token_and_span_heads_round_trip_with_transformers_logits(family, tmp_path):
    """Hugging Face -> ours -> Hugging Face: the same tensor names and values, class and
    labels; the export imports back to the fixture's (transformers') logits."""
    for kind, prefix in (("token", "token"), ("span", "qa")):
        source, task = FIXTURES / f"{prefix}_{family}", _task(kind)
        model, report = bf.from_pretrained(source, task=task, return_report=True)
        out = export_huggingface(model, None, tmp_path, f"{prefix}_{family}",
                                 labels=report.get("labels"))  # fmt: skip
        theirs, ours = (load_file(f / "model.safetensors") for f in (source, out))
        assert sorted(ours) == sorted(theirs)
        for name, value in theirs.items():
            np.testing.assert_array_equal(ours[name], value, err_msg=name)
        config, original = (json.loads((f / "config.json").read_text()) for f in (out, source))
        assert config["architectures"] == [architecture(family, kind)] == original["architectures"]
        for key in ("id2label", "label2id", "model_type", "hidden_size", "num_hidden_layers"):
            assert config.get(key) == original.get(key), key
        reference = np.load(source / "reference.npz")
        back = bf.from_pretrained(out, task=task)
        got = back({k: reference[k] for k in back.input})
        real = reference["padding_mask"].astype(bool)
        for name in got:
            diff = np.abs(np.asarray(got[name]) - reference[name])[real].max()
            assert diff <= 1e-4, (kind, name, diff)


@pytest.mark.parametrize("preset, extra", [
    ("albert_tiny", dict(num_groups=1, inner_group_size=2, embedding_dim=8)),
    ("albert_tiny", dict(embedding_dim=16)),  # E = H: Hugging Face's projection is the identity
    ("roberta_tiny", {}),
])  # fmt: skip
def test_task_models_built_here_export_and_import_back(preset, extra, tmp_path):
    """A tagger and a span model fine-tuned here (their encoder wrapped without its
    pooler, so no config rides on the model) export with the encoder's config."""
    batch = make_batch(TINY["vocabulary_size"])
    for kind, width in (("token", 4), ("span", None)):
        model = build_task_model(preset, _task(kind), width, **TINY, **extra)
        for variable in model.weights:  # no zero biases: every tensor must land
            variable.assign(variable + 0.01)
        out = export_huggingface(model, None, tmp_path, f"{preset}-{kind}",
                                 labels=["A", "B", "C", "D"] if width else None)  # fmt: skip
        if extra.get("embedding_dim") == TINY["hidden_dim"]:
            mapping = load_file(out / "model.safetensors")
            assert np.array_equal(mapping["albert.encoder.embedding_hidden_mapping_in.weight"],
                                  np.eye(16))  # fmt: skip
        values = json.loads((out / "config.json").read_text())
        assert values["architectures"] == [architecture(preset.split("_")[0], kind)]
        assert ("id2label" in values) == (width is not None)
        back = bf.from_pretrained(out, task=_task(kind))
        x = {k: batch[k] for k in model.input}
        want, got = model(x), back(x)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, err_msg=name)


def test_a_head_of_another_task_is_refused_by_its_class():
    with pytest.raises(CheckpointError, match="holds a BertForTokenClassification, not a "
                                              "BertForSequenceClassification"):  # fmt: skip
        bf.from_pretrained(FIXTURES / "token_bert", task=_task("sequence"))
    with pytest.raises(CheckpointError, match="not a RobertaForQuestionAnswering"):
        bf.from_pretrained(FIXTURES / "classifier_roberta", task=_task("span"))
    with pytest.raises(CheckpointError, match=r"families .*modernbert_classifier checkpoint"):
        bf.from_pretrained(FIXTURES / "classifier_modernbert_cls", task=_task("token"))
    encoder, report = bf.from_pretrained(FIXTURES / "qa_bert", return_report=True)
    assert report["dropped"] == ["span_classifier"] and "start_logits" not in encoder.output


def test_export_of_a_converted_classifier_without_tokenizer_files(tmp_path, capsys):
    """`bertfam convert --task classification` of a folder without tokenizer files, then
    `bertfam export`: --no-text, and a Hugging Face folder (which needs no tokenizer)."""
    source = tmp_path / "hf"
    shutil.copytree(FIXTURES / "classifier_bert", source)
    out = tmp_path / "converted"
    assert main(["convert", str(source), "--out", str(out), "--task", _task("sequence")]) == 0
    assert not (out / "tokenizer").exists()
    root = tmp_path / "exported"
    args = ["export", str(out), "--format", "huggingface", "--root", str(root)]
    assert main([*args, "--name", "ids", "--no-text"]) == 0
    capsys.readouterr()
    assert main([*args, "--name", "plain"]) == 0  # the CLI logs to stderr
    assert "the Hugging Face folder gets no tokenizer files" in capsys.readouterr().err
    for name in ("ids", "plain"):
        assert sorted(p.name for p in (root / f"{name}-hf").iterdir()) == [
            "config.json", "model.safetensors"]  # fmt: skip
        ours = load_file(root / f"{name}-hf" / "model.safetensors")
        theirs = load_file(source / "model.safetensors")
        assert sorted(ours) == sorted(theirs)
    assert main(["export", str(out), "--format", "saved_model", "--root", str(root)]) == 2
