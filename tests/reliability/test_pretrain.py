"""Reliability of `bertfam pretrain`: its output folder, divergence, full disks, bad options.

Each test drives the real command (`keras_bertfam.cli.main`) or the Python API on
a tiny model and a slice of the bundled corpus, and checks what the user sees:
the exit code, the message, and that nothing already on disk is lost.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.data import DataConfig
from keras_bertfam.errors import InputError, OutputExistsError, TrainingDiverged, WriteError
from keras_bertfam.recipes import load_recipe
from keras_bertfam.training import TrainConfig, pretrain
from tests.data_fixtures import minilm_dir
from tests.reliability.runs import MODEL_FLAGS, corpus_slice, pretrain_args

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return corpus_slice(tmp_path_factory.mktemp("corpus"))


def _config():
    return bf.get_preset("bert_tiny", num_layers=1, hidden_dim=32, num_heads=2,
                         intermediate_dim=64, max_sequence_length=32)  # fmt: skip


def _train(steps=4, **fields):
    values = dict(steps=steps, batch_size=4, checkpoint_every=2, warmup_steps=0, jit=False,
                  verbose=0)  # fmt: skip
    return TrainConfig(**{**values, **fields})


def _run(corpus, out, train=None, **kwargs):
    return pretrain(_config(), [corpus], out, train or _train(), DataConfig(sequence_length=32),
                    minilm_dir() / "vocab.txt", **kwargs)  # fmt: skip


class Crash(keras.callbacks.Callback):
    """Dies after the first checkpoint, as a killed process would."""

    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("simulated crash after the first checkpoint")


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != ".bertfam.lock"}  # fmt: skip


# -- item 1: the README's first pretraining command shape --------------------------------


@pytest.mark.parametrize(
    "recipe, preset, objective",
    [("bert", "bert_tiny", "nsp"), ("albert", "albert_tiny", "sop"),
     ("roberta", "roberta_tiny", "none"), ("modernbert", "modernbert_tiny", "none"),
     ("budget", "roberta_tiny", "none")],
)  # fmt: skip
def test_every_recipe_trains_with_a_tiny_preset(
    tmp_path, corpus, capsys, recipe, preset, objective
):
    out = tmp_path / "run"
    extra = ["--recipe", recipe, "--preset", preset, "--set", "vocabulary_size=30522",
             "--accumulate", "1", "--precision", "float32"]  # fmt: skip
    if "decay_steps" in load_recipe(recipe)["train"]:  # more than the test's 4 steps
        extra += ["--decay-steps", "1"]
    assert main([*pretrain_args(corpus, out), *extra]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["num_layers"] == 1 and config["sentence_objective"] == objective
    assert "trained 4 steps" in capsys.readouterr().out
    run = json.loads((out / "run.json").read_text())["configuration"]
    wanted = load_recipe(recipe)["train"]
    assert {k: run["train"][k] for k in ("optimizer", "beta_2", "schedule") if k in wanted} == {
        k: wanted[k] for k in ("optimizer", "beta_2", "schedule") if k in wanted
    }


def test_masking_options_reach_the_run_and_are_refused_for_a_data_folder(tmp_path, corpus,
                                                                        capsys):  # fmt: skip
    out = tmp_path / "run"
    extra = ["--recipe", "bert", "--mask-strategy", "span", "--mask-rate", "0.4"]
    assert main([*pretrain_args(corpus, out), *extra]) == 0
    masking = json.loads((out / "run.json").read_text())["configuration"]["data"]["config"]
    masking = masking["masking"]
    # the recipe's P (20) gives way to the new rate's: ceil(0.4 * 32)
    assert (masking["strategy"], masking["rate"], masking["max_predictions_per_seq"]) == (
        "span", 0.4, None)  # fmt: skip
    assert "trained 4 steps" in capsys.readouterr().out
    refused = ["pretrain", *MODEL_FLAGS, "--data", str(tmp_path), "--out", str(tmp_path / "b"),
               "--mask-rate", "0.3"]  # fmt: skip
    assert main(refused) == 2
    assert "rate: masking options apply to --corpus" in capsys.readouterr().err


# -- item 6: divergence keeps the last good checkpoint ----------------------------------


class PoisonAtSecondEpoch(keras.callbacks.Callback):
    """A real NaN: the token table becomes NaN in the middle of the second epoch."""

    def on_train_batch_begin(self, batch, logs=None):
        if self.params and getattr(self, "_epoch", 0) == 1 and batch == 1:
            table = self.model.get_layer("token_embedding").embeddings
            table.assign(np.full(table.shape, np.nan, "float32"))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


def test_nan_keeps_the_last_good_checkpoint_and_writes_no_model(tmp_path, corpus):
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match=r"loss became nan at update 4.*update 2"):
        _run(corpus, out, _train(steps=6), callbacks=[PoisonAtSecondEpoch()])
    assert not (out / "model.keras").exists() and not (out / "config.json").exists()
    progress = json.loads((out / "backup/progress.json").read_text())
    assert progress["epochs_done"] == 1
    with h5py.File(out / "backup" / progress["weights"]) as weights:
        arrays = []
        weights.visit(lambda name: arrays.append(weights[name][()])
                      if isinstance(weights[name], h5py.Dataset) else None)  # fmt: skip
    assert arrays and all(np.isfinite(a).all() for a in arrays if a.dtype.kind == "f")
    assert json.loads((out / "run.json").read_text())["status"] == "diverged"


def test_a_huge_learning_rate_exits_3_with_a_message(tmp_path, corpus, capsys):
    out = tmp_path / "run"
    code = main(pretrain_args(corpus, out, "--learning-rate", "1e6", steps=20))
    assert code == 3
    assert "loss became" in capsys.readouterr().err
    assert not (out / "model.keras").exists()


# -- items 7 and 13: what a non-empty --out means --------------------------------------


def test_a_finished_run_is_reported_not_retrained(tmp_path, corpus, capsys):
    out = tmp_path / "run"
    assert main(pretrain_args(corpus, out)) == 0
    before = _snapshot(out)
    capsys.readouterr()
    assert main(pretrain_args(corpus, out)) == 0
    assert "holds a finished run of this configuration" in capsys.readouterr().out
    assert _snapshot(out) == before  # nothing retrained or rewritten


def test_an_unfinished_run_resumes_and_may_grow(tmp_path, corpus):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(corpus, out, callbacks=[Crash()])
    summary = _run(corpus, out, _train(steps=6))  # --steps grew from 4 to 6
    assert summary["resumed_from_epoch"] == 1 and summary["steps"] == 6
    assert len(summary["history"]["loss"]) == 3


def test_a_folder_without_newer_fields_resumes_as_their_defaults(tmp_path, corpus):
    """A run folder written before some config fields existed lacks them in run.json; they
    count as their defaults (the behaviour they had), so the run resumes."""
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(corpus, out, callbacks=[Crash()])
    record = json.loads((out / "run.json").read_text())
    for part, field in (("model", "position_embedding"), ("model", "feedforward"),
                        ("train", "schedule"), ("train", "beta_2")):  # fmt: skip
        del record["configuration"][part][field]
    (out / "run.json").write_text(json.dumps(record))
    assert _run(corpus, out)["resumed_from_epoch"] == 1
    with pytest.raises(RuntimeError, match="simulated crash"):  # a changed default still counts
        _run(corpus, tmp_path / "other", callbacks=[Crash()])
    record = json.loads((tmp_path / "other/run.json").read_text())
    del record["configuration"]["train"]["beta_2"]
    (tmp_path / "other/run.json").write_text(json.dumps(record))
    with pytest.raises(OutputExistsError, match=r"train\.beta_2: 0\.999 in the folder, 0\.98 now"):
        _run(corpus, tmp_path / "other", _train(beta_2=0.98))


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--batch-size", "8"], "train.batch_size: 4 in the folder, 8 now"),
        (["--learning-rate", "0.5"], "train.learning_rate"),
        (["--set", "num_heads=4"], "model.num_heads: 2 in the folder, 4 now"),
        (["--steps", "2"], "train.steps: 4 in the folder, 2 now"),  # may grow, not shrink
    ],
)
def test_resuming_with_other_settings_is_refused(tmp_path, corpus, capsys, flags, field):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(corpus, out, callbacks=[Crash()])
    before = _snapshot(out)
    args = pretrain_args(corpus, out)
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag in args and flag != "--set":
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert field in err and "--overwrite" in err
    assert _snapshot(out) == before


def test_another_preset_is_refused_not_loaded(tmp_path, corpus, capsys):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(corpus, out, callbacks=[Crash()])
    before = _snapshot(out)
    args = pretrain_args(corpus, out, "--set", "vocabulary_size=30522")
    args[args.index("bert_tiny")] = "albert_tiny"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "model.sharing: 'none' in the folder, 'all' now" in err
    assert "model.embedding_dim" in err
    assert _snapshot(out) == before


def test_overwrite_starts_again(tmp_path, corpus):
    out = tmp_path / "run"
    assert main(pretrain_args(corpus, out)) == 0
    (out / "stale.txt").write_text("from before")
    assert main([*pretrain_args(corpus, out, "--overwrite"), "--batch-size", "2"]) == 0
    assert not (out / "stale.txt").exists()
    record = json.loads((out / "run.json").read_text())
    assert record["configuration"]["train"]["batch_size"] == 2


def test_a_folder_of_something_else_is_refused_untouched(tmp_path, corpus, capsys):
    converted = tmp_path / "converted"
    converted.mkdir()
    bf.build_pretrainer(_config()).save(converted / "model.keras")
    (converted / "config.json").write_text(_config().to_json())
    before = _snapshot(converted)
    assert main(pretrain_args(corpus, converted)) == 2
    err = capsys.readouterr().err
    assert "is not empty" in err and "model.keras" in err
    assert _snapshot(converted) == before


def test_a_second_process_on_the_same_folder_is_refused(tmp_path, corpus, capsys):
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-m", "keras_bertfam.cli", *pretrain_args(corpus, out, steps=2000)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "logs").exists():  # training has begun
            assert first.poll() is None, "the first run ended early"
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert main(pretrain_args(corpus, out, steps=2000)) == 2
        assert "is being written by process" in capsys.readouterr().err
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the lock died with the process: the next run gets past it (and meets the
    # unfinished run's record, of another step count)
    assert main(pretrain_args(corpus, out, steps=4)) == 2
    assert "train.steps: 2000 in the folder, 4 now" in capsys.readouterr().err


# -- item 11: a disk that fills ------------------------------------------------------------


class FillDiskAtTheEnd(keras.callbacks.Callback):
    """After the last checkpoint is written, fill the disk the run writes to."""

    def __init__(self, folder: Path, epochs: int):
        super().__init__()
        self.folder, self.epochs = folder, epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            with open(self.folder / "ballast", "wb") as ballast:
                try:
                    while True:
                        ballast.write(b"\0" * (1 << 20))
                        ballast.flush()
                except OSError:
                    pass


def test_a_full_disk_leaves_a_run_that_resumes(tmp_path, corpus, small_disk, monkeypatch):
    if small_disk is not None:
        out = small_disk / "run"
        filler = FillDiskAtTheEnd(small_disk, epochs=2)
    else:  # no tmpfs: the write of config.json fails as a full disk makes it fail
        out = tmp_path / "run"
        filler = keras.callbacks.Callback()
        real_open = open

        def full_disk_open(file, mode="r", *args, **kwargs):
            if "w" in mode and str(file).endswith("config.json.partial"):
                raise OSError(28, "No space left on device", str(file))
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr("builtins.open", full_disk_open)
    with pytest.raises(WriteError, match=r"could not write the outputs.*run the same command"):
        _run(corpus, out, callbacks=[filler])
    monkeypatch.undo()
    for name in ("config.json", "model.keras", "training_summary.json"):
        assert not (out / name).exists() or (out / name).stat().st_size > 0
    assert json.loads((out / "backup/progress.json").read_text())["epochs_done"] == 2
    (out.parent / "ballast").unlink(missing_ok=True)
    summary = _run(corpus, out)  # the same command: nothing left to train, outputs written
    assert summary["epochs_run_now"] == 0 and summary["steps"] == 4
    assert bf.EncoderConfig.from_json_file(out / "config.json") == _config()
    assert not (out / "backup").exists()


# -- item 14: numeric options are checked where they enter -------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["pretrain", "--learning-rate", "-1"],
        ["pretrain", "--learning-rate", "nan"],
        ["pretrain", "--batch-size", "0"],
        ["finetune", "--batch-size", "0"],
        ["finetune", "--learning-rate", "0"],
        ["evaluate", "model", "data.tsv", "--batch-size", "0"],
        ["info", "bert_tiny", "--seq-length", "0"],
        ["info", "bert_tiny", "--seq-length", "-5"],
        ["export", "model", "--seq-length", "0"],
        ["create-data", "c.txt", "--tokenizer", "v", "--out", "o", "--mask-rate", "1.5"],
    ],
)
def test_bad_numbers_are_refused_naming_the_option(args, capsys):
    required = {"pretrain": ["--out", "x"], "finetune": ["--model", "m", "--train", "t",
                                                          "--out", "o"]}  # fmt: skip
    with pytest.raises(SystemExit) as stop:
        main([*args, *required.get(args[0], [])])
    assert stop.value.code == 2
    option = args[-2]  # the bad option is the last one given
    assert re.search(rf"argument [-\w/]*{option}\b", capsys.readouterr().err)


@pytest.mark.parametrize(
    ("field", "value"),
    [("learning_rate", -1.0), ("learning_rate", float("inf")), ("weight_decay", -0.1),
     ("global_clipnorm", 0.0), ("warmup_steps", -1), ("steps", True)],
)  # fmt: skip
def test_train_config_refuses_bad_values(field, value):
    with pytest.raises(InputError, match=f"{field}="):
        TrainConfig(**{field: value})


def test_bad_set_values_are_refused(capsys):
    assert main(["info", "bert_tiny", "--set", "layer_norm_epsilon=true"]) == 2
    assert "layer_norm_epsilon=True" in capsys.readouterr().err
    assert main(["info", "bert_tiny", "--set", "layer_norm_epsilon=Infinity"]) == 2
    assert "layer_norm_epsilon=inf" in capsys.readouterr().err


# -- item 20: unusable input leaves nothing behind --------------------------------------


@pytest.mark.parametrize("kind", ["empty", "missing", "directory"])
def test_unusable_corpus_is_a_message_and_leaves_no_folder(tmp_path, capsys, kind):
    corpus = tmp_path / "corpus.txt"
    if kind == "empty":
        corpus.write_text("\n\n\n")
    elif kind == "directory":
        corpus.mkdir()
    out = tmp_path / "run"
    assert main(pretrain_args(corpus, out)) == 2
    err = capsys.readouterr().err
    assert str(corpus) in err and "Traceback" not in err
    assert not out.exists()


def test_a_data_folder_without_manifest_is_a_message(tmp_path, capsys):
    empty = tmp_path / "data"
    empty.mkdir()
    out = tmp_path / "run"
    assert main(["pretrain", *MODEL_FLAGS, "--data", str(empty), "--out", str(out)]) == 2
    assert "manifest.json" in capsys.readouterr().err
    assert not out.exists()


class CrashAtFirstBatch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise RuntimeError("simulated crash before any checkpoint")


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_folder(tmp_path, corpus):
    out = tmp_path / "runs" / "new"
    with pytest.raises(RuntimeError, match="before any checkpoint"):
        _run(corpus, out, callbacks=[CrashAtFirstBatch()])
    assert not out.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(RuntimeError, match="before any checkpoint"):
        _run(corpus, existing, callbacks=[CrashAtFirstBatch()])
    assert existing.is_dir() and not list(existing.iterdir())  # as it was: empty
