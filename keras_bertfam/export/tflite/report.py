"""The report of a `.tflite` file: size, latency and agreement with its Keras model.

`load_interpreter` opens a file with ai-edge-litert (registering tf.text's
kernels for raw-text models); `tflite_report` measures it against the Keras
model; `format_report` / `print_report` show a report as a table.

Example:

>>> from keras_bertfam.export.tflite import print_report
>>> print_report({"path": "m.tflite", "quantization": "float32", "size_bytes": 2**20,
...               "cosine": {"mean_pooled": 0.9999996}, "flex_ops": []})
file                     m.tflite
quantization             float32
size                     1,048,576 bytes (1.00 MiB)
min cosine mean_pooled   1.000000
flex ops                 none
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from keras_bertfam.export.tflite.calibration import SAMPLE_TEXTS, sample_inputs
from keras_bertfam.export.tflite.model import (
    exported_part,
    float32_model,
    float32_outputs,
    model_input_names,
)
from keras_bertfam.export.tflite.ops import TFTEXT_CUSTOM_OPS, _content, _flex_ops, tflite_ops
from keras_bertfam.export.tflite.text import _text_tokenizer, pack_texts


def report_path(path) -> Path:
    """Where `export_tflite` writes the report of `path`: `<name>.report.json`."""
    return Path(path).with_suffix(".report.json")


def load_interpreter(model, num_threads: int = 1):
    """An ai-edge-litert interpreter for a `.tflite` path or bytes, with tf.text's
    TFLite kernels registered when the model uses them."""
    from ai_edge_litert.interpreter import Interpreter, InterpreterWithCustomOps

    content = _content(model)
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
    runner = load_interpreter(path).get_signature_runner()
    if tokenizer is not None:
        tokenizer = _text_tokenizer(tokenizer)
        shape, feeds, keras_inputs, latency_feed = _text_feeds(runner, tokenizer, texts)
    else:
        shape, feeds, keras_inputs, latency_feed = _token_feeds(runner, model, inputs)
    diffs, cosines, ids_equal = _agreement(
        runner, model, feeds, keras_inputs, raw_text=tokenizer is not None
    )
    latency = _latency(runner, latency_feed, runs)
    ops = tflite_ops(path)
    report = {
        "path": str(path),
        "size_bytes": path.stat().st_size,
        "batch_size": shape[0],
        "sequence_length": shape[1],
        "inputs": sorted(runner.get_input_details()),
        "outputs": sorted(runner.get_output_details()),
        "ops": ops,
        "flex_ops": _flex_ops(ops),
        "custom_ops": sorted(set(ops) & TFTEXT_CUSTOM_OPS),
        "latency_ms": latency,
        "max_abs_diff": diffs,
        "cosine": cosines,
        "versions": {"tensorflow": tf.__version__, "ai_edge_litert": _version(ai_edge_litert)},
    }
    if tokenizer is not None:
        report["token_ids_equal"] = ids_equal
    return report


def _token_feeds(runner, model, inputs):
    """(batch_size, S), the interpreter's feeds, the Keras inputs and the latency feed
    of a token-id model: `inputs` or samples."""
    details = runner.get_input_details()
    input_names = sorted(details)
    batch_size, sequence_length = (int(d) for d in details[input_names[0]]["shape"])
    feeds = inputs or sample_inputs(model, input_names, sequence_length, batch_size)
    return (batch_size, sequence_length), feeds, feeds, feeds[0]


def _text_feeds(runner, tokenizer, texts):
    """(batch_size, S), the interpreter's feeds, the Keras inputs (`pack_texts`) and the
    latency feed (the longest sample text) of a raw-text model."""
    batch_size = int(runner.get_input_details()["text"]["shape"][0])
    sequence_length = int(runner.get_output_details()["token_ids"]["shape"][1])
    texts = list(texts or SAMPLE_TEXTS)
    texts += texts[: (-len(texts)) % batch_size]  # whole batches
    feeds = [
        {"text": np.array(texts[i : i + batch_size], dtype=object)}
        for i in range(0, len(texts), batch_size)
    ]
    keras_inputs = [pack_texts(tokenizer, f["text"].tolist(), sequence_length) for f in feeds]
    latency_feed = {"text": np.array([SAMPLE_TEXTS[-1]] * batch_size, dtype=object)}
    return (batch_size, sequence_length), feeds, keras_inputs, latency_feed


def _agreement(runner, model, feeds, keras_inputs, raw_text: bool):
    """(max |tflite - keras| per output, min cosine per sentence embedding, whether the
    raw-text model's token ids equal `keras_inputs`') over all feeds."""
    from keras_bertfam.layers import SequencePooling

    mean_pooling = SequencePooling("mean", dtype="float32")
    names = model_input_names(model)
    diffs, cosines, ids_equal = {}, {}, True
    for feed, x in zip(feeds, keras_inputs, strict=True):
        lite = runner(**feed)
        ref = {k: np.asarray(v) for k, v in float32_outputs(model, x, names).items()}
        if raw_text:
            ids_equal &= bool(np.array_equal(lite["token_ids"], x["token_ids"]))
        for name, value in ref.items():
            diff = float(np.max(np.abs(lite[name] - value)))
            diffs[name] = max(diffs.get(name, 0.0), diff)
        pairs = {"pooled_output": (lite.get("pooled_output"), ref.get("pooled_output"))}
        if "sequence_output" in ref:
            pairs["mean_pooled"] = tuple(
                np.asarray(mean_pooling(s, x["padding_mask"]))
                for s in (lite["sequence_output"], ref["sequence_output"])
            )
        for name, (a, b) in pairs.items():
            if a is not None and b is not None:
                cosines[name] = min(cosines.get(name, 1.0), _min_cosine(a, b))
    return diffs, cosines, ids_equal


def _latency(runner, feed, runs: int) -> dict:
    """Median, min and max milliseconds of `runs` calls on `feed`, after 3 warm-ups."""
    for _ in range(3):
        runner(**feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runner(**feed)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "median": float(np.median(times)),
        "min": float(np.min(times)),
        "max": float(np.max(times)),
        "runs": runs,
        "threads": 1,
    }


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
