"""Functional-API builders: an encoder, or an encoder with pretraining heads, from one config.

Both return functional models (`Encoder` and `Pretrainer` of
`keras_bertfam.models.encoder`: `keras.Model`s that check their inputs and keep
their `EncoderConfig`) whose inputs and outputs carry the names of the design
contract:

- inputs `token_ids`, `segment_ids` (when the config has segments) and
  `padding_mask` (int32 [batch, seq]), and for the pretrainer `mask_positions`
  (int32 [batch, P], any P);
- encoder outputs `{"sequence_output": [batch, seq, H], "pooled_output": [batch, H]}`;
- pretrainer outputs `{"mlm_logits": [batch, P, V]}` plus `"nsp_logits"` or
  `"sop_logits"` ([batch, 2]) when the config's `sentence_objective` asks for one.

Layer names are stable (`token_embedding`, `position_embedding`, `embeddings`,
`encoder`, `pooler`, `mlm_head`, `mlm_output_bias`, `nsp_head`/`sop_head`):
checkpoint converters find weights by them. With `pooler=False` in the config the `pooler` layer has
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

from keras_bertfam.errors import InputError
from keras_bertfam.layers import EncoderStack, Pooler
from keras_bertfam.models.encoder import SEQUENCE_INPUTS, Encoder, Pretrainer, encoder_input_names
from keras_bertfam.models.model import BertfamModel
from keras_bertfam.models.presets import resolve_config

ENCODER_INPUTS = SEQUENCE_INPUTS  # the most an encoder takes (`encoder_input_names(config)`)


def build_encoder(config_or_preset="bert_base", dtype=None, name=None, **overrides):
    """Build the encoder of a config or preset (an `Encoder`, a functional `keras.Model`).

    Args:
        config_or_preset: an `EncoderConfig`, a preset name, a dict or a `.json` path.
        dtype: a Keras dtype policy for every layer (e.g. "mixed_bfloat16");
            None uses the global policy.
        name: model name (default: "<preset>_encoder" or "encoder").
        **overrides: `EncoderConfig` fields to change, e.g. `num_layers=4`.

    Returns:
        An `Encoder` from {token_ids, segment_ids, padding_mask} (no segment_ids
        when `num_segments=0`) to {sequence_output, pooled_output}.
    """
    config = resolve_config(config_or_preset, **overrides)
    return Encoder(config, dtype=dtype, name=name or _default_name(config_or_preset, "encoder"))


def build_pretrainer(config_or_preset="bert_base", dtype=None, name=None, **overrides):
    """Build the encoder with its pretraining heads (a `Pretrainer`).

    The masked-LM decoder is tied to the token-embedding table; the sentence head
    follows `config.sentence_objective` ("nsp", "sop" or none).

    Returns:
        A `Pretrainer` from {token_ids, segment_ids, padding_mask, mask_positions}
        to {mlm_logits [batch, P, V]} plus nsp_logits or sop_logits [batch, 2];
        its encoder is `pretrainer.encoder`.
    """
    config = resolve_config(config_or_preset, **overrides)
    return Pretrainer(config, dtype=dtype,
                      name=name or _default_name(config_or_preset, "pretrainer"))  # fmt: skip


def encoder_of(model: keras.Model) -> keras.Model:
    """The encoder part of a pretrainer or task model (or the encoder itself), sharing weights.

    Its outputs are `sequence_output` and `pooled_output`: the model's pooler,
    or, for a model without one (a pretrainer without a sentence head), the
    first token's final hidden state, as for an encoder built with `pooler=False`.
    """
    if isinstance(model, Encoder):
        return model
    if isinstance(getattr(model, "encoder", None), Encoder):
        return model.encoder
    inner = [layer for layer in model.layers if isinstance(layer, Encoder)]
    if inner:
        return inner[0]
    names = [n for n in ENCODER_INPUTS if n in model.input]
    if set(_output_names(model)) >= {"sequence_output", "pooled_output"} and set(
        model.input
    ) == set(names):
        return model
    for layer in model.layers:  # a task model around an encoder (mean pooling wraps its sequence)
        if isinstance(layer, keras.Model) and "sequence_output" in _output_names(layer):
            return encoder_of(layer)
    stack = next((layer for layer in model.layers if isinstance(layer, EncoderStack)), None)
    if stack is None:
        raise InputError(f"model {model.name!r} holds no keras_bertfam encoder")
    outputs = {"sequence_output": stack.output}
    if any(layer.name == "pooler" for layer in model.layers):
        outputs["pooled_output"] = model.get_layer("pooler").output
    else:
        pooler = Pooler(use_dense=False, dtype=stack.dtype_policy, name="pooler")
        outputs["pooled_output"] = pooler(stack.output)
    return BertfamModel({k: model.input[k] for k in names}, outputs, name="encoder")


def _output_names(model: keras.Model) -> list[str]:
    return list(model.output) if isinstance(model.output, dict) else []


def has_pooler_dense(model: keras.Model) -> bool:
    """Whether `model` has BERT's pooler Dense (not only the first-token `pooler`)."""
    return any(
        layer.name == "pooler" and getattr(layer, "use_dense", True) for layer in model.layers
    )


def segment_rows(model: keras.Model) -> int:
    """Rows of the model's segment table: 0 (ModernBERT), 1 (RoBERTa) or more (BERT);
    2 when no embedding layer tells."""
    layers = list(model.layers)
    while layers:
        layer = layers.pop()
        if layer.name == "embeddings" and hasattr(layer, "num_segments"):
            return int(layer.num_segments or 0)
        layers.extend(getattr(layer, "layers", None) or [])
    return 2


def _default_name(config_or_preset, suffix):
    if isinstance(config_or_preset, str) and not config_or_preset.endswith(".json"):
        return f"{config_or_preset}_{suffix}"
    return suffix


__all__ = ["ENCODER_INPUTS", "build_encoder", "build_pretrainer", "encoder_input_names",
           "encoder_of", "has_pooler_dense"]  # fmt: skip
