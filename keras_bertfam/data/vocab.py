"""Train a vocabulary from a corpus: WordPiece, SentencePiece or byte-level BPE.

Each kind uses the well-kept trainer of its family and writes the files that
`load_tokenizer` reads:

- "wordpiece": tf.text's `bert_vocab_from_dataset` → `vocab.txt`, with
  [PAD] [UNK] [CLS] [SEP] [MASK] first (BERT's layout, uncased by default);
- "sentencepiece": the sentencepiece trainer (unigram) → `spiece.model` +
  `spiece.vocab`, with <pad> <unk> [CLS] [SEP] [MASK] first (ALBERT's layout);
- "bpe": Hugging Face `tokenizers`' byte-level BPE trainer → `vocab.json` +
  `merges.txt`, with <s> <pad> </s> <unk> <mask> first (RoBERTa's layout).

Example (command line):

    bertfam create-vocab --kind sentencepiece --size 8000 --out vocab/ corpus.txt
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from keras_bertfam.data.corpus import CorpusError, CorpusStats, read_documents
from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.kinds import VOCABULARY_KINDS

log = logging.getLogger("keras_bertfam")

KINDS = VOCABULARY_KINDS
WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SENTENCEPIECE_CONTROL = ["[CLS]", "[SEP]", "[MASK]"]
BPE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def _sentences(paths, format, stats):
    for doc in read_documents(paths, format, stats=stats):
        yield from doc


def create_vocab(
    kind: str, size: int, corpus, out_dir, lower_case: bool = True, format: str = "bert"
) -> list[Path]:
    """Train a `kind` vocabulary of about `size` tokens on `corpus` files into `out_dir`.

    Returns the written files. Raises `CorpusError` if the corpus has no text. When
    the trainer stops short of `size` (a small corpus), a warning on the
    "keras_bertfam" logger says what size was reached and why (`shortfall`).
    """
    if kind not in KINDS:
        raise InputError(f"kind={kind!r} is not one of {list(KINDS)}")
    if size < 50:
        raise InputError(f"size={size} is too small for a vocabulary (>= 50)")
    corpus = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output {str(out)!r} is a file, not a folder")
    stats = CorpusStats()
    sentences = list(_sentences(corpus, format, stats))
    if not sentences:
        raise CorpusError(
            f"no text to train a vocabulary on in {list(map(str, corpus))}: {stats.report()}"
        )
    out.mkdir(parents=True, exist_ok=True)
    text_file = out / ".training_text.txt"
    text_file.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    try:
        if kind == "wordpiece":
            files = [_wordpiece(sentences, size, out, lower_case)]
        elif kind == "sentencepiece":
            files = _sentencepiece(text_file, size, out, lower_case)
        else:
            files = _bpe(text_file, size, out)
    finally:
        text_file.unlink(missing_ok=True)
    reached = vocabulary_size(kind, files)
    reason = shortfall(kind, size, reached)
    if reason:
        log.warning(
            "%s vocabulary in %s: %d tokens, fewer than the %d asked for: %s",
            kind, out, reached, size, reason,
        )  # fmt: skip
    return files


def vocabulary_size(kind: str, files) -> int:
    """The number of tokens in the vocabulary files `create_vocab` wrote."""
    first = Path(files[0])
    if kind == "wordpiece":
        return len(first.read_text(encoding="utf-8").splitlines())
    if kind == "sentencepiece":
        import sentencepiece as spm

        return spm.SentencePieceProcessor(model_file=str(first)).get_piece_size()
    return len(json.loads(first.read_text(encoding="utf-8")))


_STOPS = {
    "wordpiece": "the WordPiece learner keeps only words and pieces seen at least 10 times "
    "in the corpus, and its search for a count threshold stops up to 5% under the size",
    "sentencepiece": "sentencepiece (hard_vocab_limit=False) stops when the corpus offers "
    "no more pieces",
    "bpe": "the byte-level BPE trainer stops when no pair of tokens occurs at least twice "
    "(min_frequency=2)",
}


def shortfall(kind: str, size: int, reached: int) -> str | None:
    """Why a trained vocabulary has `reached` < `size` tokens (None when it does not).

    >>> shortfall("bpe", 8000, 2705)[:48]
    'the byte-level BPE trainer stops when no pair of'
    >>> shortfall("bpe", 8000, 8000) is None
    True
    """
    if reached >= size:
        return None
    return f"{_STOPS[kind]}; a larger corpus gives more"


def _wordpiece(sentences, size, out, lower_case):
    import tensorflow as tf
    from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as bvd

    vocab = bvd.bert_vocab_from_dataset(
        tf.data.Dataset.from_tensor_slices(sentences).batch(1000),
        vocab_size=size,
        reserved_tokens=WORDPIECE_SPECIALS,
        bert_tokenizer_params={"lower_case": lower_case},
        learn_params={},
    )
    path = out / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


def _sentencepiece(text_file, size, out, lower_case):
    import sentencepiece as spm

    try:
        _train_sentencepiece(spm, text_file, size, out, lower_case)
    except RuntimeError as err:  # e.g. a size below the number of characters to cover
        raise InputError(
            f"sentencepiece cannot train a vocabulary of size={size} here: "
            f"{str(err).split('] ')[-1]}"
        ) from None
    return [out / "spiece.model", out / "spiece.vocab"]


def _train_sentencepiece(spm, text_file, size, out, lower_case):
    spm.SentencePieceTrainer.train(
        input=str(text_file),
        model_prefix=str(out / "spiece"),
        vocab_size=size,
        model_type="unigram",
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=SENTENCEPIECE_CONTROL,
        normalization_rule_name="nmt_nfkc_cf" if lower_case else "nmt_nfkc",
        hard_vocab_limit=False,
        minloglevel=2,
    )


def _bpe(text_file, size, out):
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train(
        [str(text_file)],
        vocab_size=size,
        min_frequency=2,
        special_tokens=BPE_SPECIALS,
        show_progress=False,
    )
    trainer.save_model(str(out))
    return [out / "vocab.json", out / "merges.txt"]
