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
from keras_bertfam.layers.packing import gather_slots, sequence_layout

POOLING_MODES = ("cls", "mean")


@register
class SequencePooling(keras.layers.Layer):
    """[batch, seq, H] -> [batch, H]: the first token ("cls") or the masked mean ("mean").

    Args:
        mode: str, default "cls". "cls": the first token's hidden state;
            "mean": the mean over the real tokens (over every position when no
            `padding_mask` is given).
        max_sequences: int, default 0. K, the slots of packed rows (needed
            with `sequence_ids`).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        sequence_output: [batch, seq, H] float.
        padding_mask: [batch, seq], 1 for real tokens and 0 for padding, or
            None (used by "mean").
        sequence_ids: optional [batch, seq] int: packed rows (`PackedSequences`);
            each of the K sequences is pooled on its own.

    Returns:
        [batch, H], or [batch, K, H] with `sequence_ids`.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import SequencePooling
    >>> x = np.arange(12, dtype="float32").reshape(1, 3, 4)
    >>> padding_mask = np.array([[1, 1, 0]])
    >>> SequencePooling("cls")(x, padding_mask).numpy().tolist()
    [[0.0, 1.0, 2.0, 3.0]]
    >>> SequencePooling("mean")(x, padding_mask).numpy().tolist()
    [[2.0, 3.0, 4.0, 5.0]]
    """

    def __init__(self, mode="cls", max_sequences=0, **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise InputError(f"pooling mode={mode!r} is not one of {list(POOLING_MODES)}")
        self.mode = mode
        self.max_sequences = max_sequences

    def call(self, sequence_output, padding_mask=None, sequence_ids=None):
        if sequence_ids is not None:
            return self._per_sequence(sequence_output, sequence_ids)
        if self.mode == "cls" or padding_mask is None:
            return sequence_output[:, 0] if self.mode == "cls" else ops.mean(sequence_output, 1)
        weights = ops.cast(padding_mask, sequence_output.dtype)[:, :, None]
        total = ops.sum(sequence_output * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), ops.cast(1e-9, weights.dtype))

    def _per_sequence(self, sequence_output, sequence_ids):
        """[batch, K, H]: the first token or the mean of each packed sequence."""
        if not self.max_sequences:
            raise InputError("sequence_ids (packed rows) need SequencePooling(max_sequences=K)")
        if self.mode == "cls":
            starts = sequence_layout(sequence_ids, self.max_sequences)["starts"]
            return gather_slots(sequence_output, starts)
        ids = ops.cast(sequence_ids, "int32")[:, None, :]
        slots = ops.arange(1, self.max_sequences + 1, dtype="int32")[None, :, None]
        members = ops.cast(ops.equal(ids, slots), sequence_output.dtype)  # [batch, K, seq]
        total = ops.einsum("bks,bsh->bkh", members, sequence_output)
        count = ops.maximum(ops.sum(members, axis=-1), ops.cast(1e-9, members.dtype))
        return total / count[..., None]

    def compute_output_shape(self, sequence_output_shape, padding_mask_shape=None,
                             sequence_ids_shape=None):  # fmt: skip
        if sequence_ids_shape is not None:
            return (sequence_output_shape[0], self.max_sequences, sequence_output_shape[-1])
        return (sequence_output_shape[0], sequence_output_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, max_sequences=self.max_sequences)
        return config


@register
class SpanLogits(keras.layers.Layer):
    """[batch, seq, 2] scores -> (start_logits, end_logits), each [batch, seq], padding masked.

    Padding positions get a large negative logit (-65000 in float16, -1e9
    otherwise), so no answer span starts or ends there.

    Args:
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        scores: [batch, seq, 2] float: start scores at `[..., 0]`, end scores
            at `[..., 1]`.
        padding_mask: [batch, seq], 1 for real tokens and 0 for padding.

    Returns:
        A tuple `(start_logits, end_logits)`, each [batch, seq].

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import SpanLogits
    >>> scores = np.ones((1, 3, 2), "float32")
    >>> start, end = SpanLogits()(scores, np.array([[1, 1, 0]]))
    >>> start.numpy().tolist()
    [[1.0, 1.0, -1000000000.0]]
    """

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
    """[batch, C, seq] -> [batch * C, seq], keeping the dtype of the ids.

    One encoder then scores every choice as a sequence of its own.

    Args:
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch, C, seq] (ids or masks, any dtype).

    Returns:
        [batch * C, seq], the choices of each example in a row, dtype of `x`.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import FoldChoices
    >>> ids = np.arange(12, dtype="int32").reshape(2, 3, 2)  # [batch=2, C=3, seq=2]
    >>> folded = FoldChoices()(ids).numpy()
    >>> folded.shape, folded.dtype.name, folded[3].tolist()
    ((6, 2), 'int32', [6, 7])
    """

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
    """[batch * C, 1] -> [batch, C]: one score per choice back beside its example.

    Args:
        num_choices: int. C, the choices per example.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        x: [batch * C, 1] float, the choices of each example in a row (as
            `FoldChoices` lays them out).

    Returns:
        [batch, C].

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import UnfoldChoices
    >>> scores = np.arange(6, dtype="float32").reshape(6, 1)  # [batch * C, 1]
    >>> UnfoldChoices(num_choices=3)(scores).numpy().tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """

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
