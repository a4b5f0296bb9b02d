"""Packed sequences: several sequences in one row, told apart by `sequence_ids`.

A packed row holds up to K sequences one after another and then padding;
`sequence_ids` [batch, seq] is 0 on padding and 1..K on the tokens of the
first..K-th sequence (Krell et al. 2021, https://arxiv.org/abs/2107.02027,
"packing without cross-contamination"). From it the encoder derives what it
would have had with one sequence per row:

- `padding_mask`: `sequence_ids > 0`;
- `positions`: each token's index inside its own sequence (learned and rotary
  positions restart at every sequence);
- `starts` [batch, K]: the index of each sequence's first token (its [CLS]),
  which the pooler and the sentence and classification heads read, one slot
  per sequence; a slot with no sequence points at token 0 and gets weight 0
  from the data (`present`);
- a block-diagonal attention mask (`block_diagonal_mask`): a token attends only
  to the tokens of its own sequence, so every sequence's outputs equal those of
  the same sequence alone in a row (up to float rounding).

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import PackedSequences
>>> layout = PackedSequences(max_sequences=3)(np.array([[1, 1, 1, 2, 2, 0]]))
>>> np.asarray(layout["positions"]).tolist(), np.asarray(layout["starts"]).tolist()
([[0, 1, 2, 0, 1, 0]], [[0, 3, 0]])
>>> np.asarray(layout["present"]).tolist()
[[True, True, False]]
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.layers import checks
from keras_bertfam.layers.common import register


def block_diagonal_mask(sequence_ids):
    """[batch, seq] sequence ids -> [batch, 1, seq, seq] boolean: query i may see key j
    when both belong to the same sequence (id > 0)."""
    ids = ops.cast(sequence_ids, "int32")
    same = ops.equal(ids[:, :, None], ids[:, None, :])
    return ops.logical_and(same, ops.greater(ids, 0)[:, None, :])[:, None]


def _one_hot_sequences(sequence_ids, max_sequences: int):
    """[batch, K + 1, seq] boolean: row k marks the tokens of sequence k (0: padding)."""
    ids = ops.cast(sequence_ids, "int32")
    return ops.equal(ids[:, None, :], ops.arange(max_sequences + 1, dtype="int32")[None, :, None])


def sequence_layout(sequence_ids, max_sequences: int) -> dict:
    """What `PackedSequences` returns, as a function (the ids checked against K)."""
    ids = checks.check_ids(ops.cast(sequence_ids, "int32"), max_sequences + 1,
                           "sequence_ids", "packed_sequences+1")  # fmt: skip
    one_hot = _one_hot_sequences(ids, max_sequences)
    firsts = ops.cast(ops.argmax(ops.cast(one_hot, "int32"), axis=-1), "int32")
    seq = ops.shape(ids)[1]
    start_of_own = ops.take_along_axis(firsts, ops.clip(ids, 0, max_sequences), axis=1)
    positions = ops.maximum(ops.arange(seq, dtype="int32")[None, :] - start_of_own, 0)
    return {
        "padding_mask": ops.cast(ops.greater(ids, 0), "int32"),
        "positions": positions,
        "starts": firsts[:, 1:],
        "present": ops.any(one_hot[:, 1:], axis=-1),
    }


@register
class PackedSequences(keras.layers.Layer):
    """`sequence_ids` -> the padding mask, positions and first tokens of packed sequences.

    Args:
        max_sequences: int. K, the most sequences a row holds (a static shape:
            the slots of the per-sequence outputs).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        sequence_ids: [batch, seq] int, 0 for padding and 1..K for the packed
            sequences in order (each sequence contiguous).

    Returns:
        A dict: `padding_mask` [batch, seq] int32 (1 on tokens), `positions`
        [batch, seq] int32 (the index inside its sequence), `starts`
        [batch, K] int32 (each sequence's first token; 0 for an absent one)
        and `present` [batch, K] bool. Values outside [0, K] raise `InputError`
        eagerly, and fail the step's assertion in a TensorFlow graph.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import PackedSequences
    >>> out = PackedSequences(max_sequences=2)(np.array([[1, 1, 2, 2, 2]]))
    >>> np.asarray(out["padding_mask"]).tolist(), np.asarray(out["positions"]).tolist()
    ([[1, 1, 1, 1, 1]], [[0, 1, 0, 1, 2]])
    """

    def __init__(self, max_sequences, **kwargs):
        super().__init__(**kwargs)
        if (
            not isinstance(max_sequences, int)
            or isinstance(max_sequences, bool)
            or (max_sequences < 1)
        ):
            raise InputError(f"max_sequences={max_sequences!r} must be an int >= 1")
        self.max_sequences = max_sequences

    def call(self, sequence_ids):
        return sequence_layout(sequence_ids, self.max_sequences)

    def compute_output_spec(self, sequence_ids):
        batch, seq = sequence_ids.shape[0], sequence_ids.shape[1]
        slots = (batch, self.max_sequences)
        return {
            "padding_mask": keras.KerasTensor((batch, seq), "int32"),
            "positions": keras.KerasTensor((batch, seq), "int32"),
            "starts": keras.KerasTensor(slots, "int32"),
            "present": keras.KerasTensor(slots, "bool"),
        }

    def get_config(self):
        config = super().get_config()
        config["max_sequences"] = self.max_sequences
        return config


def gather_slots(x, starts):
    """x [batch, seq, H] at `starts` [batch, K] -> [batch, K, H] (each sequence's first
    token)."""
    return ops.take_along_axis(x, ops.cast(starts, "int32")[:, :, None], axis=1)


def token_mask(inputs: dict):
    """The [batch, seq] 0/1 mask of real tokens of a model's input dict: its
    `padding_mask`, or `sequence_ids > 0` for packed rows."""
    if "sequence_ids" in inputs:
        return ops.cast(ops.greater(inputs["sequence_ids"], 0), "int32")
    return inputs["padding_mask"]
