"""Tokenizers: ids equal the Hugging Face / SentencePiece reference on real vocabularies."""

import json

import numpy as np
import pytest
import sentencepiece
import tokenizers

from keras_bertfam.data import TokenizerError, load_tokenizer
from keras_bertfam.data.vocab import create_vocab
from tests.data_fixtures import CORPUS, minilm_dir

TEXTS = [
    "Hello, World! This is BERT's tokenizer.",
    "Café résumé naïve Ångström — ACCENTS are stripped for uncased vocabularies.",
    "中文字符逐个切分，日本語のテキストも。한국어 문장.",
    "Write to jane.doe+tag@example.com or visit https://docs.python.org/3/library/re.html",
    "Numbers: 3.14159, 1,000,000 and 2026-11-27; version 3.11.7; 42nd; 0x1F.",
    "a" * 120 + " supercalifragilisticexpialidocious antidisestablishmentarianism",
    "",
    "   ",
    "Tabs\tand\nnewlines  and \u00a0non-breaking spaces; emoji 😀 and symbols ©®™ ±×÷.",
    "It's (really) [bracketed] {curly} <angled> \"quoted\" 'single' `tick` ~tilde~ ^caret^ |pipe|",
    "def f(x): return x ** 2  # Python code: lambda, **kwargs, __init__",
]


def _reference(path):
    """The Hugging Face fast tokenizer of `path`, without its padding/truncation settings."""
    reference = tokenizers.Tokenizer.from_file(str(path))
    reference.no_padding()
    reference.no_truncation()
    return reference


def _ours(tok, texts):
    return [list(map(int, ids)) for ids in tok.tokenize(texts).to_list()]


@pytest.mark.parametrize("filename", ["vocab.txt", "tokenizer.json"])
def test_wordpiece_matches_hugging_face_on_minilm(filename):
    folder = minilm_dir()
    reference = _reference(folder / "tokenizer.json")
    expected = [reference.encode(t, add_special_tokens=False).ids for t in TEXTS]
    tok = load_tokenizer(folder / filename)
    assert tok.kind == "wordpiece" and tok.lower_case
    assert _ours(tok, TEXTS) == expected
    assert tok.special_ids == {"cls": 101, "sep": 102, "mask": 103, "pad": 0, "unk": 100}


def test_wordpiece_on_the_real_corpus_matches_hugging_face():
    folder = minilm_dir()
    reference = _reference(folder / "tokenizer.json")
    import gzip

    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        lines = [x for x in handle.read().splitlines() if x][:2000]
    expected = [e.ids for e in reference.encode_batch(lines, add_special_tokens=False)]
    got = _ours(load_tokenizer(folder / "vocab.txt"), lines)
    mismatches = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    assert not mismatches, [lines[i] for i in mismatches[:3]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = {}
    for kind, size in (("sentencepiece", 2000), ("bpe", 2000)):
        folder = tmp_path_factory.mktemp(kind)
        create_vocab(kind, size, [CORPUS], folder)
        out[kind] = folder
    return out


def test_sentencepiece_matches_the_sentencepiece_library(trained):
    folder = trained["sentencepiece"]
    reference = sentencepiece.SentencePieceProcessor(model_file=str(folder / "spiece.model"))
    tok = load_tokenizer(folder)
    assert tok.kind == "sentencepiece"
    assert _ours(tok, TEXTS) == [reference.encode(t) for t in TEXTS]
    assert {"cls", "sep", "mask", "pad", "unk"} <= set(tok.special_ids)


def test_bpe_matches_hugging_face_tokenizers(trained):
    folder = trained["bpe"]
    reference = tokenizers.ByteLevelBPETokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt")
    )
    tok = load_tokenizer(folder)
    assert tok.kind == "bpe"
    assert _ours(tok, TEXTS) == [reference.encode(t).ids for t in TEXTS]
    assert tok.special_ids == {"cls": 0, "pad": 1, "sep": 2, "unk": 3, "mask": 4}


def test_word_starts_mark_continuations():
    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    starts = tok.word_starts()
    assert starts[tok.token_to_id("hello")] and not starts[tok.token_to_id("##s")]


def test_bad_tokenizer_files_are_refused_clearly(tmp_path):
    with pytest.raises(TokenizerError, match="does not exist"):
        load_tokenizer(tmp_path / "vocab.txt")
    with pytest.raises(TokenizerError, match="no tokenizer in"):
        load_tokenizer(tmp_path)
    (tmp_path / "spiece.model").write_bytes(b"not a model")
    with pytest.raises(TokenizerError, match="not a valid SentencePiece model"):
        load_tokenizer(tmp_path / "spiece.model")
    (tmp_path / "vocab.txt").write_bytes(b"[UNK]\n\xff\xfe\n")
    with pytest.raises(TokenizerError, match="not UTF-8"):
        load_tokenizer(tmp_path / "vocab.txt")
    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": {"type": "Unigram"}}))
    with pytest.raises(TokenizerError, match="model type 'Unigram'"):
        load_tokenizer(tmp_path / "tokenizer.json")


def test_missing_special_tokens_are_named(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "hello"]))
    tok = load_tokenizer(tmp_path)
    with pytest.raises(TokenizerError, match=r"lacks special token\(s\).*'cls'.*'sep'.*'mask'"):
        tok.require_special("cls", "sep", "mask")


def test_scalar_and_empty_batches():
    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    assert tok.tokenize("hello world").numpy().tolist() == [7592, 2088]
    assert tok.tokenize(np.array([], dtype=object)).shape[0] == 0


def test_find_tokenizer_tells_absent_from_corrupt(tmp_path):
    from keras_bertfam.data.tokenizers import find_tokenizer, tokenizer_file

    assert find_tokenizer(tmp_path) is None
    inner = tmp_path / "tokenizer"
    inner.mkdir()
    assert tokenizer_file(tmp_path) is None  # an empty tokenizer/ subfolder holds nothing
    (inner / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "hello"]))
    assert tokenizer_file(tmp_path) == inner / "vocab.txt"
    assert find_tokenizer(tmp_path).vocabulary_size == 3
    (tmp_path / "tokenizer.json").write_text("{ not json")  # found first, and corrupt
    with pytest.raises(TokenizerError, match=r"tokenizer\.json"):
        find_tokenizer(tmp_path)
