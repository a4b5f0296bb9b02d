"""Fixed-length rows of pretraining sequences: one padded sequence per row, or packed.

`rows_of` turns `Instance`s into numpy rows of `sequence_length` tokens: with
`pack=0`, `token_ids`, `segment_ids`, `padding_mask` and a scalar `label`; with
`pack=K`, up to K sequences per row (`keras_bertfam.data.row_packing`) with
`sequence_ids`, and `label` and `slot_weight` [K]. `padded_blocks` stacks rows in
blocks (the tf.data generator's and `create_data`'s unit); `row_fields` gives
their shapes and dtypes.

Example:

>>> from keras_bertfam.data.instances import Instance
>>> from keras_bertfam.data.pipeline import DataConfig
>>> from keras_bertfam.data.rows import padded_blocks
>>> pairs = [Instance([2, 7, 3], [0, 0, 0], 0), Instance([2, 8, 9, 3], [0, 0, 0, 0], 1)]
>>> block = next(padded_blocks(pairs, 8, 8, 0, DataConfig(sequence_length=8, pack=2)))
>>> block["sequence_ids"].tolist(), block["label"].tolist()
([[1, 1, 1, 2, 2, 2, 2, 0]], [[0, 1]])
"""

from __future__ import annotations

import numpy as np

from keras_bertfam.data.instances import Instance
from keras_bertfam.data.row_packing import pack_rows


def _padded(instance: Instance, length: int, pad_id: int) -> dict:
    n = len(instance.token_ids)
    token_ids = np.full(length, pad_id, np.int32)
    token_ids[:n] = instance.token_ids
    segment_ids = np.zeros(length, np.int32)
    segment_ids[:n] = instance.segment_ids
    padding_mask = np.zeros(length, np.int32)
    padding_mask[:n] = 1
    return {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": padding_mask,
        "label": np.int32(instance.label),
    }


def rows_of(instances, length: int, pack: int, pad_id: int, seed: int = 0):
    """Rows of numpy arrays from instances: one padded sequence per row, or (with
    `pack` = K) packed rows with `sequence_ids`, `label` [K] and `slot_weight` [K], each
    buffer's rows in an order drawn from `seed`."""
    if not pack:
        return (_padded(instance, length, pad_id) for instance in instances)
    sequences = ({"token_ids": i.token_ids, "segment_ids": i.segment_ids, "label": i.label}
                 for i in instances)  # fmt: skip
    rows = pack_rows(sequences, length, pack, pad_id, seed=seed)
    return ({k: v for k, v in row.items() if k != "slot_index"} for row in rows)


def row_fields(config) -> dict:
    """name -> (shape of one row, dtype name) of the rows `rows_of` gives."""
    length, slots = config.sequence_length, config.pack
    if not slots:
        return {"token_ids": ([length], "int32"), "segment_ids": ([length], "int32"),
                "padding_mask": ([length], "int32"), "label": ([], "int32")}  # fmt: skip
    return {"token_ids": ([length], "int32"), "segment_ids": ([length], "int32"),
            "sequence_ids": ([length], "int32"), "label": ([slots], "int32"),
            "slot_weight": ([slots], "float32")}  # fmt: skip


def padded_blocks(instances, size: int, length: int, pad_id: int, config=None, seed: int = 0):
    """Stack instances into dicts of numpy arrays of up to `size` padded rows (packed
    rows when `config` packs, in an order drawn from `seed`)."""
    rows = []
    packing = config.pack if config is not None else 0
    for row in rows_of(instances, length, packing, pad_id, seed):
        rows.append(row)
        if len(rows) == size:
            yield {k: np.stack([r[k] for r in rows]) for k in rows[0]}
            rows = []
    if rows:
        yield {k: np.stack([r[k] for r in rows]) for k in rows[0]}
