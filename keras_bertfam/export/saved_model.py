"""SavedModels for TF Serving: raw-text and token-id signatures, versioned folders.

`export_saved_model(model, tokenizer, "saved_models", name)` writes
`saved_models/<name>/<version>/` (a new version number each time; TF Serving
serves the highest) with two signatures:

- `serving_default(text: string[batch])`: the tokenizer, trimming to
  `max_seq_length - 2`, [CLS]/[SEP] packing and padding run inside the graph;
  returns `pooled_output` [batch, H] (when the model has a pooler),
  `sequence_output` [batch, S, H] and `padding_mask` [batch, S];
- `encode(input_word_ids, input_mask, input_type_ids)`: int32 [batch, seq] with
  the TF-Hub names, returning the same outputs.

The SavedModel needs only `tensorflow` and `tensorflow_text` to load (not
keras, not keras_bertfam). Byte-level BPE (keras-hub) tokenizers are not yet
exportable here; WordPiece and SentencePiece are.

Example (command line, after pretraining):

    python -c "import tensorflow as tf, tensorflow_text; \\
      m = tf.saved_model.load('saved_models/demo/1'); \\
      print(m.signatures['serving_default'](text=tf.constant(['hello']))['pooled_output'].shape)"
"""

from __future__ import annotations

from pathlib import Path

import keras

from keras_bertfam.models.builders import encoder_of


def next_version(root: Path) -> int:
    versions = [int(p.name) for p in root.glob("*") if p.name.isdigit()]
    return max(versions, default=0) + 1


def export_saved_model(
    model: keras.Model,
    tokenizer,
    root="saved_models",
    name: str = "model",
    max_seq_length: int = 128,
    version: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Export `model`'s encoder with `tokenizer` inside; returns the version folder."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    if tokenizer.kind == "bpe":
        raise ValueError(
            "a raw-text signature needs a WordPiece or SentencePiece tokenizer; the byte-level "
            "BPE tokenizer (keras-hub) cannot be exported yet"
        )
    special = tokenizer.require_special("cls", "sep")
    pad_id = tokenizer.special_ids.get("pad", 0)
    encoder = encoder_of(model)
    folder = Path(root) / name
    version = version or next_version(folder)
    target = folder / str(version)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{str(target)!r} exists; pass overwrite=True to replace it")

    module = tf.Module()
    module.encoder = encoder
    module.tokenizer = tokenizer._tokenizer  # the tf.text object and its lookup tables
    trimmer = tf_text.RoundRobinTrimmer(max_seq_length - 2)

    def run(token_ids, padding_mask, segment_ids):
        out = encoder(
            {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask},
            training=False,
        )
        result = {k: tf.cast(v, tf.float32) for k, v in out.items()}
        result["padding_mask"] = padding_mask
        return result

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serving_default(text):
        ids = tf.cast(tokenizer.tokenize(text), tf.int32)
        (ids,) = trimmer.trim([ids])
        ids, segments = tf_text.combine_segments(
            [ids], start_of_sequence_id=special["cls"], end_of_segment_id=special["sep"]
        )
        token_ids, padding_mask = tf_text.pad_model_inputs(ids, max_seq_length, pad_id)
        segment_ids, _ = tf_text.pad_model_inputs(segments, max_seq_length, 0)
        return run(token_ids, padding_mask, segment_ids)

    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec, spec])
    def encode(input_word_ids, input_mask, input_type_ids):
        return run(input_word_ids, input_mask, input_type_ids)

    module.serving_default = serving_default
    module.encode = encode
    tf.saved_model.save(
        module, str(target), signatures={"serving_default": serving_default, "encode": encode}
    )
    return target
