"""keras_bertfam: BERT, ALBERT, RoBERTa and their hybrids as Keras layers and models.

>>> import keras_bertfam as bf
>>> bf.get_preset("bert_tiny").hidden_dim
128
>>> encoder = bf.build_encoder("bert_tiny")
>>> encoder.count_params()
4385920

The model builders (and with them Keras and TensorFlow) are imported on first
use, so `bertfam info` and config work stay fast.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_bertfam.models.config import ConfigError, EncoderConfig
from keras_bertfam.models.presets import get_preset, list_presets, resolve_config

__version__ = "0.1.0"

_LAZY = {"build_encoder", "build_pretrainer"}


def __getattr__(name):
    if name in _LAZY:
        from keras_bertfam.models import builders

        return getattr(builders, name)
    raise AttributeError(f"module 'keras_bertfam' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "EncoderConfig",
    "build_encoder",
    "build_pretrainer",
    "get_preset",
    "list_presets",
    "resolve_config",
]
