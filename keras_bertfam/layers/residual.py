"""The residual wrapper of the encoder's two sublayers: norm, transform, dropout, sum.

Post-norm as in BERT, ALBERT and RoBERTa (`N(x + f(x))`, Vaswani et al. 2017) or
pre-norm (`x + f(N(x))`, Xiong et al. 2020, https://arxiv.org/abs/2002.04745; ModernBERT,
NeoBERT). The norm is a LayerNorm (with or without its bias) or an RMSNorm; a
pre-norm sublayer may have none (ModernBERT's first attention).

Example:

>>> from keras_bertfam.layers.residual import Residual
>>> sorted(Residual().get_config())[:4]
['dropout', 'dtype', 'initializer_range', 'layer_norm_epsilon']
"""

from __future__ import annotations

import keras

from keras_bertfam.errors import InputError
from keras_bertfam.layers.common import initializer
from keras_bertfam.layers.norms import make_norm


class Residual(keras.layers.Layer):
    """Base of `SelfAttention` and `FeedForward`: subclasses give `build_transform` and
    `transform`; this class wraps it in the norm, dropout and the residual sum."""

    def __init__(self, dropout=0.1, layer_norm_epsilon=1e-12, norm_first=False,
                 initializer_range=0.02, norm="layer", use_bias=True, use_norm=True,
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if not use_norm and not norm_first:
            raise InputError("use_norm=False needs norm_first=True (a post-norm sublayer "
                             "without its norm would never normalize)")  # fmt: skip
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.norm_first = norm_first
        self.initializer_range = initializer_range
        self.norm = norm
        self.use_bias = use_bias
        self.use_norm = use_norm

    def _dense(self, units, name, input_shape, activation_fn=None):
        layer = keras.layers.Dense(
            units,
            activation=activation_fn,
            use_bias=self.use_bias,
            kernel_initializer=initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name=name,
        )
        layer.build(input_shape)
        return layer

    def build(self, x_shape, attention_mask_shape=None, positions_shape=None,
              sequence_ids_shape=None):  # fmt: skip
        self.layer_norm = None
        if self.use_norm:
            self.layer_norm = make_norm(self.norm, self.layer_norm_epsilon, self.use_bias,
                                        self.dtype_policy)  # fmt: skip
            self.layer_norm.build(x_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.build_transform(x_shape)

    def call(self, x, attention_mask=None, training=None, rotary_theta=None, local_window=None,
             positions=None, sequence_ids=None):  # fmt: skip
        """`rotary_theta`, `local_window`, `positions` and `sequence_ids` reach the
        attention's transform (see `SelfAttention`)."""
        where = dict(rotary_theta=rotary_theta, local_window=local_window)
        if positions is not None or sequence_ids is not None:  # packed rows (attention only)
            where.update(positions=positions, sequence_ids=sequence_ids)
        if self.norm_first:
            inner = self.layer_norm(x) if self.layer_norm is not None else x
            y = self.transform(inner, attention_mask, training, **where)
            return x + self.dropout_layer(y, training=training)
        y = self.transform(x, attention_mask, training, **where)
        return self.layer_norm(x + self.dropout_layer(y, training=training))

    def compute_output_shape(self, x_shape, attention_mask_shape=None, positions_shape=None,
                             sequence_ids_shape=None):  # fmt: skip
        return x_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            norm_first=self.norm_first,
            initializer_range=self.initializer_range,
            norm=self.norm,
            use_bias=self.use_bias,
            use_norm=self.use_norm,
        )
        return config
