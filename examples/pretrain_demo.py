"""`make demo`: pretrain with the budget recipe on the bundled corpus, evaluate, plot, export.

1. Split the bundled Python-docs corpus: every 20th document is held out.
2. Train a WordPiece vocabulary on the training documents.
3. Mask the held-out documents once (15% of the tokens, token by token): the batches
   every evaluation scores.
4. Pretrain with the `budget` recipe (keras_bertfam/recipes/budget.json: the recipe
   that wins `bertfam bench pretrain`) for a wall-clock budget, from the text itself
   (whole-word masking drawn afresh every epoch), at 4 layers x 256.
5. Report held-out MLM accuracy after every 100 updates next to always guessing the most
   frequent token, save a learning-curve PNG.
6. Export it for serving, the tokenizer inside both: a TF Serving SavedModel in
   saved_models/bertfam_demo/<version>/ and a TFLite file (raw text in) for the edge,
   saved_models/bertfam_demo/bertfam_demo-text-dynamic_int8.tflite.

    python examples/pretrain_demo.py --budget 5m
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

NAME = "bertfam_demo"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="5m", help="wall time of training (600s, 10m, 1h)")
    parser.add_argument("--steps", type=int, help="fewer updates than the recipe's bound")
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--vocabulary-size", type=int, default=3000)
    parser.add_argument("--out", default="runs/bertfam_demo")
    args = parser.parse_args()
    started = time.perf_counter()

    from keras_bertfam.data import load_tokenizer
    from keras_bertfam.data.vocab import create_vocab

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_txt, heldout_txt = split_corpus(out)
    create_vocab("wordpiece", args.vocabulary_size, [train_txt], out / "vocab")
    tok = load_tokenizer(out / "vocab")
    heldout, baseline, guess = heldout_batches(out, tok, train_txt, heldout_txt)
    print(
        f"vocabulary: {tok.vocabulary_size} WordPiece tokens; "
        f"data ready after {time.perf_counter() - started:.0f}s"
    )
    summary, config, every = train(args, tok, train_txt, heldout, out)
    report_curve(summary, every, baseline, guess, out)
    exports = export(out, tok, config.max_sequence_length)
    report = {
        "recipe": "budget",
        "baseline_mlm": baseline,
        "final": summary["final"],
        "updates": summary["steps"],
        "seconds": time.perf_counter() - started,
        **exports,
    }
    (out / "demo_report.json").write_text(json.dumps(report, indent=2))
    print(f"done in {report['seconds']:.0f}s")


def split_corpus(out: Path):
    from keras_bertfam.resources import PYDOCS_CORPUS

    with gzip.open(PYDOCS_CORPUS, "rt", encoding="utf-8") as handle:
        documents = [d for d in handle.read().split("\n\n") if d.strip()]
    train_docs = [d for i, d in enumerate(documents) if i % 20]
    heldout_docs = [d for i, d in enumerate(documents) if i % 20 == 0]
    (out / "train.txt").write_text("\n\n".join(train_docs) + "\n")
    (out / "heldout.txt").write_text("\n\n".join(heldout_docs) + "\n")
    print(f"corpus: {len(train_docs)} training and {len(heldout_docs)} held-out documents")
    return out / "train.txt", out / "heldout.txt"


def heldout_batches(out: Path, tok, train_txt: Path, heldout_txt: Path):
    """The held-out documents masked once (15%, token by token), and the accuracy of always
    guessing the training text's most frequent token at those positions."""
    import numpy as np

    from keras_bertfam.data import DataConfig, MaskingConfig
    from keras_bertfam.data.records import create_data, load_data

    config = DataConfig(objective="none", sequence_length=128,
                        masking=MaskingConfig(strategy="token", rate=0.15))  # fmt: skip
    create_data([heldout_txt], tok, out / "heldout", config, dupe_factor=1, progress=False,
                overwrite=True, seed=99)  # fmt: skip
    heldout = load_data(out / "heldout", 32, shuffle_buffer=0)
    lines = train_txt.read_text(encoding="utf-8").splitlines()
    counts = Counter(tok.tokenize([line for line in lines if line.strip()]).flat_values.numpy())
    for special in ("cls", "sep", "pad", "mask", "unk"):
        counts.pop(tok.special_ids[special], None)
    guess = counts.most_common(1)[0][0]
    hits = total = 0
    for _, y, sw in heldout:
        labels = y["mlm_logits"].numpy()[sw["mlm_logits"].numpy() > 0]
        hits, total = hits + int(np.sum(labels == guess)), total + labels.size
    return heldout, hits / total, tok.vocabulary[guess]


def train(args, tok, train_txt: Path, heldout, out: Path):
    """The budget recipe at the demo's size, trained from the text for `--budget`."""
    import keras_bertfam as bf
    from keras_bertfam.data import DataConfig
    from keras_bertfam.recipes import load_recipe
    from keras_bertfam.training import TrainConfig, pretrain
    from keras_bertfam.training.budget import parse_budget

    recipe = load_recipe("budget")
    model = dict(recipe["model"])
    config = bf.get_preset(
        model.pop("preset"),
        **model,
        num_layers=args.num_layers,
        hidden_dim=args.hidden_dim,
        num_heads=max(1, args.hidden_dim // 64),
        intermediate_dim=4 * args.hidden_dim,
        vocabulary_size=tok.vocabulary_size,
        max_sequence_length=recipe["data"]["sequence_length"],
    )
    settings = {**recipe["train"], "checkpoint_every": 100, "verbose": 2, "jit": True,
                "budget_seconds": parse_budget(args.budget)}  # fmt: skip
    if args.steps is not None:  # the same shares of warmup and decay in fewer updates
        share = args.steps / settings["steps"]
        settings.update(steps=args.steps, checkpoint_every=min(100, args.steps),
                        warmup_steps=max(1, round(settings["warmup_steps"] * share)),
                        decay_steps=max(1, round(settings["decay_steps"] * share)))  # fmt: skip
    print(f"pretraining the budget recipe ({bf.build_encoder(config).count_params():,} "
          f"parameters) for {settings['budget_seconds']:.0f}s")  # fmt: skip
    # overwrite: each demo run trains again
    summary = pretrain(config, [train_txt], out / "model", TrainConfig(**settings),
                       DataConfig.from_dict(recipe["data"]), tokenizer=out / "vocab",
                       validation_data=heldout, overwrite=True)  # fmt: skip
    return summary, config, settings["checkpoint_every"]


def report_curve(summary: dict, every: int, baseline: float, guess: str, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = summary["history"]
    # one output: Keras names its metrics without the output's name
    acc = next(k for k in h if k.startswith("val_") and k.endswith("accuracy"))
    updates = [every * (e + 1) for e in range(len(h["loss"]))]
    updates[-1] = summary["steps"]  # the budget ends the last epoch early
    print(f"\n{'updates':>7} {'train loss':>10} {'held-out loss':>13} {'held-out MLM acc':>17}")
    for e, step in enumerate(updates):
        print(f"{step:>7} {h['loss'][e]:>10.3f} {h['val_loss'][e]:>13.3f} "
              f"{h[acc][e]:>17.3f}")  # fmt: skip
    final = h[acc][-1]
    print(f"held-out MLM accuracy {final:.3f}: {final / baseline:.1f}x always guessing "
          f"{guess!r} ({baseline:.3f})")  # fmt: skip
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(updates, h["loss"], marker="o", label="train loss")
    left.plot(updates, h["val_loss"], marker="o", label="held-out loss")
    right.plot(updates, h[acc], marker="o", label="held-out MLM accuracy")
    right.axhline(baseline, linestyle="--", color="gray", label="most-frequent-token baseline")
    for axis in (left, right):
        axis.set_xlabel("updates")
        axis.legend()
    fig.suptitle("the budget recipe on the Python docs (keras_bertfam demo)")
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=100)
    print(f"learning curve: {out / 'learning_curve.png'}")


def export(out: Path, tok, sequence_length: int) -> dict:
    """A SavedModel for TF Serving and a TFLite file for phones, raw text in."""
    import keras_bertfam as bf
    from keras_bertfam.export import export_saved_model, export_tflite

    model = bf.load_model(out / "model")
    target = export_saved_model(model, tok, "saved_models", NAME, sequence_length=sequence_length)
    print(f"SavedModel: {target} (signatures serving_default on text, encode on ids)")
    tflite_path = Path("saved_models") / NAME / f"{NAME}-text-dynamic_int8.tflite"
    tflite = export_tflite(model, tflite_path, quantization="dynamic_int8",
                           sequence_length=sequence_length, tokenizer=tok,
                           overwrite=True)  # fmt: skip
    print(
        f"TFLite: {tflite_path} ({tflite['size_bytes'] / 1e6:.1f} MB, raw text in, "
        f"{tflite['latency_ms']['median']:.1f} ms per text on one thread)"
    )
    return {"saved_model": str(target), "tflite": str(tflite_path)}


if __name__ == "__main__":
    main()
