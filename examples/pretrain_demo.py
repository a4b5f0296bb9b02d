"""`make demo`: pretrain a small ALBERT on the bundled corpus, evaluate, plot and export.

1. Split the bundled Python-docs corpus: every 20th document is held out.
2. Train a SentencePiece vocabulary on the training documents (ALBERT's tokenizer).
3. Write statically masked SOP data with n-gram masking (`create_data`).
4. Pretrain `albert_tiny` (E=32, H=128, 4 layers sharing one block) with LAMB.
5. Report MLM and SOP accuracy on the held-out documents next to trivial baselines
   (always the most frequent masked token; 50% for SOP), save a learning-curve PNG.
6. Export it for serving, the tokenizer inside both: a TF Serving SavedModel in
   saved_models/albert_demo/<version>/ and a TFLite file (raw text in) for the edge,
   saved_models/albert_demo/albert_demo-text-dynamic_int8.tflite.

    python examples/pretrain_demo.py --steps 1000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seq-length", type=int, default=64)
    parser.add_argument("--out", default="runs/albert_demo")
    args = parser.parse_args()
    started = time.perf_counter()

    import numpy as np

    import keras_bertfam as bf
    from keras_bertfam.data import DataConfig, MaskingConfig, load_tokenizer
    from keras_bertfam.data.records import create_data, load_data
    from keras_bertfam.data.vocab import create_vocab
    from keras_bertfam.export import export_saved_model, export_tflite
    from keras_bertfam.resources import PYDOCS_CORPUS
    from keras_bertfam.training import TrainConfig, pretrain

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # 1. held-out documents
    with gzip.open(PYDOCS_CORPUS, "rt", encoding="utf-8") as handle:
        documents = [d for d in handle.read().split("\n\n") if d.strip()]
    train_docs = [d for i, d in enumerate(documents) if i % 20]
    heldout_docs = [d for i, d in enumerate(documents) if i % 20 == 0]
    (out / "train.txt").write_text("\n\n".join(train_docs) + "\n")
    (out / "heldout.txt").write_text("\n\n".join(heldout_docs) + "\n")
    print(f"corpus: {len(train_docs)} training and {len(heldout_docs)} held-out documents")

    # 2. vocabulary, 3. data
    create_vocab("sentencepiece", 4000, [out / "train.txt"], out / "vocab")
    tok = load_tokenizer(out / "vocab")
    data_cfg = DataConfig(
        objective="sop",
        sequence_length=args.seq_length,
        masking=MaskingConfig(
            strategy="ngram", max_predictions_per_seq=max(1, args.seq_length // 6)
        ),
    )
    create_data(
        [out / "train.txt"],
        tok,
        out / "data",
        data_cfg,
        dupe_factor=3,
        progress=False,
        overwrite=True,
    )
    create_data(
        [out / "heldout.txt"],
        tok,
        out / "heldout",
        data_cfg,
        dupe_factor=1,
        progress=False,
        overwrite=True,
        seed=99,
    )
    heldout = load_data(out / "heldout", args.batch_size, shuffle_buffer=0)
    print(
        f"vocabulary: {tok.vocabulary_size} SentencePiece tokens; "
        f"data ready after {time.perf_counter() - started:.0f}s"
    )

    # 4. pretraining
    config = bf.get_preset(
        "albert_tiny", vocabulary_size=tok.vocabulary_size, max_sequence_length=args.seq_length
    )
    epochs = 10
    train = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        optimizer="lamb",
        learning_rate=args.learning_rate,
        warmup_steps=args.steps // 10,
        checkpoint_every=args.steps // epochs,
        jit=True,
        verbose=2,
    )
    # overwrite: each demo run trains again on the data it just wrote
    summary = pretrain(
        config, out / "data", out / "model", train, validation_data=heldout, overwrite=True
    )

    # 5. baselines and report
    train_labels = Counter()
    for _, y, sw in load_data(out / "data", 256, shuffle_buffer=0):
        weights = sw["mlm_logits"].numpy() > 0
        train_labels.update(y["mlm_logits"].numpy()[weights].tolist())
    most_frequent = train_labels.most_common(1)[0][0]
    hits = total = 0
    for _, y, sw in heldout:
        weights = sw["mlm_logits"].numpy() > 0
        labels = y["mlm_logits"].numpy()[weights]
        hits += int(np.sum(labels == most_frequent))
        total += labels.size
    baseline = hits / total
    h = summary["history"]
    print()
    print(
        f"{'epoch':>5} {'step':>5} {'train loss':>10} {'held-out MLM acc':>17} "
        f"{'held-out SOP acc':>17} {'tokens/s':>9}"
    )
    for e in range(len(h["loss"])):
        print(
            f"{e + 1:>5} {(e + 1) * train.checkpoint_every:>5} {h['loss'][e]:>10.3f} "
            f"{h['val_mlm_logits_accuracy'][e]:>17.3f} {h['val_sop_logits_accuracy'][e]:>17.3f} "
            f"{summary['tokens_per_s'][e] if e < len(summary['tokens_per_s']) else 0:>9,.0f}"
        )
    print(f"baselines: MLM {baseline:.3f} (always {tok.vocabulary[most_frequent]!r}), SOP 0.500")

    # learning curve
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [(e + 1) * train.checkpoint_every for e in range(len(h["loss"]))]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(steps, h["loss"], marker="o", label="train loss")
    left.plot(steps, h["val_loss"], marker="o", label="held-out loss")
    left.set_xlabel("step")
    left.legend()
    right.plot(steps, h["val_mlm_logits_accuracy"], marker="o", label="held-out MLM accuracy")
    right.plot(steps, h["val_sop_logits_accuracy"], marker="o", label="held-out SOP accuracy")
    right.axhline(baseline, linestyle="--", color="gray", label="most-frequent-token baseline")
    right.axhline(0.5, linestyle=":", color="gray", label="SOP chance")
    right.set_xlabel("step")
    right.legend()
    fig.suptitle("albert_tiny pretrained on the Python docs (keras_bertfam demo)")
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=100)
    print(f"learning curve: {out / 'learning_curve.png'}")

    # 6. export: a SavedModel for TF Serving and a TFLite file for phones
    model = bf.load_model(out / "model")
    target = export_saved_model(
        model, tok, "saved_models", "albert_demo", sequence_length=args.seq_length
    )
    print(f"SavedModel: {target} (signatures serving_default on text, encode on ids)")
    tflite_path = Path("saved_models") / "albert_demo" / "albert_demo-text-dynamic_int8.tflite"
    tflite = export_tflite(
        model,
        tflite_path,
        quantization="dynamic_int8",
        sequence_length=args.seq_length,
        tokenizer=tok,
        overwrite=True,
    )
    print(
        f"TFLite: {tflite_path} ({tflite['size_bytes'] / 1e6:.1f} MB, raw text in, "
        f"{tflite['latency_ms']['median']:.1f} ms per text on one thread)"
    )
    report = {
        "baseline_mlm": baseline,
        "final": summary["final"],
        "seconds": time.perf_counter() - started,
        "saved_model": str(target),
        "tflite": str(tflite_path),
    }
    (out / "demo_report.json").write_text(json.dumps(report, indent=2))
    print(f"done in {report['seconds']:.0f}s")


if __name__ == "__main__":
    main()
