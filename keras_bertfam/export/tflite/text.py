"""Raw-text TFLite models: the tokenizer and [CLS]/[SEP] packing inside the graph.

`text_packer` builds `text [B] -> {token_ids, segment_ids, padding_mask} [B, S]`
from tf.text's fast tokenizers (TFLite custom ops) and builtin ops; `pack_texts`
is its numpy twin on the library tokenizer, the Keras side of the report. Both
give `[CLS] ids[:S-2] [SEP]` padded to S (see `keras_bertfam.export.tflite`
for where tf.text's fast normalizer gives other ids).

Example:

>>> import tensorflow as tf
>>> from keras_bertfam.data.tokenizers import WordPieceTokenizer
>>> from keras_bertfam.export.tflite import pack_texts, text_packer
>>> tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s"])
>>> pack_texts(tok, ["Hello worlds", "hello hello hello hello"], 5)["token_ids"].tolist()
[[2, 4, 5, 6, 3], [2, 4, 4, 4, 3]]
>>> text_packer(tok, 5)(tf.constant(["Hello worlds", ""]))["padding_mask"].numpy().tolist()
[[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]
"""

from __future__ import annotations

import numpy as np

from keras_bertfam.errors import InputError


def _text_tokenizer(tokenizer):
    """The `Tokenizer` of `tokenizer` (or a path), refused unless tf.text has TFLite
    kernels for it (WordPiece, SentencePiece) and it has [CLS] and [SEP]."""
    from keras_bertfam.data.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tokenizer)
    if tokenizer.kind == "bpe":
        raise InputError(
            "tokenizer: byte-level BPE (keras-hub) has no TFLite kernel, so it cannot run "
            "inside a raw-text TFLite model; use a WordPiece or SentencePiece vocabulary, "
            "or export token ids (tokenizer=None) and tokenize in the app (a SavedModel's "
            "raw-text signature does run byte-level BPE: export_saved_model)"
        )
    if tokenizer.kind not in ("wordpiece", "sentencepiece"):
        raise InputError(f"tokenizer of kind {tokenizer.kind!r} has no TFLite kernel")
    tokenizer.require_special("cls", "sep")
    return tokenizer


def text_packer(tokenizer, sequence_length: int):
    """A traceable `text [B] -> {token_ids, segment_ids, padding_mask} [B, S]` with
    TFLite-convertible ops: the tf.text fast tokenizer, then builtin ops only
    ([CLS] ids[:S-2] [SEP], padded), the packing of `export_saved_model`."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    special = tokenizer.require_special("cls", "sep")
    pad_id = tokenizer.special_ids.get("pad", 0)
    if tokenizer.kind == "wordpiece":
        wordpiece = getattr(tokenizer._tokenizer, "_wordpiece_tokenizer", None)
        fast = tf_text.FastBertTokenizer(
            tokenizer.vocabulary,
            token_out_type=tf.int32,
            unknown_token="[UNK]",
            max_bytes_per_word=getattr(wordpiece, "_max_bytes_per_word", 100),
            lower_case_nfd_strip_accents=tokenizer.lower_case,
        )
    else:
        fast = tf_text.FastSentencepieceTokenizer(tokenizer.model_proto)
    body = sequence_length - 2

    def pack(text):
        ids = fast.tokenize(text)
        values = tf.concat([tf.cast(ids.flat_values, tf.int32), [pad_id]], axis=0)
        starts = tf.cast(ids.row_splits[:-1], tf.int32)[:, None]
        lengths = tf.minimum(tf.cast(ids.row_lengths(), tf.int32), body)[:, None]
        positions = tf.range(body, dtype=tf.int32)[None]
        # gather row b's first `lengths[b]` ids; the rest points at the trailing pad
        index = tf.where(positions < lengths, starts + positions, tf.shape(values)[0] - 1)
        batch = tf.shape(text)[0]
        cls = tf.fill([batch, 1], special["cls"])
        token_ids = tf.concat([cls, tf.gather(values, index), tf.fill([batch, 1], pad_id)], 1)
        positions = tf.range(sequence_length, dtype=tf.int32)[None]
        token_ids = tf.where(positions == lengths + 1, special["sep"], token_ids)
        padding_mask = tf.cast(positions < lengths + 2, tf.int32)
        return {
            "token_ids": token_ids,
            "segment_ids": tf.zeros_like(token_ids),
            "padding_mask": padding_mask,
        }

    return pack


def pack_texts(tokenizer, texts, sequence_length: int) -> dict:
    """The Keras-side packing of `texts` with the library tokenizer (numpy): the
    single-segment packing of the task data (`keras_bertfam.data.tasks.pack`), padded."""
    from keras_bertfam.data.tasks import pack

    special = tokenizer.require_special("cls", "sep")
    pad_id = tokenizer.special_ids.get("pad", 0)
    token_ids = np.full((len(texts), sequence_length), pad_id, "int32")
    padding_mask = np.zeros((len(texts), sequence_length), "int32")
    for row, ids in enumerate(tokenizer.tokenize(list(texts)).to_list()):
        ids, _ = pack([ids], sequence_length, special["cls"], special["sep"])
        token_ids[row, : len(ids)] = ids
        padding_mask[row, : len(ids)] = 1
    return {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": padding_mask,
    }
