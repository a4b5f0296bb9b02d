"""One packing specification for the BERT family, in Python (data) and in the graph (export).

A packed sequence is `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` with segment ids 0
for `[CLS] a [SEP]` and 1 for `b [SEP]`. When the segments do not fit, the longest
loses a token, the later one on a tie (BERT's `_truncate_seq_pair`) — which is
what tf.text's `RoundRobinTrimmer` computes in the graph. Question answering keeps
the question and cuts the context (`WaterfallTrimmer`).

`pack` is the Python implementation (task files, pretraining sequences);
`graph_packer` builds the TensorFlow one that exported models run on raw text.
The tests check that the two give the same ids.

Example:

>>> from keras_bertfam.data.packing import pack
>>> pack([[7, 8, 9], [4, 5]], sequence_length=6, cls=1, sep=2)
([1, 7, 8, 2, 4, 2], [0, 0, 0, 0, 1, 1])
>>> pack([[7, 8, 9]], sequence_length=16, cls=1, sep=2)
([1, 7, 8, 9, 2], [0, 0, 0, 0, 0])
"""

from __future__ import annotations

from keras_bertfam.errors import InputError

TRIMMERS = ("longest_first", "keep_first")


def concatenate(segments, cls: int, sep: int) -> tuple[list[int], list[int]]:
    """`[CLS] a [SEP] (b [SEP])` of segments that already fit; (ids, segment ids)."""
    ids, types = [cls], [0]
    for index, segment in enumerate(segments):
        ids += [*segment, sep]
        types += [index] * (len(segment) + 1)
    return ids, types


def trim(segments, budget: int, trimmer: str = "longest_first") -> list[list[int]]:
    """Cut `segments` to `budget` tokens in all: "longest_first" takes a token from the
    longest (the later one on a tie) until they fit; "keep_first" cuts the last
    segments first (question answering keeps the question)."""
    segments = [list(s) for s in segments]
    if trimmer == "keep_first":
        room = budget
        for index, segment in enumerate(segments):
            segments[index] = segment[: max(room, 0)]
            room -= len(segments[index])
        return segments
    if trimmer != "longest_first":
        raise InputError(f"trimmer={trimmer!r} is not one of {list(TRIMMERS)}")
    lengths = [len(s) for s in segments]
    excess = sum(lengths) - budget
    while excess > 0:  # one token at a time in the rule's order, counted, cut once
        longest = max(reversed(range(len(lengths))), key=lambda i: lengths[i])
        lengths[longest] -= 1
        excess -= 1
    return [s[:n] for s, n in zip(segments, lengths, strict=True)]


def pack(segments, sequence_length: int, cls: int, sep: int, trimmer: str = "longest_first"):
    """Trim and pack one or two segments of token ids into at most `sequence_length`
    tokens; returns (ids, segment ids)."""
    budget = sequence_length - 1 - len(segments)
    if budget < len(segments):
        raise InputError(f"sequence_length={sequence_length} leaves no room for the text")
    return concatenate(trim(segments, budget, trimmer), cls, sep)


def graph_packer(tokenizer, sequence_length: int, segments: int = 1,
                 trimmer: str = "longest_first"):  # fmt: skip
    """The same packing as TensorFlow ops: a function (string tensors, one per segment)
    -> (token_ids, padding_mask, segment_ids), int32 [batch, sequence_length].

    Tokenizing, trimming, `[CLS]`/`[SEP]` packing and padding all run in the
    graph, so a SavedModel or TFLite file can take raw text.
    """
    import tensorflow as tf
    import tensorflow_text as tf_text

    special = tokenizer.require_special("cls", "sep")
    pad_id = tokenizer.special_ids.get("pad", 0)
    budget = sequence_length - 1 - segments
    if budget < segments:
        raise InputError(f"sequence_length={sequence_length} leaves no room for the text")
    if trimmer not in TRIMMERS:
        raise InputError(f"trimmer={trimmer!r} is not one of {list(TRIMMERS)}")
    kind = tf_text.WaterfallTrimmer if trimmer == "keep_first" else tf_text.RoundRobinTrimmer
    cut = kind(budget)

    def packer(*texts):
        pieces = cut.trim([tf.cast(tokenizer.tokenize(t), tf.int32) for t in texts])
        ids, segment_ids = tf_text.combine_segments(
            pieces, start_of_sequence_id=special["cls"], end_of_segment_id=special["sep"]
        )
        token_ids, padding_mask = tf_text.pad_model_inputs(ids, sequence_length, pad_id)
        segment_ids, _ = tf_text.pad_model_inputs(segment_ids, sequence_length, 0)
        return token_ids, padding_mask, segment_ids

    return packer
