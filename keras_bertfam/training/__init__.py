"""Training: optimizers and schedules, strategies, callbacks, the `pretrain` recipe."""

from keras_bertfam.training.loop import fit_distributed
from keras_bertfam.training.optimizers import WarmupPolynomialDecay, build_optimizer
from keras_bertfam.training.recipe import TrainConfig, compile_pretrainer, pretrain
from keras_bertfam.training.strategy import get_strategy

__all__ = [
    "TrainConfig",
    "WarmupPolynomialDecay",
    "build_optimizer",
    "compile_pretrainer",
    "fit_distributed",
    "get_strategy",
    "pretrain",
]
