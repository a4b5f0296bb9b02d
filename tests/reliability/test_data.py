"""Reliability of the data stage: bad input gives a message, never a traceback or lost data."""

from __future__ import annotations

import gzip
import json
import logging
import random
import re
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from keras_bertfam.cli import main
from keras_bertfam.data import records
from keras_bertfam.data.corpus import CorpusError, read_documents
from keras_bertfam.data.instances import _full_sentence_instances, _truncate_pair, make_instances
from keras_bertfam.data.pipeline import DataConfig
from keras_bertfam.data.records import create_data, open_data
from keras_bertfam.data.tasks import TaskDataError, prepare, read_classification, read_squad
from keras_bertfam.data.tokenizers import TokenizerError, load_tokenizer
from keras_bertfam.data.vocab import create_vocab, vocabulary_size
from keras_bertfam.errors import InputError, MissingInputError
from keras_bertfam.resources import FORTUNES_TRAIN
from tests.data_fixtures import CORPUS, minilm_dir

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


# -- corpus files --------------------------------------------------------------------


def _truncated_gzip(path, lines=3000):
    """A real gzip file of the first `lines` corpus lines, cut in the middle."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        text = "\n".join(handle.read().splitlines()[:lines]) + "\n"
    whole = gzip.compress(text.encode())
    path.write_bytes(whole[: len(whole) // 2])
    return path


def test_truncated_gzip_corpus_names_the_file_and_the_line(tmp_path):
    path = _truncated_gzip(tmp_path / "corpus.txt.gz")
    with pytest.raises(
        CorpusError, match=r"corpus\.txt\.gz.*truncated or corrupt gzip.*after line \d+"
    ):
        list(read_documents([path]))
    not_gzip = tmp_path / "plain.gz"
    not_gzip.write_text("just text\n")
    with pytest.raises(CorpusError, match=r"plain\.gz.*corrupt gzip.*before its first line"):
        list(read_documents([not_gzip]))


def test_a_directory_as_corpus_file_says_so(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("One sentence.\n")
    (tmp_path / "folder").mkdir()
    with pytest.raises(CorpusError, match=r"'.*folder' is a directory, not a file"):
        list(read_documents([good, tmp_path / "folder"]))
    with pytest.raises(CorpusError, match=r"'.*folder' is a directory, not a file"):
        create_vocab("wordpiece", 100, [tmp_path / "folder"], tmp_path / "vocab")


# -- task files ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(minilm_dir() / "vocab.txt")


def _fortunes(count):
    """The header and first `count` rows of the real fortunes training file."""
    lines = gzip.decompress(FORTUNES_TRAIN.read_bytes()).decode("utf-8").splitlines()
    return lines[0], lines[1 : count + 1]


def test_an_unbalanced_quote_does_not_swallow_the_following_rows(tmp_path, tokenizer):
    header, rows = _fortunes(43)
    label, text = rows[0].split("\t")
    rows[0] = f'{label}\t"Unbalanced quote opens this text. {text.strip(chr(34))}'
    path = tmp_path / "train.tsv"
    path.write_text("\n".join([header, *rows]) + "\n")
    data = prepare("classification", path, tokenizer, 64)
    assert len(data["rows"]) == 43 and data["summary"]["rows"] == 43
    assert data["rows"][0]["texts"][0].startswith('"Unbalanced quote')
    expected = Counter(row.split("\t")[0] for row in rows)
    assert data["summary"]["labels"] == dict(sorted(expected.items())) and len(expected) > 1
    # a cell written as one CSV-quoted field (as the fortunes file is) is still unquoted
    quoted = next(r for r in data["rows"][1:] if '"' in r["texts"][0])
    assert '""' not in quoted["texts"][0]


def test_header_detection_and_summary(tmp_path, tokenizer):
    _, rows = _fortunes(30)
    path = tmp_path / "train.tsv"
    path.write_text("\n".join(["category\tsentence", *rows]) + "\n")
    data = prepare("classification", path, tokenizer, 64)
    assert data["summary"]["header"] is True and data["summary"]["rows"] == 30
    assert "category" not in data["labels"] and data["rows"][0]["line"] == 2
    kept = prepare("classification", path, tokenizer, 64, header="no")
    assert kept["summary"]["header"] is False and kept["summary"]["labels"]["category"] == 1
    # no header: the first row's label occurs again, so it is data
    plain = tmp_path / "plain.tsv"
    first_label = rows[0].split("\t")[0]
    plain.write_text("\n".join([*rows, f"{first_label}\tone more text"]) + "\n")
    data = prepare("classification", plain, tokenizer, 64)
    assert data["summary"]["header"] is False and data["summary"]["rows"] == 31
    forced = prepare("classification", plain, tokenizer, 64, header="yes")
    assert forced["summary"]["header"] is True and forced["summary"]["rows"] == 30
    # dev data read with the training labels: a known label is never a header
    dev = tmp_path / "dev.tsv"
    dev.write_text("art\tpaintings\nscience\tatoms\nscience\tstars\n")
    data = prepare("classification", dev, tokenizer, 64, labels=["art", "science"])
    assert data["summary"] == {
        "path": str(dev), "rows": 3, "header": False, "labels": {"art": 1, "science": 2}
    }  # fmt: skip
    with pytest.raises(InputError, match=r"header='maybe' is not one of"):
        prepare("classification", dev, tokenizer, 64, header="maybe")


def test_rows_with_a_different_column_count_name_the_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("label\ta\tb\nx\tone\ttwo\ny\tthree\tfour\nx\tfive, a tab\there\tsix\n")
    with pytest.raises(TaskDataError, match=r"pairs\.tsv:4: .*got 4 column.*a tab inside a text"):
        read_classification(path)
    path.write_text("x\tone\ttwo\ny\tthree\tfour\nx\tsingle text\n")
    with pytest.raises(
        TaskDataError, match=r"pairs\.tsv:3: 2 columns, but line 1 has 3 \(a tab inside a text\?\)"
    ):
        read_classification(path)
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text('{"text": "a", "text_b": "b", "label": "x"}\n{"text": "c", "label": "y"}\n')
    with pytest.raises(TaskDataError, match=r"pairs\.jsonl:2: 1 text\(s\), but line 1 has 2"):
        read_classification(jsonl)


def test_text_with_a_line_separator_character_stays_one_row(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("x\tfirst\u2028still the first\ny\tsecond\n", encoding="utf-8")
    rows = read_classification(path)
    assert [r["texts"][0] for r in rows] == ["first\u2028still the first", "second"]


def test_task_files_truncated_gzip_directory_and_gzipped_jsonl(tmp_path):
    header, rows = _fortunes(200)
    whole = gzip.compress(("\n".join([header, *rows]) + "\n").encode())
    cut = tmp_path / "train.tsv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(TaskDataError, match=r"train\.tsv\.gz.*truncated or corrupt gzip.*line \d+"):
        read_classification(cut)
    (tmp_path / "folder.tsv").mkdir()
    with pytest.raises(TaskDataError, match=r"folder\.tsv' is a directory, not a file"):
        read_classification(tmp_path / "folder.tsv")
    packed = tmp_path / "train.jsonl.gz"
    packed.write_bytes(
        gzip.compress(b'{"text": "a b", "label": "x"}\n{"text": "c", "label": "y"}\n')
    )
    assert [r["label"] for r in read_classification(packed)] == ["x", "y"]


def _squad(tmp_path, qa, context="The cat sat on the mat."):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": [qa]}]}]}))
    return path


def test_squad_with_missing_fields_names_where(tmp_path):
    good = {"id": "q1", "question": "Where?", "answers": [{"text": "mat", "answer_start": 19}]}
    assert read_squad(_squad(tmp_path, good))[0]["answers"] == [("mat", 19)]
    cases = [
        (
            {k: v for k, v in good.items() if k != "id"},
            r"data\[0\]\.paragraphs\[0\]\.qas\[0\]: 'id'",
        ),
        ({**good, "question": None}, r"qas\[0\] \(id 'q1'\): 'question' must be a str"),
        ({**good, "answers": [{"text": "mat"}]}, r"answers\[0\]: 'answer_start' .*missing"),
    ]
    for qa, message in cases:
        with pytest.raises(TaskDataError, match=message):
            read_squad(_squad(tmp_path, qa))
    path = tmp_path / "nocontext.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"qas": [good]}]}]}))
    with pytest.raises(TaskDataError, match=r"data\[0\]\.paragraphs\[0\]: 'context' .*missing"):
        read_squad(path)


def test_summary_of_the_json_tasks(tmp_path, tokenizer):
    tokens = tmp_path / "tags.jsonl"
    tokens.write_text(
        '{"tokens": ["Ada", "wrote", "code"], "tags": ["PER", "O", "O"]}\n'
        '{"tokens": ["Bob"], "tags": ["PER"]}\n'
    )
    summary = prepare("token_classification", tokens, tokenizer, 32)["summary"]
    assert summary == {"path": str(tokens), "rows": 2, "header": False,
                       "labels": {"O": 2, "PER": 2}}  # fmt: skip
    choice = tmp_path / "mc.jsonl"
    choice.write_text(
        '{"question": "Sky?", "choices": ["blue", "green", "red"], "label": 0}\n'
        '{"question": "Grass?", "choices": ["blue", "green", "red"], "label": 1}\n'
    )
    summary = prepare("multiple_choice", choice, tokenizer, 32)["summary"]
    assert (summary["rows"], summary["choices"], summary["labels"]) == (2, 3, {0: 1, 1: 1})
    qa = {"id": "q1", "question": "Where?", "answers": [{"text": "mat", "answer_start": 19}]}
    squad = _squad(tmp_path, qa, context="The cat sat on the mat. " * 20)
    summary = prepare("question_answering", squad, tokenizer, 32, doc_stride=8)["summary"]
    assert summary["rows"] == 1 and summary["windows"] > 1
    assert summary["labels"] == {"has_answer": 1, "no_answer": 0}


# -- create-data output folders ------------------------------------------------------


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """The first 20 documents of the real corpus."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        text = handle.read().split("\n\n")[:20]
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text("\n\n".join(text) + "\n")
    return path


def _snapshot(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _create_data(corpus, out, *extra):
    vocab = str(minilm_dir() / "vocab.txt")
    argv = ["create-data", *map(str, corpus), "--tokenizer", vocab, "--out", str(out)]
    return main([*argv, "--seq-length", "32", "--dupe-factor", "1", *extra])


def test_a_failed_overwrite_leaves_the_old_data_set_as_it_was(tmp_path, small_corpus, capsys):
    out = tmp_path / "data"
    assert _create_data([small_corpus], out) == 0
    before = _snapshot(out)
    manifest = json.loads(before["manifest.json"])
    assert manifest["shards"] and all(s in before for s in manifest["shards"])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    truncated = _truncated_gzip(tmp_path / "corpus.txt.gz")
    cases = [
        ([small_corpus, tmp_path / "typo.txt"], r"corpus file '.*typo\.txt' does not exist"),
        ([empty], r"no training sequences could be made"),
        ([truncated], r"corpus\.txt\.gz' is a truncated or corrupt gzip file \(after line \d+\)"),
    ]
    for corpus, message in cases:
        capsys.readouterr()
        assert _create_data(corpus, out, "--overwrite") == 2
        err = capsys.readouterr().err
        assert re.search(r"bertfam create-data: error: .*" + message, err), err
        assert _snapshot(out) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["data", "empty.txt", "corpus.txt.gz"]
        )  # no temporary folder left beside it


def test_a_disk_that_fills_is_a_message_and_replaces_nothing(tmp_path, small_disk, capsys,
                                                             monkeypatch):  # fmt: skip
    """A real full disk (a small tmpfs) where the test may mount one; otherwise the
    shard writes fail as a full disk makes them fail."""
    if small_disk is not None:
        out = small_disk / "data"
        with open(small_disk / "ballast", "wb") as ballast:  # leave about 64 KB free
            ballast.write(b"\0" * (48 * 2**20 - 2**16))
    else:
        import tensorflow as tf

        (tmp_path / "plain").mkdir()
        out = tmp_path / "plain" / "data"

        class FullDisk:
            def __init__(self, path):
                self.path = path

            def write(self, record):
                raise tf.errors.ResourceExhaustedError(
                    None, None, f"{self.path}; No space left on device"
                )

            def close(self):
                pass

        monkeypatch.setattr(tf.io, "TFRecordWriter", FullDisk)
    assert _create_data([CORPUS], out) == 2
    err = capsys.readouterr().err
    assert "the disk filled while writing the data set" in err and "Traceback" not in err
    assert not out.exists() and [p.name for p in out.parent.iterdir()] in (["ballast"], [])


def test_a_failing_final_rename_puts_the_old_data_set_back(tmp_path, small_corpus, monkeypatch):
    out = tmp_path / "data"
    assert _create_data([small_corpus], out) == 0
    before = _snapshot(out)
    rename = records.os.rename

    def failing(src, dst):
        if Path(src).name.startswith(".data.tmp-"):
            raise OSError(28, "No space left on device")
        return rename(src, dst)

    monkeypatch.setattr(records.os, "rename", failing)
    cfg = DataConfig(sequence_length=32)
    with pytest.raises(OSError, match="No space left"):
        create_data([small_corpus], minilm_dir(), out, cfg, progress=False, overwrite=True)
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
    monkeypatch.undo()
    manifest = create_data([small_corpus], minilm_dir(), out, cfg, progress=False, overwrite=True)
    assert manifest["data_config"]["sequence_length"] == 32  # the swap itself works
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


def test_create_data_refuses_a_folder_that_is_not_a_data_set(tmp_path, small_corpus, capsys):
    model = tmp_path / "model"
    (model / "tokenizer").mkdir(parents=True)
    (model / "model.keras").write_bytes(b"weights")
    (model / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nmine\n")
    before = _snapshot(model)
    for extra in ((), ("--overwrite",)):
        assert _create_data([small_corpus], model, *extra) == 2
        err = capsys.readouterr().err
        assert "is not a create_data output" in err and str(model) in err, err
        assert "model.keras" in err and "tokenizer" in err
        assert _snapshot(model) == before
    # a data set with files create-data did not write is not overwritten either
    out = tmp_path / "data"
    assert _create_data([small_corpus], out) == 0
    (out / "notes.txt").write_text("keep me")
    before = _snapshot(out)
    assert _create_data([small_corpus], out, "--overwrite") == 2
    assert "notes.txt, which create_data did not write" in capsys.readouterr().err
    assert _snapshot(out) == before
    assert _create_data([small_corpus], out) == 2  # without --overwrite, as before
    assert "already holds a data set" in capsys.readouterr().err


def test_open_data_names_a_corrupt_manifest_or_a_missing_shard(tmp_path, small_corpus):
    out = tmp_path / "data"
    assert _create_data([small_corpus], out) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (out / manifest["shards"][0]).unlink()
    with pytest.raises(
        MissingInputError, match=r"1 shard\(s\) listed in manifest\.json are missing"
    ):
        open_data(out)
    (out / "manifest.json").write_text('{"format": "keras_bertfam-pretraining-data/1"')
    with pytest.raises(InputError, match=r"cannot read '.*manifest\.json'"):
        open_data(out)
    (out / "manifest.json").write_text('{"format": "keras_bertfam-pretraining-data/1"}')
    with pytest.raises(InputError, match=r"manifest\.json' is not a create_data manifest"):
        open_data(out)


def test_tokenizer_paths_that_are_directories_say_so(tmp_path):
    (tmp_path / "vocab.txt").mkdir()
    with pytest.raises(TokenizerError, match=r"vocab\.txt' is a directory, not a file"):
        load_tokenizer(tmp_path / "vocab.txt")
    bpe = tmp_path / "bpe"
    (bpe / "merges.txt").mkdir(parents=True)
    (bpe / "vocab.json").write_text('{"a": 0, "b": 1}')
    with pytest.raises(TokenizerError, match=r"merges\.txt' is a directory, not a file"):
        load_tokenizer(bpe / "vocab.json")


# -- vocabulary size ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sentencepiece", "bpe"])
def test_a_vocabulary_smaller_than_asked_is_reported(kind, tmp_path, small_corpus, caplog):
    with caplog.at_level(logging.WARNING, logger="keras_bertfam"):
        files = create_vocab(kind, 100_000, [small_corpus], tmp_path / kind)
    reached = vocabulary_size(kind, files)
    assert 300 < reached < 100_000
    assert len(load_tokenizer(tmp_path / kind).vocabulary) == reached
    message = " ".join(r.getMessage() for r in caplog.records if r.name == "keras_bertfam")
    assert f"{reached} tokens, fewer than the 100000 asked for" in message, message
    assert ("no more pieces" if kind == "sentencepiece" else "min_frequency=2") in message


def test_cli_create_vocab_prints_the_size_reached(tmp_path, small_corpus, capsys):
    out = tmp_path / "wp"
    argv = ["create-vocab", "--kind", "wordpiece", "--size", "5000", "--out", str(out)]
    assert main([*argv, str(small_corpus)]) == 0
    reached = len((out / "vocab.txt").read_text().splitlines())
    printed = capsys.readouterr().out
    assert f"vocabulary: {reached} tokens (asked for 5000: the WordPiece learner" in printed
    assert reached < 5000
    argv = ["create-vocab", "--kind", "sentencepiece", "--size", "50", "--out", str(out)]
    assert main([*argv, str(small_corpus)]) == 2
    err = capsys.readouterr().err
    assert "cannot train a vocabulary of size=50" in err and "required_chars" in err, err
