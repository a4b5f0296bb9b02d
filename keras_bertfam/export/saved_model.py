"""SavedModels for TF Serving: raw-text and token-id signatures, versioned folders.

`export_saved_model(model, tokenizer, "saved_models", name)` writes
`saved_models/<name>/<version>/` (a new version number each time; TF Serving
serves the highest; an existing version is never replaced without
`overwrite=True`) with two signatures:

- `serving_default` on raw strings: `text` (and `text_b` for sentence-pair
  classifiers; `question` + `context` for question answering). The tokenizer,
  trimming to `max_seq_length` (documented: longer texts are cut, the longer
  segment first; QA cuts the context), [CLS]/[SEP] packing and padding run in
  the graph. Empty strings are valid (they encode as [CLS] [SEP]); a batch of
  zero returns zero rows.
- `encode(input_word_ids, input_mask, input_type_ids)`: int32 [batch, seq] with
  the TF-Hub names, returning the same outputs (without the text-only ones).

What comes out is what the task means:

| model | outputs |
| --- | --- |
| encoder / pretrainer | `pooled_output`, `sequence_output`, `padding_mask`, `sentence_embedding` (mean-pooled, L2-normalized) |
| classification | `probabilities` [B, C], `label` [B] and `label_names` [B, C] (strings), `logits` |
| token classification | `probabilities` [B, S, C], `tag` [B, S] (strings), `padding_mask` |
| question answering | `start`, `end` (token positions of the best span in the context), `score`, `null_score` (SQuAD 2.0: no answer when it beats `score`), `answer` (text; raw-text signature only) |

The SavedModel needs only `tensorflow` and `tensorflow_text` to load (not
keras, not keras_bertfam). Byte-level BPE (keras-hub) tokenizers are refused
for the raw-text signature (pass `tokenizer=None` for `encode` only).

Example (command line, after pretraining):

    python -c "import tensorflow as tf, tensorflow_text; \\
      m = tf.saved_model.load('saved_models/demo/1'); \\
      print(m.signatures['serving_default'](text=tf.constant(['hello']))['pooled_output'].shape)"
"""  # noqa: E501

from __future__ import annotations

from pathlib import Path

import keras

from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.models.builders import encoder_of

TASKS = ("encoder", "classification", "token_classification", "question_answering")
MAX_ANSWER_TOKENS = 30


def next_version(root: Path) -> int:
    versions = [int(p.name) for p in root.glob("*") if p.name.isdigit()]
    return max(versions, default=0) + 1


def task_of(model: keras.Model) -> str:
    """The task a keras_bertfam model serves, from its outputs."""
    outputs = set(model.output)
    if "start_logits" in outputs:
        return "question_answering"
    if "logits" in outputs:
        if len(model.input["token_ids"].shape) == 3:
            return "multiple_choice"
        return (
            "token_classification" if len(model.output["logits"].shape) == 3 else "classification"
        )
    return "encoder"


def export_saved_model(
    model: keras.Model,
    tokenizer,
    root="saved_models",
    name: str = "model",
    max_seq_length: int = 128,
    version: int | None = None,
    overwrite: bool = False,
    labels: list[str] | None = None,
    pairs: bool = False,
) -> Path:
    """Export `model` (encoder, pretrainer or task model) for TF Serving; returns the folder.

    Args:
        tokenizer: a `Tokenizer` (WordPiece or SentencePiece) for the raw-text
            `serving_default`, or None to export only `encode` on token ids.
        labels: class / tag names of a classifier (default "0", "1", ...).
        pairs: the classifier reads sentence pairs (`text`, `text_b`).
    """
    import tensorflow as tf

    task = task_of(model)
    if task == "multiple_choice":
        raise InputError(
            "multiple-choice models are not exportable yet (their inputs are [batch, choices, "
            "seq]); export the encoder or score choices client-side"
        )
    if tokenizer is not None and tokenizer.kind == "bpe":
        raise InputError(
            "a raw-text signature needs a WordPiece or SentencePiece tokenizer; the byte-level "
            "BPE tokenizer (keras-hub) cannot run inside a SavedModel yet: pass tokenizer=None "
            "to export only the `encode` signature on token ids"
        )
    if task == "encoder":
        model = encoder_of(model)
    folder = Path(root) / name
    version = version or next_version(folder)
    target = folder / str(version)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{str(target)!r} exists; pass overwrite=True to replace it")
    if task in ("classification", "token_classification"):
        classes = int(model.output["logits"].shape[-1])
        labels = list(labels) if labels else [str(k) for k in range(classes)]
        if len(labels) != classes:
            raise InputError(f"labels has {len(labels)} names but the model has {classes} classes")

    module = tf.Module()
    module.model = model
    heads = _heads(task, labels)
    spec = tf.TensorSpec([None, None], tf.int32)

    def run(token_ids, padding_mask, segment_ids):
        out = model(
            {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask},
            training=False,
        )
        out = {k: tf.cast(v, tf.float32) for k, v in out.items()}
        return heads(out, padding_mask, segment_ids)

    @tf.function(input_signature=[spec, spec, spec])
    def encode(input_word_ids, input_mask, input_type_ids):
        return run(input_word_ids, input_mask, input_type_ids)

    signatures = {"encode": encode}
    if tokenizer is not None:
        signatures["serving_default"] = _text_signature(
            module, tokenizer, task, pairs, max_seq_length, run
        )
    else:
        signatures["serving_default"] = encode
    module.signatures_ = signatures
    tf.saved_model.save(module, str(target), signatures=signatures)
    return target


def _heads(task: str, labels):
    """A function from model outputs to the signature's outputs, per task."""
    import tensorflow as tf

    from keras_bertfam.layers import SequencePooling

    mean_pooling = SequencePooling("mean")

    def encoder(out, padding_mask, segment_ids):
        mean = mean_pooling(out["sequence_output"], padding_mask)
        return {**out, "padding_mask": padding_mask,
                "sentence_embedding": tf.math.l2_normalize(mean, axis=-1)}  # fmt: skip

    def classification(out, padding_mask, segment_ids):
        names = tf.constant(labels)
        probabilities = tf.nn.softmax(out["logits"], axis=-1)
        batch = tf.shape(probabilities)[0]
        return {
            "logits": out["logits"],
            "probabilities": probabilities,
            "label": tf.gather(names, tf.argmax(probabilities, axis=-1)),
            "label_names": tf.tile(names[None], [batch, 1]),
        }

    def token_classification(out, padding_mask, segment_ids):
        probabilities = tf.nn.softmax(out["logits"], axis=-1)
        return {
            "probabilities": probabilities,
            "tag": tf.gather(tf.constant(labels), tf.argmax(probabilities, axis=-1)),
            "padding_mask": padding_mask,
        }

    def question_answering(out, padding_mask, segment_ids):
        # best start <= end within MAX_ANSWER_TOKENS, both in the context (segment 1)
        context = tf.logical_and(segment_ids > 0, padding_mask > 0)
        negative = tf.constant(-1e9, tf.float32)
        start = tf.where(context, out["start_logits"], negative)
        end = tf.where(context, out["end_logits"], negative)
        scores = start[:, :, None] + end[:, None, :]
        seq = tf.shape(scores)[1]
        length = tf.range(seq)[None, :] - tf.range(seq)[:, None]  # end - start
        band = tf.logical_and(length >= 0, length < MAX_ANSWER_TOKENS)
        scores = tf.where(band[None], scores, negative)
        flat = tf.argmax(
            tf.reshape(scores, [tf.shape(scores)[0], -1]), axis=-1, output_type=tf.int32
        )
        return {
            "start_logits": out["start_logits"],
            "end_logits": out["end_logits"],
            "start": flat // seq,
            "end": flat % seq,
            "score": tf.reduce_max(tf.reshape(scores, [tf.shape(scores)[0], -1]), axis=-1),
            # SQuAD 2.0 models: no answer when null_score - score > a threshold (0 by default)
            "null_score": out["start_logits"][:, 0] + out["end_logits"][:, 0],
        }

    return {"encoder": encoder, "classification": classification,
            "token_classification": token_classification,
            "question_answering": question_answering}[task]  # fmt: skip


def _text_signature(module, tokenizer, task, pairs, max_seq_length, run):
    """`serving_default` on raw strings: tokenize, trim, pack and pad in the graph."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    special = tokenizer.require_special("cls", "sep")
    pad_id = tokenizer.special_ids.get("pad", 0)
    module.tokenizer = tokenizer._tokenizer  # the tf.text object and its lookup tables
    names = {"question_answering": ("question", "context")}.get(
        task, ("text", "text_b") if pairs else ("text",)
    )
    budget = max_seq_length - 1 - len(names)
    # QA keeps the question and cuts the context; pairs lose tokens from the longer side
    if task == "question_answering":
        trimmer = tf_text.WaterfallTrimmer(budget)
    else:
        trimmer = tf_text.RoundRobinTrimmer(budget)

    def pack(texts):
        segments = trimmer.trim([tf.cast(tokenizer.tokenize(t), tf.int32) for t in texts])
        ids, segment_ids = tf_text.combine_segments(
            segments, start_of_sequence_id=special["cls"], end_of_segment_id=special["sep"]
        )
        token_ids, padding_mask = tf_text.pad_model_inputs(ids, max_seq_length, pad_id)
        segment_ids, _ = tf_text.pad_model_inputs(segment_ids, max_seq_length, 0)
        return token_ids, padding_mask, segment_ids

    specs = [tf.TensorSpec([None], tf.string, name=n) for n in names]

    def serve(*texts):
        token_ids, padding_mask, segment_ids = pack(texts)
        result = run(token_ids, padding_mask, segment_ids)
        if task == "question_answering":
            length = tf.maximum(result["end"] - result["start"] + 1, 0)
            span = tf.RaggedTensor.from_tensor(
                _shift_left(token_ids, result["start"]), lengths=length
            )
            result["answer"] = tokenizer.detokenize(span)
        return result

    # One Python function per arity, so each signature has named arguments.
    if len(names) == 1:
        return tf.function(lambda text: serve(text), input_signature=specs)
    if names == ("text", "text_b"):
        return tf.function(lambda text, text_b: serve(text, text_b), input_signature=specs)
    return tf.function(lambda question, context: serve(question, context), input_signature=specs)


def _shift_left(values, shift):
    """Row i of `values` shifted left by `shift[i]` (so a span starts at column 0)."""
    import tensorflow as tf

    seq = tf.shape(values)[1]
    index = tf.minimum(tf.range(seq)[None] + shift[:, None], seq - 1)
    return tf.gather(values, index, batch_dims=1)
