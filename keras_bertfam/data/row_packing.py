"""Several short sequences in one fixed-length row: first-fit decreasing within a buffer.

Fixed-shape batches pad every sequence to the row length S; short sequences
(fine-tuning sentences, BERT's short pretraining pairs, the ends of documents)
then spend most of a row on padding. Packing puts several sequences into one
row, one after another, and says which token belongs to which in
`sequence_ids` (0 for padding, 1..K in order); the packed model
(`EncoderConfig.packed_sequences = K`) keeps them apart (see
`keras_bertfam.layers.packing`).

The algorithm is first-fit decreasing (Johnson 1973; Krell et al. 2021 compare
it with their histogram-based packers and find it within a few percent of
them) over a buffer of `buffer` sequences at a time: the buffer's sequences are
sorted by length, longest first (ties keep their order), and each goes into the
first open row with room for it and fewer than K sequences, else into a new
row; when the buffer is placed, its rows are emitted in the order they were
opened (longest first), or with `seed` in a seeded random order, so that batches
mix long rows and packed short ones. The result depends only on the input order
and the seed, so a resumed run that skips the rows it had read sees the same
rows.

Example:

>>> from keras_bertfam.data.row_packing import first_fit_decreasing
>>> first_fit_decreasing([5, 3, 4, 2, 6], capacity=8, max_items=2)
[[4, 3], [0, 1], [2]]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from keras_bertfam.errors import InputError

DEFAULT_MAX_SEQUENCES = 8  # K: the slots of a packed row
DEFAULT_BUFFER = 1000  # sequences placed together


def first_fit_decreasing(lengths, capacity: int, max_items: int) -> list[list[int]]:
    """Rows of indices into `lengths`: each row's lengths sum to at most `capacity` and
    it holds at most `max_items`; indices are listed in the order they were placed."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable: ties in order
    rows, room = [], []
    for i in order:
        if lengths[i] > capacity:
            raise InputError(f"a sequence of {lengths[i]} tokens does not fit a row of {capacity}")
        for r, free in enumerate(room):
            if lengths[i] <= free and len(rows[r]) < max_items:
                rows[r].append(i)
                room[r] -= lengths[i]
                break
        else:
            rows.append([i])
            room.append(capacity - lengths[i])
    return rows


def pack_rows(sequences: Iterable[dict], length: int, max_sequences: int, pad_id: int = 0,
              buffer: int = DEFAULT_BUFFER, slot_fields=("label",),
              seed: int | None = None) -> Iterator[dict]:  # fmt: skip
    """Packed rows of `sequences` (dicts with `token_ids` and `segment_ids`, lists of at
    most `length`, and optionally the per-sequence `slot_fields`, and per-token fields
    of the same length as `token_ids`).

    Yields dicts of numpy int32 arrays: `token_ids`, `segment_ids`, `sequence_ids`
    [length] and any other per-token field (zero-padded), each slot field [K] (0 in
    empty slots), `slot_weight` float32 [K] (1 where a sequence is) and `slot_index`
    [K] (the running index of each slot's sequence in the input, -1 when empty:
    predictions go back to their examples by it). `seed`: the rows of each buffer in
    a random order drawn from (seed, the buffer's index); None: as opened.
    """
    if max_sequences < 1:
        raise InputError(f"max_sequences={max_sequences} must be >= 1")
    pending, first, count = [], 0, 0
    for sequence in sequences:
        pending.append(sequence)
        if len(pending) == buffer:
            rows = list(_place(pending, first, length, max_sequences, pad_id, slot_fields))
            yield from _ordered(rows, seed, count)
            first, count, pending = first + len(pending), count + 1, []
    if pending:
        rows = list(_place(pending, first, length, max_sequences, pad_id, slot_fields))
        yield from _ordered(rows, seed, count)


def _ordered(rows, seed, index):
    if seed is None:
        return rows
    order = np.random.default_rng([seed, index]).permutation(len(rows))
    return [rows[i] for i in order]


def _place(sequences, first, length, max_sequences, pad_id, slot_fields):
    lengths = [len(s["token_ids"]) for s in sequences]
    token_fields = [k for k in sequences[0] if k not in slot_fields]
    dtypes = {k: _dtype(v) for k, v in sequences[0].items()}
    for members in first_fit_decreasing(lengths, length, max_sequences):
        row = {k: np.zeros(length, dtypes[k]) for k in token_fields}
        row["token_ids"][:] = pad_id
        row["sequence_ids"] = np.zeros(length, np.int32)
        for name in slot_fields:
            row[name] = np.zeros(max_sequences, dtypes[name])
        row["slot_weight"] = np.zeros(max_sequences, np.float32)
        row["slot_index"] = np.full(max_sequences, -1, np.int32)
        at = 0
        for slot, i in enumerate(sorted(members)):  # in input order within the row
            n = lengths[i]
            for name in token_fields:
                row[name][at : at + n] = sequences[i][name]
            row["sequence_ids"][at : at + n] = slot + 1
            for name in slot_fields:
                row[name][slot] = sequences[i][name]
            row["slot_weight"][slot] = 1.0
            row["slot_index"][slot] = first + i
            at += n
        yield row


def _dtype(value):
    """int32 for integer values, float32 for the rest (weights)."""
    return np.int32 if np.asarray(value).dtype.kind in "iub" else np.float32


def token_mask(row):
    """Nonzero on the tokens of a row or batch (numpy arrays or tensors), zero on its
    padding: its `padding_mask`, or `sequence_ids > 0` for packed rows."""
    return row["padding_mask"] if "padding_mask" in row else row["sequence_ids"] > 0


def padding_fraction(rows: Iterable[dict]) -> float:
    """The share of padding among the tokens of `rows` (dicts with `sequence_ids` or
    `padding_mask`)."""
    real = total = 0
    for row in rows:
        mask = token_mask(row)
        real += int(np.count_nonzero(mask))
        total += int(np.size(mask))
    return 1.0 - real / total if total else 0.0
