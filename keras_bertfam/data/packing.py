"""One packing specification for the BERT family, in Python (data) and in the graph (export).

A packed sequence is `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` with segment ids 0
for `[CLS] a [SEP]` and 1 for `b [SEP]`; RoBERTa's tokenizers put two separators
between the texts (`<s> a </s></s> b </s>`, the second `</s>` in segment 0), which
`separators=2` (a tokenizer's `pair_separators`) gives. When two segments do not
fit, they are cut as Hugging Face's `longest_first` truncation cuts them: a segment
of at most half the budget is kept whole, and the other gets the rest; when both are
longer, the first gets half the budget rounded down if it is not the longer one, up
if it is (BERT's `_truncate_seq_pair` gives the first the odd token in both cases).
Question answering keeps the question and cuts the context (`WaterfallTrimmer`).

`pack` is the Python implementation (task files, pretraining sequences);
`graph_packer` builds the TensorFlow one that exported models run on raw text.
The tests check that the two give the same ids.

Example:

>>> from keras_bertfam.data.packing import pack
>>> pack([[7, 8, 9], [4, 5]], sequence_length=6, cls=1, sep=2)
([1, 7, 8, 2, 4, 2], [0, 0, 0, 0, 1, 1])
>>> pack([[7, 8, 9]], sequence_length=16, cls=1, sep=2)
([1, 7, 8, 9, 2], [0, 0, 0, 0, 0])
>>> trim([[1] * 9, [2] * 9], budget=7), trim([[1] * 9, [2] * 8], budget=7)
([[1, 1, 1], [2, 2, 2, 2]], [[1, 1, 1, 1], [2, 2, 2]])
>>> pack([[7, 8, 9], [4, 5]], sequence_length=7, cls=0, sep=2, separators=2)
([0, 7, 8, 2, 2, 4, 2], [0, 0, 0, 0, 0, 1, 1])
"""

from __future__ import annotations

from keras_bertfam.errors import InputError

TRIMMERS = ("longest_first", "keep_first")


def concatenate(segments, cls: int, sep: int, separators: int = 1) -> tuple[list[int], list[int]]:
    """`[CLS] a [SEP] (b [SEP])` of segments that already fit, with `separators` [SEP]s
    between two segments; (ids, segment ids)."""
    ids, types = [cls], [0]
    for index, segment in enumerate(segments):
        ends = [sep] * (separators if index < len(segments) - 1 else 1)
        ids += [*segment, *ends]
        types += [index] * (len(segment) + len(ends))
    return ids, types


def specials_count(segments: int, separators: int = 1) -> int:
    """How many special tokens pack `segments` texts: [CLS], and the [SEP]s."""
    return 1 + segments + (separators - 1) * (segments - 1)


def trim(segments, budget: int, trimmer: str = "longest_first") -> list[list[int]]:
    """Cut one or two `segments` to `budget` tokens in all: "longest_first" as Hugging
    Face's truncation (see the module); "keep_first" cuts the last segments first
    (question answering keeps the question)."""
    segments = [list(s) for s in segments]
    if trimmer == "keep_first":
        room = budget
        for index, segment in enumerate(segments):
            segments[index] = segment[: max(room, 0)]
            room -= len(segments[index])
        return segments
    if trimmer != "longest_first":
        raise InputError(f"trimmer={trimmer!r} is not one of {list(TRIMMERS)}")
    if len(segments) == 1:
        return [segments[0][:budget]]
    if len(segments) != 2:
        raise InputError(f"longest_first trims one or two segments, not {len(segments)}")
    (a, b), half = segments, budget // 2
    if len(a) + len(b) <= budget:
        return [a, b]
    kept_b = min(len(b), half) if len(a) > len(b) else budget - min(len(a), half)
    return [a[: budget - kept_b], b[:kept_b]]


def pack(segments, sequence_length: int, cls: int, sep: int, trimmer: str = "longest_first",
         separators: int = 1):  # fmt: skip
    """Trim and pack one or two segments of token ids into at most `sequence_length`
    tokens (`separators` [SEP]s between two); returns (ids, segment ids)."""
    budget = sequence_length - specials_count(len(segments), separators)
    if budget < len(segments):
        raise InputError(f"sequence_length={sequence_length} leaves no room for the text")
    return concatenate(trim(segments, budget, trimmer), cls, sep, separators)


def graph_packer(tokenizer, sequence_length: int, segments: int = 1,
                 trimmer: str = "longest_first"):  # fmt: skip
    """The same packing as TensorFlow ops: a function (string tensors, one per segment)
    -> (token_ids, padding_mask, segment_ids), int32 [batch, sequence_length].

    Tokenizing, trimming, `[CLS]`/`[SEP]` packing (the tokenizer's
    `pair_separators` between two texts) and padding all run in the graph, so a
    SavedModel or TFLite file can take raw text.
    """
    import tensorflow as tf
    import tensorflow_text as tf_text

    special = tokenizer.require_special("cls", "sep")
    pad_id = tokenizer.special_ids.get("pad", 0)
    separators = getattr(tokenizer, "pair_separators", 1)
    budget = sequence_length - specials_count(segments, separators)
    if budget < segments:
        raise InputError(f"sequence_length={sequence_length} leaves no room for the text")
    if trimmer not in TRIMMERS:
        raise InputError(f"trimmer={trimmer!r} is not one of {list(TRIMMERS)}")
    if trimmer == "longest_first" and segments > 2:
        raise InputError(f"longest_first trims one or two segments, not {segments}")
    waterfall = tf_text.WaterfallTrimmer(budget)

    def cut(pieces):
        return waterfall.trim(pieces) if trimmer == "keep_first" else _longest_first(pieces, budget)

    def packer(*texts):
        pieces = cut([tf.cast(tokenizer.tokenize(t), tf.int32) for t in texts])
        extra = [special["sep"]] * (separators - 1)
        pieces = [_append(p, extra) for p in pieces[:-1]] + pieces[-1:]
        ids, segment_ids = tf_text.combine_segments(
            pieces, start_of_sequence_id=special["cls"], end_of_segment_id=special["sep"]
        )
        token_ids, padding_mask = tf_text.pad_model_inputs(ids, sequence_length, pad_id)
        segment_ids, _ = tf_text.pad_model_inputs(segment_ids, sequence_length, 0)
        return token_ids, padding_mask, segment_ids

    return packer


def _append(ragged, ids):
    """`ids` after every row of `ragged` (int32 [batch, None])."""
    import tensorflow as tf

    if not ids:
        return ragged
    rows = tf.cast(ragged.nrows(), tf.int32)
    tail = tf.tile(tf.constant([ids], tf.int32), tf.stack([rows, 1]))
    return tf.concat([ragged, tf.RaggedTensor.from_tensor(tail)], axis=1)


def _longest_first(pieces, budget: int):
    """`trim`'s "longest_first" on one or two ragged [batch, None] segments."""
    import tensorflow as tf

    lengths = [p.row_lengths() for p in pieces]
    if len(pieces) == 1:
        kept = [tf.minimum(lengths[0], budget)]
    else:
        (a, b), half = lengths, budget // 2
        kept_b = tf.where(a > b, tf.minimum(b, half), budget - tf.minimum(a, half))
        kept_b = tf.where(a + b <= budget, b, kept_b)
        kept = [tf.where(a + b <= budget, a, budget - kept_b), kept_b]
    return [
        tf.ragged.boolean_mask(
            p, tf.ragged.range(n, row_splits_dtype=p.row_splits.dtype) < k[:, None]
        )
        for p, n, k in zip(pieces, lengths, kept, strict=True)
    ]
