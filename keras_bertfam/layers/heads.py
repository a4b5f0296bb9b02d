"""Pooler and pretraining heads: masked LM (tied decoder) and the NSP/SOP head.

The masked-LM head (Devlin et al. 2019, https://arxiv.org/abs/1810.04805,
appendix A) gathers the hidden states at `mask_positions`, transforms them
(Dense to E + activation + LayerNorm), decodes them with the transpose of the
token-embedding table and adds an output bias. The decoding is a call of the
`TokenEmbedding` layer itself with `reverse=True`, so the decoder *is* the
input table (through E for ALBERT) and stays tied after `.keras` saving; the
three steps are three nodes of the functional graph, wired by `masked_lm_logits`.

The sentence head is the two-way classifier on the pooled [CLS] output used for
BERT's next-sentence prediction (NSP) and ALBERT's sentence-order prediction (SOP).

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import MaskedLMHead, MaskedLMBias, TokenEmbedding
>>> tokens = TokenEmbedding(50, 8)
>>> hidden = np.random.rand(2, 6, 16).astype("float32")      # [batch, seq, H]
>>> positions = np.array([[1, 4], [0, 5]])                   # [batch, P]
>>> h = MaskedLMHead(embedding_dim=8)(hidden, positions)     # [batch, P, E]
>>> logits = MaskedLMBias()(tokens(h, reverse=True))
>>> tuple(logits.shape)
(2, 2, 50)
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.kinds import HEAD_INITS
from keras_bertfam.layers import checks
from keras_bertfam.layers.common import activation, initializer, register
from keras_bertfam.layers.norms import make_norm
from keras_bertfam.layers.packing import gather_slots


@register
class Pooler(keras.layers.Layer):
    """The [CLS] pooler: `tanh(Dense(sequence_output[:, 0]))`, or the first token itself.

    Args:
        initializer_range: float, default 0.02. Stddev of the Dense kernel's
            truncated-normal initializer.
        use_dense: bool, default True. If False the layer has no weights and
            returns the first token's hidden state (encoders whose checkpoint
            ships no pooler, such as RoBERTa masked-LM checkpoints), so
            `pooled_output` exists for every encoder.
        use_bias: bool, default True. The Dense's bias.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        sequence_output: [batch, seq, H] float.
        starts: optional [batch, K] int: the first token of each packed sequence
            (`PackedSequences`); the pooler then reads each of them.

    Returns:
        [batch, H], or [batch, K, H] with `starts`.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import Pooler
    >>> x = np.random.rand(2, 5, 8).astype("float32")
    >>> np.array_equal(Pooler(use_dense=False)(x), x[:, 0])
    True
    >>> tuple(Pooler()(x).shape), len(Pooler(use_dense=False).weights)
    ((2, 8), 0)
    """

    def __init__(self, initializer_range=0.02, use_dense=True, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.initializer_range = initializer_range
        self.use_dense = use_dense
        self.use_bias = use_bias

    def build(self, input_shape):
        self.dense = None
        if self.use_dense:
            self.dense = keras.layers.Dense(
                input_shape[-1],
                activation="tanh",
                use_bias=self.use_bias,
                kernel_initializer=initializer(self.initializer_range),
                dtype=self.dtype_policy,
                name="dense",
            )
            self.dense.build((input_shape[0], input_shape[-1]))

    def call(self, sequence_output, starts=None):
        first = (
            sequence_output[:, 0, :] if starts is None else gather_slots(sequence_output, starts)
        )
        return first if self.dense is None else self.dense(first)

    def compute_output_shape(self, sequence_output_shape, starts_shape=None):
        batch, width = sequence_output_shape[0], sequence_output_shape[-1]
        return (batch, width) if starts_shape is None else (batch, starts_shape[1], width)

    def get_config(self):
        config = super().get_config()
        config.update(
            initializer_range=self.initializer_range,
            use_dense=self.use_dense,
            use_bias=self.use_bias,
        )
        return config


@register
class MaskedLMHead(keras.layers.Layer):
    """Gather the masked positions and transform them for the tied decoder.

    Args:
        embedding_dim: int. E, the width of the token table the decoder ties to.
        activation: str, default "gelu". A config activation name ("gelu" is
            exact, "gelu_approximate" the tanh form).
        layer_norm_epsilon: float, default 1e-12. The norm's epsilon.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer.
        norm: str, default "layer". "layer" (LayerNorm) or "rms" (RMSNorm).
        use_bias: bool, default True. The Dense's and the LayerNorm's biases
            (ModernBERT: False).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        sequence_output: [batch, seq, H] float.
        mask_positions: [batch, P] int positions in [0, seq). Eagerly an
            invalid position raises `InputError`; in a graph an assertion
            fails; under XLA (no assertions) its row of the output is NaN.

    Returns:
        [batch, P, E]: feed to `TokenEmbedding(..., reverse=True)` and `MaskedLMBias`.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import MaskedLMHead
    >>> head = MaskedLMHead(embedding_dim=8)
    >>> hidden = np.random.rand(2, 6, 16).astype("float32")  # [batch, seq, H]
    >>> tuple(head(hidden, np.array([[1, 4], [0, 5]])).shape)  # P = 2 positions each
    (2, 2, 8)
    """

    def __init__(
        self,
        embedding_dim,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        norm="layer",
        use_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.embedding_dim = embedding_dim
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.norm = norm
        self.use_bias = use_bias

    def build(self, sequence_output_shape, mask_positions_shape=None):
        self.dense = keras.layers.Dense(
            self.embedding_dim,
            activation=activation(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense.build(sequence_output_shape)
        self.layer_norm = make_norm(self.norm, self.layer_norm_epsilon, self.use_bias,
                                    self.dtype_policy)  # fmt: skip
        self.layer_norm.build((*sequence_output_shape[:-1], self.embedding_dim))

    def call(self, sequence_output, mask_positions):
        seq_len = sequence_output.shape[1]
        if seq_len is None:
            seq_len = ops.shape(sequence_output)[1]
        mask_positions = checks.check_ids(mask_positions, seq_len, "mask_positions", "seq_length")
        gathered = ops.take_along_axis(sequence_output, mask_positions[:, :, None], axis=1)
        # XLA clamps out-of-range positions: make their rows (and so their logits) NaN
        return checks.poison_invalid(self.layer_norm(self.dense(gathered)), mask_positions, seq_len)

    def compute_output_shape(self, sequence_output_shape, mask_positions_shape):
        return (*mask_positions_shape, self.embedding_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            embedding_dim=self.embedding_dim,
            activation=self.activation,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer_range=self.initializer_range,
            norm=self.norm,
            use_bias=self.use_bias,
        )
        return config


@register
class MaskedLMBias(keras.layers.Layer):
    """The masked-LM output bias: adds a learned [V] vector (zeros at first) to tied logits.

    Args:
        **kwargs: standard layer arguments (`name`, `dtype`, ...). V comes
            from the last axis of the first input.

    Call arguments:
        logits: [..., V] float, from `TokenEmbedding(..., reverse=True)`.

    Returns:
        [..., V]: `logits + bias`.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import MaskedLMBias
    >>> bias = MaskedLMBias()
    >>> logits = bias(np.ones((2, 3, 50), "float32"))
    >>> tuple(logits.shape), tuple(bias.bias.shape), float(logits[0, 0, 0])
    ((2, 3, 50), (50,), 1.0)
    """

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(input_shape[-1],), initializer="zeros")

    def call(self, logits):
        return logits + ops.cast(self.bias, logits.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


@register
class SentenceHead(keras.layers.Layer):
    """Dropout + Dense classifier: NSP/SOP (2-way, on the pooled output) and task heads.

    It maps the last axis, so it also scores every position of a sequence
    ([batch, seq, H] -> [batch, seq, num_classes]) for token classification
    and span (QA) heads. With `transform_activation` a Dense H -> H, that
    activation and a norm come first (ModernBERT's classification head).

    Args:
        num_classes: int, default 2. Output logits (2 for NSP/SOP).
        dropout: float, default 0.0. Dropout on the input before the classifier.
        initializer_range: float, default 0.02. Stddev of the truncated-normal
            initializer (with `init="truncated_normal"`).
        init: str, default "truncated_normal". "truncated_normal" (BERT's:
            kernel N(0, initializer_range) cut at 2 stddev, zero bias) or
            "fan_in_uniform" (`torch.nn.Linear`'s: kernel and bias uniform in
            +-1/sqrt(H), for H = fan-in).
        transform_activation: str or None, default None. A config activation
            name: transform the input first (Dense H -> H, activation, norm).
        norm: str, default "layer". The transform's norm, "layer" or "rms".
        use_bias: bool, default True. The transform's Dense and norm biases.
        layer_norm_epsilon: float, default 1e-12. The transform norm's epsilon.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        pooled_output: [batch, H] float (the pooled output), or [batch, seq, H]
            to score every position.

    Returns:
        [batch, num_classes] (or [batch, seq, num_classes]) logits.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import SentenceHead
    >>> head = SentenceHead(num_classes=2)
    >>> tuple(head(np.random.rand(2, 16).astype("float32")).shape)
    (2, 2)
    >>> tuple(head(np.random.rand(2, 5, 16).astype("float32")).shape)  # every position
    (2, 5, 2)
    """

    def __init__(
        self,
        num_classes=2,
        dropout=0.0,
        initializer_range=0.02,
        init="truncated_normal",
        transform_activation=None,
        norm="layer",
        use_bias=True,
        layer_norm_epsilon=1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if init not in HEAD_INITS:
            raise InputError(f"init={init!r} is not one of {list(HEAD_INITS)}")
        self.num_classes = num_classes
        self.dropout = dropout
        self.initializer_range = initializer_range
        self.init = init
        self.transform_activation = transform_activation
        self.norm = norm
        self.use_bias = use_bias
        self.layer_norm_epsilon = layer_norm_epsilon

    def build(self, input_shape):
        self.transform = self.transform_norm = None
        if self.transform_activation is not None:
            self.transform = keras.layers.Dense(
                input_shape[-1], activation=activation(self.transform_activation),
                use_bias=self.use_bias, kernel_initializer=initializer(self.initializer_range),
                dtype=self.dtype_policy, name="transform")  # fmt: skip
            self.transform.build(input_shape)
            self.transform_norm = make_norm(self.norm, self.layer_norm_epsilon, self.use_bias,
                                            self.dtype_policy, "transform_norm")  # fmt: skip
            self.transform_norm.build(input_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        if self.init == "fan_in_uniform":
            limit = float(input_shape[-1]) ** -0.5
            kernel = keras.initializers.RandomUniform(-limit, limit)
            bias = keras.initializers.RandomUniform(-limit, limit)
        else:
            kernel, bias = initializer(self.initializer_range), "zeros"
        self.dense = keras.layers.Dense(
            self.num_classes,
            kernel_initializer=kernel,
            bias_initializer=bias,
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense.build(input_shape)

    def call(self, pooled_output, training=None):
        x = pooled_output
        if self.transform is not None:
            x = self.transform_norm(self.transform(x))
        return self.dense(self.dropout_layer(x, training=training))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            dropout=self.dropout,
            initializer_range=self.initializer_range,
            init=self.init,
            transform_activation=self.transform_activation,
            norm=self.norm,
            use_bias=self.use_bias,
            layer_norm_epsilon=self.layer_norm_epsilon,
        )
        return config


def masked_lm_logits(
    sequence_output, mask_positions, token_embedding, config, dtype=None, name="mlm"
):
    """Wire the masked-LM head into a functional graph: gather+transform, tied decode, bias.

    Args:
        sequence_output: KerasTensor [batch, seq, H].
        mask_positions: KerasTensor [batch, P] int.
        token_embedding: the encoder's `TokenEmbedding` layer (the tie).
        config: the `EncoderConfig`.
        dtype: dtype policy of the new layers (None: the global policy).

    Returns:
        KerasTensor [batch, P, V] logits.
    """
    h = MaskedLMHead(
        config.resolved_embedding_dim,
        activation=config.activation,
        layer_norm_epsilon=config.layer_norm_epsilon,
        initializer_range=config.initializer_range,
        norm=config.norm,
        use_bias=config.use_bias,
        dtype=dtype,
        name=f"{name}_head",
    )(sequence_output, mask_positions)
    return MaskedLMBias(dtype=dtype, name=f"{name}_output_bias")(token_embedding(h, reverse=True))
