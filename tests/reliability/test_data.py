"""Reliability of the data stage: bad input gives a message, never a traceback or lost data."""

from __future__ import annotations

import random
import tracemalloc

from keras_bertfam.data.instances import _full_sentence_instances, _truncate_pair, make_instances

SPECIAL = {"cls": 2, "sep": 3, "mask": 4}


# -- work done on long sentences (linear, not quadratic) -----------------------------


class CountingList(list):
    """A list that counts the elements its slices and iterations hand out, and the
    elements its deletions shift (a deletion at the front moves the whole rest)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.work = 0

    def __getitem__(self, key):
        got = super().__getitem__(key)
        self.work += len(got) if isinstance(key, slice) else 1
        return got

    def __iter__(self):
        self.work += len(self)
        return super().__iter__()

    def __delitem__(self, key):
        start = key.indices(len(self))[0] if isinstance(key, slice) else key % len(self)
        self.work += len(self) - start
        super().__delitem__(key)

    def pop(self, *args):
        index = args[0] % len(self) if args else len(self) - 1
        self.work += len(self) - index
        return super().pop(*args)


def test_full_sentence_packing_of_a_long_sentence_is_linear():
    n, max_length = 200_000, 128
    sentence = CountingList(5 + i % 200 for i in range(n))  # small ints: no new int objects
    docs = [[[7, 8]], [sentence], [[9]]]
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        total = 0
        for instance in make_instances(docs, "none", max_length, SPECIAL, random.Random(0)):
            total += len(instance.token_ids) - 2  # instances are dropped as they come
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    # every token, and the one document-boundary [SEP] that does not end a sequence
    assert total == n + 3 + 1
    # no copy of the sentence is held (8 bytes a pointer): all work on it goes through
    # the counted slices and iterations, and those hand out each token a bounded number of times
    assert peak < 2 * n, peak
    assert sentence.work <= 3 * n, sentence.work


def test_pair_truncation_of_a_long_segment_is_linear():
    n = 200_000
    a, b = CountingList(range(n)), CountingList(range(50))
    _truncate_pair(a, b, 125, random.Random(1))
    assert len(a) + len(b) == 125
    assert a.work + b.work <= 3 * n, (a.work, b.work)


def _reference_truncate_pair(a, b, max_tokens, rng):
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _reference_full_sentences(docs, max_length, special):
    max_tokens = max_length - 2
    sep, cls = special["sep"], special["cls"]

    def emit(tokens):
        if tokens and tokens[-1] == sep:
            tokens = tokens[:-1]
        return [cls, *tokens, sep]

    out, buffer = [], []
    for d, document in enumerate(docs):
        if d and buffer:
            buffer.append(sep)
        for sentence in document:
            if len(buffer) + len(sentence) > max_tokens and buffer:
                out.append(emit(buffer))
                buffer = []
            buffer.extend(sentence)
            while len(buffer) > max_tokens:
                out.append(emit(buffer[:max_tokens]))
                buffer = buffer[max_tokens:]
    if buffer:
        out.append(emit(buffer))
    return out


def test_linear_versions_give_the_same_data_and_draw_the_same_random_numbers():
    rng = random.Random(7)
    for _ in range(300):
        a = [rng.randrange(5, 99) for _ in range(rng.randrange(0, 60))]
        b = [rng.randrange(5, 99) for _ in range(rng.randrange(0, 60))]
        limit = rng.randrange(1, 80)
        seed = rng.random()
        ours, theirs = random.Random(seed), random.Random(seed)
        a2, b2 = list(a), list(b)
        _truncate_pair(a, b, limit, ours)
        _reference_truncate_pair(a2, b2, limit, theirs)
        assert (a, b) == (a2, b2)
        assert ours.getstate() == theirs.getstate()

        docs = [
            [[rng.randrange(5, 99) for _ in range(rng.choice([1, 3, 10, 40, 150]))]
             for _ in range(rng.randrange(1, 5))]
            for _ in range(rng.randrange(1, 5))
        ]  # fmt: skip
        length = rng.randrange(5, 40)
        got = [i.token_ids for i in _full_sentence_instances(docs, length, SPECIAL)]
        assert got == _reference_full_sentences(docs, length, SPECIAL)
        assert all(len(ids) <= length for ids in got)


def test_empty_documents_add_one_boundary_and_no_sequence_grows_past_the_length():
    docs = [[[5, 6, 7, 8, 9]], [], [], [[10]]]
    got = [i.token_ids for i in make_instances(docs, "none", 7, SPECIAL, random.Random(0))]
    assert got == [[2, 5, 6, 7, 8, 9, 3], [2, 10, 3]]
    docs = [[[5, 6]], [], [[10]]]
    got = [i.token_ids for i in make_instances(docs, "none", 16, SPECIAL, random.Random(0))]
    assert got == [[2, 5, 6, 3, 10, 3]]
