"""Layers for fine-tuning heads: sequence pooling, span logits, multiple-choice folding.

- `SequencePooling` turns [batch, seq, H] into [batch, H]: the first ([CLS])
  token, or the mean of the real (non-padding) tokens, as sentence-transformers
  models such as all-MiniLM-L6-v2 do.
- `SpanLogits` splits a [batch, seq, 2] score into start and end logits for
  extractive question answering, with padding positions pushed to a large
  negative value so no span can start or end there.
- `FoldChoices` / `UnfoldChoices` let one encoder score C choices: inputs
  [batch, C, seq] become [batch * C, seq], and scores [batch * C, 1] become
  [batch, C].

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import SequencePooling
>>> x = np.arange(12, dtype="float32").reshape(1, 3, 4)
>>> SequencePooling("mean")(x, np.array([[1, 1, 0]])).numpy().tolist()
[[2.0, 3.0, 4.0, 5.0]]
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.layers.common import large_negative, register

POOLING_MODES = ("cls", "mean")


@register
class SequencePooling(keras.layers.Layer):
    """[batch, seq, H] -> [batch, H]: the first token ("cls") or the masked mean ("mean").

    Call arguments:
        sequence_output: [batch, seq, H].
        padding_mask: [batch, seq], 1 for real tokens (used by "mean").
    """

    def __init__(self, mode="cls", **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise InputError(f"pooling mode={mode!r} is not one of {list(POOLING_MODES)}")
        self.mode = mode

    def call(self, sequence_output, padding_mask=None):
        if self.mode == "cls" or padding_mask is None:
            return sequence_output[:, 0] if self.mode == "cls" else ops.mean(sequence_output, 1)
        weights = ops.cast(padding_mask, sequence_output.dtype)[:, :, None]
        total = ops.sum(sequence_output * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), ops.cast(1e-9, weights.dtype))

    def compute_output_shape(self, sequence_output_shape, padding_mask_shape=None):
        return (sequence_output_shape[0], sequence_output_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config


@register
class SpanLogits(keras.layers.Layer):
    """[batch, seq, 2] scores -> (start_logits, end_logits), each [batch, seq], padding masked."""

    def call(self, scores, padding_mask):
        keep = ops.cast(padding_mask, "bool")
        negative = ops.cast(large_negative(scores.dtype), scores.dtype)
        start = ops.where(keep, scores[..., 0], negative)
        end = ops.where(keep, scores[..., 1], negative)
        return start, end

    def compute_output_shape(self, scores_shape, padding_mask_shape):
        return (scores_shape[:-1], scores_shape[:-1])


@register
class FoldChoices(keras.layers.Layer):
    """[batch, C, seq] -> [batch * C, seq], keeping the dtype of the ids."""

    def call(self, x):
        return ops.reshape(x, (-1, ops.shape(x)[-1]))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] * input_shape[1]
        return (batch, input_shape[-1])

    def compute_output_spec(self, x):
        # the ids keep their integer dtype (not the layer's compute dtype)
        return keras.KerasTensor(self.compute_output_shape(x.shape), dtype=x.dtype)


@register
class UnfoldChoices(keras.layers.Layer):
    """[batch * C, 1] -> [batch, C]."""

    def __init__(self, num_choices, **kwargs):
        super().__init__(**kwargs)
        self.num_choices = num_choices

    def call(self, x):
        return ops.reshape(x, (-1, self.num_choices))

    def compute_output_shape(self, input_shape):
        return (None, self.num_choices)

    def get_config(self):
        config = super().get_config()
        config.update(num_choices=self.num_choices)
        return config
