"""Checks on the integer inputs of the models that name the input and the bound.

A gather with an out-of-range index fails deep inside TensorFlow on CPU
("indices[3,7] = 30600 is not in [0, 30522)"), returns zeros on GPU and clamps
under XLA. These helpers turn that into an error that names the model input and
the config field: eagerly (concrete values) they raise `InputError`, and in
`tf.function` graphs an assertion raises `InvalidArgumentError` when the step
runs. XLA drops assertions, so `poison_invalid` additionally turns the rows of
invalid ids into NaN: a jit-compiled step then reports a NaN loss instead of
training on silently clamped ids. On JAX and PyTorch the eager checks are the
same (concrete arrays, on any device); inside `jax.jit` (a jit-compiled `fit`)
values are unknown until the step runs, and the poisoning alone acts. Token
ids, segment ids, mask positions and (with a length known only at run time)
positions past `max_sequence_length` all behave this way.

`check_model_inputs` checks what a model is called with before Keras converts
it: every id, mask and position input must hold integers (a float id such as
99.9 would otherwise be truncated to 99), have the rank of its model input
(`[batch, seq]`), and `segment_ids` / `padding_mask` must have the shape of
`token_ids` (Keras would broadcast a batch of 1 over the others). Shapes known
when the call is traced (fixed-shape batches under XLA) are checked then.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers.checks import check_ids
>>> check_ids(np.array([[1, 3]]), 3, "token_ids", "vocabulary_size")
Traceback (most recent call last):
...
keras_bertfam.errors.InputError: token_ids holds values outside [0, vocabulary_size=3): ...
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_bertfam.errors import InputError

SEQUENCE_INPUTS = ("token_ids", "segment_ids", "padding_mask", "sequence_ids")


def _values_if_concrete(x):
    try:
        if keras.backend.backend() in ("jax", "torch"):  # also arrays on a GPU
            return ops.convert_to_numpy(x)
        return np.asarray(x)
    except Exception:  # symbolic tensors and JAX tracers have no value yet
        return None


def _in_tf_graph() -> bool:
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.executing_eagerly()


def check_ids(ids, bound, input_name: str, bound_name: str):
    """Return `ids` with an assertion that `0 <= ids < bound` attached.

    `bound` is an int or (for a sequence length known only at run time) a
    scalar tensor.
    """
    shown = bound if isinstance(bound, int) else "its length"
    message = f"{input_name} holds values outside [0, {bound_name}={shown})"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly():
            values = _values_if_concrete(ids)
            if values is not None and values.size:
                _raise_if_outside(values, int(bound), message)
            return ids
        with tf.control_dependencies(
            [
                tf.debugging.assert_non_negative(ids, message=message),
                tf.debugging.assert_less(ids, tf.cast(bound, ids.dtype), message=message),
            ]
        ):
            return tf.identity(ids)
    values = _values_if_concrete(ids)
    bound_value = _values_if_concrete(bound)
    if values is not None and values.size and bound_value is not None:
        _raise_if_outside(values, int(bound_value), message)
    return ids


def _raise_if_outside(values, bound, message):
    bad = (values < 0) | (values >= bound)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{message}: found {int(values[where])} at index {list(where)} "
            f"(min {int(values.min())}, max {int(values.max())})."
        )


def poison_invalid(outputs, ids, bound):
    """NaN out the rows of `outputs` ([..., D]) whose `ids` are outside [0, bound)."""
    bound = ops.cast(bound, ids.dtype)
    valid = ops.logical_and(ops.greater_equal(ids, 0), ops.less(ids, bound))
    return ops.where(ops.expand_dims(valid, -1), outputs, ops.cast(float("nan"), outputs.dtype))


def length_message(input_name: str, bound: int, bound_name: str, length=None) -> str:
    """Why a sequence is too long; `length` None when it is known only at run time."""
    what = f"has sequence length {length}" if length is not None else "is longer than that"
    return (
        f"{input_name} {what} but {bound_name}={bound}; "
        "the position table has no rows for longer sequences (truncate the input "
        "or build the model with a larger max_sequence_length)"
    )


def check_length(length, bound: int, input_name: str, bound_name: str):
    """Return `length`, raising at trace time if a static length exceeds `bound`.

    A dynamic length (a tensor in a TensorFlow graph) comes back with an
    assertion attached, so ops that use it run only after the check (XLA
    drops the assertion: see `EncoderEmbedding`, which then returns NaN rows).
    """
    if isinstance(length, int):
        if length > bound:
            raise InputError(length_message(input_name, bound, bound_name, length))
        return length
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        message = length_message(input_name, bound, bound_name)
        check = tf.debugging.assert_less_equal(
            length, tf.cast(bound, length.dtype), message=message
        )
        with tf.control_dependencies([check]):
            return tf.identity(length)
    return length


# -- what a model is called with ---------------------------------------------------


def static_shape(value):
    try:
        return tuple(None if d is None else int(d) for d in value.shape)
    except (TypeError, ValueError):  # unknown rank
        return None


def _facts(value):
    """(dtype name, static shape or None) of an array, tensor or nested Python list."""
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        try:
            dtype = keras.backend.standardize_dtype(value.dtype)
        except ValueError:
            dtype = str(value.dtype)
        return dtype, static_shape(value)
    array = np.asarray(value)
    return keras.backend.standardize_dtype(array.dtype), array.shape


def _cross_replica_graph() -> bool:
    """A graph traced in the cross-replica context of a tf.distribute strategy.

    Keras traces a distributed model once there, on the replicas' batches
    averaged (so integer ids arrive as float64); real steps run per replica.
    """
    if not _in_tf_graph():
        return False
    import tensorflow as tf

    return tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context()


def expected_shape(name: str, shape) -> str:
    """The shape a model input expects, in words: `[batch, seq]`, `[batch, P]`, ..."""
    if name == "mask_positions" and len(shape) == 2:
        return "[batch, P]"
    labels = ["batch"] + [f"{d}" for d in shape[1:-1]] + ["seq"]
    if len(shape) == 3:
        labels[1] = f"num_choices={shape[1]}" if shape[1] is not None else "num_choices"
    return "[" + ", ".join(labels) + "]" if len(shape) >= 2 else str(list(shape))


def check_model_inputs(inputs, specs) -> dict:
    """Refuse model inputs that Keras would cast, squeeze or broadcast silently.

    Args:
        inputs: what the model is called with: a dict by input name or a list
            in the order of `specs` (anything else is left to Keras).
        specs: (name, shape, dtype) of each model input.

    Returns:
        name -> static shape of each input found (None dims where unknown).

    Raises:
        InputError: naming the input, its dtype or shape and what was expected.
    """
    if isinstance(inputs, dict):
        given = {name: inputs[name] for name, _, _ in specs if inputs.get(name) is not None}
    elif isinstance(inputs, list | tuple) and len(inputs) == len(specs):
        given = {s[0]: v for s, v in zip(specs, inputs, strict=True) if v is not None}
    else:
        return {}
    shapes = {}
    check_dtypes = not _cross_replica_graph()
    for name, shape, dtype in specs:
        if name not in given:
            continue
        value_dtype, value_shape = _facts(given[name])
        integer = "int" in value_dtype or (value_dtype == "bool" and name == "padding_mask")
        if check_dtypes and "int" in keras.backend.standardize_dtype(dtype) and not integer:
            raise InputError(
                f"{name} has dtype {value_dtype}: it must hold integers (int32 or int64); "
                "float ids and positions would be truncated silently (99.9 -> 99)."
            )
        if value_shape is None:
            continue
        wanted = expected_shape(name, shape)
        if len(value_shape) != len(shape) or any(
            d is not None and v is not None and d != v
            for d, v in zip(shape[1:], value_shape[1:], strict=False)
        ):
            raise InputError(
                f"{name} has shape {value_shape}; the model expects {wanted} (rank {len(shape)})."
            )
        shapes[name] = value_shape
    reference = "token_ids" if "token_ids" in shapes else None
    if reference is None:
        return shapes
    ref_shape = shapes[reference]
    for name, value_shape in shapes.items():
        if name in SEQUENCE_INPUTS and name != reference:
            if any(
                a is not None and b is not None and a != b
                for a, b in zip(value_shape, ref_shape, strict=True)
            ):
                raise InputError(
                    f"{name} has shape {value_shape} but token_ids has shape {ref_shape}; "
                    f"{name} must have token_ids' shape (one row per sequence, one "
                    "column per token)."
                )
        elif name == "mask_positions":
            a, b = value_shape[0], ref_shape[0]
            if a is not None and b is not None and a != b:
                raise InputError(
                    f"mask_positions has shape {value_shape} but token_ids has shape "
                    f"{ref_shape}; mask_positions needs one row per sequence ([batch, P] "
                    f"with batch={b})."
                )
    return shapes


def guard_dynamic_shapes(inputs: dict, shapes: dict):
    """In a TensorFlow graph, check at run time the shapes unknown when tracing.

    `segment_ids` / `padding_mask` must have `token_ids`' shape and
    `mask_positions` its batch size. An assertion names both shapes; since XLA
    drops assertions, the token ids are also set to -1 when the shapes differ,
    which makes every output NaN (as invalid ids do) instead of broadcasting.

    Returns `inputs` (a new dict when something was attached).
    """
    if "token_ids" not in shapes or not _in_tf_graph():
        return inputs
    import tensorflow as tf

    token_ids = inputs["token_ids"]
    ref = tf.shape(token_ids)
    conditions, data = [], ["token_ids:", ref]
    for name, shape in shapes.items():
        if name == "token_ids" or name not in (*SEQUENCE_INPUTS, "mask_positions"):
            continue
        dims = range(len(shape)) if name != "mask_positions" else range(1)
        if all(shape[d] is not None and shapes["token_ids"][d] is not None for d in dims):
            continue  # checked when tracing
        value = tf.shape(inputs[name])
        same = tf.equal(value, ref) if name != "mask_positions" else tf.equal(value[0], ref[0])
        conditions.append(tf.reduce_all(same))
        data += [f"{name}:", value]
    if not conditions:
        return inputs
    valid = tf.reduce_all(tf.stack(conditions))
    message = (
        "input shapes differ: segment_ids and padding_mask must have the shape of "
        "token_ids [batch, seq], and mask_positions its batch size; shapes"
    )
    check = tf.debugging.Assert(valid, [message, *data], name="input_shapes")
    with tf.control_dependencies([check]):
        guarded = tf.where(valid, token_ids, tf.constant(-1, token_ids.dtype))
    return dict(inputs, token_ids=guarded)
