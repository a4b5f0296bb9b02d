"""The transformer encoder block, as two sublayers that can be shared separately.

A block is self-attention (`layers.attention`) then a feed-forward network
(`layers.feedforward`), each wrapped in dropout, a residual connection and a norm
(`layers.residual`: post-norm as in BERT/ALBERT/RoBERTa or pre-norm).
`SelfAttention` and `FeedForward` are layers of their own because ALBERT's
ablation shares them independently; `TransformerEncoderBlock` composes one of
each.

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

from keras_bertfam.layers.attention import SelfAttention
from keras_bertfam.layers.common import padding_to_attention_mask, register
from keras_bertfam.layers.feedforward import FeedForward


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
        layer_norm_epsilon: float, default 1e-12. The norms' epsilon.
        norm_first: bool, default False. Pre-norm (True) or post-norm (False).
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer.
        feedforward_kind: str, default "dense". "dense", "geglu" or "swiglu"
            (see `FeedForward`).
        norm: str, default "layer". "layer" (LayerNorm) or "rms" (RMSNorm).
        use_bias: bool, default True. Biases in the Dense layers and the norms.
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
        feedforward_kind="dense",
        norm="layer",
        use_bias=True,
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
        self.feedforward_kind = feedforward_kind
        self.norm = norm
        self.use_bias = use_bias

    def _common(self):
        return dict(
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            norm_first=self.norm_first,
            initializer_range=self.initializer_range,
            norm=self.norm,
            use_bias=self.use_bias,
            dtype=self.dtype_policy,
        )

    def build(self, x_shape, padding_mask_shape=None):
        input_shape = x_shape
        self.attention = SelfAttention(
            self.num_heads, self.attention_dropout, name="attention", **self._common()
        )
        self.attention.build(input_shape)
        self.feedforward = FeedForward(
            self.intermediate_dim,
            self.activation,
            self.feedforward_kind,
            name="feedforward",
            **self._common(),
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
            feedforward_kind=self.feedforward_kind,
            norm=self.norm,
            use_bias=self.use_bias,
        )
        return config


__all__ = ["FeedForward", "SelfAttention", "TransformerEncoderBlock"]
