"""Embeddings of the BERT family: the token table and the embedding block.

`TokenEmbedding` holds the V×E token table. Called on ids it looks them up;
called with `reverse=True` on [..., E] features it multiplies by the table's
transpose, which is how the masked-LM head ties its decoder to the input
embedding (through E for ALBERT). It is a node of its own in the functional
graph, so the tie survives `.keras` saving.

`EncoderEmbedding` adds segment embeddings to the token (and position)
embeddings, applies a norm and dropout, and, when E != H, ALBERT's E×H
projection. Together the two layers are ALBERT's factorized embedding
(Lan et al. 2020, https://arxiv.org/abs/1909.11942, section 3.1): a V×E table
and an E×H projection, V·E + E·H parameters instead of V·H. With E = H there is
no projection and they are BERT's embedding.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import TokenEmbedding, EncoderEmbedding
>>> tokens = TokenEmbedding(100, 16)                      # V=100, E=16
>>> block = EncoderEmbedding(num_segments=2, hidden_dim=32)
>>> ids = np.array([[2, 5, 7, 0]])
>>> tuple(block(tokens(ids), np.zeros_like(ids)).shape)   # projected to H=32
(1, 4, 32)
>>> tuple(tokens(np.ones((1, 3, 16)), reverse=True).shape)  # tied decoder
(1, 3, 100)
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.layers import checks
from keras_bertfam.layers.common import initializer, register
from keras_bertfam.layers.norms import make_norm
from keras_bertfam.layers.positions import add_learned_positions


@register
class TokenEmbedding(keras.layers.ReversibleEmbedding):
    """The V×E token table, with range-checked ids and a tied reverse projection.

    Args:
        input_dim: int. Vocabulary size V.
        output_dim: int. Embedding size E.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer of the table.
        **kwargs: passed to `keras.layers.ReversibleEmbedding` (`name`,
            `dtype`, ...); `tie_weights` defaults to True (the reverse
            projection uses the table itself) and `embeddings_initializer` to
            the truncated normal above.

    Call arguments:
        inputs: int ids [batch, seq] in [0, V) (forward), or float features
            [..., E] when `reverse=True`. Eagerly an id outside [0, V) raises
            `InputError`; in a graph an assertion fails; under XLA its row is NaN.
        reverse: bool, default False. If True, return `inputs @ table^T`.

    Returns:
        [batch, seq, E] embeddings (forward), or [..., V] logits (`reverse=True`).

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import TokenEmbedding
    >>> table = TokenEmbedding(input_dim=10, output_dim=4)
    >>> tuple(table(np.array([[1, 2, 3]])).shape)
    (1, 3, 4)
    >>> tuple(table(np.zeros((1, 3, 4), "float32"), reverse=True).shape)
    (1, 3, 10)
    """

    def __init__(self, input_dim, output_dim, initializer_range=0.02, **kwargs):
        kwargs.setdefault("embeddings_initializer", initializer(initializer_range))
        kwargs.setdefault("tie_weights", True)
        super().__init__(input_dim, output_dim, **kwargs)
        self.initializer_range = initializer_range

    def call(self, inputs, reverse=False):
        if reverse:
            return super().call(inputs, reverse=True)
        inputs = checks.check_ids(inputs, self.input_dim, "token_ids", "vocabulary_size")
        outputs = super().call(inputs)
        return checks.poison_invalid(outputs, inputs, self.input_dim)

    def get_config(self):
        config = super().get_config()
        config["initializer_range"] = self.initializer_range
        return config


@register
class EncoderEmbedding(keras.layers.Layer):
    """Segment embeddings, a norm, dropout and ALBERT's E×H projection, on token embeddings.

    Positions come before it in the model (`PositionEmbedding`, or rotary ones in
    the attention). Given `max_sequence_length`, this layer holds a learned
    position table of its own instead (the layout of models whose embedding block
    owns its positions; `.keras` files of that layout load into it).

    Args:
        max_sequence_length: int or None, default None. With an int, a learned
            position table of `max_sequence_length + position_offset` rows inside
            this layer; None: positions are not this layer's.
        num_segments: int, default 2. Rows of the segment table (0: no segment
            embedding, and `segment_ids` is not needed).
        position_offset: int, default 0. The first position's row of the inner
            table (RoBERTa: 2).
        hidden_dim: int or None, default None. H. If it differs from the
            incoming E, a Dense E→H projection follows the norm (ALBERT);
            None keeps E.
        dropout: float, default 0.0. Dropout rate after the norm.
        layer_norm_epsilon: float, default 1e-12. The norm's epsilon.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer.
        norm: str, default "layer". "layer" (LayerNorm) or "rms" (RMSNorm).
        use_bias: bool, default True. Biases in the norm and the projection.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        token_embeddings: [batch, seq, E] float, from `TokenEmbedding` (and a
            `PositionEmbedding`).
        segment_ids: [batch, seq] int in [0, num_segments), or None when
            `num_segments=0`.

    Returns:
        [batch, seq, H] float (H = E without a projection).

    With an inner position table, a sequence longer than `max_sequence_length`
    raises `InputError` when its length is known at trace time; when it is
    known only at run time, a TensorFlow assertion fails, and under XLA (which
    drops assertions) the rows past the table are NaN, like invalid ids.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import EncoderEmbedding, PositionEmbedding, TokenEmbedding
    >>> tokens, positions = TokenEmbedding(10, 8), PositionEmbedding(max_sequence_length=6)
    >>> block = EncoderEmbedding(num_segments=2)
    >>> x = block(positions(tokens(np.array([[2, 5, 7]]))), np.array([[0, 0, 1]]))
    >>> tuple(x.shape), tuple(block.segment_embedding.shape)
    ((1, 3, 8), (2, 8))
    """

    def __init__(
        self,
        max_sequence_length=None,
        num_segments=2,
        position_offset=0,
        hidden_dim=None,
        dropout=0.0,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        norm="layer",
        use_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.position_offset = position_offset
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.norm = norm
        self.use_bias = use_bias

    def build(self, token_embeddings_shape, segment_ids_shape=None):
        embedding_dim = token_embeddings_shape[-1]
        init = initializer(self.initializer_range)
        self.position_embedding = None
        if self.max_sequence_length is not None:
            self.position_embedding = self.add_weight(
                name="position_embedding",
                shape=(self.max_sequence_length + self.position_offset, embedding_dim),
                initializer=init,
            )
        self.segment_embedding = None
        if self.num_segments:
            self.segment_embedding = self.add_weight(
                name="segment_embedding",
                shape=(self.num_segments, embedding_dim),
                initializer=init,
            )
        self.layer_norm = make_norm(self.norm, self.layer_norm_epsilon, self.use_bias,
                                    self.dtype_policy)  # fmt: skip
        self.layer_norm.build(token_embeddings_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.projection = None
        if self.hidden_dim is not None and self.hidden_dim != embedding_dim:
            self.projection = keras.layers.Dense(
                self.hidden_dim,
                use_bias=self.use_bias,
                kernel_initializer=init,
                dtype=self.dtype_policy,
                name="projection",
            )
            self.projection.build(token_embeddings_shape)

    def call(self, token_embeddings, segment_ids=None, training=None):
        x = token_embeddings
        if self.position_embedding is not None:
            x = add_learned_positions(x, self.position_embedding, self.position_offset,
                                      self.max_sequence_length)  # fmt: skip
        if self.segment_embedding is not None:
            if segment_ids is None:
                raise InputError(
                    f"segment_ids is required: this embedding has num_segments={self.num_segments}"
                )
            segment_ids = checks.check_ids(
                segment_ids, self.num_segments, "segment_ids", "num_segments"
            )
            segments = ops.take(self.segment_embedding, segment_ids, axis=0)
            segments = checks.poison_invalid(segments, segment_ids, self.num_segments)
            x = x + ops.cast(segments, x.dtype)
        x = self.dropout_layer(self.layer_norm(x), training=training)
        if self.projection is not None:
            x = self.projection(x)
        return x

    def compute_output_shape(self, token_embeddings_shape, segment_ids_shape=None):
        dim = self.hidden_dim or token_embeddings_shape[-1]
        return (*token_embeddings_shape[:-1], dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            max_sequence_length=self.max_sequence_length,
            num_segments=self.num_segments,
            position_offset=self.position_offset,
            hidden_dim=self.hidden_dim,
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer_range=self.initializer_range,
            norm=self.norm,
            use_bias=self.use_bias,
        )
        return config
