"""Training: optimizers and schedules, strategies, callbacks, the `pretrain` and `finetune` recipes.

The names below are imported on first use (they import Keras and TensorFlow), so
that reading a recipe's defaults, as the command line does, stays instant. The
fine-tuning recipe is `keras_bertfam.training.finetune.finetune` and scoring
`keras_bertfam.training.evaluate.evaluate`.
"""

import importlib

_LAZY = {
    "TrainConfig": "keras_bertfam.training.recipe",
    "compile_pretrainer": "keras_bertfam.training.recipe",
    "pretrain": "keras_bertfam.training.recipe",
    "WarmupPolynomialDecay": "keras_bertfam.training.optimizers",
    "build_optimizer": "keras_bertfam.training.optimizers",
    "fit_distributed": "keras_bertfam.training.loop",
    "get_strategy": "keras_bertfam.training.strategy",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_bertfam.training' has no attribute {name!r}")


__all__ = sorted(_LAZY)
