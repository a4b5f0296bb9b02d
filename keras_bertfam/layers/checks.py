"""Run-time checks on integer inputs that name the input and the bound.

A gather with an out-of-range index fails deep inside TensorFlow on CPU
("indices[3,7] = 30600 is not in [0, 30522)"), returns zeros on GPU and clamps
under XLA. These helpers turn that into an error that names the model input and
the config field: eagerly (concrete values) they raise `ValueError`, and in
`tf.function` graphs an assertion raises `InvalidArgumentError` when the step
runs. XLA drops assertions, so `poison_invalid` additionally turns the rows of
invalid ids into NaN: a jit-compiled step then reports a NaN loss instead of
training on silently clamped ids.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers.checks import check_ids
>>> check_ids(np.array([[1, 3]]), 3, "token_ids", "vocabulary_size")
Traceback (most recent call last):
...
ValueError: token_ids holds values outside [0, vocabulary_size=3): ...
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _values_if_concrete(x):
    try:
        return np.asarray(x)
    except Exception:  # symbolic tensors have no value yet
        return None


def check_ids(ids, bound: int, input_name: str, bound_name: str):
    """Return `ids` with an assertion that `0 <= ids < bound` attached."""
    message = f"{input_name} holds values outside [0, {bound_name}={bound})"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly():
            values = _values_if_concrete(ids)
            if values is not None and values.size:
                _raise_if_outside(values, bound, message)
            return ids
        with tf.control_dependencies(
            [
                tf.debugging.assert_non_negative(ids, message=message),
                tf.debugging.assert_less(ids, tf.cast(bound, ids.dtype), message=message),
            ]
        ):
            return tf.identity(ids)
    values = _values_if_concrete(ids)
    if values is not None and values.size:
        _raise_if_outside(values, bound, message)
    return ids


def _raise_if_outside(values, bound, message):
    bad = (values < 0) | (values >= bound)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{message}: found {int(values[where])} at index {list(where)} "
            f"(min {int(values.min())}, max {int(values.max())})."
        )


def poison_invalid(outputs, ids, bound: int):
    """NaN out the rows of `outputs` ([..., D]) whose `ids` are outside [0, bound)."""
    valid = ops.logical_and(ops.greater_equal(ids, 0), ops.less(ids, bound))
    return ops.where(ops.expand_dims(valid, -1), outputs, ops.cast(float("nan"), outputs.dtype))


def check_length(length, bound: int, input_name: str, bound_name: str):
    """Return `length`, raising at trace time if a static length exceeds `bound`.

    A dynamic length (a tensor in a TensorFlow graph) comes back with an
    assertion attached, so ops that use it run only after the check.
    """
    message = (
        f"{input_name} has sequence length {{}} but {bound_name}={bound}; "
        "the position table has no rows for longer sequences (truncate the input "
        "or build the model with a larger max_sequence_length)"
    )
    if isinstance(length, int):
        if length > bound:
            raise ValueError(message.format(length))
        return length
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        check = tf.debugging.assert_less_equal(
            length, tf.cast(bound, length.dtype), message=message.format("longer")
        )
        with tf.control_dependencies([check]):
            return tf.identity(length)
    return length
