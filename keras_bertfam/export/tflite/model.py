"""The Keras model as it is exported to TFLite: its encoder part, in float32.

`exported_part` takes a pretrainer's encoder (as SavedModels do) and refuses
models without the contract input names; `float32_model` copies a
mixed-precision model to float32 (bfloat16 has no TFLite kernels);
`float32_outputs` runs it as the TFLite signature does.

Example:

>>> import keras_bertfam as bf
>>> from keras_bertfam.export.tflite import exported_part, float32_model
>>> model = bf.build_encoder(
...     "bert_tiny", num_layers=1, vocabulary_size=50, dtype="mixed_bfloat16")
>>> float32_model(exported_part(model)).get_layer("encoder").compute_dtype
'float32'
"""

from __future__ import annotations

import keras

from keras_bertfam.errors import InputError
from keras_bertfam.models.builders import ENCODER_INPUTS, encoder_of


def exported_part(model: keras.Model) -> keras.Model:
    """The model as exported: a pretrainer's encoder, any other model as it is."""
    names = set(model_input_names(model))
    if not names <= set(ENCODER_INPUTS):
        if "mask_positions" in names and isinstance(model.output, dict):
            return encoder_of(model)
        raise InputError(
            f"model inputs {sorted(names)} are not among {list(ENCODER_INPUTS)}; a TFLite "
            "export needs a model with the contract input names (or a pretrainer)"
        )
    return model


def model_input_names(model: keras.Model) -> list[str]:
    if isinstance(model.input, dict):
        return list(model.input)
    return [t.name for t in model.inputs]


def float32_model(model: keras.Model) -> keras.Model:
    """`model` itself if it computes in float32, else a float32 copy with its weights.

    bfloat16 (and erf in bfloat16) have no TFLite kernels; float16 compute is
    what `quantization="float16"` is for.
    """
    if all(_compute_dtype(layer) in ("float32", None) for layer in _all_layers(model)):
        return model

    def to_float32(node):
        if isinstance(node, dict):
            if node.get("class_name") == "DTypePolicy":
                return {**node, "config": {**node["config"], "name": "float32"}}
            return {k: "float32" if _is_policy_name(k, v) else to_float32(v)
                    for k, v in node.items()}  # fmt: skip
        if isinstance(node, list):
            return [to_float32(v) for v in node]
        return node

    copy = model.__class__.from_config(to_float32(model.get_config()))
    copy.set_weights(model.get_weights())
    return copy


def float32_outputs(model: keras.Model, inputs: dict, input_names) -> dict:
    """`model` on `inputs[input_names]` (inference), its outputs as float32 tensors by
    name (a single unnamed output as "output")."""
    import tensorflow as tf

    out = model({k: inputs[k] for k in input_names}, training=False)
    if not isinstance(out, dict):
        out = {"output": out}
    return {k: tf.cast(v, tf.float32) for k, v in out.items()}


def _is_policy_name(key, value) -> bool:
    """A dtype policy stored by name (as `Encoder` and `Pretrainer` store theirs)."""
    return key == "dtype" and isinstance(value, str) and value.startswith("mixed_")


def _compute_dtype(layer):
    policy = getattr(layer, "dtype_policy", None)
    return getattr(policy, "compute_dtype", None)


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _find_layer(model, name):
    return next((layer for layer in _all_layers(model) if layer.name == name), None)
