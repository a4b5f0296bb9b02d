"""TF-Hub SavedModels: a preprocessor and an encoder that `hub.KerasLayer` loads and fine-tunes.

`export_tfhub(model, tokenizer, "saved_models", name)` writes
`saved_models/<name>-tfhub/` (unversioned) with two reusable SavedModels of the
TF-Hub text API for BERT-family encoders (tensorflow/hub
`docs/common_saved_model_apis/text.md`):

- `preprocess/`: raw strings -> `input_word_ids`, `input_mask`, `input_type_ids`,
  plus `tokenize`, `tokenize.get_special_tokens_dict` and `bert_pack_inputs`
  (`keras_bertfam.export.tfhub_preprocess`);
- `encoder/`: those inputs -> `pooled_output`, `sequence_output`,
  `encoder_outputs`, `default`, with its variables, so `hub.KerasLayer(...,
  trainable=True)` fine-tunes it; `mlm` for pretrainers
  (`keras_bertfam.export.tfhub_encoder`).

Both load with tensorflow and tensorflow_text alone (and tensorflow_hub to wrap
them in tf_keras), without keras_bertfam or the source folder. An existing
folder is never replaced without `overwrite=True`; the new one is written beside it
first, so a failed export leaves the old one whole.

Example, as in TensorFlow's "Classify text with BERT" tutorial (tf_keras):

    preprocess = hub.KerasLayer("saved_models/demo-tfhub/preprocess")
    encoder = hub.KerasLayer("saved_models/demo-tfhub/encoder", trainable=True)
    text = tf_keras.layers.Input(shape=(), dtype=tf.string)
    logits = tf_keras.layers.Dense(2)(encoder(preprocess(text))["pooled_output"])
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.models.builders import segment_rows
from keras_bertfam.models.packed import plain_for_export

SUFFIX = "-tfhub"


def tfhub_folder(root, name: str) -> Path:
    """Where `export_tfhub(..., root, name)` writes: `root/<name>-tfhub`."""
    return Path(root) / f"{name}{SUFFIX}"


def export_tfhub(
    model,
    tokenizer,
    root="saved_models",
    name: str = "model",
    sequence_length: int = 128,
    overwrite: bool = False,
) -> Path:
    """Write `root/<name>-tfhub/{preprocess,encoder}/`; returns the folder.

    Args:
        model: an encoder, pretrainer (its export also has `encoder.mlm`) or task
            model (its encoder is exported).
        tokenizer: the model's `Tokenizer`, or None to write the encoder alone.
        sequence_length: the preprocessor's output length (and `bert_pack_inputs`'
            default `seq_length`).
        overwrite: replace an existing folder.
    """
    from keras_bertfam import requires
    from keras_bertfam.export.tfhub_encoder import encoder_module
    from keras_bertfam.export.tfhub_preprocess import legacy_attributes, preprocess_module

    tf = requires.tensorflow_backend("TF-Hub export", instead=requires.EXPORT_ELSEWHERE)
    model = plain_for_export(model, "the TF-Hub export")
    target = tfhub_folder(root, name)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{str(target)!r} exists; pass overwrite=True to replace it")
    if isinstance(sequence_length, bool) or not isinstance(sequence_length, int):
        raise InputError(f"sequence_length={sequence_length!r} must be an integer")
    if tokenizer is not None and sequence_length < 3:
        raise InputError(f"sequence_length={sequence_length} leaves no room for the text")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with tempfile.TemporaryDirectory() as assets:
            encoder = encoder_module(model)
            if tokenizer is not None:
                two_types = segment_rows(model) >= 2
                preprocess = preprocess_module(tokenizer, sequence_length, two_types,
                                               Path(assets) / "preprocess")  # fmt: skip
                tf.saved_model.save(preprocess, str(staging / "preprocess"))
                legacy_attributes(encoder, tokenizer, Path(assets) / "encoder")
            tf.saved_model.save(encoder, str(staging / "encoder"))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
