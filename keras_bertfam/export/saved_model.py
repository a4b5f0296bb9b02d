"""SavedModels for TF Serving: raw-text and token-id signatures, versioned folders.

`export_saved_model(model, tokenizer, "saved_models", name)` writes
`saved_models/<name>/<version>/` (a new version number each time; TF Serving
serves the highest; an existing version is never replaced without
`overwrite=True`) with two signatures:

- `serving_default` on raw strings: `text` (and `text_b` for sentence-pair
  classifiers; `question` + `context` for question answering). The tokenizer
  (WordPiece, SentencePiece, or RoBERTa's / ModernBERT's byte-level BPE),
  trimming to `sequence_length` (documented: longer texts are cut as Hugging
  Face's `longest_first` cuts them; QA cuts the context), [CLS]/[SEP] packing
  (as Hugging Face packs: `<s> a </s></s> b </s>` for RoBERTa's tokenizers) and
  padding run in the graph. Empty strings are valid (they encode as [CLS]
  [SEP]); a batch of zero returns zero rows. A model with fewer than two
  segments (RoBERTa, ModernBERT) gets segment ids 0 throughout, as Hugging Face
  gives them.
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
keras, not keras_bertfam, not keras-hub, whose byte-level BPE tokenizer runs
inside it; see docs/notes/bpe-in-savedmodel.md for the two characters where its
ids differ from Hugging Face's).

Example (command line, after pretraining):

    python -c "import tensorflow as tf, tensorflow_text; \\
      m = tf.saved_model.load('saved_models/demo/1'); \\
      print(m.signatures['serving_default'](text=tf.constant(['hello']))['pooled_output'].shape)"
"""  # noqa: E501

from __future__ import annotations

from pathlib import Path

from keras_bertfam import requires, tasks
from keras_bertfam.deprecation import renamed_keywords
from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.models.builders import encoder_of, segment_rows
from keras_bertfam.models.packed import plain_for_export
from keras_bertfam.tasks.spans import MAX_ANSWER_TOKENS  # noqa: F401  (exported name)

ENCODER = "encoder"  # what a model without a task head serves
TASKS = (ENCODER, *(name for name in tasks.names() if tasks.get(name).exportable))


def next_version(root: Path) -> int:
    versions = [int(p.name) for p in root.glob("*") if p.name.isdigit()]
    return max(versions, default=0) + 1


def task_of(model) -> str:
    """The task a keras_bertfam model serves, from its outputs: a task name of
    `keras_bertfam.tasks.names()`, or "encoder" for encoders and pretrainers."""
    task = tasks.task_of(model)
    return task.name if task is not None else ENCODER


@renamed_keywords(max_seq_length="sequence_length")
def export_saved_model(
    model,
    tokenizer,
    root="saved_models",
    name: str = "model",
    sequence_length: int = 128,
    version: int | None = None,
    overwrite: bool = False,
    labels: list[str] | None = None,
    pairs: bool = False,
) -> Path:
    """Export `model` (encoder, pretrainer or task model) for TF Serving; returns the folder.

    Args:
        tokenizer: a `Tokenizer` (WordPiece, SentencePiece or byte-level BPE) for the
            raw-text `serving_default`, or None to export only `encode` on token ids.
        sequence_length: the raw-text signature's tokens per sequence.
        labels: class / tag names of a classifier (default "0", "1", ...).
        pairs: the classifier reads sentence pairs (`text`, `text_b`).
    """
    tf = requires.tensorflow_backend("SavedModel export", instead=requires.EXPORT_ELSEWHERE)
    model = plain_for_export(model, "the SavedModel export")

    spec = tasks.task_of(model)
    if spec is not None and not spec.exportable:
        raise InputError(
            f"{spec.name} models are not exportable as a SavedModel (their inputs are not "
            "[batch, seq]); export the encoder, or score the choices client-side"
        )
    if spec is None:
        model = encoder_of(model)
    folder = Path(root) / name
    version = version or next_version(folder)
    target = folder / str(version)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{str(target)!r} exists; pass overwrite=True to replace it")
    if "logits" in model.output:
        classes = int(model.output["logits"].shape[-1])
        labels = list(labels) if labels else [str(k) for k in range(classes)]
        if len(labels) != classes:
            raise InputError(f"labels has {len(labels)} names but the model has {classes} classes")

    module = tf.Module()
    module.model = model
    heads = spec.serving_outputs if spec is not None else _encoder_outputs()
    id_spec = tf.TensorSpec([None, None], tf.int32)

    def run(token_ids, padding_mask, segment_ids, model_segments=None):
        model_segments = segment_ids if model_segments is None else model_segments
        out = model(
            {"token_ids": token_ids, "segment_ids": model_segments, "padding_mask": padding_mask},
            training=False,
        )
        out = {k: tf.cast(v, tf.float32) for k, v in out.items()}
        return heads(out, padding_mask, segment_ids, labels)

    @tf.function(input_signature=[id_spec, id_spec, id_spec])
    def encode(input_word_ids, input_mask, input_type_ids):
        return run(input_word_ids, input_mask, input_type_ids)

    signatures = {"encode": encode, "serving_default": encode}
    if tokenizer is not None:
        signatures["serving_default"] = _text_signature(
            module, tokenizer, spec, {"pairs": pairs}, sequence_length, run
        )
    module.signatures_ = signatures
    tf.saved_model.save(module, str(target), signatures=signatures)
    return target


def _encoder_outputs():
    """An encoder's serving outputs: its own, the padding mask and a sentence embedding
    (the masked mean of the sequence output, L2-normalized)."""
    import tensorflow as tf

    from keras_bertfam.layers import SequencePooling

    mean_pooling = SequencePooling("mean")

    def outputs(out, padding_mask, segment_ids, labels):
        mean = mean_pooling(out["sequence_output"], padding_mask)
        return {**out, "padding_mask": padding_mask,
                "sentence_embedding": tf.math.l2_normalize(mean, axis=-1)}  # fmt: skip

    return outputs


def _text_signature(module, tokenizer, spec, info, sequence_length, run):
    """`serving_default` on raw strings: tokenize, trim, pack and pad in the graph."""
    import tensorflow as tf

    from keras_bertfam.data.packing import graph_packer

    module.tokenizer = tokenizer._tokenizer  # the tf.text / keras-hub object and its tables
    names = spec.text_inputs(info) if spec is not None else ("text",)
    trimmer = spec.trimmer if spec is not None else "longest_first"
    pack = graph_packer(tokenizer, sequence_length, len(names), trimmer)
    segments_told_apart = segment_rows(module.model) >= 2

    def serve(*texts):
        token_ids, padding_mask, segment_ids = pack(*texts)
        model_segments = segment_ids if segments_told_apart else tf.zeros_like(segment_ids)
        result = run(token_ids, padding_mask, segment_ids, model_segments)
        if spec is not None:
            result.update(spec.text_outputs(result, token_ids, tokenizer))
        return result

    # the specs' names are the signature's input names
    specs = [tf.TensorSpec([None], tf.string, name=n) for n in names]
    return tf.function(serve, input_signature=specs)
