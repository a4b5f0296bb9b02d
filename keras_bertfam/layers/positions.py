"""Positions: a learned table added to the embeddings, or rotary angles applied to q and k.

- `PositionEmbedding` (BERT, ALBERT, RoBERTa): a learned table of
  `max_sequence_length + offset` rows; row `offset + i` is added at position i
  (RoBERTa's offset is 2, after its padding index).
- `RotaryEmbedding` (Su et al. 2021, https://arxiv.org/abs/2104.09864; ModernBERT,
  NeoBERT): no weights; each query and key is rotated by angles `i * theta^(-2k/d)`
  (the "rotate half" layout: feature k pairs with k + d/2), so their dot product
  depends only on the distance i - j. The angles are computed in float32 whatever
  the compute dtype.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import PositionEmbedding, RotaryEmbedding
>>> tuple(PositionEmbedding(max_sequence_length=8, offset=2)(np.zeros((1, 5, 4))).shape)
(1, 5, 4)
>>> q = np.random.rand(1, 6, 2, 8).astype("float32")   # [batch, seq, heads, head_dim]
>>> tuple(RotaryEmbedding(theta=10000.0)(q).shape)
(1, 6, 2, 8)
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.layers import checks
from keras_bertfam.layers.common import initializer, register


@register
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned position table to its input: `x + table[offset : offset + seq]`.

    Args:
        max_sequence_length: int. The longest sequence S the table serves.
        offset: int, default 0. The row of position 0 (RoBERTa: 2); the table has
            `max_sequence_length + offset` rows, as the published checkpoints.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch, seq, E] float (the token embeddings).
        positions: optional [batch, seq] int: each token's position (packed
            sequences restart at 0, see `PackedSequences`); default 0 .. seq-1.

    Returns:
        [batch, seq, E]: `x` plus the positions. A sequence longer than
        `max_sequence_length` is refused (when its length is known only at run
        time under XLA, which drops assertions, its rows become NaN).

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import PositionEmbedding
    >>> layer = PositionEmbedding(max_sequence_length=4)
    >>> out = layer(np.zeros((2, 3, 8), "float32"))
    >>> bool(np.allclose(out[0], layer.embeddings.numpy()[:3]))
    True
    """

    def __init__(self, max_sequence_length, offset=0, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.max_sequence_length = max_sequence_length
        self.offset = offset
        self.initializer_range = initializer_range

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_sequence_length + self.offset, input_shape[-1]),
            initializer=initializer(self.initializer_range),
        )

    def call(self, x, positions=None):
        if positions is not None:  # positions < seq, and seq <= max_sequence_length (checked)
            checks.check_length(_length(x), self.max_sequence_length, "token_ids",
                                "max_sequence_length")  # fmt: skip
            rows = ops.take(self.embeddings, ops.cast(positions, "int32") + self.offset, axis=0)
            return x + ops.cast(rows, x.dtype)
        return add_learned_positions(x, self.embeddings, self.offset, self.max_sequence_length)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            max_sequence_length=self.max_sequence_length,
            offset=self.offset,
            initializer_range=self.initializer_range,
        )
        return config


def _length(x):
    return x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]


def add_learned_positions(x, table, offset: int, max_sequence_length: int):
    """`x` [batch, seq, E] plus rows `offset .. offset + seq - 1` of `table`, the length
    checked against `max_sequence_length`."""
    seq_len = _length(x)
    seq_len = checks.check_length(seq_len, max_sequence_length, "token_ids", "max_sequence_length")
    if isinstance(seq_len, int):
        positions = ops.slice(ops.convert_to_tensor(table), (offset, 0), (seq_len, table.shape[-1]))
        return x + ops.cast(positions, x.dtype)[None]
    # a length known only at run time: gather clamped rows, and NaN where the table ends
    index = ops.arange(seq_len) + offset
    rows = ops.take(table, ops.minimum(index, table.shape[0] - 1), axis=0)
    rows = checks.poison_invalid(rows, index, table.shape[0])
    return x + ops.cast(rows, x.dtype)[None]


@register
class RotaryEmbedding(keras.layers.Layer):
    """Rotary position embedding of query or key features (no weights).

    Args:
        theta: float, default 10000.0. The base of the angles (ModernBERT: 160,000
            on its global layers, 10,000 on its local ones).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch, seq, heads, head_dim] (head_dim even).
        positions: optional [seq] or [batch, seq] positions (default 0 .. seq-1).

    Returns:
        `x` rotated, same shape and dtype; the angles and the rotation are
        computed in float32.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import RotaryEmbedding
    >>> rope = RotaryEmbedding(theta=10000.0)
    >>> x = np.ones((1, 3, 1, 4), "float32")
    >>> y = np.asarray(rope(x))
    >>> bool(np.allclose(y[0, 0], x[0, 0]))  # position 0: no rotation
    True
    """

    def __init__(self, theta=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = theta

    def call(self, x, positions=None):
        seq_len = ops.shape(x)[1]
        cos, sin = rotary_angles(seq_len, x.shape[-1], self.theta, positions)
        return apply_rotary(x, cos, sin)

    def compute_output_shape(self, x_shape, positions_shape=None):
        return x_shape

    def get_config(self):
        config = super().get_config()
        config["theta"] = self.theta
        return config


def rotary_angles(seq_len, head_dim: int, theta: float, positions=None):
    """(cos, sin), float32 [seq, head_dim] (or [batch, seq, head_dim] for batched
    positions), in the rotate-half layout: frequency k serves features k and k + d/2."""
    if head_dim % 2:
        from keras_bertfam.errors import InputError

        raise InputError(f"rotary positions need an even head_dim, got head_dim={head_dim}")
    inverse = 1.0 / (theta ** (ops.arange(0, head_dim, 2, dtype="float32") / head_dim))
    if positions is None:
        positions = ops.arange(seq_len, dtype="float32")
    angles = ops.cast(positions, "float32")[..., None] * inverse
    angles = ops.concatenate([angles, angles], axis=-1)
    return ops.cos(angles), ops.sin(angles)


def apply_rotary(x, cos, sin):
    """Rotate `x` [batch, seq, heads, head_dim] by (cos, sin) [(batch,) seq, head_dim]."""
    dtype = x.dtype
    x = ops.cast(x, "float32")
    if len(cos.shape) == 2:
        cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    else:
        cos, sin = cos[:, :, None, :], sin[:, :, None, :]
    half = x.shape[-1] // 2
    rotated = ops.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return ops.cast(x * cos + rotated * sin, dtype)
