"""The three tokenizer kinds of the BERT family, as TensorFlow ops (tf.text, keras-hub).

- `WordPieceTokenizer`: BERT's WordPiece on a `vocab.txt` (tf.text `BertTokenizer`);
- `SentencePieceTokenizer`: ALBERT's SentencePiece on a `*.model` (tf.text
  `FastSentencepieceTokenizer`);
- `BytePairTokenizer`: RoBERTa's and ModernBERT's byte-level BPE on `vocab.json` +
  `merges.txt` or a `tokenizer.json` (keras-hub `BytePairTokenizer`).

`keras_bertfam.data.tokenizers.load_tokenizer` picks the kind from the files.

Example:

>>> from keras_bertfam.data.tokenizer_kinds import WordPieceTokenizer
>>> tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "##s"])
>>> tok.tokenize(["Hellos"]).to_list(), tok.lower_case
([[4, 5]], True)
"""

from __future__ import annotations

import numpy as np

from keras_bertfam.data.tokenizers import Tokenizer, TokenizerError

# Unicode White_Space, which Hugging Face strips beside an lstrip / rstrip token (RE2 syntax)
WHITESPACE = r"[\s\x0B\x85\p{Z}]"


class WordPieceTokenizer(Tokenizer):
    """BERT's WordPiece on a `vocab.txt` (tf.text `BertTokenizer`).

    Args:
        vocabulary: list of tokens (line i is id i).
        lower_case: lower-case and strip accents; `None` guesses from the
            vocabulary (uncased when no token other than specials has an
            upper-case letter), as the published vocabularies are built.
        max_chars_per_word: longer words become [UNK] (BERT: 100).
    """

    kind = "wordpiece"

    def __init__(self, vocabulary, lower_case=None, max_chars_per_word=100, files=()):
        import tensorflow as tf
        import tensorflow_text as tf_text

        self.vocabulary = list(vocabulary)
        self.files = list(files)
        if "[UNK]" not in self.vocabulary:
            raise TokenizerError(f"WordPiece vocabulary {self.files} has no [UNK] token")
        if lower_case is None:
            lower_case = not any(
                t.lower() != t
                for t in self.vocabulary
                if not (t.startswith("[") and t.endswith("]"))
            )
        self.lower_case = lower_case
        table = tf.lookup.StaticVocabularyTable(
            tf.lookup.KeyValueTensorInitializer(
                self.vocabulary, tf.range(len(self.vocabulary), dtype=tf.int64)
            ),
            num_oov_buckets=1,
        )
        # Normalization is done here, as BERT does it (Python's lower(), then NFD and
        # dropping combining marks); tf.text's own lower_case also applies NFKC,
        # which would map e.g. a full-width comma to ",".
        self._tokenizer = tf_text.BertTokenizer(
            table,
            token_out_type=tf.int64,
            unknown_token="[UNK]",
            lower_case=False,
            max_bytes_per_word=max_chars_per_word,
        )

    def _normalize(self, texts):
        import tensorflow as tf
        import tensorflow_text as tf_text

        # BERT's clean_text: whitespace (incl. no-break spaces) becomes " ", controls go
        texts = tf.strings.regex_replace(texts, r"[\t\n\r\p{Zs}]", " ")
        texts = tf.strings.regex_replace(texts, r"[\p{C}\x{FFFD}]", "")
        if self.lower_case:
            texts = tf.strings.lower(texts, encoding="utf-8")
            texts = tf_text.normalize_utf8(texts, "NFD")
            texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
        return texts

    def _tokenize(self, texts):
        return self.tokenize_words(texts).merge_dims(-2, -1)

    def tokenize_words(self, texts):
        """Strings [batch] -> int32 ragged [batch, (words), (pieces)]: the pieces of each word."""
        import tensorflow as tf

        return tf.cast(self._tokenizer.tokenize(self._normalize(texts)), tf.int32)

    def detokenize(self, ids):
        import tensorflow as tf

        words = self._tokenizer.detokenize(ids)
        return tf.strings.reduce_join(words, axis=-1, separator=" ")

    def word_starts(self):
        return np.array([not t.startswith("##") for t in self.vocabulary])


class SentencePieceTokenizer(Tokenizer):
    """SentencePiece on a serialized `*.model` file (tf.text `FastSentencepieceTokenizer`)."""

    kind = "sentencepiece"

    def __init__(self, model_proto: bytes, files=()):
        import sentencepiece
        import tensorflow_text as tf_text

        self.files = list(files)
        processor = sentencepiece.SentencePieceProcessor()
        try:
            processor.LoadFromSerializedProto(model_proto)
        except Exception as err:  # sentencepiece raises RuntimeError/OSError variants
            raise TokenizerError(
                f"{self.files} is not a valid SentencePiece model: {err}"
            ) from None
        self.vocabulary = [processor.IdToPiece(i) for i in range(processor.GetPieceSize())]
        self.model_proto = model_proto
        # The "fast" kernel breaks ties between equal-scoring segmentations as the
        # sentencepiece library does (the older one does not), and has a TFLite kernel.
        self._tokenizer = tf_text.FastSentencepieceTokenizer(model_proto)

    def _tokenize(self, texts):
        return self._tokenizer.tokenize(texts)

    def detokenize(self, ids):
        return self._tokenizer.detokenize(ids)

    def word_starts(self):
        return np.array(
            [
                t.startswith("\u2581") or t.startswith("<") or t.startswith("[")
                for t in self.vocabulary
            ]
        )


class BytePairTokenizer(Tokenizer):
    """Byte-level BPE (GPT-2, RoBERTa, ModernBERT) on `vocab.json` + `merges.txt` or the BPE
    model of a `tokenizer.json` (keras-hub `BytePairTokenizer`, traceable into a SavedModel).

    Ids equal those of Hugging Face `tokenizers` on the same files, special tokens
    written in the text (`<mask>`, `[SEP]`) included, except on two characters (see
    docs/notes/bpe-in-savedmodel.md): the text from a U+0000 on is dropped, and U+096C
    (Devanagari digit six), keras-hub's internal word marker, can change the words
    around it.

    Args:
        vocabulary: dict, token -> id.
        merges: list of "a b" merge rules, the first applied first.
        files: the source files (`copy_files` copies them).
        normalizer: None or a Unicode normal form ("NFC", "NFD", "NFKC", "NFKD"),
            applied first (a tokenizer.json's normalizer).
        add_prefix_space: put a space before a text that does not start with one.
        pair_separators: separators between the two texts of a pair; None: 2 when the
            separator is `</s>` (RoBERTa: `<s> a </s></s> b </s>`), else 1.
        packing_tokens: (cls, sep) tokens of the file's post-processor, which must be
            the vocabulary's [CLS] and [SEP] roles; None: not checked.
        strip: {special token: (lstrip, rstrip)}: the whitespace before / after the
            token belongs to it (tokenizer.json's added-token flags).
    """

    kind = "bpe"

    def __init__(self, vocabulary: dict, merges: list[str], files=(), normalizer=None,
                 add_prefix_space=False, pair_separators=None, packing_tokens=None,
                 strip=None):  # fmt: skip
        import keras_hub
        import tensorflow as tf

        self.files = list(files)
        size = max(vocabulary.values()) + 1
        self.vocabulary = [""] * size
        for token, i in vocabulary.items():
            self.vocabulary[i] = token
        self.normalizer = normalizer
        self.add_prefix_space = add_prefix_space
        self.strip = dict(strip or {})
        roles = {role: self.vocabulary[i] for role, i in self.special_ids.items()}
        if packing_tokens is not None and (roles.get("cls"), roles.get("sep")) != tuple(
            packing_tokens
        ):
            raise TokenizerError(
                f"{[str(f) for f in self.files]}: the post-processor packs with "
                f"{tuple(packing_tokens)} but the vocabulary's [CLS] and [SEP] roles are "
                f"{(roles.get('cls'), roles.get('sep'))}"
            )
        if pair_separators is None:
            pair_separators = 2 if roles.get("sep") == "</s>" else 1
        self.pair_separators = pair_separators
        # special tokens in the text stay whole, as Hugging Face's added tokens do
        specials = sorted(set(roles.values()), key=len, reverse=True)
        self._tokenizer = keras_hub.tokenizers.BytePairTokenizer(
            vocabulary=vocabulary, merges=merges, sequence_length=None,
            unsplittable_tokens=specials or None, dtype="int32",
        )  # fmt: skip
        # keras-hub hands eager callers Python lists; traced, it gives a RaggedTensor.
        self._traced = tf.function(
            self._graph_tokenize, input_signature=[tf.TensorSpec([None], tf.string)]
        )
        self._traced_detokenize = tf.function(self._tokenizer.detokenize)

    def _prepare(self, texts):
        """The text as Hugging Face's pipeline hands it to the BPE: normalized, the
        whitespace around stripping special tokens removed, a prefix space added."""
        import re

        import tensorflow as tf
        import tensorflow_text as tf_text

        if self.normalizer:
            texts = tf_text.normalize_utf8(texts, self.normalizer)
        for token, (left, right) in self.strip.items():
            token = f"({re.escape(token)})"
            if left:
                texts = tf.strings.regex_replace(texts, WHITESPACE + "+" + token, r"\1")
            if right:
                texts = tf.strings.regex_replace(texts, token + WHITESPACE + "+", r"\1")
        if self.add_prefix_space:
            texts = tf.strings.regex_replace(texts, "^([^ ])", r" \1")
        return texts

    def _graph_tokenize(self, texts):
        return self._tokenizer.tokenize(self._prepare(texts))

    def _tokenize(self, texts):
        import tensorflow as tf

        if tf.executing_eagerly():
            return self._traced(texts)
        return self._graph_tokenize(texts)

    def detokenize(self, ids):
        """Ids -> the bytes they stand for, as text (a word keeps its leading space)."""
        import tensorflow as tf

        if tf.executing_eagerly():
            return self._traced_detokenize(ids)
        return self._tokenizer.detokenize(ids)

    def word_starts(self):
        return np.array([t.startswith("\u0120") or t.startswith("<") for t in self.vocabulary])
