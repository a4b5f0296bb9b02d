"""`TrainConfig`: how `pretrain` trains — steps, batch, optimizer, schedule, precision, strategy.

A frozen dataclass whose every value is checked when it is made, with a message
naming the field and the value; it imports neither Keras nor TensorFlow.

Example:

>>> from keras_bertfam.training.config import TrainConfig
>>> TrainConfig(steps=1000, checkpoint_every=100).optimizer
'adamw'
>>> TrainConfig(learning_rate=-1.0)
Traceback (most recent call last):
...
keras_bertfam.errors.InputError: learning_rate=-1.0 must be a finite number > 0
"""

from __future__ import annotations

import dataclasses

from keras_bertfam.errors import InputError
from keras_bertfam.kinds import OPTIMIZERS, PRECISIONS, SCHEDULES, STRATEGIES
from keras_bertfam.validate import require_choice, require_int, require_number


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Args:
        steps: optimizer updates in the whole run (with `budget_seconds`, at most).
        batch_size: global batch of one micro-step (split across replicas).
        accumulate: micro-batches per update (global batch = batch_size * accumulate).
        optimizer: "adamw" or "lamb".
        learning_rate / warmup_steps / weight_decay / global_clipnorm / decay_power:
            the schedule and regularization (see `optimizers.build_optimizer`).
        schedule: "polynomial" (decay from the end of warmup, BERT) or "wsd"
            (warmup-stable-decay, ModernBERT), whose final decay lasts `decay_steps`
            updates (None: a tenth of `steps`).
        beta_1 / beta_2 / epsilon: Adam's (LAMB's) moment decays and epsilon.
        precision: "float32", "mixed_bfloat16" or "mixed_float16" (loss scaling).
        jit: XLA-compile the train step.
        strategy / tpu_address: see `strategy.get_strategy`.
        checkpoint_every: updates between checkpoints; must divide `steps`.
        seed: seeds weights, data order and masks.
        verbose: Keras progress-bar verbosity (1 = bar, 2 = a line per epoch, 0 = silent).
        budget_seconds: train for this much wall time: the schedule runs on the time
            spent and `steps` is an upper bound (see `keras_bertfam.training.budget`).
    """

    steps: int = 1000
    batch_size: int = 32
    accumulate: int = 1
    optimizer: str = "adamw"
    learning_rate: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.01
    global_clipnorm: float | None = 1.0
    decay_power: float = 1.0
    schedule: str = "polynomial"
    decay_steps: int | None = None
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-6
    precision: str = "float32"
    jit: bool = True
    strategy: str = "auto"
    tpu_address: str | None = None
    checkpoint_every: int = 100
    seed: int = 0
    verbose: int = 1
    budget_seconds: float | None = None

    def __post_init__(self):
        require_choice("precision", self.precision, PRECISIONS)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_choice("strategy", self.strategy, STRATEGIES)
        for name in ("steps", "batch_size", "accumulate", "checkpoint_every"):
            require_int(name, getattr(self, name), minimum=1)
        require_int("warmup_steps", self.warmup_steps, minimum=0)
        require_int("seed", self.seed)
        require_int("verbose", self.verbose, minimum=0, maximum=2)
        require_number("learning_rate", self.learning_rate, above=0)
        require_number("weight_decay", self.weight_decay, minimum=0)
        require_number("decay_power", self.decay_power, above=0)
        require_choice("schedule", self.schedule, SCHEDULES)
        for name in ("beta_1", "beta_2"):
            require_number(name, getattr(self, name), minimum=0, below=1)
        require_number("epsilon", self.epsilon, above=0)
        if self.decay_steps is not None:
            require_int("decay_steps", self.decay_steps, minimum=0)
            if self.schedule != "wsd":
                raise InputError(f"decay_steps={self.decay_steps} needs schedule='wsd'")
            if self.decay_steps + self.warmup_steps > self.steps:
                raise InputError(
                    f"warmup_steps={self.warmup_steps} + decay_steps={self.decay_steps} "
                    f"exceed steps={self.steps}"
                )
        if self.budget_seconds is not None:
            require_number("budget_seconds", self.budget_seconds, above=0)
        if self.global_clipnorm is not None:
            require_number("global_clipnorm", self.global_clipnorm, above=0)
        if not isinstance(self.jit, bool):
            raise InputError(f"jit={self.jit!r} must be True or False")
        if self.steps % self.checkpoint_every:
            raise InputError(
                f"checkpoint_every={self.checkpoint_every} must divide steps={self.steps}"
            )
        if self.warmup_steps > self.steps:
            raise InputError(f"warmup_steps={self.warmup_steps} exceeds steps={self.steps}")
