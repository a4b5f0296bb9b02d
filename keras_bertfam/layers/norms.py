"""The normalization layers of the family, by kind: LayerNorm (with or without its bias) or RMSNorm.

BERT, ALBERT and RoBERTa use LayerNorm with a scale and a bias; ModernBERT drops
the bias; NeoBERT and other recent encoders use RMSNorm (a scale only; Zhang &
Sennrich 2019, https://arxiv.org/abs/1910.07467). Every norm of a model is made
here, so its kind is one config field.

Example:

>>> from keras_bertfam.layers.norms import make_norm
>>> norm = make_norm("layer", epsilon=1e-5, use_bias=False)
>>> norm.build((None, 8)); [w.name for w in norm.weights]
['gamma']
>>> rms = make_norm("rms", epsilon=1e-6)
>>> rms.build((None, 8)); [w.name for w in rms.weights]
['scale']
"""

from __future__ import annotations

import keras

from keras_bertfam.kinds import NORMS
from keras_bertfam.validate import require_choice


def make_norm(kind: str = "layer", epsilon: float = 1e-12, use_bias: bool = True, dtype=None,
              name: str = "layer_norm"):  # fmt: skip
    """A LayerNorm (`use_bias`: with its bias) or an RMSNorm (a scale only)."""
    require_choice("norm", kind, NORMS)
    if kind == "rms":
        return keras.layers.RMSNormalization(epsilon=epsilon, dtype=dtype, name=name)
    return keras.layers.LayerNormalization(epsilon=epsilon, center=use_bias, dtype=dtype,
                                           name=name)  # fmt: skip
