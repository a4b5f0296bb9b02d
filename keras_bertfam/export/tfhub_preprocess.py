"""The TF-Hub preprocessor: raw text -> the encoder's inputs, with no variables.

Following the TF-Hub text API (tensorflow/hub `docs/common_saved_model_apis/text.md`),
the object is callable on a [batch] string tensor and returns int32 [batch,
sequence_length] tensors `input_word_ids`, `input_mask`, `input_type_ids`; it also has

- `tokenize(strings)`: ragged int32 ids without special tokens, [batch, (words),
  (pieces)] for WordPiece, [batch, (tokens)] for SentencePiece and byte-level BPE;
- `tokenize.get_special_tokens_dict()`: int32 scalars `vocab_size`,
  `start_of_sequence_id`, `end_of_segment_id`, `padding_id` and, when the vocabulary
  has one, `mask_id`;
- `bert_pack_inputs(segments, seq_length=sequence_length)`: one or two ragged
  segments (either rank) cut round-robin to fit and packed in the model's template:
  `[CLS] a [SEP] b [SEP]` with type ids 0 / 1 (BERT, ALBERT), or the tokenizer's
  `<s> a </s></s> b </s>` (RoBERTa's byte-level BPE), with type ids all 0 for a
  model with fewer than two segment types (RoBERTa, ModernBERT);
- the attributes older clients read: `vocab_file` (an asset) and `do_lower_case`
  for WordPiece, `sp_model_file` (an asset) for SentencePiece.

The vocabulary is inside the SavedModel, so the source files may be deleted.
"""

from __future__ import annotations

from pathlib import Path

from keras_bertfam.data.packing import specials_count

STRINGS = "strings"


def special_tokens(tokenizer) -> dict[str, int]:
    """What `tokenize.get_special_tokens_dict()` returns, as Python ints."""
    special = tokenizer.require_special("cls", "sep")
    found = tokenizer.special_ids
    tokens = {"vocab_size": tokenizer.vocabulary_size, "start_of_sequence_id": special["cls"],
              "end_of_segment_id": special["sep"], "padding_id": found.get("pad", 0)}  # fmt: skip
    if "mask" in found:
        tokens["mask_id"] = found["mask"]
    return tokens


def packer(tokens: dict, separators: int, type_ids: bool):
    """(list of ragged int32 segments, seq_length) -> the encoder's input dict."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    cls, sep, pad = (tokens[k] for k in ("start_of_sequence_id", "end_of_segment_id",
                                         "padding_id"))  # fmt: skip

    def pack(segments, seq_length):
        segments = [s.merge_dims(-2, -1) if s.ragged_rank > 1 else s for s in segments]
        segments = [tf.cast(s, tf.int32) for s in segments]
        budget = seq_length - specials_count(len(segments), separators)
        segments = tf_text.RoundRobinTrimmer(budget).trim(segments)
        extra = tf.fill([separators - 1], tf.constant(sep, tf.int32))
        segments = [_append(s, extra) for s in segments[:-1]] + segments[-1:]
        ids, types = tf_text.combine_segments(segments, cls, sep)
        if not type_ids:
            types = tf.zeros_like(types)
        word_ids, mask = tf_text.pad_model_inputs(ids, seq_length, pad)
        type_ids_, _ = tf_text.pad_model_inputs(types, seq_length, 0)
        return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": type_ids_}

    return pack


def _append(ragged, ids):
    """`ids` (int32 [n]) after every row of `ragged` [batch, None]."""
    import tensorflow as tf

    tail = tf.RaggedTensor.from_tensor(tf.tile(ids[None], [ragged.nrows(out_type=tf.int32), 1]))
    return tf.concat([ragged, tf.cast(tail, ragged.dtype)], axis=1)


def _tokenize_fn(tokenizer):
    """Strings -> ragged int32 ids with int64 row splits (what `bert_pack_inputs` takes)."""
    import tensorflow as tf

    words = getattr(tokenizer, "tokenize_words", None) or tokenizer.tokenize

    def tokenize(strings):
        return tf.cast(words(strings), tf.int32).with_row_splits_dtype(tf.int64)

    return tokenize


def preprocess_module(tokenizer, sequence_length: int, type_ids: bool, assets: Path):
    """The TF-Hub preprocessor object of `tokenizer`; legacy asset files go to `assets`."""
    import tensorflow as tf

    tokens = special_tokens(tokenizer)
    pack = packer(tokens, getattr(tokenizer, "pair_separators", 1), type_ids)
    tokenize = _tokenize_fn(tokenizer)
    text_spec = tf.TensorSpec([None], tf.string, name=STRINGS)

    obj = tf.train.Checkpoint()
    obj.tokenizer_tables = tokenizer._tokenizer  # the tf.text / keras-hub object and its tables
    obj.tokenize = tf.train.Checkpoint()
    obj.tokenize.__call__ = tf.function(lambda strings: tokenize(strings),
                                        input_signature=[text_spec])  # fmt: skip
    obj.tokenize.get_special_tokens_dict = tf.train.Checkpoint()
    obj.tokenize.get_special_tokens_dict.__call__ = tf.function(
        lambda: {k: tf.constant(v, tf.int32) for k, v in tokens.items()}, input_signature=[]
    )

    def bert_pack_inputs(inputs, seq_length=sequence_length):
        return pack(list(inputs), seq_length)

    obj.bert_pack_inputs = tf.train.Checkpoint()
    obj.bert_pack_inputs.__call__ = tf.function(bert_pack_inputs, autograph=False)
    for rank in (1, 2):
        for count in (1, 2):
            specs = [tf.RaggedTensorSpec([None] * (rank + 1), tf.int32) for _ in range(count)]
            obj.bert_pack_inputs.__call__.get_concrete_function(
                specs, seq_length=tf.TensorSpec([], tf.int32)
            )

    def preprocess(strings):
        packed = pack([tokenize(strings)], sequence_length)
        return {k: tf.ensure_shape(v, [None, sequence_length]) for k, v in packed.items()}

    obj.__call__ = tf.function(preprocess, input_signature=[text_spec])
    obj.variables, obj.trainable_variables, obj.regularization_losses = [], [], []
    legacy_attributes(obj, tokenizer, assets)
    return obj


def legacy_attributes(obj, tokenizer, assets: Path):
    """`vocab_file` + `do_lower_case` (WordPiece) or `sp_model_file` (SentencePiece) on
    `obj`, as the TF-Hub BERT and ALBERT SavedModels before preprocessors had them."""
    import tensorflow as tf

    assets.mkdir(parents=True, exist_ok=True)
    if tokenizer.kind == "wordpiece":
        path = assets / "vocab.txt"
        path.write_text("".join(f"{t}\n" for t in tokenizer.vocabulary), encoding="utf-8")
        obj.vocab_file = tf.saved_model.Asset(str(path))
        obj.do_lower_case = tf.Variable(bool(tokenizer.lower_case), trainable=False)
    elif tokenizer.kind == "sentencepiece":
        path = assets / "spiece.model"
        path.write_bytes(tokenizer.model_proto)
        obj.sp_model_file = tf.saved_model.Asset(str(path))
