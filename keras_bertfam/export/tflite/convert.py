"""Conversion of a Keras model to a builtin-ops `.tflite` file (`export_tflite`).

The model (its encoder part, in float32: see `model.py`) is traced through
keras' `ExportArchive` with fixed int32 [batch_size, sequence_length] inputs,
or, for a raw-text model, a string [batch_size] input packed in the graph
(`text.py`), and converted by `tf.lite.TFLiteConverter` with builtin ops only
and one of `QUANTIZATIONS`. Ops without a builtin kernel fail the conversion
with a `TFLiteConversionError` that names them.

Example:

>>> import tempfile, os
>>> import keras_bertfam as bf
>>> from keras_bertfam.export.tflite import export_tflite
>>> model = bf.build_encoder("bert_tiny", num_layers=1, vocabulary_size=200)
>>> path = os.path.join(tempfile.mkdtemp(), "tiny.tflite")
>>> summary = export_tflite(model, path, quantization="dynamic_int8", sequence_length=8,
...                         report=False)
>>> sorted(summary), summary["flex_ops"]
(['flex_ops', 'ops', 'path', 'quantization', 'size_bytes'], [])
"""

from __future__ import annotations

import json
import re
import tempfile
import warnings
from pathlib import Path

import keras

from keras_bertfam import requires
from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.export.tflite.calibration import representative_batches
from keras_bertfam.export.tflite.model import (
    exported_part,
    float32_model,
    float32_outputs,
    model_input_names,
)
from keras_bertfam.export.tflite.ops import (
    TFLiteConversionError,
    _check_ops,
    _flex_ops,
    tflite_ops,
)
from keras_bertfam.export.tflite.report import report_path, tflite_report
from keras_bertfam.export.tflite.text import _text_tokenizer, text_packer
from keras_bertfam.models.packed import plain_for_export

QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")


def export_tflite(
    model: keras.Model,
    path,
    *,
    quantization: str = "float32",
    representative_data=None,
    sequence_length: int = 128,
    batch_size: int = 1,
    tokenizer=None,
    overwrite: bool = False,
    report: bool = True,
    runs: int = 20,
) -> dict:
    """Convert `model` to a builtin-ops `.tflite` file at `path`; return its report.

    Args:
        model: an encoder, a pretrainer (its encoder part is exported) or a
            functional model with inputs named token_ids / segment_ids / padding_mask.
        path: the `.tflite` file to write (parent folders are created).
        quantization: one of "float32", "float16", "dynamic_int8", "int8".
        representative_data: for "int8" (required) and for the report's inputs:
            an iterable, or a callable returning one, of input dicts (or
            `(x, y, ...)` tuples as `load_data` yields) with int [n, sequence_length]
            arrays under the input names. Rows are regrouped into batches of
            `batch_size`; at most `MAX_CALIBRATION_ROWS` rows are read.
        sequence_length: the fixed sequence length S of the inputs.
        batch_size: the fixed batch size.
        tokenizer: a WordPiece or SentencePiece `Tokenizer` (or a path for
            `load_tokenizer`) to build a raw-text model instead.
        overwrite: replace an existing file.
        report: measure the file (size, latency, agreement) and write
            `<name>.report.json` next to it; False returns only path, size and ops.
        runs: timed runs for the latency median (after 3 warm-up runs).

    Returns:
        The report dict (see `tflite_report`).
    """
    requires.tensorflow_backend("TFLite export", instead=requires.EXPORT_ELSEWHERE)
    tokenizer = _checked_arguments(
        quantization, representative_data, sequence_length, batch_size, tokenizer
    )
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it")

    model = float32_model(exported_part(plain_for_export(model, "the TFLite export")))
    input_names = model_input_names(model)
    samples = None
    if representative_data is not None:
        samples = representative_batches(
            representative_data, input_names, sequence_length, batch_size
        )
    content = _convert(
        model, input_names, quantization, samples, sequence_length, batch_size, tokenizer
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if not report:
        ops = tflite_ops(content)
        return {"path": str(path), "quantization": quantization, "size_bytes": len(content),
                "ops": ops, "flex_ops": _flex_ops(ops)}  # fmt: skip
    samples = samples[:4] if samples else None
    result = tflite_report(path, model, tokenizer=tokenizer, inputs=samples, runs=runs)
    result["quantization"] = quantization
    report_path(path).write_text(json.dumps(result, indent=2) + "\n")
    worst = min(result["cosine"].values(), default=1.0)
    if worst < 0.99:
        warnings.warn(
            f"{path}: quantization={quantization!r} moved the sentence embedding away from the "
            f"Keras model (min cosine {worst:.3f} on the report's inputs); for trained models "
            "prefer 'dynamic_int8' (see keras_bertfam.export.tflite)",
            stacklevel=2,
        )
    return result


def _checked_arguments(quantization, representative_data, sequence_length, batch_size, tokenizer):
    """Refuse arguments of `export_tflite` that cannot make a file; the raw-text
    model's `Tokenizer` (None for a token-id model)."""
    if quantization not in QUANTIZATIONS:
        raise InputError(f"quantization={quantization!r} is not one of {list(QUANTIZATIONS)}")
    for name, value in (("sequence_length", sequence_length), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{name}={value!r} must be a positive integer")
    if tokenizer is not None:
        tokenizer = _text_tokenizer(tokenizer)
        if representative_data is not None:
            raise InputError(
                "representative_data is for token-id models; a raw-text model (tokenizer=...) "
                "is measured on sample texts and cannot be int8-calibrated"
            )
        if sequence_length < 3:
            raise InputError(f"sequence_length={sequence_length} leaves no room for [CLS] x [SEP]")
        if quantization == "int8":
            raise InputError(
                "quantization='int8' is not available for a raw-text model (tokenizer=...): "
                "TFLite's calibrator cannot run the tf.text tokenizer ops. Use 'dynamic_int8' "
                "(int8 weights), or export token ids (tokenizer=None) for full int8"
            )
    if quantization == "int8" and representative_data is None:
        raise InputError(
            "quantization='int8' needs representative_data (input dicts of token_ids, "
            "segment_ids, padding_mask, e.g. batches of your data) to calibrate activations; "
            "representative_data=None"
        )
    return tokenizer


def _convert(model, input_names, quantization, samples, sequence_length, batch_size, tokenizer):
    """The `.tflite` bytes of `model` (see `export_tflite`), checked for builtin ops."""
    import tensorflow as tf

    if tokenizer is None:
        signature = {
            name: tf.TensorSpec([batch_size, sequence_length], tf.int32, name=name)
            for name in input_names
        }

        def endpoint(inputs):
            return float32_outputs(model, inputs, input_names)

    else:
        pack = text_packer(tokenizer, sequence_length)
        signature = tf.TensorSpec([batch_size], tf.string, name="text")

        def endpoint(text):
            inputs = pack(text)
            outputs = float32_outputs(model, inputs, input_names)
            outputs.update(token_ids=inputs["token_ids"], padding_mask=inputs["padding_mask"])
            return outputs

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", endpoint, input_signature=[signature])
    with tempfile.TemporaryDirectory() as folder:
        # Through keras' ExportArchive, as keras' own LiteRT export does: it tracks the
        # variables so that the converter embeds them. A tf.Module holding the model
        # (or from_concrete_functions with it as trackable) gave a 40 KB file without
        # the weights and NaN outputs (TF 2.20).
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.allow_custom_ops = tokenizer is not None  # the tf.text kernels only
        if quantization != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantization == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.representative_dataset = lambda: iter(samples)
        try:
            with warnings.catch_warnings():  # int8 calibration uses tf.lite.Interpreter inside
                warnings.filterwarnings("ignore", "(?s).*tf.lite.Interpreter is deprecated")
                content = converter.convert()
        except Exception as err:  # ConverterError: keep its message, lead with the ops
            raise TFLiteConversionError(_conversion_message(err)) from err
    _check_ops(content, allow_text_ops=tokenizer is not None)
    return content


def _conversion_message(err) -> str:
    """The converter's error, led by the TensorFlow ops it found no builtin kernel for."""
    text = str(err)
    found = []
    for label in ("TF Select ops", "Custom ops"):
        for match in re.findall(rf"{label}: ([^\n]*)", text):
            found.extend(op.strip() for op in match.split(","))
    if found:
        return (
            f"these TensorFlow ops have no TFLite builtin kernel: {sorted(set(found))}. "
            "export_tflite converts with builtin ops only (no Flex / SELECT_TF_OPS); change "
            "the model (or its dtype/activation) so that it avoids them. Converter said: "
            + text[:2000]
        )
    return f"TFLite conversion failed: {text[:4000]}"
