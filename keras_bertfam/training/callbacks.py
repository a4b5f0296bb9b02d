"""Callbacks of the training recipes: throughput in the progress bar, crash-safe checkpoints.

Example:

>>> from keras_bertfam.training.callbacks import Throughput
>>> Throughput(tokens_per_step=32 * 128).tokens_per_step
4096
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from keras_bertfam.errors import TrainingDiverged

PROGRESS = "progress.json"


class Throughput(keras.callbacks.Callback):
    """Adds `tokens_per_s` (sequence tokens through the model per second) to the logs.

    The Keras progress bar and TensorBoard then show it beside the loss. The
    figure is averaged over the steps of the current epoch, excluding the first
    step (which includes tracing and compilation).
    """

    def __init__(self, tokens_per_step: int):
        super().__init__()
        self.tokens_per_step = tokens_per_step
        self.history: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._steps = None, 0

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self._start is None:
            self._start = now
            return
        self._steps += 1
        rate = self._steps * self.tokens_per_step / (now - self._start)
        if logs is not None:
            logs["tokens_per_s"] = rate

    def on_epoch_end(self, epoch, logs=None):
        if self._start is not None and self._steps:
            rate = self._steps * self.tokens_per_step / (time.perf_counter() - self._start)
            self.history.append(rate)
            if logs is not None:
                logs["tokens_per_s"] = rate


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch's training steps (validation excluded), in `seconds`."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._end = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self._end - self._start)


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss and records where, in `diverged`.

    `diverged` is None while the loss is finite, then `{"epoch", "batch", "loss"}`
    (epoch counted from 1, batch from 1 within it; None when only the epoch's
    logs showed it).
    """

    def __init__(self):
        super().__init__()
        self.diverged: dict | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check((logs or {}).get("loss"), batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self._check((logs or {}).get("loss"), None)

    def _check(self, loss, batch):
        if loss is None or self.diverged is not None:
            return
        value = float(np.asarray(loss))
        if not math.isfinite(value):
            self.diverged = {"epoch": self._epoch + 1, "batch": batch, "loss": value}
            self.model.stop_training = True


class Checkpoint(DivergenceGuard):
    """Resumable checkpoints that survive a crash and keep the last good state.

    After every epoch (`checkpoint_every` updates in `pretrain`) the model's and
    the optimizer's variables go to `<folder>/epoch-NNNNNN.weights.h5`, then
    `<folder>/progress.json` records that file, the epochs done and every
    epoch's logs. Both are written under a temporary name and moved into place,
    and the older weights file is removed only afterwards, so a crash or a full
    disk at any moment leaves the previous checkpoint whole. When training
    begins, the latest checkpoint is restored and `fit` starts at its epoch.

    A non-finite loss stops training at once and nothing is saved from that
    state (see `DivergenceGuard`). The folder is never deleted here; the recipe
    removes it once its outputs are in place.
    """

    def __init__(self, folder, clock=None):
        super().__init__()
        self.folder = Path(folder)
        self.clock = clock  # a `budget.TimeBudget`: its time spent goes in the record

    @staticmethod
    def progress(folder) -> dict:
        """`{"epochs_done", "weights", "history"}` (and `elapsed_seconds` for a budgeted
        run) of the latest checkpoint (zeros if none)."""
        path = Path(folder) / PROGRESS
        if not path.is_file():
            return {"epochs_done": 0, "weights": None, "history": {}}
        return json.loads(path.read_text(encoding="utf-8"))

    def on_train_begin(self, logs=None):
        progress = self.progress(self.folder)
        if not progress["epochs_done"]:
            return
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(self.folder / progress["weights"])
        self.model._initial_epoch = progress["epochs_done"]

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.diverged is not None:
            return
        progress = self.progress(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epoch + 1:06d}.weights.h5"
        partial = self.folder / f"partial-{name}"
        self.model.save_weights(partial, overwrite=True)
        os.replace(partial, self.folder / name)
        history = progress["history"]
        for key, value in (logs or {}).items():
            history.setdefault(key, []).append(float(np.asarray(value)))
        record = {"epochs_done": epoch + 1, "weights": name, "history": history}
        if self.clock is not None:
            record["elapsed_seconds"] = self.clock.elapsed()
            record["overhead_seconds"] = self.clock.overhead_seconds
        partial_progress = self.folder / f"{PROGRESS}.partial"
        partial_progress.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(partial_progress, self.folder / PROGRESS)
        if progress["weights"] and progress["weights"] != name:
            (self.folder / progress["weights"]).unlink(missing_ok=True)


def diverged_error(where: dict, train, run, backup, micro_steps: int = 1) -> TrainingDiverged:
    """The error of a `pretrain` run whose loss became NaN or infinite (`where`: the
    `DivergenceGuard`'s record; `micro_steps`: batches per update it counted), with the
    run's record updated."""
    kept = Checkpoint.progress(backup)["epochs_done"] * train.checkpoint_every
    first = (where["epoch"] - 1) * train.checkpoint_every
    batch = where["batch"]
    update = first + -(-batch // micro_steps) if batch else first + train.checkpoint_every
    run.update_record(status="diverged", diverged={**where, "update": update})
    kept_text = (
        f"The last good checkpoint (update {kept}) is kept in {str(backup)!r}. "
        if kept
        else "No checkpoint had been written yet. "
    )
    return TrainingDiverged(
        f"the loss became {where['loss']} at update {update}; training stopped and no "
        f"model was written from the diverged weights. {kept_text}Try a lower learning "
        f"rate (learning_rate={train.learning_rate}) or gradient clipping. (Under XLA, "
        "invalid inputs also show as NaN: token ids outside the vocabulary, mask "
        "positions outside the sequence.)"
    )
