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

# name -> module; imported on first use (they import Keras / TensorFlow).
_LAZY = {
    "build_encoder": "keras_bertfam.models.builders",
    "build_pretrainer": "keras_bertfam.models.builders",
    "from_pretrained": "keras_bertfam.convert.importer",
    "CheckpointError": "keras_bertfam.convert.checkpoint",
    "load_tokenizer": "keras_bertfam.data.tokenizers",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_bertfam' has no attribute {name!r}")


__all__ = [
    "CheckpointError",
    "ConfigError",
    "EncoderConfig",
    "build_encoder",
    "build_pretrainer",
    "from_pretrained",
    "get_preset",
    "list_presets",
    "load_tokenizer",
    "resolve_config",
]
