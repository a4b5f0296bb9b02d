"""`Encoder` and `Pretrainer`: functional models built from an `EncoderConfig` that keep it.

As keras-hub's backbones and tasks, each builds its graph in its constructor from
the config, and `get_config` returns the config; so a `.keras` file rebuilds the
same graph (the MLM decoder stays tied to the token table) and
`model.bertfam_config` survives saving. A `Pretrainer` holds its `Encoder`
(`pretrainer.encoder`): fine-tuning and export take it without looking layers
up by name.

The encoder's graph, by the config's fields: token table -> positions (a learned
`PositionEmbedding`, or rotary angles in the attention, or none) -> segment
embeddings, norm, dropout, ALBERT's E×H projection -> the stack (sharing,
post- or pre-norm, dense or gated feed-forwards, global or sliding-window
attention) -> pooler. Inputs `token_ids`, `padding_mask` and, with
`num_segments > 0`, `segment_ids`.

Example:

>>> import numpy as np, keras_bertfam as bf
>>> from keras_bertfam.models.encoder import Encoder
>>> encoder = Encoder(bf.get_preset("modernbert_tiny"))
>>> sorted(encoder.input)
['padding_mask', 'token_ids']
>>> encoder.bertfam_config.position_embedding, encoder.bertfam_config.feedforward
('rotary', 'geglu')
"""

from __future__ import annotations

import keras

from keras_bertfam import objectives
from keras_bertfam.layers import (
    EncoderEmbedding,
    EncoderStack,
    PackedSequences,
    Pooler,
    PositionEmbedding,
    TokenEmbedding,
)
from keras_bertfam.layers.common import register
from keras_bertfam.models.config import EncoderConfig
from keras_bertfam.models.model import BertfamModel

SEQUENCE_INPUTS = ("token_ids", "segment_ids", "padding_mask")


def encoder_input_names(config: EncoderConfig) -> tuple[str, ...]:
    """The encoder's inputs: `segment_ids` only when the config has segments, and
    `sequence_ids` instead of `padding_mask` when it packs sequences."""
    names = tuple(n for n in SEQUENCE_INPUTS if n != "segment_ids" or config.num_segments)
    if config.packed_sequences:
        names = tuple("sequence_ids" if n == "padding_mask" else n for n in names)
    return names


def _config(config) -> EncoderConfig:
    return config if isinstance(config, EncoderConfig) else EncoderConfig.from_dict(config)


def encoder_graph(config: EncoderConfig, dtype=None, inputs=None, shared=None, prefix=""):
    """(inputs, outputs, token-embedding layer) of an encoder of `config`, one graph.

    Args:
        inputs: the input KerasTensors to build on (default: new `keras.Input`s).
        shared: layers to reuse instead of creating them, by name: "token_embedding"
            and "position_embedding" (ELECTRA's generator shares the discriminator's).
        prefix: prepended to the names of the layers created here.
    """
    if inputs is None:
        names = encoder_input_names(config)
        inputs = {n: keras.Input((None,), dtype="int32", name=n) for n in names}
    shared = shared or {}
    token_embedding = shared.get("token_embedding") or TokenEmbedding(
        config.vocabulary_size, config.resolved_embedding_dim,
        initializer_range=config.initializer_range, dtype=dtype,
        name=f"{prefix}token_embedding")  # fmt: skip
    x = token_embedding(inputs["token_ids"])
    layout = {"padding_mask": inputs.get("padding_mask")}
    if config.packed_sequences:
        layout = PackedSequences(config.packed_sequences, name=f"{prefix}packing")(
            inputs["sequence_ids"]
        )
    if config.position_embedding == "learned":
        positions = shared.get("position_embedding") or PositionEmbedding(
            config.max_sequence_length, config.position_offset, config.initializer_range,
            dtype=dtype, name=f"{prefix}position_embedding")  # fmt: skip
        x = positions(x, layout.get("positions"))
    x = EncoderEmbedding(
        num_segments=config.num_segments,
        hidden_dim=config.hidden_dim,
        dropout=config.dropout,
        layer_norm_epsilon=config.layer_norm_epsilon,
        initializer_range=config.initializer_range,
        norm=config.norm,
        use_bias=config.use_bias,
        dtype=dtype,
        name=f"{prefix}embeddings",
    )(x, inputs.get("segment_ids"))
    rotary = config.position_embedding == "rotary"
    sequence_output = EncoderStack(
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        intermediate_dim=config.intermediate_dim,
        num_groups=config.resolved_num_groups,
        sharing=config.sharing,
        inner_group_size=config.inner_group_size,
        activation=config.activation,
        dropout=config.dropout,
        attention_dropout=config.resolved_attention_dropout,
        layer_norm_epsilon=config.layer_norm_epsilon,
        norm_first=config.norm_first,
        initializer_range=config.initializer_range,
        feedforward_kind=config.feedforward,
        norm=config.norm,
        use_bias=config.use_bias,
        rotary_theta=config.rotary_theta if rotary else None,
        rotary_theta_local=config.rotary_theta_local if rotary else None,
        local_window=config.local_window,
        global_every=config.global_every,
        first_attention_norm=config.first_attention_norm,
        dtype=dtype,
        name=f"{prefix}encoder",
    )(x, layout["padding_mask"], inputs.get("sequence_ids"), layout.get("positions"))
    pooler = Pooler(config.initializer_range, use_dense=config.pooler, use_bias=config.use_bias,
                    dtype=dtype, name=f"{prefix}pooler")  # fmt: skip
    pooled_output = pooler(sequence_output, layout.get("starts"))  # [batch, (K,) H]
    outputs = {"sequence_output": sequence_output, "pooled_output": pooled_output}
    return inputs, outputs, token_embedding


class _BuiltFromConfig(BertfamModel):
    """A model built from an `EncoderConfig`: its Keras config is that config (and the
    dtype policy, name and trainability), so it survives `.keras` saving."""

    def get_config(self):
        return {"config": self.bertfam_config.to_dict(), "dtype": _policy_name(self._layer_dtype),
                "name": self.name, "trainable": self.trainable}  # fmt: skip

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


@register
class Encoder(_BuiltFromConfig):
    """The encoder of an `EncoderConfig`: {token_ids, (segment_ids,) padding_mask} ->
    {sequence_output [batch, seq, H], pooled_output [batch, H]}.

    Args:
        config: an `EncoderConfig` (or its dict).
        dtype: a Keras dtype policy for every layer (None: the global policy).
        name: the model's name.
    """

    def __init__(self, config, dtype=None, name="encoder", **kwargs):
        config = _config(config)
        inputs, outputs, token_embedding = encoder_graph(config, dtype)
        super().__init__(inputs, outputs, name=name, **kwargs)
        self.bertfam_config = config
        self.token_embedding = token_embedding
        self._layer_dtype = dtype


@register
class Pretrainer(_BuiltFromConfig):
    """An `Encoder` with the heads of its objectives (`keras_bertfam.objectives`).

    The token objective gives `mlm_logits` [batch, P, V] at the `mask_positions`
    input (`token_objective="mlm"`; the decoder is the encoder's token table,
    through E for ALBERT, tied) or ELECTRA's `rtd_logits` [batch, seq]
    (`token_objective="rtd"`, no `mask_positions`); the sentence objective adds
    `nsp_logits` or `sop_logits` [batch, 2]. Without a sentence objective
    nothing would train a pooler, so the encoder is built without one (its
    `pooled_output` is the first token's hidden state), and `bertfam_config`
    says `pooler=False`.

    Args:
        config: an `EncoderConfig` (or its dict).
        dtype: a Keras dtype policy for every layer (None: the global policy).
        name: the model's name.
    """

    def __init__(self, config, dtype=None, name="pretrainer", **kwargs):
        config = _config(config)
        chosen = objectives.of_config(config)
        if config.pooler and not any(o.uses_pooler for o in chosen):
            config = config.replace(pooler=False)  # no loss reaches a pooler
        encoder = Encoder(config, dtype=dtype, name="backbone")
        names = [*encoder.input, *(n for o in chosen for n in o.inputs)]
        inputs = {n: keras.Input((None,), dtype="int32", name=n) for n in names}
        encoded = encoder({n: inputs[n] for n in encoder.input})
        outputs = {o.output: o.build(encoded, inputs, encoder, config, dtype) for o in chosen}
        super().__init__(inputs, outputs, name=name, **kwargs)
        self.bertfam_config = config
        self.encoder = encoder
        self._layer_dtype = dtype


def _policy_name(dtype):
    """A dtype policy as its name, as `get_config` stores it; None is the global policy
    at build time, so a mixed-precision model loads as one under any global policy."""
    if dtype is None:
        return keras.config.dtype_policy().name
    return dtype if isinstance(dtype, str) else dtype.name
