"""In-graph tokenizers for the BERT family: WordPiece, SentencePiece, byte-level BPE.

`load_tokenizer(path)` reads a vocabulary the way the published checkpoints ship
it and returns a `Tokenizer` whose `tokenize` runs as TensorFlow ops (tf.text
and keras-hub), so it can be traced into a `tf.data` pipeline or a SavedModel:

- `vocab.txt`: WordPiece with BERT's basic tokenization (tf.text's
  `BertTokenizer`: lower-casing and accent stripping for uncased vocabularies,
  punctuation split, CJK characters one by one);
- `spiece.model` (or any `*.model`): SentencePiece (tf.text's
  `FastSentencepieceTokenizer`);
- `vocab.json` + `merges.txt`: byte-level BPE (keras-hub's `BytePairTokenizer`);
- `tokenizer.json`: the Hugging Face file, by its model type (WordPiece or BPE; for
  BPE also its normalizer, pre-tokenizer, post-processor and special-token flags:
  `keras_bertfam.data.tokenizer_json`).

`path` may be the file or a folder holding one of them. Ids equal those of the
Hugging Face tokenizers for the same files (tested on all-MiniLM-L6-v2's vocab).

Example:

>>> import tempfile, os
>>> from keras_bertfam.data.tokenizers import load_tokenizer
>>> folder = tempfile.mkdtemp()
>>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", ","]
>>> _ = open(os.path.join(folder, "vocab.txt"), "w").write("\\n".join(words))
>>> tok = load_tokenizer(folder)
>>> tok.tokenize(["Hello, worlds"]).to_list()
[[5, 8, 6, 7]]
>>> tok.special_ids["mask"], tok.vocabulary_size
(4, 9)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from keras_bertfam import requires
from keras_bertfam.errors import InputError

SPECIAL_CANDIDATES = {
    "cls": ("[CLS]", "<s>"),
    "sep": ("[SEP]", "</s>"),
    "mask": ("[MASK]", "<mask>"),
    "pad": ("[PAD]", "<pad>"),
    "unk": ("[UNK]", "<unk>"),
}


class TokenizerError(InputError):
    """A vocabulary file is missing, unreadable or lacks what a task needs."""


class Tokenizer:
    """Common interface: `tokenize` (TF op), vocabulary, special ids, word starts.

    Subclasses set `kind`, `vocabulary` (list of tokens by id), `files` (the
    source files) and implement `_tokenize(tf.Tensor[string]) -> RaggedTensor`.
    """

    kind = "base"
    vocabulary: list[str]
    files: list[Path]
    pair_separators = 1  # [SEP]s between the texts of a pair (RoBERTa's BPE: 2)

    def tokenize(self, texts):
        """Strings ([batch] or a list) -> `tf.RaggedTensor` of int32 ids, no special tokens."""
        import tensorflow as tf

        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank == 0:
            return tf.cast(self._tokenize(texts[None])[0], tf.int32)
        return tf.cast(self._tokenize(texts), tf.int32)

    def __call__(self, texts):
        return self.tokenize(texts)

    def detokenize(self, ids):
        """Ids ([batch, None] ragged or dense) -> text [batch] (in the graph, for export).

        WordPiece gives words joined by spaces (BERT's normalization, e.g.
        lower-casing, is not undone); SentencePiece gives the original text.
        """
        raise NotImplementedError(f"{self.kind} tokenizers cannot detokenize in the graph")

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    @property
    def special_ids(self) -> dict[str, int]:
        """Ids of the special tokens present: keys among cls, sep, mask, pad, unk."""
        index = {token: i for i, token in enumerate(self.vocabulary)}
        found = {}
        for role, candidates in SPECIAL_CANDIDATES.items():
            for token in candidates:
                if token in index:
                    found[role] = index[token]
                    break
        return found

    def require_special(self, *roles: str) -> dict[str, int]:
        """The ids of `roles`, or a `TokenizerError` that names the missing tokens."""
        found = self.special_ids
        missing = [r for r in roles if r not in found]
        if missing:
            wanted = {r: SPECIAL_CANDIDATES[r] for r in missing}
            raise TokenizerError(
                f"the {self.kind} vocabulary from {[str(f) for f in self.files]} lacks special "
                f"token(s) {wanted}; pretraining data needs them"
            )
        return {r: found[r] for r in roles}

    def word_starts(self) -> np.ndarray:
        """Bool [V]: True for tokens that begin a word (used by whole-word masking)."""
        raise NotImplementedError

    def copy_files(self, folder) -> Path:
        """Copy the vocabulary files into `folder` (created); returns the folder."""
        import shutil

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for path in self.files:
            shutil.copy(path, folder / Path(path).name)
        return folder

    def id_to_token(self, ids) -> list[str]:
        return [self.vocabulary[i] for i in ids]

    def token_to_id(self, token: str) -> int:
        try:
            return self.vocabulary.index(token)
        except ValueError:
            raise TokenizerError(
                f"token {token!r} is not in the {self.kind} vocabulary from "
                f"{[str(f) for f in self.files]}"
            ) from None


def __getattr__(name):
    # the tokenizer kinds live in their own module, which builds on `Tokenizer` above
    if name in ("WordPieceTokenizer", "SentencePieceTokenizer", "BytePairTokenizer"):
        from keras_bertfam.data import tokenizer_kinds

        return getattr(tokenizer_kinds, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenizerError(f"tokenizer file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise TokenizerError(f"tokenizer file {str(path)!r} is a directory, not a file") from None
    except UnicodeDecodeError as err:
        raise TokenizerError(f"tokenizer file {str(path)!r} is not UTF-8 text: {err}") from None
    except OSError as err:
        raise TokenizerError(f"cannot read tokenizer file {str(path)!r}: {err}") from None


def _from_tokenizer_json(path: Path) -> Tokenizer:
    from keras_bertfam.data.tokenizer_kinds import BytePairTokenizer, WordPieceTokenizer

    try:
        spec = json.loads(_read_text(path))
        model = spec["model"]
        kind = model["type"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise TokenizerError(f"{str(path)!r} is not a Hugging Face tokenizer.json: {err}") from None
    if kind == "WordPiece":
        vocab = sorted(model["vocab"], key=model["vocab"].get)
        normalizer = spec.get("normalizer") or {}
        lower_case = (
            normalizer.get("lowercase") if normalizer.get("type") == "BertNormalizer" else None
        )
        return WordPieceTokenizer(
            vocab, lower_case, model.get("max_input_chars_per_word", 100), files=[path]
        )
    if kind == "BPE":
        from keras_bertfam.data.tokenizer_json import bpe_options

        merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
        vocab = dict(model["vocab"])  # with the added tokens the model's vocab may lack
        try:
            vocab.update({t["content"]: t["id"] for t in spec.get("added_tokens") or []})
        except (KeyError, TypeError) as err:
            raise TokenizerError(
                f"{str(path)!r} has a malformed added_tokens entry: {err}"
            ) from None
        return BytePairTokenizer(vocab, merges, files=[path], **bpe_options(spec, path))
    raise TokenizerError(
        f"{str(path)!r} has model type {kind!r}; supported in tokenizer.json: WordPiece, BPE "
        "(for Unigram/SentencePiece models, pass the spiece.model file)"
    )


def tokenizer_file(folder) -> Path | None:
    """The file `load_tokenizer(folder)` reads, or None when `folder` holds none.

    In order: tokenizer.json, vocab.txt, spiece.model / sentencepiece.model /
    *.model, vocab.json (+ merges.txt), then the same inside a `tokenizer/`
    subfolder (as keras_bertfam's output folders have).
    """
    folder = Path(folder)
    for name in ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.model"):
        if (folder / name).is_file():
            return folder / name
    models = sorted(p for p in folder.glob("*.model") if p.is_file())
    if models:
        return models[0]
    if (folder / "vocab.json").is_file():
        return folder / "vocab.json"
    if (folder / "tokenizer").is_dir():
        return tokenizer_file(folder / "tokenizer")
    return None


def find_tokenizer(folder) -> Tokenizer | None:
    """The tokenizer of a model folder, or None when the folder has no tokenizer file.

    Unlike catching `load_tokenizer`'s errors, a tokenizer file that is there but
    unreadable (corrupt, not UTF-8, an unsupported kind) still raises
    `TokenizerError`: it is never silently treated as "no tokenizer".
    """
    found = tokenizer_file(folder)
    return None if found is None else load_tokenizer(found)


def load_tokenizer(path) -> Tokenizer:
    """Load the tokenizer in `path` (a vocabulary file or a folder holding one).

    A `Tokenizer` passed in is returned as it is, so callers can take either.
    Folders are searched for, in order: tokenizer.json, vocab.txt, spiece.model /
    sentencepiece.model / *.model, vocab.json + merges.txt, then a `tokenizer/`
    subfolder (as keras_bertfam's output folders have).
    """
    from keras_bertfam.data.tokenizer_kinds import (
        BytePairTokenizer,
        SentencePieceTokenizer,
        WordPieceTokenizer,
    )

    if isinstance(path, Tokenizer):
        return path
    requires.tensorflow_text("the tokenizers (tf.text and keras-hub ops)")
    path = Path(path)
    if path.is_dir():
        found = tokenizer_file(path)
        if found is None and path.suffix in (".txt", ".model", ".json"):
            raise TokenizerError(f"tokenizer file {str(path)!r} is a directory, not a file")
        if found is None:
            raise TokenizerError(
                f"no tokenizer in {str(path)!r}: expected tokenizer.json, vocab.txt, "
                "spiece.model or vocab.json + merges.txt"
            )
        path = found
    if not path.is_file():
        raise TokenizerError(f"tokenizer file {str(path)!r} does not exist")
    if path.name == "tokenizer.json":
        return _from_tokenizer_json(path)
    if path.suffix == ".txt":
        vocab = _read_text(path).splitlines()
        if not vocab:
            raise TokenizerError(f"WordPiece vocabulary {str(path)!r} is empty")
        return WordPieceTokenizer([line.rstrip("\r") for line in vocab], files=[path])
    if path.suffix == ".model":
        try:
            proto = path.read_bytes()
        except OSError as err:
            raise TokenizerError(f"cannot read tokenizer file {str(path)!r}: {err}") from None
        return SentencePieceTokenizer(proto, files=[path])
    if path.suffix == ".json":
        merges_path = path.with_name("merges.txt")
        try:
            vocab = json.loads(_read_text(path))
        except json.JSONDecodeError as err:
            raise TokenizerError(f"{str(path)!r} is not valid JSON: {err}") from None
        merges = [
            line
            for line in _read_text(merges_path).splitlines()
            if line and not line.startswith("#version")
        ]
        return BytePairTokenizer(vocab, merges, files=[path, merges_path])
    raise TokenizerError(
        f"don't know how to read {str(path)!r}: expected vocab.txt, *.model, vocab.json or "
        "tokenizer.json"
    )
