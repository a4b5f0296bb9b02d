"""Budgeted pretraining (`--budget`): stops on time, schedule on time, resumes what is left."""

from __future__ import annotations

import json

import keras
import pytest

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.data import DataConfig
from keras_bertfam.errors import InputError
from keras_bertfam.training import TrainConfig, pretrain
from keras_bertfam.training.budget import TimeBudget, parse_budget
from tests.data_fixtures import minilm_dir
from tests.reliability.runs import corpus_slice, pretrain_args

PEAK = 1e-3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return corpus_slice(tmp_path_factory.mktemp("corpus"))


def _run(corpus, out, budget, callbacks=(), steps=100_000):
    config = bf.get_preset("bert_tiny", num_layers=1, hidden_dim=32, num_heads=2,
                           intermediate_dim=64, max_sequence_length=32)  # fmt: skip
    train = TrainConfig(steps=steps, batch_size=4, checkpoint_every=20,
                        warmup_steps=steps // 10, learning_rate=PEAK, jit=False, verbose=0,
                        budget_seconds=budget)  # fmt: skip
    return pretrain(config, [corpus], out, train, DataConfig(sequence_length=32),
                    minilm_dir() / "vocab.txt", callbacks=list(callbacks))  # fmt: skip


class Rates(keras.callbacks.Callback):
    """The learning rate each update ran with."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_end(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


class CrashAfterFirstCheckpoint(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("simulated crash after the first checkpoint")


def test_a_budget_stops_the_run_on_time_and_the_schedule_follows_the_clock(tmp_path, corpus):
    rates = Rates()
    summary = _run(corpus, tmp_path / "run", budget=8.0, callbacks=[rates])
    assert summary["stopped_by"] == "budget"
    assert 8.0 <= summary["elapsed_seconds"] < 8.0 + 5.0
    assert 0 < summary["steps"] < 100_000  # the steps are only an upper bound
    assert (tmp_path / "run" / "model.keras").is_file()
    # warmup over the first tenth of the time, then a linear decay to 0 at the budget's
    # end; the clock starts with fit, so the first updates (tracing) take some of it
    r = rates.rates
    peak_at = r.index(max(r))
    assert r[0] < 0.6 * PEAK and max(r) > 0.5 * PEAK and r[-1] < 0.15 * PEAK
    assert peak_at < len(r) / 2
    assert r[: peak_at + 1] == sorted(r[: peak_at + 1])  # rises, then falls
    assert r[peak_at:] == sorted(r[peak_at:], reverse=True)


def test_steps_end_a_budgeted_run_first_when_they_come_first(tmp_path, corpus):
    summary = _run(corpus, tmp_path / "run", budget=3600.0, steps=40)
    assert summary["stopped_by"] == "steps" and summary["steps"] == 40
    assert summary["elapsed_seconds"] < 3600.0


def test_a_resumed_budgeted_run_spends_only_what_is_left(tmp_path, corpus):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(corpus, out, budget=12.0, callbacks=[CrashAfterFirstCheckpoint()])
    spent = json.loads((out / "backup" / "progress.json").read_text())["elapsed_seconds"]
    assert 0 < spent < 12.0
    summary = _run(corpus, out, budget=12.0)
    assert summary["resumed_from_epoch"] == 1 and summary["stopped_by"] == "budget"
    # the clock went on from what the first process had spent: this one spent the rest
    assert 12.0 <= summary["elapsed_seconds"] < 12.0 + 4.0


def test_bad_budgets_are_refused_by_name(tmp_path, corpus, capsys):
    with pytest.raises(InputError, match="budget_seconds=0"):
        TrainConfig(budget_seconds=0)
    with pytest.raises(InputError, match="budget='-5m'"):
        parse_budget("-5m")
    assert parse_budget(90) == 90.0 and TimeBudget(60).elapsed() == 0.0
    with pytest.raises(SystemExit) as exit_info:
        main([*pretrain_args(corpus, tmp_path / "run"), "--budget", "soon"])
    assert exit_info.value.code == 2
    assert "budget='soon' is not a duration" in capsys.readouterr().err
