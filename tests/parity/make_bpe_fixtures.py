"""Generate the byte-level BPE reference fixtures: two small tokenizers and Hugging Face's ids.

Needs Hugging Face ``tokenizers`` and ``transformers`` (the ``parity`` extra); the tests
only read what this writes, so CI needs neither of them. Regenerate with::

    /work/parity-venv/bin/python tests/parity/make_bpe_fixtures.py

Outputs under ``tests/fixtures/bpe/`` (deterministic: re-running with the same library
versions rewrites the same bytes):

- ``roberta/vocab.json`` + ``roberta/merges.txt``: RoBERTa's shape, a byte-level BPE trained
  on the bundled corpus with the specials ``<s> <pad> </s> <unk> <mask>`` at ids 0-4.
- ``modernbert/tokenizer.json``: ModernBERT's shape: an NFC normalizer, the ByteLevel
  pre-tokenizer, a BPE trained on the bundled corpus, ``[UNK] [CLS] [SEP] [PAD] [MASK]`` as
  added tokens after the BPE vocabulary (``[MASK]`` takes the whitespace before it, lstrip),
  and the post-processor ``TemplateProcessing`` ``[CLS] $A [SEP]`` / ``[CLS] $A [SEP] $B [SEP]``.
- ``expected.json``: the texts and pairs, and per tokenizer the ids Hugging Face gives:
  ``tokens`` (``encode(text, add_special_tokens=False)``), ``single`` and ``pair``
  (``encode`` with the post-processor's special tokens, truncated to ``sequence_length``
  with ``longest_first``), ``differences`` (``tokens`` of the texts where the in-graph
  tokenizer is known to differ, see docs/notes/bpe-in-savedmodel.md) and
  ``differences_instead`` (the ``tokens`` of what it gives instead, where a rule says).

For the RoBERTa files the reference is the pipeline ``transformers`` builds for a folder
holding only ``vocab.json`` + ``merges.txt`` (ByteLevel pre-tokenizer, ``RobertaProcessing``,
the five specials as added tokens); the script checks that ``RobertaTokenizer`` gives the
same ids (but for a pair whose second text is empty, which ``transformers`` encodes as the
first text alone and ``tokenizers`` as a pair, ``<s> a </s></s></s>``, as the graph does).

Only the standard library is imported at module level, so ``pytest --doctest-modules`` can
import this file without ``tokenizers``/``transformers``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "bpe"
CORPUS = REPO / "keras_bertfam" / "resources" / "pydocs-corpus.txt.gz"
VOCABULARY_SIZE = 800
SEQUENCE_LENGTH = 24
CORPUS_LINES = 150  # of the corpus, evenly spaced, in the fixture

# (input class, text): what the in-graph ids must equal Hugging Face's on
CASES = [
    ("ascii", "Hello, world! This is RoBERTa's tokenizer."),
    ("ascii", "It's we're they've I'm you'll he'd DON'T"),
    ("ascii", "Numbers 3.14159, 1,000,000 and 2026-11-27; x=42 and 0x1F."),
    ("ascii", "def f(x): return x ** 2  # Python code: **kwargs, __init__"),
    ("accents", "Café résumé naïve Ångström — déjà vu, Œuvre, straße."),
    ("accents", "Cafe\u0301 with a combining accent (NFC makes it one character)"),
    ("cjk", "中文字符逐个切分，日本語のテキストも。한국어 문장."),
    ("emoji", "emoji 😀 and 👩\u200d👩\u200d👧 families, symbols ©®™ ±×÷ ½ ²"),
    ("spaces", "  two leading spaces"),
    ("spaces", "trailing spaces   "),
    ("spaces", "multiple   spaces    inside  the   text"),
    ("spaces", "   "),
    ("spaces", " "),
    ("spaces", ""),
    ("spaces", "tabs\tand\u00a0no-break\u3000ideographic\u2009thin spaces"),
    ("newlines", "line one\nline two\n\nline four\r\nend\n"),
    ("newlines", "\n\n  indented\n\tline\n"),
    ("specials", "a <s> b </s> c <mask> d <pad> e <unk>"),
    ("specials", "a [CLS] b [SEP] fill [MASK] here  [MASK] and [PAD][UNK]"),
    ("long", "A long sentence about tokenizers that goes well past the length. " * 6),
]
PAIRS = [
    ("Is this a question?", "Yes, and this is its answer."),
    ("", "an empty first text"),
    ("an empty second text", ""),
    ("A long first text that must be cut. " * 5, "short"),
    ("short", "A long second text that must be cut. " * 5),
    ("Both texts are long here. " * 4, "And the second one too, again and again. " * 4),
    ("  spaces  ", "\nnewline\n"),
    ("Café 😀", "中文"),
]
# texts the in-graph tokenizer gives other ids for (docs/notes/bpe-in-savedmodel.md), and
# the text whose Hugging Face ids it gives instead, where a rule says (None: no rule)
DIFFERENCES = [
    ("nul", "before\x00after the NUL", "before"),
    ("nul", "a \x00 b", "a "),
    ("devanagari_six", "Devanagari six \u096c alone", None),
    ("devanagari_six", "inside wo\u096crd", None),
]


def corpus_lines() -> list[str]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    return lines


def train_roberta(lines, folder: Path):
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        lines,
        vocab_size=VOCABULARY_SIZE,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    folder.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(folder))


def roberta_reference(folder: Path):
    """The pipeline transformers builds for vocab.json + merges.txt (checked below)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tok = Tokenizer(models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    return tok


def train_modernbert(lines, folder: Path):
    from tokenizers import (
        AddedToken,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(
        add_prefix_space=False, trim_offsets=True, use_regex=True
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCABULARY_SIZE,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer)
    tok.add_special_tokens(
        ["[UNK]", "[CLS]", "[SEP]", "[PAD]", AddedToken("[MASK]", lstrip=True, normalized=False)]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[(t, tok.token_to_id(t)) for t in ("[CLS]", "[SEP]")],
    )
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))


def expected_ids(tok, texts, pairs) -> dict:
    tok.no_padding()
    tok.no_truncation()
    tokens = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    differences = [tok.encode(t, add_special_tokens=False).ids for _, t, _ in DIFFERENCES]
    instead = [None if t is None else tok.encode(t, add_special_tokens=False).ids
               for _, _, t in DIFFERENCES]  # fmt: skip
    tok.enable_truncation(max_length=SEQUENCE_LENGTH, strategy="longest_first")
    single = [e.ids for e in tok.encode_batch(texts)]
    pair = [e.ids for e in tok.encode_batch([list(p) for p in pairs])]
    tok.no_truncation()
    return {"tokens": tokens, "single": single, "pair": pair, "differences": differences,
            "differences_instead": instead}  # fmt: skip


def check_against_transformers(folder: Path, texts, pairs, expected: dict) -> None:
    from transformers import RobertaTokenizer

    hf = RobertaTokenizer.from_pretrained(str(folder))
    kwargs = {"truncation": "longest_first", "max_length": SEQUENCE_LENGTH}
    assert [hf(t, add_special_tokens=False)["input_ids"] for t in texts] == expected["tokens"]
    assert [hf(t, **kwargs)["input_ids"] for t in texts] == expected["single"]
    for (a, b), ids in zip(pairs, expected["pair"], strict=True):
        if b:  # transformers encodes (a, "") as the single text a; tokenizers as a pair
            assert hf(a, b, **kwargs)["input_ids"] == ids, (a, b)


def main() -> None:
    import tokenizers
    import transformers
    from tokenizers import Tokenizer

    lines = corpus_lines()
    step = len(lines) // CORPUS_LINES
    texts = [t for _, t in CASES] + lines[::step][:CORPUS_LINES]
    train_roberta(lines, OUT / "roberta")
    train_modernbert(lines, OUT / "modernbert")
    roberta = expected_ids(roberta_reference(OUT / "roberta"), texts, PAIRS)
    check_against_transformers(OUT / "roberta", texts, PAIRS, roberta)
    modernbert = expected_ids(
        Tokenizer.from_file(str(OUT / "modernbert" / "tokenizer.json")), texts, PAIRS
    )
    fixture = {
        "versions": {
            "tokenizers": tokenizers.__version__,
            "transformers": transformers.__version__,
        },
        "sequence_length": SEQUENCE_LENGTH,
        "classes": [c for c, _ in CASES] + ["corpus"] * (len(texts) - len(CASES)),
        "texts": texts,
        "pairs": [list(p) for p in PAIRS],
        "difference_classes": [c for c, _, _ in DIFFERENCES],
        "difference_texts": [t for _, t, _ in DIFFERENCES],
        "roberta": roberta,
        "modernbert": modernbert,
    }
    text = json.dumps(fixture, ensure_ascii=False, separators=(",", ":"))
    (OUT / "expected.json").write_text(text + "\n", encoding="utf-8")
    sizes = {p.relative_to(OUT).as_posix(): p.stat().st_size for p in sorted(OUT.rglob("*.*"))}
    print(json.dumps(sizes, indent=1), "total", sum(sizes.values()))


if __name__ == "__main__":
    main()
