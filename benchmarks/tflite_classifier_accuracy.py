"""Held-out accuracy of a fine-tuned classifier: Keras vs its TFLite files (float32, dynamic int8).

    python examples/finetune_fortunes.py --out runs/fortunes      # a fine-tuned MiniLM
    python benchmarks/tflite_classifier_accuracy.py runs/fortunes \
        keras_bertfam/resources/fortunes-topics-dev.tsv.gz

Every example runs through the Keras model and through each TFLite file (batch 1,
the task's sequence length, ai-edge-litert, one thread); the table gives accuracy,
agreement with Keras' predictions, file size and median latency.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a bertfam finetune output folder (classification)")
    parser.add_argument("data", help="held-out task file")
    parser.add_argument("--quantizations", nargs="+", default=["float32", "dynamic_int8"])
    args = parser.parse_args(argv)

    from keras_bertfam.data.tasks import prepare
    from keras_bertfam.export import export_tflite, load_interpreter
    from keras_bertfam.training.finetune import load_finetuned

    model, info, tokenizer = load_finetuned(args.model)
    length = info["sequence_length"]
    data = prepare(info["task"], args.data, tokenizer, length, info["labels"])
    truth = np.asarray(data["targets"]["logits"])
    rows = []
    for ids, types in zip(data["features"]["token_ids"], data["features"]["segment_ids"],
                          strict=True):  # fmt: skip
        pad = length - len(ids)
        rows.append({"token_ids": np.array([ids + [0] * pad], np.int32),
                     "segment_ids": np.array([types + [0] * pad], np.int32),
                     "padding_mask": np.array([[1] * len(ids) + [0] * pad], np.int32)})  # fmt: skip
    keras_pred = np.array([int(np.argmax(model.predict_on_batch(r)["logits"])) for r in rows])
    print(f"{len(rows)} examples, {len(info['labels'])} classes, sequence length {length}")
    print(f"{'model':<16}{'accuracy':>10}{'= Keras':>9}{'size MB':>9}{'median ms':>11}")
    print(f"{'keras':<16}{np.mean(keras_pred == truth):>10.4f}{1.0:>9.3f}{'':>9}{'':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for quantization in args.quantizations:
            path = Path(tmp) / f"{quantization}.tflite"
            export_tflite(model, path, quantization=quantization, sequence_length=length,
                          report=False)  # fmt: skip
            interpreter = load_interpreter(path)
            runner = interpreter.get_signature_runner()
            predictions, times = [], []
            for row in rows:
                start = time.perf_counter()
                out = runner(**row)
                times.append(time.perf_counter() - start)
                predictions.append(int(np.argmax(out["logits"])))
            predictions = np.array(predictions)
            size = path.stat().st_size / 1e6
            print(f"{quantization:<16}{np.mean(predictions == truth):>10.4f}"
                  f"{np.mean(predictions == keras_pred):>9.3f}{size:>9.1f}"
                  f"{1000 * statistics.median(times):>11.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
