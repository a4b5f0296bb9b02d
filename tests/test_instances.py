"""Corpus reading and NSP / SOP / full-sentence sequences, on the real corpus."""

import random
from collections import Counter

import pytest

from keras_bertfam.data import CorpusError, CorpusStats, DataConfig, iter_instances, load_tokenizer
from keras_bertfam.data.corpus import read_documents
from keras_bertfam.data.instances import make_instances
from tests.data_fixtures import CORPUS, minilm_dir

SPECIAL = {"cls": 101, "sep": 102}


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(minilm_dir() / "vocab.txt")


def test_real_corpus_documents_and_counts():
    stats = CorpusStats()
    docs = list(read_documents([CORPUS], stats=stats))
    assert (stats.documents, stats.sentences) == (685, 20073)
    assert len(docs) == 685 and stats.invalid_utf8_lines == 0


def test_bad_corpus_lines_are_counted_not_lost_silently(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"\n\nOne sentence.\n\n\n\xff\xfe broken\nTwo. Three!\n")
    stats = CorpusStats()
    docs = list(read_documents([path], stats=stats))
    assert docs == [["One sentence."], ["Two. Three!"]]
    assert stats.invalid_utf8_lines == 1
    plain = list(read_documents([path], format="plain", documents="file"))
    assert plain == [["One sentence.", "Two.", "Three!"]]
    with pytest.raises(CorpusError, match="does not exist"):
        list(read_documents([tmp_path / "missing.txt"]))


def test_corpus_with_no_usable_text_is_refused(tmp_path, tok):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"\n\n\xff\n")
    with pytest.raises(CorpusError, match=r"no training sequences.*1 non-UTF-8 line"):
        list(iter_instances([path], tok, DataConfig()))


@pytest.fixture(scope="module")
def instances(tok):
    out = {}
    for objective in ("nsp", "sop", "none"):
        cfg = DataConfig(objective=objective, sequence_length=128)
        out[objective] = list(iter_instances([CORPUS], tok, cfg, seed=1))
    return out


@pytest.mark.parametrize("objective", ["nsp", "sop"])
def test_labels_are_balanced(instances, objective):
    labels = Counter(i.label for i in instances[objective])
    share = labels[1] / (labels[0] + labels[1])
    assert len(instances[objective]) > 2000
    assert abs(share - 0.5) <= 0.02, labels


@pytest.mark.parametrize("objective", ["nsp", "sop", "none"])
def test_layout_and_lengths(instances, objective):
    for inst in instances[objective]:
        assert len(inst.token_ids) <= 128
        assert inst.token_ids[0] == 101 and inst.token_ids[-1] == 102
        assert len(inst.segment_ids) == len(inst.token_ids)
        if objective == "none":
            assert set(inst.segment_ids) == {0} and inst.label == -1
        else:
            assert inst.token_ids.count(102) == 2
            first_b = inst.segment_ids.index(1)
            assert inst.token_ids[first_b - 1] == 102


def test_short_sequences_appear_at_short_seq_prob(instances):
    lengths = [len(i.token_ids) for i in instances["nsp"]]
    short = sum(n < 64 for n in lengths) / len(lengths)
    assert 0.05 < short < 0.25  # short_seq_prob = 0.1 plus documents' short tails


def test_sop_negatives_are_the_two_segments_swapped():
    doc = [[10 + i] * 3 for i in range(8)]  # 8 sentences of 3 tokens
    rng = random.Random(0)
    for inst in make_instances([doc], "sop", 128, SPECIAL, rng, short_seq_prob=0):
        a_end = inst.segment_ids.index(1) - 1
        a, b = inst.token_ids[1:a_end], inst.token_ids[a_end + 1 : -1]
        if inst.label == 0:
            assert a[-1] + 1 == b[0]  # in document order
        else:
            assert b[-1] + 1 == a[0]  # B's last sentence directly precedes A


def test_nsp_positives_continue_and_negatives_come_from_another_document():
    docs = [[[d * 100 + i] * 2 for i in range(30)] for d in range(1, 6)]
    seen = Counter()
    for inst in make_instances(docs, "nsp", 32, SPECIAL, random.Random(3), short_seq_prob=0):
        a_end = inst.segment_ids.index(1) - 1
        a, b = inst.token_ids[1:a_end], inst.token_ids[a_end + 1 : -1]
        same_doc = a[0] // 100 == b[0] // 100
        seen[inst.label] += 1
        assert same_doc == (inst.label == 0)
        if inst.label == 0:
            assert b[0] == a[-1] + 1
    assert seen[0] and seen[1]


def test_full_sentences_cross_documents_with_a_separator():
    docs = [[[5, 6, 7]], [[8, 9]], [[10, 11, 12, 13]]]
    out = list(make_instances(docs, "none", 12, SPECIAL, random.Random(0)))
    assert [i.token_ids for i in out] == [
        [101, 5, 6, 7, 102, 8, 9, 102],
        [101, 10, 11, 12, 13, 102],
    ]


def test_one_sentence_documents_and_long_lines():
    long = [list(range(200, 600))]  # one sentence longer than the sequence
    out = list(make_instances([long, [[7, 8]]], "nsp", 64, SPECIAL, random.Random(0), 0.0))
    assert out and all(len(i.token_ids) <= 64 for i in out)
    packed = list(make_instances([long], "none", 64, SPECIAL, random.Random(0)))
    assert sum(len(i.token_ids) - 2 for i in packed) == 400
