"""The shared-weight encoder stack: L layers drawn from G groups of blocks.

BERT and RoBERTa give each of the L layers its own block. ALBERT (Lan et al.
2020, https://arxiv.org/abs/1909.11942, section 3.1 and table 4) shares
parameters across layers: the L layers are split into G groups of L/G
consecutive layers, and the layers of a group reuse the same weights. What they
reuse is the sharing mode:

- "all": the whole block (ALBERT's default, with G = 1);
- "attention": only self-attention; each layer keeps its own feed-forward;
- "ffn": only the feed-forward; each layer keeps its own attention;
- "none": nothing (G is then L).

ALBERT's `inner_group_num` (`inner_group_size` here, K) makes each group a
stack of K different blocks: every layer then applies its group's K blocks in
turn, so the network is L x K blocks deep. All published ALBERTs use K = 1.

One mechanism serves every mode: `sharing_plan` says which attention sublayer
and which feed-forward sublayer each layer calls, and the stack calls them. A
sublayer called by several layers receives the sum of their gradients.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import EncoderStack
>>> stack = EncoderStack(num_layers=6, num_groups=2, sharing="all",
...                      num_heads=2, intermediate_dim=32)
>>> x = np.random.rand(1, 4, 16).astype("float32")
>>> tuple(stack(x, np.ones((1, 4))).shape)
(1, 4, 16)
>>> EncoderStack.sharing_plan(6, 2, "attention")
([0, 0, 0, 1, 1, 1], [0, 1, 2, 3, 4, 5])
>>> EncoderStack.sharing_plan(3, 1, "all", inner_group_size=2)
([0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1])
"""

from __future__ import annotations

import keras

from keras_bertfam.kinds import sharing_plan
from keras_bertfam.layers.common import padding_to_attention_mask, register
from keras_bertfam.layers.transformer import FeedForward, SelfAttention


@register
class EncoderStack(keras.layers.Layer):
    """`num_layers` transformer layers over `num_groups` groups of shared weights.

    Args:
        num_layers: int. Layers L applied in sequence.
        num_heads: int. Attention heads; must divide the input width H.
        intermediate_dim: int. Inner width of the feed-forward networks.
        num_groups: int or None, default None. Groups G; layer i belongs to
            group `i * G // L`. Must divide L. None: L with `sharing="none"`,
            else 1.
        sharing: str, default "none". "all", "attention", "ffn" or "none"
            (see the module docstring).
        activation: str, default "gelu". The feed-forward activation.
        dropout: float, default 0.1. Dropout on each sublayer's output.
        attention_dropout: float, default 0.1. Dropout on the attention
            probabilities.
        layer_norm_epsilon: float, default 1e-12. LayerNorm epsilon.
        norm_first: bool, default False. Pre-LN (True, with a final LayerNorm
            after the last layer) or post-LN (False).
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer.
        inner_group_size: int, default 1. Blocks K applied in turn by each
            layer (ALBERT's `inner_group_num`); the stack is L x K blocks deep.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Sublayers are named `attention_{k}` and `feedforward_{k}`, k counting the
    distinct sublayers in order of first use. With `norm_first=True` a final
    LayerNorm (`final_layer_norm`) follows the last layer.

    Call arguments:
        x: [batch, seq, H] float.
        padding_mask: [batch, seq], 1 for real tokens and 0 for padding, or None.

    Returns:
        [batch, seq, H].

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import EncoderStack
    >>> stack = EncoderStack(num_layers=4, num_heads=2, intermediate_dim=32,
    ...                      num_groups=1, sharing="all")  # ALBERT: one block, 4 times
    >>> x = np.random.rand(1, 3, 8).astype("float32")
    >>> tuple(stack(x, np.array([[1, 1, 0]])).shape)
    (1, 3, 8)
    >>> len(stack.attention_layers), len(stack.feedforward_layers)
    (1, 1)
    """

    def __init__(
        self,
        num_layers,
        num_heads,
        intermediate_dim,
        num_groups=None,
        sharing="none",
        activation="gelu",
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-12,
        norm_first=False,
        initializer_range=0.02,
        inner_group_size=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_groups is None:
            num_groups = num_layers if sharing == "none" else 1
        self.attention_plan, self.feedforward_plan = self.sharing_plan(
            num_layers, num_groups, sharing, inner_group_size
        )
        self.inner_group_size = inner_group_size
        self.num_layers = num_layers
        self.num_groups = num_groups
        self.sharing = sharing
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.norm_first = norm_first
        self.initializer_range = initializer_range

    sharing_plan = staticmethod(sharing_plan)  # which sublayer each block uses (`kinds`)

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
        self.attention_layers = [
            SelfAttention(
                self.num_heads, self.attention_dropout, name=f"attention_{k}", **self._common()
            )
            for k in range(max(self.attention_plan) + 1)
        ]
        self.feedforward_layers = [
            FeedForward(
                self.intermediate_dim,
                self.activation,
                name=f"feedforward_{k}",
                **self._common(),
            )
            for k in range(max(self.feedforward_plan) + 1)
        ]
        for layer in self.attention_layers + self.feedforward_layers:
            layer.build(input_shape)
        self.final_layer_norm = None
        if self.norm_first:
            self.final_layer_norm = keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="final_layer_norm"
            )
            self.final_layer_norm.build(input_shape)

    def call(self, x, padding_mask=None, training=None):
        mask = None if padding_mask is None else padding_to_attention_mask(padding_mask)
        for a, f in zip(self.attention_plan, self.feedforward_plan, strict=True):
            x = self.attention_layers[a](x, mask, training=training)
            x = self.feedforward_layers[f](x, training=training)
        if self.final_layer_norm is not None:
            x = self.final_layer_norm(x)
        return x

    def compute_output_shape(self, x_shape, padding_mask_shape=None):
        return x_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            num_groups=self.num_groups,
            sharing=self.sharing,
            activation=self.activation,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            norm_first=self.norm_first,
            initializer_range=self.initializer_range,
            inner_group_size=self.inner_group_size,
        )
        return config
