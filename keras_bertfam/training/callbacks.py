"""Callbacks of the pretraining recipe: throughput in the progress bar, and progress files.

Example:

>>> from keras_bertfam.training.callbacks import Throughput
>>> Throughput(tokens_per_step=32 * 128).tokens_per_step
4096
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras


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


class ProgressFile(keras.callbacks.Callback):
    """Writes `{"epochs_done": n}` after each epoch, so a restart knows where the data was."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"epochs_done": epoch + 1}))

    @staticmethod
    def epochs_done(path: Path) -> int:
        path = Path(path)
        return json.loads(path.read_text())["epochs_done"] if path.is_file() else 0
