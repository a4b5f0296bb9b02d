"""Batches of fine-tuning features: padded, bucketed by length, or packed.

Three ways (`BATCHINGS`, any of them through `task_batches`): "pad" pads every
example to `sequence_length` (the usual recipe); "buckets" (`batches`) pads
examples only to their bucket's bound (16, 32, 64, ... up to `sequence_length`),
so short texts do not pay for the longest ones and a compiled step sees a handful
of shapes; "pack" (`packed_batches`) puts several examples into each row of
`sequence_length` (first-fit decreasing, `keras_bertfam.data.row_packing`) for a
packed model, with per-example targets in slots. The number of batches follows from the
lengths (`batch_count`), so Keras sees where an epoch ends.

Example:

>>> from keras_bertfam.data.batching import bucket_bounds, batch_count
>>> bucket_bounds(100)
[16, 32, 64, 100]
>>> batch_count([[1] * 10, [1] * 12, [1] * 40], batch_size=2, sequence_length=100)
2
"""

from __future__ import annotations

import numpy as np

from keras_bertfam.data.row_packing import DEFAULT_MAX_SEQUENCES, pack_rows


def bucket_bounds(sequence_length: int) -> list[int]:
    """Padded lengths of the buckets: 16, 32, 64, ... and `sequence_length`."""
    bounds, length = [], 16
    while length < sequence_length:
        bounds.append(length)
        length *= 2
    return [*bounds, sequence_length]


def batches(
    features: dict,
    targets,
    batch_size: int,
    sequence_length: int,
    pad_id: int = 0,
    bucketing: bool = True,
    shuffle: bool = False,
    seed: int = 0,
):
    """A `tf.data.Dataset` of (inputs, targets[, sample weights]) batches.

    Args:
        features: `{"token_ids": [[...]], "segment_ids": [[...]]}` ragged lists
            (or one more level for multiple choice: [example][choice][token]).
        targets: a dict of per-example arrays or ragged lists (keys = model
            outputs), or a (targets, sample_weights) pair of such dicts.
        bucketing: pad each batch to its length bucket (True) or to `sequence_length`.
    """
    import tensorflow as tf

    def ragged(values, dtype):
        if isinstance(values, np.ndarray):
            return values
        return tf.ragged.constant(values, dtype=dtype)

    weights = None
    if isinstance(targets, tuple):
        targets, weights = targets
    x = {k: ragged(v, tf.int32) for k, v in features.items()}
    y = {k: ragged(v, tf.float32 if np.asarray(v[0]).dtype.kind == "f" else tf.int32)
         for k, v in targets.items()}  # fmt: skip
    parts = (x, y)
    if weights is not None:
        parts = (x, y, {k: ragged(v, tf.float32) for k, v in weights.items()})
    dataset = tf.data.Dataset.from_tensor_slices(parts)

    def dense(*element):
        element = tf.nest.map_structure(
            lambda t: t.to_tensor() if isinstance(t, tf.RaggedTensor) else t, element
        )
        element[0]["padding_mask"] = tf.ones_like(element[0]["token_ids"])
        return element

    dataset = dataset.map(dense)
    if shuffle:
        dataset = dataset.shuffle(min(len(features["token_ids"]), 20_000), seed=seed)
    padding_values = tf.nest.map_structure(lambda s: tf.zeros((), s.dtype), dataset.element_spec)
    padding_values[0]["token_ids"] = tf.constant(pad_id, tf.int32)
    # Bucketing hides the number of batches from tf.data; it follows from the lengths, and a
    # known cardinality lets Keras see where an epoch ends.
    count = tf.data.experimental.assert_cardinality(
        batch_count(features["token_ids"], batch_size, sequence_length, bucketing)
    )
    if not bucketing:
        shapes = tf.nest.map_structure(
            lambda spec: [sequence_length if d is None else d for d in spec.shape],
            dataset.element_spec,
        )
        return dataset.padded_batch(batch_size, shapes, padding_values).apply(count).prefetch(2)
    bounds = bucket_bounds(sequence_length)
    return (
        dataset.bucket_by_sequence_length(
            lambda x, *_: tf.shape(x["token_ids"])[-1],
            bucket_boundaries=[b + 1 for b in bounds[:-1]],
            bucket_batch_sizes=[batch_size] * len(bounds),
            padding_values=padding_values,
            pad_to_bucket_boundary=False,
        )
        .map(lambda *e: _pad_to_bound(e, bounds, pad_id))
        .apply(count)
        .prefetch(2)
    )


def batch_count(token_ids, batch_size: int, sequence_length: int, bucketing: bool = True) -> int:
    """How many batches `batches` yields: each length bucket ends with one partial batch."""
    if not bucketing:
        return -(-len(token_ids) // batch_size)
    bounds = bucket_bounds(sequence_length)
    sizes = [0] * len(bounds)
    for ids in token_ids:  # multiple choice: the longest choice decides the bucket
        length = max(map(len, ids)) if ids and isinstance(ids[0], list) else len(ids)
        sizes[next((i for i, b in enumerate(bounds) if length <= b), len(bounds) - 1)] += 1
    return sum(-(-n // batch_size) for n in sizes)


def _pad_to_bound(element, bounds, pad_id):
    """Pad a bucketed batch's sequence axis up to its bucket bound (few shapes for XLA)."""
    import tensorflow as tf

    length = tf.shape(element[0]["token_ids"])[-1]
    bound = tf.reduce_min(tf.boolean_mask(tf.constant(bounds), tf.constant(bounds) >= length))

    def pad(t, value):
        if t.shape.rank < 2:
            return t
        extra = bound - tf.shape(t)[-1]
        paddings = [[0, 0]] * (t.shape.rank - 1) + [[0, extra]]
        return tf.pad(t, paddings, constant_values=tf.cast(value, t.dtype))

    x = dict(element[0])
    x = {k: pad(v, pad_id if k == "token_ids" else 0) for k, v in x.items()}
    rest = [tf.nest.map_structure(lambda t: pad(t, 0), part) for part in element[1:]]
    return (x, *rest)


def _examples(features: dict, targets, weights):
    """Per-example dicts of features and targets (`weight:<name>` for the weights)."""
    names = list(features)
    for i in range(len(features["token_ids"])):
        example = {n: features[n][i] for n in names}
        example.update({n: v[i] for n, v in targets.items()})
        example.update({f"weight:{n}": v[i] for n, v in (weights or {}).items()})
        yield example


def pack_examples(features: dict, targets, sequence_length: int,
                  max_sequences: int = DEFAULT_MAX_SEQUENCES, pad_id: int = 0,
                  seed: int | None = None) -> tuple[dict, tuple[str, ...]]:  # fmt: skip
    """(rows, the per-example fields): examples packed into rows, as stacked numpy
    arrays: `token_ids`, `segment_ids`, `sequence_ids` [rows, S]; per-example targets
    [rows, K] with `slot_weight`; per-token targets and weights [rows, S];
    `slot_index` [rows, K], the example in each slot or -1. `seed`: shuffle the
    examples first (the packing is then that order's)."""
    weights = None
    if isinstance(targets, tuple):
        targets, weights = targets
    examples = list(_examples(features, targets, weights))
    order = np.arange(len(examples))
    if seed is not None:
        np.random.default_rng(seed).shuffle(order)
    slot_fields = tuple(k for k, v in examples[0].items() if np.ndim(v) == 0)
    # buffers of DEFAULT_BUFFER examples: first fit scans the open rows, so its cost
    # grows with the square of the buffer, not of the data set
    rows = list(pack_rows((examples[i] for i in order), sequence_length, max_sequences,
                          pad_id, slot_fields=slot_fields))  # fmt: skip
    packed = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    index = packed["slot_index"]  # counts the shuffled order: back to the examples'
    packed["slot_index"] = np.where(index >= 0, order[np.maximum(index, 0)], -1)
    return packed, slot_fields


def packed_batches(features: dict, targets, batch_size: int, sequence_length: int,
                   max_sequences: int = DEFAULT_MAX_SEQUENCES, pad_id: int = 0,
                   shuffle: bool = False, seed: int = 0):  # fmt: skip
    """A `tf.data.Dataset` of packed (inputs, targets, sample weights) batches for a
    model with `packed_sequences=max_sequences`: per-example targets weigh 1 in the
    slots that hold an example, per-token ones carry their own weights (or 1 on every
    token)."""
    import tensorflow as tf

    names = list(targets[0] if isinstance(targets, tuple) else targets)
    rows, slot_fields = pack_examples(features, targets, sequence_length, max_sequences,
                                      pad_id, seed if shuffle else None)  # fmt: skip
    x = {k: rows[k] for k in (*features, "sequence_ids")}
    y = {n: rows[n] for n in names}
    default = {n: rows["slot_weight"] if n in slot_fields else
               (rows["sequence_ids"] > 0).astype("float32") for n in names}  # fmt: skip
    sw = {n: rows.get(f"weight:{n}", default[n]).astype("float32") for n in names}
    dataset = tf.data.Dataset.from_tensor_slices((x, y, sw))
    if shuffle:
        dataset = dataset.shuffle(len(rows["token_ids"]), seed=seed)
    return dataset.batch(batch_size).prefetch(2)


def task_batches(batching: str, features: dict, targets, batch_size: int,
                 sequence_length: int, pad_id: int = 0, shuffle: bool = False, seed: int = 0,
                 max_sequences: int = DEFAULT_MAX_SEQUENCES):  # fmt: skip
    """The batches of one of `BATCHINGS`: "buckets" and "pad" from `batches`, "pack" from
    `packed_batches` with up to `max_sequences` examples per row (`batch_size` rows)."""
    if batching == "pack":
        return packed_batches(features, targets, batch_size, sequence_length, max_sequences,
                              pad_id, shuffle, seed)  # fmt: skip
    return batches(features, targets, batch_size, sequence_length, pad_id,
                   batching == "buckets", shuffle, seed)  # fmt: skip
