"""Warmup-stable-decay learning rates (ModernBERT's trapezoid): warm up, hold, then decay.

`WarmupStableDecay` rises linearly from 0 to the peak over `warmup_steps`,
stays at the peak, and in the last `decay_steps` falls to `end_learning_rate`,
in "1-sqrt" shape (ModernBERT, Hägele et al. 2024, https://arxiv.org/abs/2405.18392)
or linearly. Unlike a schedule that decays from the end of warmup, a run can be
extended (or cooled down from any checkpoint) without changing the steps before.
`WarmupPolynomialDecay` (BERT's) is in `optimizers`.

Example:

>>> from keras_bertfam.training.schedules import WarmupStableDecay
>>> schedule = WarmupStableDecay(1e-3, total_steps=100, warmup_steps=10, decay_steps=20)
>>> [round(float(schedule(s)), 6) for s in (5, 10, 50, 80, 95, 100)]
[0.0005, 0.001, 0.001, 0.001, 0.000134, 0.0]
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.layers.common import register

DECAY_SHAPES = ("1-sqrt", "linear")


@register
class WarmupStableDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to `peak`, constant, then a decay to `end` over the last `decay_steps`.

    Args:
        peak_learning_rate: the rate of the stable phase.
        total_steps: steps of the whole run (warmup and decay included).
        warmup_steps: steps of linear warmup from 0.
        decay_steps: steps of the final decay (None: a tenth of `total_steps`).
        end_learning_rate: the rate at `total_steps` and after.
        shape: "1-sqrt" (`peak - (peak - end) * sqrt(progress)`) or "linear".
        micro_steps_per_update: micro-batches per update under gradient
            accumulation (the step is divided by it, as `WarmupPolynomialDecay`).
    """

    def __init__(self, peak_learning_rate, total_steps, warmup_steps=0, decay_steps=None,
                 end_learning_rate=0.0, shape="1-sqrt", micro_steps_per_update=1):  # fmt: skip
        decay_steps = max(total_steps // 10, 1) if decay_steps is None else decay_steps
        if (
            total_steps < 1
            or warmup_steps < 0
            or decay_steps < 0
            or (warmup_steps + decay_steps > total_steps)
        ):
            raise InputError(
                f"need warmup_steps + decay_steps <= total_steps, got warmup_steps="
                f"{warmup_steps}, decay_steps={decay_steps}, total_steps={total_steps}"
            )
        if shape not in DECAY_SHAPES:
            raise InputError(f"shape={shape!r} is not one of {list(DECAY_SHAPES)}")
        self.peak_learning_rate = peak_learning_rate
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.shape = shape
        self.micro_steps_per_update = micro_steps_per_update

    def __call__(self, step):
        step = ops.cast(ops.floor_divide(step, self.micro_steps_per_update), "float32")
        peak, end = self.peak_learning_rate, self.end_learning_rate
        warm = peak * step / max(self.warmup_steps, 1)
        start = float(self.total_steps - self.decay_steps)
        progress = ops.clip((step - start) / max(self.decay_steps, 1), 0.0, 1.0)
        fall = ops.sqrt(progress) if self.shape == "1-sqrt" else progress
        rate = peak - (peak - end) * fall
        return ops.where(step < self.warmup_steps, warm, rate)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "shape": self.shape,
            "micro_steps_per_update": self.micro_steps_per_update,
        }
