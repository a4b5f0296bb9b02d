"""One packing specification and one span rule, each implemented twice: the Python side
(task data, evaluation) and the graph side (SavedModel and TFLite exports) must agree."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pytest
import tensorflow as tf

import keras_bertfam as bf
from keras_bertfam.data.packing import graph_packer, pack
from keras_bertfam.export.tflite import text_packer
from keras_bertfam.tasks.spans import best_span, graph_best_spans
from tests.data_fixtures import CORPUS, minilm_dir


@pytest.fixture(scope="module")
def sentences():
    """Real text: lines of the bundled corpus, and a few empty strings."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    return [*lines[:2000:7], "", ""]


@pytest.fixture(scope="module")
def tokenizer():
    return bf.load_tokenizer(minilm_dir())


def _texts(rng, sentences, count):
    return [rng.choice(sentences) for _ in range(count)]


def _python(tokenizer, texts, sequence_length, trimmer):
    special = tokenizer.require_special("cls", "sep")
    pieces = [tokenizer.tokenize(list(column)).to_list() for column in texts]
    rows = []
    for segments in zip(*pieces, strict=True):
        ids, types = pack(list(segments), sequence_length, special["cls"], special["sep"], trimmer)
        pad = sequence_length - len(ids)
        rows.append((ids + [0] * pad, [1] * len(ids) + [0] * pad, types + [0] * pad))
    return [np.array(column) for column in zip(*rows, strict=True)]


@pytest.mark.parametrize("sequence_length", [5, 16, 40])
@pytest.mark.parametrize(
    ("segments", "trimmer"), [(1, "longest_first"), (2, "longest_first"), (2, "keep_first")]
)
def test_graph_packing_equals_python_packing(tokenizer, sentences, segments, trimmer,
                                             sequence_length):  # fmt: skip
    rng = random.Random(sequence_length * 10 + segments)
    texts = [_texts(rng, sentences, 32) for _ in range(segments)]
    graph = graph_packer(tokenizer, sequence_length, segments, trimmer)
    token_ids, padding_mask, segment_ids = graph(*[tf.constant(t) for t in texts])
    want_ids, want_mask, want_types = _python(tokenizer, texts, sequence_length, trimmer)
    np.testing.assert_array_equal(token_ids.numpy(), want_ids)
    np.testing.assert_array_equal(padding_mask.numpy(), want_mask)
    np.testing.assert_array_equal(segment_ids.numpy(), want_types)


@pytest.mark.parametrize("sequence_length", [3, 8, 33])
def test_the_tflite_packer_equals_python_packing(tokenizer, sentences, sequence_length):
    """The TFLite raw-text model packs one segment with builtin ops only (its fast tokenizer
    differs only on NFKC-compatibility characters, which these lines do not hold)."""
    texts = _texts(random.Random(sequence_length), sentences, 32)
    packed = text_packer(tokenizer, sequence_length)(tf.constant(texts))
    want_ids, want_mask, _ = _python(tokenizer, [texts], sequence_length, "longest_first")
    np.testing.assert_array_equal(packed["token_ids"].numpy(), want_ids)
    np.testing.assert_array_equal(packed["padding_mask"].numpy(), want_mask)


def test_graph_spans_equal_python_spans():
    rng = np.random.default_rng(0)
    batch, seq = 64, 48
    starts = rng.normal(size=(batch, seq)).astype("float32")
    ends = rng.normal(size=(batch, seq)).astype("float32")
    starts[:8] = np.round(starts[:8])  # ties: the earliest start, then the earliest end
    ends[:8] = np.round(ends[:8])
    allowed = np.zeros((batch, seq), bool)
    for row in range(batch):
        first = rng.integers(1, seq // 2)
        allowed[row, first : rng.integers(first + 1, seq)] = True
    start, end, score = graph_best_spans(tf.constant(starts), tf.constant(ends),
                                         tf.constant(allowed), max_answer_tokens=5)  # fmt: skip
    for row in range(batch):
        want = best_span(starts[row], ends[row], allowed[row], max_answer_tokens=5)
        assert (int(start[row]), int(end[row])) == want[:2], row
        assert float(score[row]) == pytest.approx(want[2], abs=1e-5)
        assert 0 <= want[1] - want[0] < 5 and allowed[row, want[0] : want[1] + 1].all()
