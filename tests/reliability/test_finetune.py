"""Reliability of `bertfam finetune`, `evaluate` and `export` on their main paths.

A tiny model folder (a keras_bertfam pretrainer on the real MiniLM vocabulary)
and rows of the bundled fortunes topics; each test checks the exit code, the
message and what is left on disk.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.errors import InputError, TrainingDiverged
from keras_bertfam.resources import FORTUNES_TRAIN
from keras_bertfam.training.finetune import finetune
from tests.data_fixtures import minilm_dir

TINY = dict(num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64,
            max_sequence_length=64)  # fmt: skip


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A folder as `bertfam convert` writes it: model.keras, config.json, tokenizer/."""
    folder = tmp_path_factory.mktemp("model")
    config = bf.get_preset("bert_tiny", **TINY)
    bf.build_pretrainer(config).save(folder / "model.keras")
    (folder / "config.json").write_text(config.to_json())
    (folder / "tokenizer").mkdir()
    shutil.copy(minilm_dir() / "vocab.txt", folder / "tokenizer" / "vocab.txt")
    return folder


@pytest.fixture(scope="module")
def topics(tmp_path_factory):
    """(train, dev) TSV files: 48 and 16 real fortunes rows, with the header."""
    with gzip.open(FORTUNES_TRAIN, "rt", encoding="utf-8") as handle:
        header, *rows = handle.read().splitlines()
    folder = tmp_path_factory.mktemp("topics")
    train, dev = folder / "train.tsv", folder / "dev.tsv"
    train.write_text("\n".join([header, *rows[:48]]) + "\n", encoding="utf-8")
    dev.write_text("\n".join([header, *rows[48:64]]) + "\n", encoding="utf-8")
    return train, dev


def _args(model_dir, topics, out, *extra):
    train, dev = topics
    return ["finetune", "--model", str(model_dir), "--train", str(train), "--dev", str(dev),
            "--out", str(out), "--epochs", "1", "--batch-size", "8", "--seq-length", "32",
            *extra]  # fmt: skip


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


# -- item 8: the output folder ----------------------------------------------------------


def test_out_equal_to_model_is_refused_and_the_model_kept(model_dir, topics, capsys):
    before = _snapshot(model_dir)
    assert main(_args(model_dir, topics, model_dir)) == 2
    assert "is the model folder itself" in capsys.readouterr().err
    assert _snapshot(model_dir) == before


def test_finished_finetune_is_reported_and_another_refused(model_dir, topics, tmp_path, capsys):
    out = tmp_path / "topics"
    assert main(_args(model_dir, topics, out)) == 0
    err = capsys.readouterr().err
    assert "48 rows from" in err and "(header row skipped)" in err  # what was read, shown
    before = _snapshot(out)
    assert main(_args(model_dir, topics, out)) == 0
    assert "holds a finished fine-tune of this configuration" in capsys.readouterr().out
    assert _snapshot(out) == before
    assert main(_args(model_dir, topics, out, "--learning-rate", "1e-3")) == 2
    assert "learning_rate: 5e-05 in the folder, 0.001 now" in capsys.readouterr().err
    assert _snapshot(out) == before
    (out / "stale_report.json").write_text("{}")
    assert main(_args(model_dir, topics, out, "--learning-rate", "1e-3", "--overwrite")) == 0
    assert not (out / "stale_report.json").exists()
    assert json.loads((out / "run.json").read_text())["configuration"]["learning_rate"] == 1e-3


def test_a_pretrain_run_folder_is_not_overwritten_by_finetune(model_dir, topics, tmp_path,
                                                               capsys):  # fmt: skip
    out = tmp_path / "pretrained"
    shutil.copytree(model_dir, out)
    before = _snapshot(out)
    assert main(_args(model_dir, topics, out)) == 2
    assert "is not empty" in capsys.readouterr().err
    assert _snapshot(out) == before


# -- item 18: checks before training starts ---------------------------------------------


def test_a_sequence_length_above_the_model_is_refused(model_dir, topics, tmp_path, capsys):
    out = tmp_path / "long"
    assert main([*_args(model_dir, topics, out)[:-2], "--seq-length", "1000"]) == 2
    assert "sequence_length=1000 exceeds the model's max_sequence_length=64" in (
        capsys.readouterr().err
    )
    assert not out.exists()


def test_a_batch_larger_than_the_data_is_refused(model_dir, topics, tmp_path, capsys):
    out = tmp_path / "big"
    args = _args(model_dir, topics, out)
    args[args.index("--batch-size") + 1] = "100000"
    assert main(args) == 2
    assert "batch_size=100000 is larger than the 48 training examples" in capsys.readouterr().err
    assert not out.exists()


# -- divergence -------------------------------------------------------------------------


class PoisonAtThirdBatch(keras.callbacks.Callback):
    """A real NaN: the first weight becomes NaN before the third batch."""

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 2:
            weight = self.model.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, "float32"))


def test_a_diverging_finetune_writes_no_model(model_dir, topics, tmp_path):
    train, dev = topics
    out = tmp_path / "nan"
    with pytest.raises(TrainingDiverged, match="loss became nan in epoch 1"):
        finetune(model_dir, train, dev, out=out, epochs=1, batch_size=8,
                 sequence_length=32, verbose=0, callbacks=[PoisonAtThirdBatch()])  # fmt: skip
    assert not (out / "model.keras").exists() and not list(out.glob("*.keras"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("batch_size", 0), ("epochs", 0), ("learning_rate", -1.0), ("warmup_ratio", 2.0),
     ("dropout", 1.0), ("sequence_length", 0), ("task", "summarization")],
)  # fmt: skip
def test_finetune_refuses_bad_arguments_before_reading_anything(field, value, tmp_path):
    with pytest.raises(InputError, match=f"{field}="):
        finetune(tmp_path / "missing-model", tmp_path / "missing.tsv", out=tmp_path / "o",
                 **{field: value})  # fmt: skip
    assert not (tmp_path / "o").exists()


# -- items 4 and 20: export --------------------------------------------------------------


def test_tflite_export_defaults_to_the_length_the_model_was_trained_at(tmp_path, capsys):
    """A pretrain output of a 32-position model: the default is its data's 32, not 128."""
    from tests.reliability.runs import corpus_slice, pretrain_args

    run = tmp_path / "run"
    assert main(pretrain_args(corpus_slice(tmp_path), run)) == 0
    root = tmp_path / "exported"
    assert main(["export", str(run), "--format", "tflite", "--root", str(root)]) == 0
    report = json.loads(next(root.rglob("*.report.json")).read_text())
    assert report["sequence_length"] == 32
    capsys.readouterr()
    assert main(["export", str(run), "--seq-length", "64", "--root", str(root)]) == 2
    assert "sequence_length=64 exceeds the model's max_sequence_length=32" in (
        capsys.readouterr().err
    )


def test_export_refuses_a_tokenizer_larger_than_the_vocabulary(tmp_path, capsys):
    folder = tmp_path / "small-vocab"
    folder.mkdir()
    bf.build_encoder("bert_tiny", **{**TINY, "vocabulary_size": 1000}).save(folder / "model.keras")
    shutil.copy(minilm_dir() / "vocab.txt", folder / "vocab.txt")
    assert main(["export", str(folder), "--root", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "has 30522 tokens but the model's vocabulary_size=1000" in err
    assert not (tmp_path / "out").exists()


def test_evaluate_with_a_custom_header(model_dir, topics, tmp_path, capsys):
    """`category<TAB>sentence` headers: --header yes skips it, auto finds it too."""
    out = tmp_path / "tuned"
    assert main(_args(model_dir, topics, out)) == 0
    dev = tmp_path / "dev.tsv"
    lines = topics[1].read_text().splitlines()
    dev.write_text("\n".join(["category\tsentence", *lines[1:]]) + "\n")
    capsys.readouterr()
    assert main(["evaluate", str(out), str(dev), "--header", "yes"]) == 0
    assert "16 rows from" in capsys.readouterr().err
    assert main(["evaluate", str(out), str(dev)]) == 0
    assert "(header row skipped)" in capsys.readouterr().err
