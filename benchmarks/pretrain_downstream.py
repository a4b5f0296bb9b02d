"""Downstream quality of the time-to-quality benchmark's encoders: the fortunes topics.

Every pretrained system of `benchmarks.pretrain_systems` (rebuilt, its trained weights
read from `<folder>/<system>.weights.h5`) and `random_init` (the model of
`bertfam_best`, not pretrained) is fine-tuned with one fixed recipe (`RECIPE`): the
encoder's final hidden states averaged over the real tokens, dropout and a dense layer
of 14 classes; AdamW with 10% warmup and linear decay; length-bucketed batches of the
bundled fortunes topics (3,580 train / 478 dev), the same WordPiece vocabulary as in
pretraining. One process per system runs every seed (the head's initialization, dropout
and the order of the examples); the figure is the dev accuracy after the last epoch.
TF-IDF + logistic regression on the same split is the linear baseline.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import keras
import numpy as np

RECIPE = {"epochs": 2, "batch": 32, "learning_rate": 3e-4, "warmup": 0.1,
          "weight_decay": 0.01, "dropout": 0.1, "max_tokens": 64}  # fmt: skip
SEEDS = (0, 1, 2)
INPUTS = ("token_ids", "segment_ids", "padding_mask")


def sequence_model(system: str, folder: Path, tok, pretrained: bool = True) -> keras.Model:
    """`system`'s encoder, its pretrained weights loaded: {token_ids, segment_ids,
    padding_mask} -> final hidden states [batch, seq, H], for any sequence length."""
    from benchmarks.pretrain_systems import BUILDERS

    model = BUILDERS[system](tok, folder / "train.txt")[0]
    if pretrained:
        model.load_weights(folder / f"{system}.weights.h5")
    inputs = {n: keras.Input((None,), dtype="int32", name=n) for n in INPUTS}
    if system.startswith("keras_hub"):
        return keras.Model(inputs, _keras_hub_encoder(model, inputs))
    from keras_bertfam.models.builders import encoder_of

    encoder = encoder_of(model)
    outputs = encoder({n: inputs[n] for n in encoder.input})["sequence_output"]
    return keras.Model(inputs, outputs)


def _keras_hub_encoder(model, inputs):
    """The keras-hub pretraining model's layers up to the last `TransformerEncoder`, applied
    to new inputs of any length (its own `token_ids` input is fixed at S); the padding
    mask reaches the encoder blocks only where the system trained with one."""
    import keras_hub

    layer = {type(layer).__name__: layer for layer in model.layers}
    blocks = [b for b in model.layers if isinstance(b, keras_hub.layers.TransformerEncoder)]
    x = layer["TokenAndPositionEmbedding"](inputs["token_ids"])
    x = layer["Dropout"](layer["LayerNormalization"](x))
    mask = inputs["padding_mask"] if "padding_mask" in model.input else None
    for block in blocks:
        x = block(x, padding_mask=mask)
    return x


@keras.saving.register_keras_serializable("benchmarks")
class MaskedMean(keras.layers.Layer):
    """The mean of `hidden` [batch, seq, H] over the tokens where `mask` [batch, seq] is 1."""

    def call(self, hidden, mask):
        weights = keras.ops.cast(mask, hidden.dtype)[..., None]
        total = keras.ops.sum(hidden * weights, axis=1)
        return total / keras.ops.maximum(keras.ops.sum(weights, axis=1), 1.0)


def classifier(encoder: keras.Model, classes: int, seed: int) -> keras.Model:
    inputs = {n: keras.Input((None,), dtype="int32", name=n) for n in INPUTS}
    pooled = MaskedMean()(encoder(inputs), inputs["padding_mask"])
    pooled = keras.layers.Dropout(RECIPE["dropout"], seed=seed)(pooled)
    init = keras.initializers.GlorotUniform(seed=seed)
    logits = keras.layers.Dense(classes, kernel_initializer=init, name="logits")(pooled)
    return keras.Model(inputs, {"logits": logits})


def fortunes(tok):
    """(train, dev, label names) of the bundled fortunes topics, encoded by `tok`."""
    from keras_bertfam.data.tasks import prepare
    from keras_bertfam.resources import FORTUNES_DEV, FORTUNES_TRAIN

    train = prepare("classification", FORTUNES_TRAIN, tok, RECIPE["max_tokens"])
    dev = prepare("classification", FORTUNES_DEV, tok, RECIPE["max_tokens"], train["labels"])
    return train, dev, train["labels"]


def fine_tune(encoder_weights, build, data: tuple, pad_id: int, seed: int) -> float:
    """Fine-tune a fresh copy of the encoder (`build()`, then `encoder_weights`) with
    `RECIPE` and seed `seed` on `data` (`fortunes`); its dev accuracy after the last epoch."""
    from keras_bertfam.data.batching import batch_count, batches
    from keras_bertfam.training.optimizers import learning_rate_schedule

    keras.utils.set_random_seed(seed)
    encoder = build()
    encoder.set_weights(encoder_weights)
    train, dev, labels = data
    model = classifier(encoder, len(labels), seed)
    r, length = RECIPE, RECIPE["max_tokens"]
    steps = r["epochs"] * batch_count(train["features"]["token_ids"], r["batch"], length)
    schedule = learning_rate_schedule(r["learning_rate"], steps, int(r["warmup"] * steps))
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=r["weight_decay"]),
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        metrics={"logits": ["accuracy"]},
    )
    fit = batches(train["features"], train["targets"], r["batch"], length, pad_id,
                  shuffle=True, seed=seed)  # fmt: skip
    model.fit(fit, epochs=r["epochs"], verbose=0)
    held = batches(dev["features"], dev["targets"], r["batch"], length, pad_id)
    scores = model.evaluate(held, verbose=0, return_dict=True)
    return float(next(v for k, v in scores.items() if k.endswith("accuracy")))


def worker(system: str, folder: Path, seeds=SEEDS) -> dict:
    """Fine-tune `system`'s pretrained encoder (`random_init`: bertfam_best's model as
    initialized) once per seed; dev accuracies and their summary."""
    from benchmarks.optional import minilm_dir
    from keras_bertfam.data import load_tokenizer

    start = time.perf_counter()
    tok = load_tokenizer(minilm_dir("the pretrain benchmark") / "vocab.txt")
    data = fortunes(tok)
    source, pretrained = ("bertfam_best", False) if system == "random_init" else (system, True)
    keras.utils.set_random_seed(0)
    weights = sequence_model(source, folder, tok, pretrained).get_weights()

    def build():
        return sequence_model(source, folder, tok, pretrained=False)

    pad = tok.special_ids["pad"]
    accuracies = [fine_tune(weights, build, data, pad, s) for s in seeds]
    return {
        "system": system,
        "dev_accuracy": accuracies,
        "mean": statistics.mean(accuracies),
        "sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "seconds": time.perf_counter() - start,
    }


def tfidf() -> dict:
    """TF-IDF (unigrams, sublinear tf) + logistic regression (C=10) on the same split: the
    settings of examples/finetune_fortunes.py, picked on the dev set (which flatters it)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from benchmarks.peers_finetune_fortunes import read_tsv
    from keras_bertfam.resources import FORTUNES_DEV, FORTUNES_TRAIN

    (train_y, train_x), (dev_y, dev_x) = read_tsv(FORTUNES_TRAIN), read_tsv(FORTUNES_DEV)
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    model = LogisticRegression(C=10, max_iter=3000).fit(vectorizer.fit_transform(train_x), train_y)
    guesses = model.predict(vectorizer.transform(dev_x))
    return {"dev_accuracy": float(np.mean([g == y for g, y in zip(guesses, dev_y, strict=True)]))}


def rtd_table(scores: dict) -> dict:
    """Replaced-token detection on the test batches, one row per ELECTRA system."""
    from benchmarks.report import table

    rows = [[name, f"{r['auc']:.3f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}",
             f"{r['replaced_share']:.1%}"] for name, r in scores.items()]  # fmt: skip
    notes = ["on the test split's masked batches, the generator sampling the masked "
             "positions; a sampled token equal to the original counts as original; "
             "chance AUC is 0.5"]  # fmt: skip
    columns = ["system", "RTD AUC", "precision", "recall", "replaced tokens"]
    return table("replaced-token detection (test)", columns, rows, notes)


def summary(results: dict, best: str | None, hub: str | None):
    """The downstream table (mean ± sd of dev accuracy over the seeds) and its goals:
    `best` against the keras-hub variant `hub` (in standard deviations) and TF-IDF."""
    from benchmarks.report import table

    linear = results["tfidf_logreg"]["dev_accuracy"]
    runs = {k: v for k, v in results.items() if k != "tfidf_logreg"}
    rows = [[name, f"{r['mean']:.3f} ± {r['sd']:.3f}",
             " ".join(f"{a:.3f}" for a in r["dev_accuracy"]), f"{r['mean'] - linear:+.3f}",
             f"{r['seconds']:.0f}s"] for name, r in runs.items()]  # fmt: skip
    rows.append(["tfidf_logreg", f"{linear:.3f}", "-", "+0.000", "-"])
    r = RECIPE
    notes = [
        f"fortunes topics (14 classes, 3,580 train / 478 dev): {r['epochs']} epochs, batch "
        f"{r['batch']}, AdamW {r['learning_rate']:g} with {r['warmup']:.0%} warmup and linear "
        f"decay, weight decay {r['weight_decay']}, mean pooling, dropout {r['dropout']}, "
        f"at most {r['max_tokens']} tokens; seeds {', '.join(map(str, SEEDS))}",
        "random_init: bertfam_best's model, not pretrained",
    ]
    columns = ["encoder", "dev accuracy, mean ± sd", "per seed", "vs TF-IDF", "time"]
    goals = []
    if best in runs and hub in runs:
        ours, theirs = runs[best], runs[hub]
        spread = max(ours["sd"], theirs["sd"], 1e-9)
        goals += [
            {
                "goal": "pretrain.best_downstream_vs_keras_hub",
                "value": (ours["mean"] - theirs["mean"]) / spread,
                "label": f"fortunes dev accuracy, {best} - {hub}, in the larger of their "
                "standard deviations over the seeds",
            },
            {
                "goal": "pretrain.best_downstream_vs_tfidf",
                "value": ours["mean"] / linear,
                "label": f"fortunes dev accuracy, {best} / TF-IDF + logistic regression",
            },
        ]
    return table("downstream: fine-tuned on the fortunes topics", columns, rows, notes), goals
