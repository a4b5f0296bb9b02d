"""The transformer encoder block, as two sublayers that can be shared separately.

A block is self-attention then a feed-forward network, each wrapped in dropout,
a residual connection and LayerNorm: post-LN as in BERT/ALBERT/RoBERTa
(`LN(x + f(x))`, Vaswani et al. 2017) or pre-LN as an option (`x + f(LN(x))`,
Xiong et al. 2020, https://arxiv.org/abs/2002.04745). `SelfAttention` and
`FeedForward` are layers of their own because ALBERT's ablation shares them
independently; `TransformerEncoderBlock` composes one of each.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import TransformerEncoderBlock
>>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=64)
>>> x = np.random.rand(2, 5, 16).astype("float32")
>>> padding_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
>>> tuple(block(x, padding_mask).shape)
(2, 5, 16)
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.layers.common import (
    activation,
    attention_scale,
    initializer,
    large_negative,
    padding_to_attention_mask,
    register,
)


class _Residual(keras.layers.Layer):
    """Base of the two sublayers: dropout + residual + LayerNorm around `transform`."""

    def __init__(
        self,
        dropout=0.1,
        layer_norm_epsilon=1e-12,
        norm_first=False,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.norm_first = norm_first
        self.initializer_range = initializer_range

    def _dense(self, units, name, input_shape, activation_fn=None):
        layer = keras.layers.Dense(
            units,
            activation=activation_fn,
            kernel_initializer=initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name=name,
        )
        layer.build(input_shape)
        return layer

    def build(self, x_shape, attention_mask_shape=None):
        input_shape = x_shape
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm"
        )
        self.layer_norm.build(input_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.build_transform(input_shape)

    def call(self, x, attention_mask=None, training=None):
        if self.norm_first:
            y = self.transform(self.layer_norm(x), attention_mask, training)
            return x + self.dropout_layer(y, training=training)
        y = self.transform(x, attention_mask, training)
        return self.layer_norm(x + self.dropout_layer(y, training=training))

    def compute_output_shape(self, x_shape, attention_mask_shape=None):
        return x_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            norm_first=self.norm_first,
            initializer_range=self.initializer_range,
        )
        return config


@register
class SelfAttention(_Residual):
    """Multi-head self-attention with residual, dropout and LayerNorm.

    Q, K and V come from one fused [H, 3H] projection (one matmul instead of three).

    Args:
        num_heads: int. Attention heads; must divide the input width H.
        attention_dropout: float, default 0.1. Dropout on the attention
            probabilities.
        dropout: float, default 0.1. Dropout rate on the sublayer's output,
            before the residual sum.
        layer_norm_epsilon: float, default 1e-12. LayerNorm epsilon.
        norm_first: bool, default False. False: post-LN, `LN(x + f(x))`
            (BERT); True: pre-LN, `x + f(LN(x))`.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer of the Dense kernels.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch, seq, H] float.
        attention_mask: [batch, 1, 1, seq] (or [batch, 1, seq, seq]) boolean,
            True where a key may be attended to; None attends everywhere.

    Returns:
        [batch, seq, H].

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import SelfAttention
    >>> attention = SelfAttention(num_heads=2)
    >>> x = np.random.rand(1, 4, 8).astype("float32")
    >>> mask = np.array([[[[True, True, True, False]]]])  # the last key is padding
    >>> tuple(attention(x, mask).shape), tuple(attention.qkv.kernel.shape)
    ((1, 4, 8), (8, 24))
    """

    def __init__(self, num_heads, attention_dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout

    def build_transform(self, input_shape):
        hidden = input_shape[-1]
        if hidden % self.num_heads:
            raise InputError(f"input width {hidden} is not divisible by num_heads={self.num_heads}")
        self.head_dim = hidden // self.num_heads
        self.qkv = self._dense(3 * hidden, "qkv", input_shape)
        self.output_dense = self._dense(hidden, "output", (*input_shape[:-1], hidden))
        self.probs_dropout = keras.layers.Dropout(self.attention_dropout, dtype=self.dtype_policy)

    def transform(self, x, attention_mask, training):
        batch, seq = ops.shape(x)[0], ops.shape(x)[1]
        qkv = ops.reshape(self.qkv(x), (batch, seq, 3, self.num_heads, self.head_dim))
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        q = q * ops.cast(attention_scale(self.head_dim), q.dtype)
        scores = ops.einsum("bqnd,bknd->bnqk", q, k)
        if attention_mask is not None:
            scores = ops.where(attention_mask, scores, large_negative(scores.dtype))
        probs = self.probs_dropout(ops.softmax(scores, axis=-1), training=training)
        context = ops.einsum("bnqk,bknd->bqnd", probs, v)
        context = ops.reshape(context, (batch, seq, self.num_heads * self.head_dim))
        return self.output_dense(context)

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, attention_dropout=self.attention_dropout)
        return config


@register
class FeedForward(_Residual):
    """The position-wise feed-forward network with residual, dropout and LayerNorm.

    Args:
        intermediate_dim: int. Inner width.
        activation: str, default "gelu". A config activation name ("gelu" is
            exact, "gelu_approximate" the tanh form, "relu", "silu", "tanh").
        dropout: float, default 0.1. Dropout rate on the sublayer's output,
            before the residual sum.
        layer_norm_epsilon: float, default 1e-12. LayerNorm epsilon.
        norm_first: bool, default False. False: post-LN, `LN(x + f(x))`
            (BERT); True: pre-LN, `x + f(LN(x))`.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer of the Dense kernels.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch, seq, H] float; `attention_mask` is accepted and ignored.

    Returns:
        [batch, seq, H].

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import FeedForward
    >>> ffn = FeedForward(intermediate_dim=32, norm_first=True)
    >>> tuple(ffn(np.random.rand(1, 4, 8).astype("float32")).shape)
    (1, 4, 8)
    >>> [tuple(w.shape) for w in ffn.intermediate.weights]
    [(8, 32), (32,)]
    """

    def __init__(self, intermediate_dim, activation="gelu", **kwargs):
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.activation = activation

    def build_transform(self, input_shape):
        self.intermediate = self._dense(
            self.intermediate_dim, "intermediate", input_shape, activation(self.activation)
        )
        self.output_dense = self._dense(
            input_shape[-1], "output", (*input_shape[:-1], self.intermediate_dim)
        )

    def transform(self, x, attention_mask, training):
        return self.output_dense(self.intermediate(x))

    def get_config(self):
        config = super().get_config()
        config.update(intermediate_dim=self.intermediate_dim, activation=self.activation)
        return config


@register
class TransformerEncoderBlock(keras.layers.Layer):
    """One transformer encoder layer: `SelfAttention` then `FeedForward`.

    Args:
        num_heads: int. Attention heads; must divide the input width H.
        intermediate_dim: int. Inner width of the feed-forward network.
        activation: str, default "gelu". The feed-forward activation (a config
            activation name, see `FeedForward`).
        dropout: float, default 0.1. Dropout on each sublayer's output.
        attention_dropout: float, default 0.1. Dropout on the attention
            probabilities.
        layer_norm_epsilon: float, default 1e-12. LayerNorm epsilon.
        norm_first: bool, default False. Pre-LN (True) or post-LN (False).
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch, seq, H] float.
        padding_mask: [batch, seq], 1 for real tokens and 0 for padding, or None.

    Returns:
        [batch, seq, H].

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import TransformerEncoderBlock
    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=32)
    >>> x = np.random.rand(1, 4, 8).astype("float32")
    >>> tuple(block(x, np.array([[1, 1, 1, 0]])).shape)
    (1, 4, 8)
    >>> block.attention.name, block.feedforward.name
    ('attention', 'feedforward')
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        activation="gelu",
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-12,
        norm_first=False,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.norm_first = norm_first
        self.initializer_range = initializer_range

    def _common(self):
        return dict(
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            norm_first=self.norm_first,
            initializer_range=self.initializer_range,
            dtype=self.dtype_policy,
        )

    def build(self, x_shape, padding_mask_shape=None):
        input_shape = x_shape
        self.attention = SelfAttention(
            self.num_heads, self.attention_dropout, name="attention", **self._common()
        )
        self.attention.build(input_shape)
        self.feedforward = FeedForward(
            self.intermediate_dim, self.activation, name="feedforward", **self._common()
        )
        self.feedforward.build(input_shape)

    def call(self, x, padding_mask=None, training=None):
        mask = None if padding_mask is None else padding_to_attention_mask(padding_mask)
        x = self.attention(x, mask, training=training)
        return self.feedforward(x, training=training)

    def compute_output_shape(self, x_shape, padding_mask_shape=None):
        return x_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            norm_first=self.norm_first,
            initializer_range=self.initializer_range,
        )
        return config
