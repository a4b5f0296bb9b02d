"""Optimizers and learning-rate schedules of the BERT-family recipes.

- AdamW (BERT, RoBERTa) or LAMB (ALBERT, You et al. 2020,
  https://arxiv.org/abs/1904.00962), both Keras' own;
- linear warmup to the peak rate, then linear (power 1) or polynomial decay to
  `end_learning_rate` at `total_steps` (`WarmupPolynomialDecay`, serializable);
- decoupled weight decay on matrices only: LayerNorm scales/offsets and biases
  (every variable of rank < 2) are left out, as BERT's and nanoGPT's recipes do;
- clipping by global norm and `accumulate` micro-batches per update (Keras'
  `gradient_accumulation_steps`: for `model.fit` without a `tf.distribute`
  strategy; under one, accumulate in `loop.fit_distributed` instead, as `pretrain` does).

Example:

>>> import keras_bertfam as bf
>>> from keras_bertfam.training.optimizers import build_optimizer
>>> model = bf.build_pretrainer("bert_tiny", num_layers=1)
>>> opt = build_optimizer("lamb", model, peak_learning_rate=1e-3, total_steps=100,
...                       warmup_steps=10)
>>> float(opt.learning_rate.numpy()) == 0.0   # before the first step of warmup
True
>>> [v.path for v in model.trainable_variables if not opt._use_weight_decay(v)][:2]
['embeddings/layer_norm/gamma', 'embeddings/layer_norm/beta']
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.kinds import OPTIMIZERS, SCHEDULES
from keras_bertfam.layers.common import register
from keras_bertfam.validate import require_choice


@register
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak`, then polynomial decay to `end` at `total_steps`.

    Args:
        peak_learning_rate: the rate reached at the end of warmup.
        total_steps: steps of the whole run (warmup included).
        warmup_steps: steps of linear warmup.
        end_learning_rate: the rate at `total_steps` and after.
        power: 1.0 for BERT's linear decay.
        micro_steps_per_update: with gradient accumulation, Keras calls the schedule
            with the micro-batch count while Adam's bias correction counts updates;
            the step is divided by this so that the schedule counts updates too.
    """

    def __init__(
        self,
        peak_learning_rate,
        total_steps,
        warmup_steps=0,
        end_learning_rate=0.0,
        power=1.0,
        micro_steps_per_update=1,
    ):
        if total_steps < 1 or not 0 <= warmup_steps <= total_steps:
            raise InputError(
                f"need 0 <= warmup_steps <= total_steps and total_steps >= 1, got "
                f"warmup_steps={warmup_steps}, total_steps={total_steps}"
            )
        self.peak_learning_rate = peak_learning_rate
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.micro_steps_per_update = micro_steps_per_update

    def __call__(self, step):
        step = ops.cast(ops.floor_divide(step, self.micro_steps_per_update), "float32")
        warmup = ops.cast(self.warmup_steps, "float32")
        warm = self.peak_learning_rate * step / ops.maximum(warmup, 1.0)
        decay_steps = ops.maximum(ops.cast(self.total_steps, "float32") - warmup, 1.0)
        progress = ops.clip((step - warmup) / decay_steps, 0.0, 1.0)
        decayed = (self.peak_learning_rate - self.end_learning_rate) * (
            1.0 - progress
        ) ** self.power + self.end_learning_rate
        return ops.where(step < warmup, warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "micro_steps_per_update": self.micro_steps_per_update,
        }


def build_optimizer(
    name: str,
    model: keras.Model,
    peak_learning_rate: float,
    total_steps: int,
    warmup_steps: int = 0,
    weight_decay: float = 0.01,
    global_clipnorm: float | None = 1.0,
    accumulate: int = 1,
    power: float = 1.0,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    beta_1: float = 0.9,
    schedule: str = "polynomial",
    decay_steps: int | None = None,
    clocked: bool = False,
):
    """AdamW or LAMB with a warmup schedule and no decay on rank < 2 variables.

    `total_steps`, `warmup_steps` and `decay_steps` count optimizer updates (not
    micro-batches). `schedule`: "polynomial" (`WarmupPolynomialDecay` with `power`,
    BERT's linear decay from the end of warmup) or "wsd" (`schedules.WarmupStableDecay`:
    constant after warmup, a 1-sqrt decay over the last `decay_steps`). `clocked`: the
    learning rate is a variable (starting at 0) that a callback sets, as
    `budget.TimeBudget` does from the time spent.
    """
    if name not in OPTIMIZERS:
        raise InputError(f"optimizer={name!r} is not one of {list(OPTIMIZERS)}")
    if accumulate < 1:
        raise InputError(f"accumulate={accumulate} must be >= 1")
    rate = learning_rate_schedule(peak_learning_rate, total_steps, warmup_steps, schedule,
                                  power, decay_steps, accumulate)  # fmt: skip
    cls = keras.optimizers.AdamW if name == "adamw" else keras.optimizers.Lamb
    optimizer = cls(
        learning_rate=0.0 if clocked else rate,
        weight_decay=weight_decay,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=global_clipnorm,
        gradient_accumulation_steps=accumulate if accumulate > 1 else None,
    )
    optimizer.exclude_from_weight_decay(
        var_list=[v for v in model.trainable_variables if len(v.shape) < 2]
    )
    return optimizer


def learning_rate_schedule(peak_learning_rate: float, total_steps: int, warmup_steps: int = 0,
                           schedule: str = "polynomial", power: float = 1.0,
                           decay_steps: int | None = None, accumulate: int = 1):  # fmt: skip
    """The schedule `build_optimizer` gives its optimizer (a Keras `LearningRateSchedule`
    of the micro-batch count)."""
    require_choice("schedule", schedule, SCHEDULES)
    if schedule == "wsd":
        from keras_bertfam.training.schedules import WarmupStableDecay

        return WarmupStableDecay(peak_learning_rate, total_steps, warmup_steps, decay_steps,
                                 micro_steps_per_update=accumulate)  # fmt: skip
    return WarmupPolynomialDecay(peak_learning_rate, total_steps, warmup_steps, power=power,
                                 micro_steps_per_update=accumulate)  # fmt: skip
