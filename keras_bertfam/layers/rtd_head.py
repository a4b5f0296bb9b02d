"""ELECTRA's replaced-token detection head (Clark et al. 2020, https://arxiv.org/abs/2003.10555).

The discriminator scores every token: a Dense H -> H, the encoder's activation and
a Dense H -> 1, squeezed to one logit per token (positive: "replaced"). This is
the computation of Hugging Face's `ElectraDiscriminatorPredictions`.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import ReplacedTokenHead
>>> hidden = np.random.rand(2, 6, 16).astype("float32")  # [batch, seq, H]
>>> tuple(ReplacedTokenHead()(hidden).shape)              # [batch, seq]
(2, 6)
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.layers.common import activation, initializer, register


@register
class ReplacedTokenHead(keras.layers.Layer):
    """Dense H -> H, activation, Dense H -> 1: a replaced-token logit per position.

    Args:
        activation: str, default "gelu". A config activation name (ELECTRA's
            `hidden_act`; "gelu" is the exact form).
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            kernel initializer; biases start at zero.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        sequence_output: [batch, seq, H] float, the discriminator's hidden states.

    Returns:
        [batch, seq] logits (`rtd_logits`); sigmoid(logit) is the probability
        that the token was replaced.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import ReplacedTokenHead
    >>> head = ReplacedTokenHead(activation="gelu")
    >>> logits = head(np.random.rand(2, 5, 8).astype("float32"))
    >>> tuple(logits.shape), [tuple(w.shape) for w in head.weights]
    ((2, 5), [(8, 8), (8,), (8, 1), (1,)])
    """

    def __init__(self, activation="gelu", initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self.initializer_range = initializer_range

    def build(self, input_shape):
        self.dense = keras.layers.Dense(
            input_shape[-1],
            activation=activation(self.activation),
            kernel_initializer=initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense.build(input_shape)
        self.prediction = keras.layers.Dense(
            1,
            kernel_initializer=initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name="prediction",
        )
        self.prediction.build(input_shape)

    def call(self, sequence_output):
        return ops.squeeze(self.prediction(self.dense(sequence_output)), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update(activation=self.activation, initializer_range=self.initializer_range)
        return config
