"""A model's packed or unpacked twin: the same weights, another input layout.

Packing (`EncoderConfig.packed_sequences`) changes a model's inputs and the
shape of its per-sequence outputs, never its weights; `with_packing` rebuilds a
model for K sequences per row (or 0: one per row) and copies the weights over.
Training on packed rows and serving on plain ones is then one call each way.

Example:

>>> import keras_bertfam as bf
>>> from keras_bertfam.models.packed import with_packing
>>> packed = with_packing(bf.build_pretrainer("bert_tiny", num_layers=1), 4)
>>> sorted(packed.input), tuple(packed.output["nsp_logits"].shape)
(['mask_positions', 'segment_ids', 'sequence_ids', 'token_ids'], (None, 4, 2))
>>> sorted(with_packing(packed, 0).input)
['mask_positions', 'padding_mask', 'segment_ids', 'token_ids']
"""

from __future__ import annotations

from keras_bertfam.errors import InputError
from keras_bertfam.models.encoder import _BuiltFromConfig


def copy_weights(source, target) -> None:
    """Assign `source`'s weights to `target`'s, in order (the two must be twins)."""
    if len(source.weights) != len(target.weights):
        raise InputError(
            f"{source.name!r} has {len(source.weights)} weights and {target.name!r} "
            f"{len(target.weights)}: they are not the same model"
        )
    for a, b in zip(source.weights, target.weights, strict=True):
        if tuple(a.shape) != tuple(b.shape):
            raise InputError(f"weight {a.path!r} has shape {a.shape}, its twin {b.shape}")
        b.assign(a)


def with_packing(model, max_sequences: int):
    """`model` (an `Encoder`, `Pretrainer` or `ElectraPretrainer`) rebuilt for
    `max_sequences` packed sequences per row (0: one per row), with its weights."""
    if not isinstance(model, _BuiltFromConfig):
        raise InputError(
            f"model {model.name!r} is not built from an EncoderConfig (an Encoder or a "
            "pretrainer): it cannot be rebuilt with another packing"
        )
    config = model.bertfam_config
    if config.packed_sequences == max_sequences:
        return model
    keras_config = {**model.get_config(),
                    "config": config.replace(packed_sequences=max_sequences).to_dict()}  # fmt: skip
    twin = type(model).from_config(keras_config)
    copy_weights(model, twin)
    return twin


def unpacked(model):
    """`model` taking one sequence per row (itself when it already does)."""
    config = getattr(model, "bertfam_config", None)
    if config is None or not config.packed_sequences:
        return model
    return with_packing(model, 0)


def plain_for_export(model, what: str):
    """The model an export of `what` takes: `model`, or its unpacked twin when it reads
    packed rows (exports serve one sequence per row)."""
    inputs = getattr(model, "input", None)
    if not isinstance(inputs, dict) or "sequence_ids" not in inputs:
        return model
    if isinstance(model, _BuiltFromConfig):
        return unpacked(model)
    raise InputError(
        f"{what} serves one sequence per row, and model {model.name!r} reads packed rows "
        "(sequence_ids): export the model that finetune wrote, or build the task model on "
        "keras_bertfam.models.packed.unpacked(encoder) and copy the weights over "
        "(copy_weights)"
    )
