"""Serving latency, batch 1 x 128 tokens: our SavedModel and TFLite files vs keras-hub's export.

Model: all-MiniLM-L6-v2's shape (L=6, H=384, A=12, I=1536, V=30522); keras_bertfam
loads the real weights, keras-hub builds a BertBackbone of the same shape (weights
do not change the time). Systems, each in its own process, alternating:

- `bertfam_saved_model`: `export_saved_model(encoder, None)`, `encode` signature;
- `keras_hub_saved_model`: `BertBackbone.export(path)` (Keras' tf_saved_model export);
- `bertfam_tflite_float32` / `bertfam_tflite_dynamic_int8`: `export_tflite`;
- `keras_hub_tflite_float32`: the keras-hub SavedModel through `TFLiteConverter` with
  builtin ops only (its failure, if it fails, is reported as such).

SavedModels run in TensorFlow with its default threads; TFLite files run in
ai-edge-litert with `--threads` (default: the core count). Warm-up excluded;
median and spread of `--runs` calls per process, over `--rounds` processes. Not one of
the suites of `python -m benchmarks`; writes benchmarks/results/serving.json.

    python benchmarks/serving.py                   # 2 rounds x 50 calls
    python -m benchmarks.serving --rounds 4        # the same, from the checkout's root
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as a file: import the benchmarks package from the checkout's root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

SYSTEMS = (
    "bertfam_saved_model",
    "keras_hub_saved_model",
    "bertfam_tflite_float32",
    "bertfam_tflite_dynamic_int8",
    "keras_hub_tflite_float32",
)
S = 128


def _inputs():
    import numpy as np

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, (1, S)).astype("int32")
    ids[0, 0], ids[0, -1] = 101, 102
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}


def _time(call, runs):
    for _ in range(5):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return times


def worker(system: str, runs: int, threads: int) -> dict:
    import tensorflow as tf

    x = _inputs()
    tmp = tempfile.mkdtemp()
    if system.startswith("bertfam"):
        import keras_bertfam as bf
        from benchmarks.optional import minilm_dir

        model = bf.from_pretrained(minilm_dir("the serving benchmark"))
    else:
        from benchmarks.peers import keras_hub_minilm_backbone

        model = keras_hub_minilm_backbone()
    if system == "bertfam_saved_model":
        from keras_bertfam.export import export_saved_model

        folder = export_saved_model(model, None, tmp, "m")
        f = tf.saved_model.load(str(folder)).signatures["encode"]
        args = {"input_word_ids": x["token_ids"], "input_mask": x["padding_mask"],
                "input_type_ids": x["segment_ids"]}  # fmt: skip
        args = {k: tf.constant(v) for k, v in args.items()}
        return {"ms": _time(lambda: f(**args)["sequence_output"].numpy(), runs)}
    if system.startswith("keras_hub"):
        model.export(f"{tmp}/hub", format="tf_saved_model", verbose=False)
        if system == "keras_hub_saved_model":
            served = tf.saved_model.load(f"{tmp}/hub")
            args = {k: tf.constant(v) for k, v in x.items()}
            return {"ms": _time(lambda: served.serve(args)["sequence_output"].numpy(), runs)}
        converter = tf.lite.TFLiteConverter.from_saved_model(f"{tmp}/hub")
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            content = converter.convert()
        except Exception as err:  # report any conversion failure
            return {"ms": [], "error": str(err).splitlines()[-1][:300]}
        return {"ms": _tflite_times(content, x, runs, threads), "size": len(content)}
    from keras_bertfam.export import export_tflite

    quantization = system.removeprefix("bertfam_tflite_")
    path = Path(tmp) / "m.tflite"
    export_tflite(model, path, quantization=quantization, sequence_length=S, report=False)
    content = path.read_bytes()
    return {"ms": _tflite_times(content, x, runs, threads), "size": len(content)}


def _tflite_times(content, x, runs, threads):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=threads)
    runner = interpreter.get_signature_runner()
    names = runner.get_input_details()
    feed = {}
    for name in names:
        key = next(k for k in x if k in name or name in k)
        feed[name] = x[key]
    return _time(lambda: runner(**feed), runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="default: benchmarks/results/serving.json")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.runs, args.threads)))
        return
    results = {s: {"ms": []} for s in SYSTEMS}
    for round_ in range(args.rounds):
        for system in SYSTEMS if round_ % 2 == 0 else SYSTEMS[::-1]:
            cmd = [sys.executable, __file__, "--worker", system, "--runs", str(args.runs),
                   "--threads", str(args.threads)]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode:
                sys.exit(f"{system} failed:\n{proc.stderr[-3000:]}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            results[system]["ms"] += out["ms"]
            for key in ("size", "error"):
                if key in out:
                    results[system][key] = out[key]
    import importlib.metadata as md

    versions = ", ".join(f"{n} {md.version(n)}" for n in ("tensorflow", "keras", "keras-hub",
                                                         "ai-edge-litert"))  # fmt: skip
    print(f"serving latency, batch 1 x {S} tokens, MiniLM shape; {versions}; "
          f"{os.cpu_count()} cores, TFLite threads {args.threads}")  # fmt: skip
    print(f"{'system':<30}{'median ms':>10}{'spread':>16}{'size MB':>9}")
    for system, r in results.items():
        if not r["ms"]:
            print(f"{system:<30}  failed: {r.get('error')}")
            continue
        ms = r["ms"]
        r["median_ms"] = statistics.median(ms)
        size = f"{r['size'] / 1e6:.1f}" if "size" in r else ""
        print(f"{system:<30}{r['median_ms']:>10.1f}{f'{min(ms):.1f}-{max(ms):.1f}':>16}{size:>9}")
    ours, peer = results["bertfam_saved_model"], results["keras_hub_saved_model"]
    print(f"\nSavedModel: keras-hub / keras_bertfam latency = "
          f"{peer['median_ms'] / ours['median_ms']:.2f}x (> 1: we are faster)")  # fmt: skip
    hub_lite = results["keras_hub_tflite_float32"]
    if hub_lite["ms"]:
        ratio = hub_lite["median_ms"] / results["bertfam_tflite_float32"]["median_ms"]
        print(f"TFLite float32: keras-hub / keras_bertfam latency = {ratio:.2f}x")
    from benchmarks.report import RESULTS, write_json

    write_json(Path(args.json) if args.json else RESULTS / "serving.json", results)


if __name__ == "__main__":
    main()
