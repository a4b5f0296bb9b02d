"""Functional-API builders: an encoder, or an encoder with pretraining heads, from one config.

Both return functional models (`keras_bertfam.models.model.BertfamModel`, a
`keras.Model` that checks its inputs) whose inputs and outputs carry the names
of the design contract:

- inputs `token_ids`, `segment_ids`, `padding_mask` (int32 [batch, seq]), and for
  the pretrainer `mask_positions` (int32 [batch, P], any P);
- encoder outputs `{"sequence_output": [batch, seq, H], "pooled_output": [batch, H]}`;
- pretrainer outputs `{"mlm_logits": [batch, P, V]}` plus `"nsp_logits"` or
  `"sop_logits"` ([batch, 2]) when the config's `sentence_objective` asks for one.

Layer names are stable (`token_embedding`, `embeddings`, `encoder`, `pooler`,
`mlm_head`, `mlm_output_bias`, `nsp_head`/`sop_head`): checkpoint converters
find weights by them. With `pooler=False` in the config the `pooler` layer has
no weights and `pooled_output` is the first token's final hidden state.

Example:

>>> import numpy as np
>>> import keras_bertfam as bf
>>> model = bf.build_pretrainer("albert_tiny", num_layers=2)
>>> x = {"token_ids": np.array([[2, 10, 11, 3]]), "segment_ids": np.zeros((1, 4), "int32"),
...      "padding_mask": np.ones((1, 4), "int32"), "mask_positions": np.array([[1, 2]])}
>>> {k: tuple(v.shape) for k, v in model(x).items()}
{'mlm_logits': (1, 2, 8000), 'sop_logits': (1, 2)}
"""

from __future__ import annotations

import keras

from keras_bertfam.layers import (
    EncoderEmbedding,
    EncoderStack,
    Pooler,
    SentenceHead,
    TokenEmbedding,
    masked_lm_logits,
)
from keras_bertfam.models.config import EncoderConfig
from keras_bertfam.models.model import BertfamModel
from keras_bertfam.models.presets import resolve_config

ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")


def _encoder_graph(config: EncoderConfig, dtype=None):
    """Inputs, outputs and the token-embedding layer of an encoder, in one graph."""
    inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in ENCODER_INPUTS}
    token_embedding = TokenEmbedding(
        config.vocabulary_size,
        config.resolved_embedding_dim,
        initializer_range=config.initializer_range,
        dtype=dtype,
        name="token_embedding",
    )
    x = token_embedding(inputs["token_ids"])
    x = EncoderEmbedding(
        max_sequence_length=config.max_sequence_length,
        num_segments=config.num_segments,
        position_offset=config.position_offset,
        hidden_dim=config.hidden_dim,
        dropout=config.dropout,
        layer_norm_epsilon=config.layer_norm_epsilon,
        initializer_range=config.initializer_range,
        dtype=dtype,
        name="embeddings",
    )(x, inputs["segment_ids"])
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
        dtype=dtype,
        name="encoder",
    )(x, inputs["padding_mask"])
    pooled_output = Pooler(
        config.initializer_range, use_dense=config.pooler, dtype=dtype, name="pooler"
    )(sequence_output)
    outputs = {"sequence_output": sequence_output, "pooled_output": pooled_output}
    return inputs, outputs, token_embedding


def build_encoder(config_or_preset="bert_base", dtype=None, name=None, **overrides):
    """Build the encoder of a config or preset as a functional `keras.Model`.

    Args:
        config_or_preset: an `EncoderConfig`, a preset name, a dict or a `.json` path.
        dtype: a Keras dtype policy for every layer (e.g. "mixed_bfloat16");
            None uses the global policy.
        name: model name (default: "<preset>_encoder" or "encoder").
        **overrides: `EncoderConfig` fields to change, e.g. `num_layers=4`.

    Returns:
        A `BertfamModel` from {token_ids, segment_ids, padding_mask} to
        {sequence_output, pooled_output}.
    """
    config = resolve_config(config_or_preset, **overrides)
    inputs, outputs, _ = _encoder_graph(config, dtype)
    return BertfamModel(inputs, outputs, name=name or _default_name(config_or_preset, "encoder"))


def build_pretrainer(config_or_preset="bert_base", dtype=None, name=None, **overrides):
    """Build the encoder with its pretraining heads as one functional `keras.Model`.

    The masked-LM decoder is tied to the token-embedding table; the sentence head
    follows `config.sentence_objective` ("nsp", "sop" or none).

    Returns:
        A `BertfamModel` from {token_ids, segment_ids, padding_mask, mask_positions}
        to {mlm_logits [batch, P, V]} plus nsp_logits or sop_logits [batch, 2].
    """
    config = resolve_config(config_or_preset, **overrides)
    inputs, encoded, token_embedding = _encoder_graph(config, dtype)
    inputs["mask_positions"] = keras.Input((None,), dtype="int32", name="mask_positions")
    outputs = {
        "mlm_logits": masked_lm_logits(
            encoded["sequence_output"], inputs["mask_positions"], token_embedding, config, dtype
        )
    }
    objective = config.sentence_objective
    if objective != "none":
        outputs[f"{objective}_logits"] = SentenceHead(
            2,
            dropout=config.dropout if objective == "sop" else 0.0,
            initializer_range=config.initializer_range,
            dtype=dtype,
            name=f"{objective}_head",
        )(encoded["pooled_output"])
    return BertfamModel(inputs, outputs, name=name or _default_name(config_or_preset, "pretrainer"))


def encoder_of(model: keras.Model) -> keras.Model:
    """The encoder part of a pretrainer or task model (or the encoder itself), sharing weights.

    Its outputs are `sequence_output` and `pooled_output`: the model's pooler,
    or, for a model without one (a pretrainer without a sentence head), the
    first token's final hidden state, as for an encoder built with `pooler=False`.
    """
    if set(model.output) >= {"sequence_output"} and set(model.input) == set(ENCODER_INPUTS):
        return model
    encoder = model.get_layer("encoder")
    outputs = {"sequence_output": encoder.output}
    if any(layer.name == "pooler" for layer in model.layers):
        outputs["pooled_output"] = model.get_layer("pooler").output
    else:
        pooler = Pooler(use_dense=False, dtype=encoder.dtype_policy, name="pooler")
        outputs["pooled_output"] = pooler(encoder.output)
    return BertfamModel({k: model.input[k] for k in ENCODER_INPUTS}, outputs, name="encoder")


def has_pooler_dense(model: keras.Model) -> bool:
    """Whether `model` has BERT's pooler Dense (not only the first-token `pooler`)."""
    return any(
        layer.name == "pooler" and getattr(layer, "use_dense", True) for layer in model.layers
    )


def _default_name(config_or_preset, suffix):
    if isinstance(config_or_preset, str) and not config_or_preset.endswith(".json"):
        return f"{config_or_preset}_{suffix}"
    return suffix
