"""Budgeted training (Geiping & Goldstein 2023, "Cramming"): train for a wall-clock budget.

With `TrainConfig(budget_seconds=...)` (`bertfam pretrain --budget 10m`), the
learning-rate schedule runs on time instead of updates: at a share p of the
budget spent, the rate is the one the step schedule (warmup, then decay) gives
at update p * `steps`, so warmup takes `warmup_steps / steps` of the budget and
the decay ends with it. `steps` becomes an upper bound: training stops at the
budget or at `steps` updates, whichever comes first (the schedule follows the
larger of the two shares), then saves as any run does. Checkpoints come every
`checkpoint_every` updates as before and store the time spent, so that a
resumed run spends only what is left. The budget counts the wall time of `fit`,
compilation included, as the budget a user pays for; the schedule spreads over
the budget left after each process's first update (tracing and compilation), so
that a short budget still warms up.

Example:

>>> from keras_bertfam.training.budget import parse_budget
>>> [parse_budget(t) for t in ("10m", "600s", "1h", "1h30m", "90", "2.5m")]
[600.0, 600.0, 3600.0, 5400.0, 90.0, 150.0]
>>> parse_budget("ten minutes")
Traceback (most recent call last):
...
keras_bertfam.errors.InputError: budget='ten minutes' is not a duration: 600s, 10m, 1h, 1h30m
"""

from __future__ import annotations

import math
import re
import time

import keras

from keras_bertfam.errors import InputError

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def parse_budget(text) -> float:
    """Seconds of a duration: `600s`, `10m`, `1h`, `1h30m`, or a plain number of seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.fullmatch(str(text).strip().lower())
        if not str(text).strip() or match is None or not any(match.groups()):
            raise InputError(f"budget={text!r} is not a duration: 600s, 10m, 1h, 1h30m")
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * _UNITS["h"] + minutes * _UNITS["m"] + secs
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"budget={text!r} must be a positive duration")
    return seconds


class TimeBudget(keras.callbacks.Callback):
    """Drives the learning rate by the share of a time budget spent, and stops at its end.

    Args:
        budget_seconds: the whole run's budget (resumed runs included).
        schedule: a step schedule of updates (`optimizers.learning_rate_schedule`
            with `accumulate=1`), evaluated at p * `total_steps`; None leaves the
            learning rate alone.
        total_steps: the run's upper bound on updates.
        spent_seconds: time already spent by the run this one resumes.
        overhead_seconds: of that time, what its first updates took (compilation).
        accumulate: micro-batches per update (the optimizer's `iterations` counts
            updates either way).

    `elapsed()` is the run's time spent so far, `overhead_seconds` the time its
    first updates took; `stopped_by` is "budget" when the budget ended the run.
    `exclude(seconds)` leaves time out of the budget (an evaluation a callback runs).
    """

    def __init__(self, budget_seconds: float, schedule=None, total_steps: int = 1,
                 spent_seconds: float = 0.0, overhead_seconds: float = 0.0,
                 accumulate: int = 1):  # fmt: skip
        super().__init__()
        self.budget_seconds = float(budget_seconds)
        self.schedule = schedule
        self.total_steps = total_steps
        self.spent_seconds = float(spent_seconds)
        self.overhead_seconds = float(overhead_seconds)
        self.accumulate = accumulate
        self.stopped_by = None
        self._start = None
        self._first = True
        self._excluded = 0.0

    def elapsed(self) -> float:
        if self._start is None:
            return self.spent_seconds
        return self.spent_seconds + time.perf_counter() - self._start - self._excluded

    def exclude(self, seconds: float):
        self._excluded += seconds

    def progress(self) -> float:
        """The share of the run done: of the budget after the first updates' overhead,
        or of the updates if further."""
        # `iterations` counts updates, also when the optimizer accumulates (Keras divides)
        updates = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if self._first:
            return updates / self.total_steps
        left = max(self.budget_seconds - self.overhead_seconds, 1e-9)
        share = (self.elapsed() - self.overhead_seconds) / left
        return min(1.0, max(share, updates / self.total_steps))

    def on_train_begin(self, logs=None):
        self._start, self._first = time.perf_counter(), True

    def on_train_batch_begin(self, batch, logs=None):
        if self.schedule is not None:
            rate = float(self.schedule(self.progress() * self.total_steps))
            self.model.optimizer.learning_rate = rate

    def on_train_batch_end(self, batch, logs=None):
        if self._first:  # tracing, compilation and the first step
            self.overhead_seconds += time.perf_counter() - self._start
            self._first = False
        if self.elapsed() >= self.budget_seconds:
            self.stopped_by = "budget"
            self.model.stop_training = True


def budget_clock(train, spent_seconds: float = 0.0, overhead_seconds: float = 0.0):
    """The `TimeBudget` of a `TrainConfig` (None without `budget_seconds`): its step
    schedule, driven by the share of the budget spent."""
    if train.budget_seconds is None:
        return None
    from keras_bertfam.training.optimizers import learning_rate_schedule

    schedule = learning_rate_schedule(train.learning_rate, train.steps, train.warmup_steps,
                                      train.schedule, train.decay_power,
                                      train.decay_steps)  # fmt: skip
    return TimeBudget(train.budget_seconds, schedule, train.steps, spent_seconds,
                      overhead_seconds, accumulate=train.accumulate)  # fmt: skip
