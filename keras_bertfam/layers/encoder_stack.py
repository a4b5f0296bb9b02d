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

Each layer attends globally or, with `local_window`, in a sliding window; the
global layers are those whose index is a multiple of `global_every` (ModernBERT:
0, 3, 6, ...). With rotary positions each attention sublayer gets its layer's base
(`rotary_theta` for global layers, `rotary_theta_local` for local ones) and
computes the angles in float32 (a Python float, which mixed precision leaves
alone; XLA computes the identical angles of layers with one base once).

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

from keras_bertfam.errors import InputError
from keras_bertfam.kinds import attention_windows, sharing_plan
from keras_bertfam.layers.attention import SelfAttention
from keras_bertfam.layers.common import padding_to_attention_mask, register
from keras_bertfam.layers.feedforward import FeedForward
from keras_bertfam.layers.norms import make_norm
from keras_bertfam.layers.packing import block_diagonal_mask


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
        layer_norm_epsilon: float, default 1e-12. The norms' epsilon.
        norm_first: bool, default False. Pre-norm (True, with a final norm
            after the last layer) or post-norm (False).
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer.
        inner_group_size: int, default 1. Blocks K applied in turn by each
            layer (ALBERT's `inner_group_num`); the stack is L x K blocks deep.
        feedforward_kind: str, default "dense". "dense", "geglu" or "swiglu".
        norm: str, default "layer". "layer" (LayerNorm) or "rms" (RMSNorm).
        use_bias: bool, default True. Biases in the Dense layers and the norms.
        rotary_theta: float or None, default None. Rotary positions with this
            base on the global layers (None: no rotary positions).
        rotary_theta_local: float or None, default None. The base on the local
            layers (None: `rotary_theta`).
        local_window: int or None, default None. A sliding window of this many
            tokens (keys within local_window // 2) on the layers that are not
            global; None: every layer is global.
        global_every: int, default 1. Layer i is global when i % global_every
            == 0.
        first_attention_norm: bool, default True. False leaves out the first
            layer's attention norm (ModernBERT, pre-norm only; that attention
            must not be shared).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Sublayers are named `attention_{k}` and `feedforward_{k}`, k counting the
    distinct sublayers in order of first use. With `norm_first=True` a final
    norm (`final_layer_norm`) follows the last layer.

    Call arguments:
        x: [batch, seq, H] float.
        padding_mask: [batch, seq], 1 for real tokens and 0 for padding, or None.
        sequence_ids: optional [batch, seq] int: packed rows (0 padding, 1..K
            the sequences; see `PackedSequences`): attention stays inside each
            sequence, in place of `padding_mask`.
        positions: optional [batch, seq] int: rotary positions of packed rows
            (each sequence from 0).

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
    >>> modern = EncoderStack(num_layers=3, num_heads=2, intermediate_dim=16,
    ...                       norm_first=True, use_bias=False, feedforward_kind="geglu",
    ...                       rotary_theta=160000.0, rotary_theta_local=10000.0,
    ...                       local_window=2, global_every=3, first_attention_norm=False)
    >>> tuple(modern(x, np.array([[1, 1, 0]])).shape), modern.layer_windows
    ((1, 3, 8), [None, 2, 2])
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
        feedforward_kind="dense",
        norm="layer",
        use_bias=True,
        rotary_theta=None,
        rotary_theta_local=None,
        local_window=None,
        global_every=1,
        first_attention_norm=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_groups is None:
            num_groups = num_layers if sharing == "none" else 1
        self.attention_plan, self.feedforward_plan = self.sharing_plan(
            num_layers, num_groups, sharing, inner_group_size
        )
        if not first_attention_norm and self.attention_plan.count(self.attention_plan[0]) > 1:
            raise InputError(
                "first_attention_norm=False needs the first layer's attention unshared; "
                f"with sharing={sharing!r} and num_groups={num_groups} other layers use it too"
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
        self.feedforward_kind = feedforward_kind
        self.norm = norm
        self.use_bias = use_bias
        self.rotary_theta = rotary_theta
        self.rotary_theta_local = rotary_theta_local
        self.local_window = local_window
        self.global_every = global_every
        self.first_attention_norm = first_attention_norm
        # per applied block: its sliding window (None: global) and its rotary base
        self.layer_windows = attention_windows(num_layers, inner_group_size, local_window,
                                               global_every)  # fmt: skip
        local_theta = rotary_theta if rotary_theta_local is None else rotary_theta_local
        self.layer_thetas = [
            None if rotary_theta is None else (rotary_theta if w is None else local_theta)
            for w in self.layer_windows
        ]

    sharing_plan = staticmethod(sharing_plan)  # which sublayer each block uses (`kinds`)

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

    def build(self, x_shape, padding_mask_shape=None, sequence_ids_shape=None,
              positions_shape=None):  # fmt: skip
        input_shape = x_shape
        first = self.attention_plan[0]
        self.attention_layers = [
            SelfAttention(
                self.num_heads,
                self.attention_dropout,
                name=f"attention_{k}",
                use_norm=self.first_attention_norm or k != first,
                **self._common(),
            )
            for k in range(max(self.attention_plan) + 1)
        ]
        self.feedforward_layers = [
            FeedForward(
                self.intermediate_dim,
                self.activation,
                self.feedforward_kind,
                name=f"feedforward_{k}",
                **self._common(),
            )
            for k in range(max(self.feedforward_plan) + 1)
        ]
        for layer in self.attention_layers + self.feedforward_layers:
            layer.build(input_shape)
        self.final_layer_norm = None
        if self.norm_first:
            self.final_layer_norm = make_norm(self.norm, self.layer_norm_epsilon, self.use_bias,
                                              self.dtype_policy, "final_layer_norm")  # fmt: skip
            self.final_layer_norm.build(input_shape)

    def call(self, x, padding_mask=None, sequence_ids=None, positions=None, training=None):
        mask = None if padding_mask is None else padding_to_attention_mask(padding_mask)
        packed = {}
        if sequence_ids is not None:
            mask = block_diagonal_mask(sequence_ids)
            packed = dict(sequence_ids=sequence_ids, positions=positions)
        blocks = zip(self.attention_plan, self.feedforward_plan, self.layer_windows,
                     self.layer_thetas, strict=True)  # fmt: skip
        for a, f, window, theta in blocks:
            x = self.attention_layers[a](x, mask, training=training, local_window=window,
                                         rotary_theta=theta, **packed)  # fmt: skip
            x = self.feedforward_layers[f](x, training=training)
        if self.final_layer_norm is not None:
            x = self.final_layer_norm(x)
        return x

    def compute_output_shape(self, x_shape, padding_mask_shape=None, sequence_ids_shape=None,
                             positions_shape=None):  # fmt: skip
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
            feedforward_kind=self.feedforward_kind,
            norm=self.norm,
            use_bias=self.use_bias,
            rotary_theta=self.rotary_theta,
            rotary_theta_local=self.rotary_theta_local,
            local_window=self.local_window,
            global_every=self.global_every,
            first_attention_norm=self.first_attention_norm,
        )
        return config
