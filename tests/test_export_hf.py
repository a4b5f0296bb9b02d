"""Hugging Face export: the folder reads back as the same model, in the layout transformers has.

tests/fixtures/hf_export/<family>.json holds what transformers 5.24 made of our export
of a tiny pretrainer (tests/parity/check_hf_export.py: its config.json, the class, the
state_dict names and shapes, and the largest output differences); here, without
torch, every export must match that layout and re-import with equal outputs.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.convert.checkpoint import config_from_hf
from keras_bertfam.data import load_tokenizer
from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.export.hf_config import UnexpressibleError
from keras_bertfam.export.huggingface import export_huggingface
from tests.data_fixtures import minilm_dir
from tests.helpers import make_batch

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hf_export"
FAMILIES = ("bert", "albert", "roberta", "modernbert")
# what transformers holds beside the weights we write: the decoder tied to the token table
TIED = re.compile(r"(^|\.)decoder\.(weight|bias)$")


def layout(family):
    return json.loads((FIXTURES / f"{family}.json").read_text(encoding="utf-8"))


def small(values):
    """The fixture's config with a vocabulary of 100 (the layout test keeps the real size)."""
    return config_from_hf({**values, "vocab_size": 100})


@pytest.mark.parametrize("family", FAMILIES)
def test_export_has_the_transformers_layout_and_reads_back(tmp_path, family):
    expected = layout(family)
    assert max(expected["diffs"].values()) <= 1e-4  # transformers gave our outputs
    model = bf.build_pretrainer(config_from_hf(expected["config"]))
    folder = export_huggingface(model, None, tmp_path, family)
    tensors = load_file(str(folder / "model.safetensors"))
    ours = {name: list(array.shape) for name, array in tensors.items()}
    theirs = expected["tensors"]
    assert {k: theirs.get(k) for k in ours} == ours
    assert all(TIED.search(k) for k in set(theirs) - set(ours)), set(theirs) - set(ours)
    written = json.loads((folder / "config.json").read_text())
    assert written["architectures"] == [expected["architecture"]]
    assert {k: v for k, v in written.items() if not k.endswith("token_id")} == {
        k: v for k, v in expected["config"].items() if not k.endswith("token_id")
    }

    small_model = bf.build_pretrainer(small(expected["config"]))
    small_folder = export_huggingface(small_model, None, tmp_path, f"{family}_small")
    back = bf.from_pretrained(small_folder, task="pretraining")
    batch = make_batch(100, num_segments=max(small_model.bertfam_config.num_segments, 1))
    batch = {k: v for k, v in batch.items() if k in small_model.input}
    want, got = small_model(batch), back(batch)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], atol=1e-6, err_msg=name)


def test_refusals_name_the_part(tmp_path):
    tiny = dict(num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32, vocabulary_size=50)
    with pytest.raises(UnexpressibleError, match="sharing='attention'"):
        export_huggingface(bf.build_encoder("albert_tiny", sharing="attention", num_groups=1,
                                            **tiny), None, tmp_path, "a")  # fmt: skip
    with pytest.raises(UnexpressibleError, match=r"no sop head.*sentence_objective=.sop."):
        export_huggingface(bf.build_pretrainer("bert_tiny", sentence_objective="sop", **tiny),
                           None, tmp_path, "b")  # fmt: skip
    with pytest.raises(UnexpressibleError, match=r"rotary_theta_local|local_window"):
        export_huggingface(bf.build_encoder("bert_tiny", position_embedding="rotary", **tiny,
                                            norm_first=True), None, tmp_path, "c")  # fmt: skip
    from keras_bertfam.models.tasks import build_task_model

    chooser = build_task_model("bert_tiny", "multiple_choice", 3, **tiny)
    with pytest.raises(UnexpressibleError, match="multiple_choice models are not exported"):
        export_huggingface(chooser, None, tmp_path, "d")
    mean = build_task_model("bert_tiny", "classification", 2, pooling="mean", **tiny)
    with pytest.raises(UnexpressibleError, match="does not read the pooler"):
        export_huggingface(mean, None, tmp_path, "e")
    modern = build_task_model("modernbert_tiny", "classification", 2, **tiny)
    with pytest.raises(UnexpressibleError, match=r"modernbert models have no \*ForSequenceClass"):
        export_huggingface(modern, None, tmp_path, "f")
    tagger = build_task_model("modernbert_tiny", "token_classification", 3, **tiny)
    with pytest.raises(UnexpressibleError, match=r"modernbert models have no \*ForTokenClass"):
        export_huggingface(tagger, None, tmp_path, "g")
    with pytest.raises(InputError, match=r"sentence-transformers layout .* is for an encoder"):
        export_huggingface(mean, None, tmp_path, "h", sentence={"pooling": "mean"})
    assert not list(tmp_path.iterdir())  # nothing written by a refused export


def test_cli_export_with_tokenizer_and_no_overwrite(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    model = bf.build_pretrainer("bert_tiny", num_layers=1, hidden_dim=16, num_heads=2,
                                intermediate_dim=32)  # fmt: skip
    model.save(folder / "model.keras")
    tok.copy_files(folder / "tokenizer")
    args = ["export", str(folder), "--format", "hf", "--root", str(tmp_path / "out")]
    assert main(args) == 0
    target = tmp_path / "out" / "run-hf"
    assert sorted(p.name for p in target.iterdir()) == [
        "config.json", "model.safetensors", "special_tokens_map.json", "tokenizer_config.json",
        "vocab.txt"]  # fmt: skip
    settings = json.loads((target / "tokenizer_config.json").read_text())
    assert (settings["tokenizer_class"], settings["do_lower_case"]) == ("BertTokenizer", True)
    assert settings["cls_token"] == "[CLS]" and settings["mask_token"] == "[MASK]"
    assert "cls.seq_relationship.weight" in load_file(str(target / "model.safetensors"))
    (target / "keep.txt").write_text("old")
    assert main(args) == 2
    assert (target / "keep.txt").read_text() == "old"
    with pytest.raises(OutputExistsError, match="run-hf' exists"):
        export_huggingface(model, tok, tmp_path / "out", "run")
    back = bf.from_pretrained(target, task="pretraining")
    x = {k: v for k, v in make_batch(tok.vocabulary_size).items() if k in model.input}
    np.testing.assert_allclose(back(x)["mlm_logits"], model(x)["mlm_logits"], atol=1e-6)
    assert load_tokenizer(target).tokenize(["hello"]).to_list() == [[7592]]


@pytest.mark.parametrize("family", ["bert", "albert", "roberta"])
def test_a_classifier_exports_as_the_sequence_classifier_it_was_imported_from(family, tmp_path):
    """Hugging Face's own `*ForSequenceClassification` files (tests/fixtures/hf/
    classifier_*), imported and exported again: the same tensor names and values, the
    same labels and class, and the exported folder imports back to transformers' logits.
    (transformers 5.24 loads these exports with AutoModelForSequenceClassification and
    gives the fixtures' logits within 1.2e-6.)"""
    source = FIXTURES.parent / "hf" / f"classifier_{family}"
    model, report = bf.from_pretrained(source, task="classification", return_report=True)
    out = export_huggingface(model, None, tmp_path, family, labels=report["labels"])
    theirs, ours = load_file(source / "model.safetensors"), load_file(out / "model.safetensors")
    assert sorted(ours) == sorted(theirs)
    for name, value in theirs.items():
        np.testing.assert_array_equal(ours[name], value, err_msg=name)
    config, original = (json.loads((f / "config.json").read_text()) for f in (out, source))
    for key in ("architectures", "id2label", "label2id", "model_type", "hidden_size"):
        assert config[key] == original[key], key
    reference = np.load(source / "reference.npz")
    back = bf.from_pretrained(out, task="classification")
    inputs = {k: reference[k] for k in ("token_ids", "segment_ids", "padding_mask")
              if k in back.input}  # fmt: skip
    np.testing.assert_allclose(back(inputs)["logits"], reference["logits"], atol=1e-4)
