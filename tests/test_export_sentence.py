"""sentence-transformers folders: an encoder imported from one exports as one again.

tests/parity/check_hf_tasks.py loads the export of the real all-MiniLM-L6-v2 with
`SentenceTransformer` (sentence-transformers 6.2, transformers 5.24) and gets the
original's embeddings (max |diff| 0; ours 2.1e-7 from them); here, without torch, the
files and their keys.
"""

import json

import pytest

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.convert.importer import convert_checkpoint
from keras_bertfam.convert.sentence import read_layout, write_layout
from keras_bertfam.data import load_tokenizer
from keras_bertfam.errors import InputError
from keras_bertfam.export.huggingface import export_huggingface
from tests.data_fixtures import minilm_dir

FILES = ("modules.json", "1_Pooling/config.json", "sentence_bert_config.json")
MINILM = {"pooling": "mean", "normalize": True, "max_seq_length": 256, "do_lower_case": False}


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_minilm_exports_with_its_sentence_transformers_files(tmp_path):
    encoder, report = bf.from_pretrained(minilm_dir(), return_report=True)
    assert report["sentence"] == encoder.bertfam_sentence == MINILM
    out = export_huggingface(encoder, load_tokenizer(minilm_dir()), tmp_path, "minilm")
    for name in FILES:  # the same modules, pooling and length as the original
        assert _json(out / name) == _json(minilm_dir() / name), name
    modules = [m["type"].rsplit(".", 1)[-1] for m in _json(out / "modules.json")]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    pooling = _json(out / "1_Pooling" / "config.json")
    assert pooling["word_embedding_dimension"] == 384 and pooling["pooling_mode_mean_tokens"]
    assert (out / "tokenizer.json").is_file() and read_layout(out) == MINILM
    plain = export_huggingface(encoder, None, tmp_path, "plain", sentence=False)
    assert not any((plain / name).exists() for name in FILES)


def test_convert_keeps_the_layout_for_bertfam_export(tmp_path):
    """`bertfam convert --task encoder` records the pooling in import_report.json, and
    `bertfam export` of that folder writes the sentence-transformers files."""
    folder = tmp_path / "sentence"
    folder.mkdir()
    encoder = bf.build_encoder("bert_tiny", num_layers=1, hidden_dim=16, num_heads=2,
                               intermediate_dim=32, vocabulary_size=60)  # fmt: skip
    export_huggingface(encoder, None, tmp_path, "source", sentence={"pooling": "cls"})
    source = tmp_path / "source-hf"
    length = encoder.bertfam_config.max_sequence_length  # the default max_seq_length
    layout = {"pooling": "cls", "normalize": False, "max_seq_length": length,
              "do_lower_case": False}  # fmt: skip
    assert read_layout(source) == layout
    summary = convert_checkpoint(source, tmp_path / "converted", task="encoder")
    assert summary["report"]["sentence"] == layout
    args = ["export", str(tmp_path / "converted"), "--format", "huggingface", "--no-text",
            "--root", str(tmp_path / "out"), "--name", "again"]  # fmt: skip
    assert main(args) == 0
    again = tmp_path / "out" / "again-hf"
    assert read_layout(again) == layout
    assert [m["path"] for m in _json(again / "modules.json")] == ["", "1_Pooling"]


def test_pipelines_it_does_not_compute_are_not_read(tmp_path):
    write_layout(tmp_path, {"pooling": "mean", "normalize": True}, hidden_dim=8)
    modules = _json(tmp_path / "modules.json")
    dense = {"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"}
    (tmp_path / "modules.json").write_text(json.dumps([*modules, dense]))
    assert read_layout(tmp_path) is None  # a Dense projection: not ours
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    pooling = {**_json(tmp_path / "1_Pooling" / "config.json"), "pooling_mode_max_tokens": True}
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert read_layout(tmp_path) is None  # max pooling as well as mean
    with pytest.raises(InputError, match=r"sentence pooling='max' is not one of"):
        write_layout(tmp_path, {"pooling": "max"}, hidden_dim=8)
