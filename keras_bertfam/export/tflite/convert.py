"""TFLite (LiteRT) export: token-id or raw-text models, four quantizations, a report.

`export_tflite(model, "model.tflite")` converts an encoder (`build_encoder`), a
pretrainer (its encoder part is exported, as for SavedModels) or any functional
model whose inputs carry the contract names `token_ids` / `segment_ids` /
`padding_mask` into a `.tflite` file with fixed int32 inputs
[batch_size, sequence_length] and the model's outputs (float32) under their names.

- Built-in TFLite ops only: no Flex (`SELECT_TF_OPS`). A graph that needs an op
  without a builtin kernel fails at conversion with the op names.
- `quantization`: "float32"; "float16" (weights stored as float16); "dynamic_int8"
  (int8 weights, float activations: about a quarter of the float32 file); "int8"
  (weights and activations, calibrated on `representative_data`, required).
- `tokenizer=`: a raw-text model. Its input is `text` (string [batch_size]); the
  tokenizer, truncation to `sequence_length - 2`, [CLS]/[SEP] and padding run in
  the model, which also returns `token_ids` and `padding_mask`. The tokenizer runs
  as tf.text TFLite custom ops (FastBertTokenizer for WordPiece vocabularies,
  FastSentencepieceTokenizer for SentencePiece); an interpreter must register
  them (`load_interpreter` does):

      from ai_edge_litert.interpreter import InterpreterWithCustomOps
      from tensorflow_text.core.pybinds import tflite_registrar
      interpreter = InterpreterWithCustomOps(
          model_path="model.tflite",
          custom_op_registerers=tflite_registrar.SELECT_TFTEXT_OPS)

  On Android/iOS the app links tf.text's TFLite ops the same way. The ids equal
  those of the library tokenizer (hence of Hugging Face's) except where tf.text's
  fast normalizer differs from BERT's: it lower-cases with NFKC case folding where
  BERT uses `str.lower` + NFD, so compatibility characters (full-width forms,
  ligatures, super/subscripts, "ß", Roman numerals, "™") give other ids (7 of the
  20,073 lines of the bundled corpus); and for cased vocabularies it turns format
  characters such as U+200B into spaces where BERT drops them. Byte-level BPE
  (keras-hub) tokenizers have no TFLite kernel and are refused.

Weights are embedded (the converter freezes them); mixed-precision models are
exported as float32 copies (bfloat16 has no TFLite kernels, and the erf GELU
becomes a non-builtin Erfc there). The exact GELU becomes TFLite's builtin GELU
in float32. The assertions of `keras_bertfam.layers.checks` are dropped by the
converter; its NaN poisoning converts to builtin ops and is kept: TFLite's GATHER
refuses ids >= vocabulary_size (and < -vocabulary_size) but takes -1, -2, ...,
which the poisoning turns into NaN outputs (float models; int8 cannot hold NaN).

Full int8 is TFLite's post-training integer quantization, and trained BERT-family
weights do not survive it: on all-MiniLM-L6-v2 the sentence embedding keeps a
cosine of 0.15-0.3 to the float model (dynamic_int8: 0.998). Two causes, measured:
the attention mask's -1e9 shares the int8 scale of the attention scores (scale
~4e6, so every score rounds to the same value), and the residual stream's
outlier dimensions leave little int8 resolution for the rest (with the attention
kept in float the cosine is still ~0.7). `export_tflite` warns when a quantized
file's cosine in its report is below 0.99; use "dynamic_int8" for real models.

With `report=True` (default) the file is measured with ai-edge-litert: size,
median latency (one thread, after warm-up) and agreement with the Keras model
on the same inputs; the report is returned and written next to the file as
`<name>.report.json`. `print_report` shows it as a table.

Example:

>>> import tempfile, os
>>> import keras_bertfam as bf
>>> from keras_bertfam.export import export_tflite
>>> model = bf.build_encoder("bert_tiny", num_layers=1, vocabulary_size=200)
>>> path = os.path.join(tempfile.mkdtemp(), "tiny.tflite")
>>> report = export_tflite(model, path, sequence_length=16, runs=3)
>>> report["inputs"], report["outputs"]
(['padding_mask', 'segment_ids', 'token_ids'], ['pooled_output', 'sequence_output'])
>>> report["max_abs_diff"]["sequence_output"] < 1e-4, report["flex_ops"]
(True, [])
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from keras_bertfam.errors import BertfamError, InputError, OutputExistsError
from keras_bertfam.export.saved_model import encoder_of
from keras_bertfam.models.builders import ENCODER_INPUTS

QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")

# tf.text ops with TFLite kernels that a raw-text model may contain (names as the
# converter writes them); tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS adds them.
TFTEXT_CUSTOM_OPS = frozenset(
    {
        "FastBertNormalize",
        "FastWordpieceTokenizeWithOffsets",
        "TFText>FastSentencepieceTokenize",
    }
)

# At most this many rows of representative_data are read for int8 calibration.
MAX_CALIBRATION_ROWS = 256

SAMPLE_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "TFLite runs BERT-family encoders on phones, offline.",
    "Short.",
    "A longer sentence about tokenizers, packing and padding, which keeps going so that it "
    "fills the whole sequence and is cut at the end: " + "more words follow here " * 30,
)


class TFLiteConversionError(BertfamError, RuntimeError):
    """The model cannot become a builtin-ops TFLite model (the message names the ops)."""


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
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it")

    model = float32_model(exported_part(model))
    input_names = model_input_names(model)
    samples = None
    if representative_data is not None and tokenizer is None:
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
        return {
            "path": str(path),
            "quantization": quantization,
            "size_bytes": len(content),
            "ops": ops,
            "flex_ops": [o for o in ops if o.startswith("Flex")],
        }
    result = tflite_report(
        path,
        model,
        tokenizer=tokenizer,
        inputs=samples[:4] if samples else None,
        runs=runs,
    )
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


def report_path(path) -> Path:
    """Where `export_tflite` writes the report of `path`: `<name>.report.json`."""
    return Path(path).with_suffix(".report.json")


# --------------------------------------------------------------------------- model


def exported_part(model: keras.Model) -> keras.Model:
    """The model as exported: a pretrainer's encoder, any other model as it is."""
    names = set(model_input_names(model))
    if not names <= set(ENCODER_INPUTS):
        if "mask_positions" in names and isinstance(model.output, dict):
            return encoder_of(model)
        raise InputError(
            f"model inputs {sorted(names)} are not among {list(ENCODER_INPUTS)}; a TFLite "
            "export needs a model with the contract input names (or a pretrainer)"
        )
    return model


def model_input_names(model: keras.Model) -> list[str]:
    if isinstance(model.input, dict):
        return list(model.input)
    return [t.name for t in model.inputs]


def float32_model(model: keras.Model) -> keras.Model:
    """`model` itself if it computes in float32, else a float32 copy with its weights.

    bfloat16 (and erf in bfloat16) have no TFLite kernels; float16 compute is
    what `quantization="float16"` is for.
    """
    if all(_compute_dtype(layer) in ("float32", None) for layer in _all_layers(model)):
        return model

    def to_float32(node):
        if isinstance(node, dict):
            if node.get("class_name") == "DTypePolicy":
                return {**node, "config": {**node["config"], "name": "float32"}}
            return {k: to_float32(v) for k, v in node.items()}
        if isinstance(node, list):
            return [to_float32(v) for v in node]
        return node

    copy = model.__class__.from_config(to_float32(model.get_config()))
    copy.set_weights(model.get_weights())
    return copy


def _compute_dtype(layer):
    policy = getattr(layer, "dtype_policy", None)
    return getattr(policy, "compute_dtype", None)


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _find_layer(model, name):
    return next((layer for layer in _all_layers(model) if layer.name == name), None)


# ---------------------------------------------------------------------- conversion


def _convert(model, input_names, quantization, samples, sequence_length, batch_size, tokenizer):
    import tensorflow as tf

    def run(inputs):
        out = model({k: inputs[k] for k in input_names}, training=False)
        if not isinstance(out, dict):
            out = {"output": out}
        return {k: tf.cast(v, tf.float32) for k, v in out.items()}

    if tokenizer is None:
        signature = {
            name: tf.TensorSpec([batch_size, sequence_length], tf.int32, name=name)
            for name in input_names
        }

        def endpoint(inputs):
            return run(inputs)

    else:
        pack = text_packer(tokenizer, sequence_length)
        signature = tf.TensorSpec([batch_size], tf.string, name="text")

        def endpoint(text):
            inputs = pack(text)
            outputs = run(inputs)
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


def _check_ops(content: bytes, allow_text_ops: bool):
    builtins, custom = _used_ops(content)
    allowed = TFTEXT_CUSTOM_OPS if allow_text_ops else frozenset()
    if custom - allowed:
        raise TFLiteConversionError(
            f"the converted model contains non-builtin ops {sorted(custom - allowed)}; "
            "export_tflite allows builtin ops only (no Flex), and for raw-text models "
            f"tf.text's TFLite kernels {sorted(TFTEXT_CUSTOM_OPS)}"
        )
    if {"VAR_HANDLE", "READ_VARIABLE"} & builtins:
        raise TFLiteConversionError(
            "the converted model reads resource variables: its weights were not embedded"
        )


def tflite_ops(model) -> list[str]:
    """Operator names used by a `.tflite` file or bytes: builtin names (e.g. "GELU") and
    the codes of custom ops ("FlexErf" for a Flex op, "FastBertNormalize", ...)."""
    builtins, custom = _used_ops(model)
    return sorted(builtins | custom)


def _used_ops(model) -> tuple[set, set]:
    from ai_edge_litert import schema_py_generated as schema

    content = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    flat = schema.Model.GetRootAsModel(content, 0)
    codes = []
    for i in range(flat.OperatorCodesLength()):
        code = flat.OperatorCodes(i)
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if number == schema.BuiltinOperator.CUSTOM:
            codes.append((code.CustomCode().decode(), True))
        else:
            codes.append((names.get(number, f"BUILTIN_{number}"), False))
    builtins, custom = set(), set()
    for s in range(flat.SubgraphsLength()):
        graph = flat.Subgraphs(s)
        for o in range(graph.OperatorsLength()):
            name, is_custom = codes[graph.Operators(o).OpcodeIndex()]
            (custom if is_custom else builtins).add(name)
    return builtins, custom


# ------------------------------------------------------------------------ raw text


def _text_tokenizer(tokenizer):
    from keras_bertfam.data.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tokenizer)
    if tokenizer.kind == "bpe":
        raise InputError(
            "tokenizer: byte-level BPE (keras-hub) has no TFLite kernel, so it cannot run "
            "inside a raw-text TFLite model; use a WordPiece or SentencePiece vocabulary, "
            "or export token ids (tokenizer=None) and tokenize in the app"
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
    """The Keras-side packing of `texts` with the library tokenizer (numpy)."""
    special = tokenizer.require_special("cls", "sep")
    pad_id = tokenizer.special_ids.get("pad", 0)
    token_ids = np.full((len(texts), sequence_length), pad_id, "int32")
    padding_mask = np.zeros((len(texts), sequence_length), "int32")
    for row, ids in enumerate(tokenizer.tokenize(list(texts)).to_list()):
        ids = [special["cls"], *ids[: sequence_length - 2], special["sep"]]
        token_ids[row, : len(ids)] = ids
        padding_mask[row, : len(ids)] = 1
    return {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": padding_mask,
    }


# ---------------------------------------------------------------------- input data


def representative_batches(data, input_names, sequence_length, batch_size) -> list[dict]:
    """Regroup `data` (see `export_tflite`) into int32 batches of [batch_size, S]."""
    items = data() if callable(data) else data
    rows: dict[str, list] = {name: [] for name in input_names}
    count = 0
    for item in items:
        if isinstance(item, (tuple, list)):
            item = item[0]
        if not isinstance(item, dict) or not set(input_names) <= set(item):
            got = sorted(item) if isinstance(item, dict) else type(item).__name__
            raise InputError(
                f"representative_data items must be dicts with keys {list(input_names)} "
                f"(or (x, y, ...) tuples of them); got {got}"
            )
        arrays = {name: np.asarray(item[name]).astype("int32") for name in input_names}
        for name, array in arrays.items():
            array = array[None] if array.ndim == 1 else array
            if array.ndim != 2 or array.shape[1] != sequence_length:
                raise InputError(
                    f"representative_data[{name!r}] has shape {list(np.shape(item[name]))}; "
                    f"expected [n, sequence_length={sequence_length}]"
                )
            rows[name].extend(array)
        count = len(rows[input_names[0]])
        if count >= MAX_CALIBRATION_ROWS:
            break
    usable = min(count, MAX_CALIBRATION_ROWS) // batch_size * batch_size
    if usable == 0:
        raise InputError(
            f"representative_data gave {count} rows; at least batch_size={batch_size} are needed"
        )
    return [
        {name: np.stack(rows[name][i : i + batch_size]) for name in input_names}
        for i in range(0, usable, batch_size)
    ]


def sample_inputs(model, input_names, sequence_length, batch_size, count=2, seed=0):
    """Random but well-formed token batches for `model` (varied lengths, both segments)."""
    layer = _find_layer(model, "token_embedding")
    vocabulary_size = getattr(layer, "input_dim", None) or 100
    embeddings = _find_layer(model, "embeddings")
    num_segments = getattr(embeddings, "num_segments", 1) or 1
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        lengths = rng.integers(min(4, sequence_length), sequence_length + 1, batch_size)
        lengths[0] = sequence_length
        positions = np.arange(sequence_length)[None]
        mask = (positions < lengths[:, None]).astype("int32")
        low = min(5, vocabulary_size - 1)
        ids = rng.integers(low, vocabulary_size, (batch_size, sequence_length)) * mask
        segments = (positions >= lengths[:, None] // 2).astype("int32") * mask
        if num_segments < 2:
            segments = np.zeros_like(segments)
        batch = {"token_ids": ids.astype("int32"), "segment_ids": segments, "padding_mask": mask}
        batches.append({name: batch[name] for name in input_names})
    return batches


# -------------------------------------------------------------------------- report


def load_interpreter(model, num_threads: int = 1):
    """An ai-edge-litert interpreter for a `.tflite` path or bytes, with tf.text's
    TFLite kernels registered when the model uses them."""
    from ai_edge_litert.interpreter import Interpreter, InterpreterWithCustomOps

    content = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    if set(tflite_ops(content)) & TFTEXT_CUSTOM_OPS:
        from tensorflow_text.core.pybinds import tflite_registrar

        return InterpreterWithCustomOps(
            model_content=content,
            num_threads=num_threads,
            custom_op_registerers=tflite_registrar.SELECT_TFTEXT_OPS,
        )
    return Interpreter(model_content=content, num_threads=num_threads)


def tflite_report(path, model, *, tokenizer=None, inputs=None, texts=None, runs=20) -> dict:
    """Measure a `.tflite` file against the Keras `model` it came from.

    Returns a dict: path, size_bytes, batch_size, sequence_length, inputs,
    outputs, ops, flex_ops, latency_ms (median/min/max of `runs` single-thread
    runs after 3 warm-ups), max_abs_diff per output, cosine (the smallest, over
    the rows, cosine between the TFLite and Keras sentence embeddings: the
    pooled output and the mean of sequence_output over the padding mask), and
    for raw-text models token_ids_equal. `inputs` (token-id models) or `texts`
    (raw-text models) default to samples.
    """
    import ai_edge_litert
    import tensorflow as tf

    path = Path(path)
    model = float32_model(exported_part(model))
    interpreter = load_interpreter(path)
    runner = interpreter.get_signature_runner()
    details = runner.get_input_details()
    input_names = sorted(details)
    if tokenizer is not None:
        tokenizer = _text_tokenizer(tokenizer)
        batch_size = int(details["text"]["shape"][0])
        sequence_length = int(runner.get_output_details()["token_ids"]["shape"][1])
        texts = list(texts or SAMPLE_TEXTS)
        texts += texts[: (-len(texts)) % batch_size]  # whole batches
        feeds = [
            {"text": np.array(texts[i : i + batch_size], dtype=object)}
            for i in range(0, len(texts), batch_size)
        ]
        keras_inputs = [pack_texts(tokenizer, f["text"].tolist(), sequence_length) for f in feeds]
        latency_feed = {"text": np.array([SAMPLE_TEXTS[-1]] * batch_size, dtype=object)}
    else:
        batch_size, sequence_length = (int(d) for d in details[input_names[0]]["shape"])
        feeds = inputs or sample_inputs(model, input_names, sequence_length, batch_size)
        keras_inputs = feeds
        latency_feed = feeds[0]

    diffs, cosines, ids_equal = {}, {}, True
    for feed, x in zip(feeds, keras_inputs, strict=True):
        lite = runner(**feed)
        names = model_input_names(model)
        ref = model({k: x[k] for k in names}, training=False)
        ref = {k: np.asarray(tf.cast(v, tf.float32)) for k, v in _as_dict(ref).items()}
        if tokenizer is not None:
            ids_equal &= bool(np.array_equal(lite["token_ids"], x["token_ids"]))
        for name, value in ref.items():
            diff = float(np.max(np.abs(lite[name] - value)))
            diffs[name] = max(diffs.get(name, 0.0), diff)
        mask = x["padding_mask"].astype("float32")[..., None]
        pairs = {"pooled_output": (lite.get("pooled_output"), ref.get("pooled_output"))}
        if "sequence_output" in ref:
            pairs["mean_pooled"] = (
                _mean(lite["sequence_output"], mask),
                _mean(ref["sequence_output"], mask),
            )
        for name, (a, b) in pairs.items():
            if a is not None and b is not None:
                cosines[name] = min(cosines.get(name, 1.0), _min_cosine(a, b))

    for _ in range(3):
        runner(**latency_feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runner(**latency_feed)
        times.append((time.perf_counter() - start) * 1000)
    ops = tflite_ops(path)
    report = {
        "path": str(path),
        "size_bytes": path.stat().st_size,
        "batch_size": batch_size,
        "sequence_length": sequence_length,
        "inputs": input_names,
        "outputs": sorted(runner.get_output_details()),
        "ops": ops,
        "flex_ops": [o for o in ops if o.startswith("Flex")],
        "custom_ops": sorted(set(ops) & TFTEXT_CUSTOM_OPS),
        "latency_ms": {
            "median": float(np.median(times)),
            "min": float(np.min(times)),
            "max": float(np.max(times)),
            "runs": runs,
            "threads": 1,
        },
        "max_abs_diff": diffs,
        "cosine": cosines,
        "versions": {"tensorflow": tf.__version__, "ai_edge_litert": _version(ai_edge_litert)},
    }
    if tokenizer is not None:
        report["token_ids_equal"] = ids_equal
    return report


def _as_dict(outputs):
    return outputs if isinstance(outputs, dict) else {"output": outputs}


def _mean(sequence_output, mask):
    return (sequence_output * mask).sum(1) / np.maximum(mask.sum(1), 1.0)


def _min_cosine(a, b) -> float:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.min((a * b).sum(1) / np.maximum(norms, 1e-12)))


def _version(module):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-edge-litert")
    except PackageNotFoundError:
        return getattr(module, "__version__", "unknown")


def format_report(report: dict) -> str:
    """The report as a small two-column table (one line per measure)."""
    latency = report.get("latency_ms", {})
    rows = [
        ("file", report["path"]),
        ("quantization", report.get("quantization", "?")),
        ("size", f"{report['size_bytes']:,} bytes ({report['size_bytes'] / 2**20:.2f} MiB)"),
    ]
    if latency:
        rows.append(
            (
                f"latency, batch {report['batch_size']} x {report['sequence_length']} tokens",
                f"{latency['median']:.2f} ms median of {latency['runs']} "
                f"({latency['min']:.2f}-{latency['max']:.2f}), {latency['threads']} thread",
            )
        )
    for name, value in report.get("max_abs_diff", {}).items():
        rows.append((f"max |tflite - keras| {name}", f"{value:.3g}"))
    for name, value in report.get("cosine", {}).items():
        rows.append((f"min cosine {name}", f"{value:.6f}"))
    if "token_ids_equal" in report:
        rows.append(("token ids equal to the Keras tokenizer", str(report["token_ids_equal"])))
    rows.append(("flex ops", ", ".join(report.get("flex_ops", [])) or "none"))
    if report.get("custom_ops"):
        rows.append(("tf.text custom ops", ", ".join(report["custom_ops"])))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def print_report(report: dict) -> None:
    """Print `format_report(report)`."""
    print(format_report(report))
