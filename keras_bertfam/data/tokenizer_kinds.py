"""The three tokenizer kinds of the BERT family, as TensorFlow ops (tf.text, keras-hub).

- `WordPieceTokenizer`: BERT's WordPiece on a `vocab.txt` (tf.text `BertTokenizer`);
- `SentencePieceTokenizer`: ALBERT's SentencePiece on a `*.model` (tf.text
  `FastSentencepieceTokenizer`);
- `BytePairTokenizer`: RoBERTa's byte-level BPE on `vocab.json` + `merges.txt`
  (keras-hub `BytePairTokenizer`).

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
        return self._tokenizer.tokenize(self._normalize(texts)).merge_dims(-2, -1)

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
    """Byte-level BPE (GPT-2/RoBERTa) on `vocab.json` + `merges.txt` (keras-hub)."""

    kind = "bpe"

    def __init__(self, vocabulary: dict, merges: list[str], files=()):
        import keras_hub

        self.files = list(files)
        size = max(vocabulary.values()) + 1
        self.vocabulary = [""] * size
        for token, i in vocabulary.items():
            self.vocabulary[i] = token
        import tensorflow as tf

        self._tokenizer = keras_hub.tokenizers.BytePairTokenizer(
            vocabulary=vocabulary, merges=merges, sequence_length=None, dtype="int32"
        )
        # keras-hub hands eager callers Python lists; traced, it gives a RaggedTensor.
        self._traced = tf.function(
            self._tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)]
        )

    def _tokenize(self, texts):
        import tensorflow as tf

        if tf.executing_eagerly():
            return self._traced(texts)
        return self._tokenizer.tokenize(texts)

    def word_starts(self):
        return np.array([t.startswith("\u0120") or t.startswith("<") for t in self.vocabulary])
