"""Multi-head self-attention: global, or a sliding window computed band by band.

Q, K and V come from one fused [H, 3H] projection. Rotary positions, when the
stack gives them, rotate q and k before the scores. A sliding window lets query
i see key j only when |i - j| <= local_window // 2 (ModernBERT's rule); it is
computed in blocks of local_window // 2 queries against the three blocks around
them, so its cost grows with the window, not with the square of the sequence.
Global attention on JAX and PyTorch is `keras.ops.dot_product_attention` (a fused
or flash kernel on GPUs) whenever no attention dropout is active; on TensorFlow,
and with dropout in training, it is the explicit softmax of the scores.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import SelfAttention
>>> attention = SelfAttention(num_heads=2)
>>> x = np.random.rand(1, 6, 8).astype("float32")
>>> mask = np.ones((1, 1, 1, 6), bool)
>>> local = np.asarray(attention(x, mask, local_window=2))
>>> local.shape
(1, 6, 8)
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.layers.common import attention_scale, large_negative, register
from keras_bertfam.layers.positions import apply_rotary, rotary_angles
from keras_bertfam.layers.residual import Residual

FUSED_BACKENDS = ("jax", "torch")  # where global attention is ops.dot_product_attention


@register
class SelfAttention(Residual):
    """Multi-head self-attention with residual, dropout and a norm.

    Args:
        num_heads: int. Attention heads; must divide the input width H.
        attention_dropout: float, default 0.1. Dropout on the attention
            probabilities.
        dropout: float, default 0.1. Dropout rate on the sublayer's output,
            before the residual sum.
        layer_norm_epsilon: float, default 1e-12. The norm's epsilon.
        norm_first: bool, default False. False: post-norm, `N(x + f(x))`
            (BERT); True: pre-norm, `x + f(N(x))`.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer of the Dense kernels.
        norm: str, default "layer". "layer" (LayerNorm) or "rms" (RMSNorm).
        use_bias: bool, default True. Biases in the Dense layers and the LayerNorm.
        use_norm: bool, default True. False leaves out the norm of a pre-norm
            sublayer (ModernBERT's first attention).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch, seq, H] float.
        attention_mask: [batch, 1, 1, seq] boolean, True where a key may be
            attended to; None attends everywhere.
        rotary_theta: optional float: rotary positions for q and k with this
            base (angles and rotation in float32 under any dtype policy).
        local_window: optional int: a sliding window (keys within
            local_window // 2 positions); None attends globally.
        positions: optional [batch, seq] int: the rotary positions of packed
            rows (each sequence from 0; see `PackedSequences`).
        sequence_ids: optional [batch, seq] int: packed rows; the sliding
            window then stays inside each sequence (global attention takes the
            block-diagonal `attention_mask` [batch, 1, seq, seq]).

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

    def transform(self, x, attention_mask, training, rotary_theta=None, local_window=None,
                  positions=None, sequence_ids=None):  # fmt: skip
        batch, seq = ops.shape(x)[0], ops.shape(x)[1]
        qkv = ops.reshape(self.qkv(x), (batch, seq, 3, self.num_heads, self.head_dim))
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        if rotary_theta is not None:
            angles = rotary_angles(seq, self.head_dim, rotary_theta, positions)
            q, k = apply_rotary(q, *angles), apply_rotary(k, *angles)
        q = q * ops.cast(attention_scale(self.head_dim), q.dtype)
        half = None if local_window is None else max(local_window // 2, 1)
        static_seq = x.shape[1]
        if half is None or (static_seq is not None and half >= static_seq - 1):
            context = self._global(q, k, v, attention_mask, training)  # the window holds all
        else:
            if sequence_ids is not None:
                key_ids = ops.cast(sequence_ids, "int32")
            elif attention_mask is not None:
                key_ids = ops.cast(attention_mask[:, 0, 0, :], "int32")
            else:
                key_ids = None
            context = self._local(q, k, v, key_ids, half, training, sequence_ids is not None)
        context = ops.reshape(context, (batch, seq, self.num_heads * self.head_dim))
        return self.output_dense(context)

    def _global(self, q, k, v, attention_mask, training):
        if self._fused(training):  # q is scaled already
            flash = keras.config.is_flash_attention_enabled()
            return ops.dot_product_attention(
                q, k, v, mask=attention_mask, scale=1.0, flash_attention=flash
            )
        scores = ops.einsum("bqnd,bknd->bnqk", q, k)
        if attention_mask is not None:
            scores = ops.where(attention_mask, scores, large_negative(scores.dtype))
        probs = self.probs_dropout(ops.softmax(scores, axis=-1), training=training)
        return ops.einsum("bnqk,bknd->bqnd", probs, v)

    def _fused(self, training) -> bool:
        """`ops.dot_product_attention` (flash attention where the device has it, as
        `keras.config.enable_flash_attention()` decides) on JAX and PyTorch, when no
        dropout acts on the probabilities; TensorFlow keeps the einsum path."""
        active_dropout = bool(training) and self.attention_dropout > 0
        return keras.backend.backend() in FUSED_BACKENDS and not active_dropout

    def _local(self, q, k, v, key_ids, half, training, packed=False):
        """Attention within |i - j| <= half, in blocks of `half` queries: block t attends
        to key blocks t - 1, t and t + 1, which hold every key its queries may see.
        `key_ids` > 0 marks real keys; `packed`: a query sees only keys of its id."""
        batch, seq = ops.shape(q)[0], ops.shape(q)[1]
        blocks = (seq + half - 1) // half
        pad = blocks * half - seq

        def windows(t):
            padded = ops.pad(t, [[0, 0], [half, pad + half]] + [[0, 0]] * (len(t.shape) - 2))
            parts = ops.reshape(padded, (batch, blocks + 2, half, *t.shape[2:]))
            return ops.concatenate([parts[:, :-2], parts[:, 1:-1], parts[:, 2:]], axis=2)

        queries = ops.reshape(ops.pad(q, [[0, 0], [0, pad], [0, 0], [0, 0]]),
                              (batch, blocks, half, self.num_heads, self.head_dim))  # fmt: skip
        scores = ops.einsum("btqnd,btknd->btnqk", queries, windows(k))
        distance = ops.arange(3 * half)[None, :] - half - ops.arange(half)[:, None]
        allowed = ops.abs(distance) <= half  # [half, 3 half]
        keys = ops.ones((batch, seq), "int32") if key_ids is None else key_ids
        real = windows(keys) > 0  # padding, and the blocks' margins, are no keys
        allowed = ops.logical_and(allowed[None, None, None], real[:, :, None, None, :])
        if packed:  # a query's own sequence only
            own = ops.reshape(ops.pad(keys, [[0, 0], [0, pad]]), (batch, blocks, half))
            same = ops.equal(own[:, :, :, None], windows(keys)[:, :, None, :])
            allowed = ops.logical_and(allowed, same[:, :, None])
        scores = ops.where(allowed, scores, large_negative(scores.dtype))
        probs = self.probs_dropout(ops.softmax(scores, axis=-1), training=training)
        context = ops.einsum("btnqk,btknd->btqnd", probs, windows(v))
        context = ops.reshape(context, (batch, blocks * half, self.num_heads, self.head_dim))
        return context[:, :seq]

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, attention_dropout=self.attention_dropout)
        return config
