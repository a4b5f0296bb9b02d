"""The systems of the time-to-quality benchmark (`benchmarks.pretrain`), one per process.

Every system trains from the same training documents of the bundled corpus, tokenized
by the same all-MiniLM-L6-v2 WordPiece vocabulary, for the same wall-clock budget
(`keras_bertfam.training.budget.TimeBudget`; evaluation time left out), at the common
size L=4, H=256, A=4, I=1024, S=128, in batches of 32 sequences unless its recipe says
otherwise, and is evaluated on the same masked held-out batches (`prepare`). Systems:

- `keras_hub_guide`: the keras-hub guide "Pretraining a Transformer from scratch with
  KerasHub" as its users run it: `TokenAndPositionEmbedding` + LayerNorm + dropout +
  `TransformerEncoder` x L (no padding mask) + `MaskedLMHead` (softmax), keras-hub's
  `MaskedLMMaskGenerator` at 25% with 32 predictions, AdamW at a constant 5e-4.
- `keras_hub_scheduled`: the same model with a padding mask and keras_bertfam's
  schedule (10% warmup, linear decay to 0 at the budget's end; peak 5e-4), so that the
  recipe and the schedule are told apart.
- `bertfam_bert`: keras_bertfam's `bert` recipe at the common size: NSP pairs, token
  masking at 15% (P=20), AdamW 1e-4, 1% warmup (10k of 1M steps) and linear decay,
  the schedule on the budget's clock.
- `bertfam_best`: keras_bertfam's `budget` recipe (`keras_bertfam/recipes/budget.json`)
  at the common size: full sentences, whole-word masking at 30%, pre-norm, no dropout,
  AdamW 1e-3 with warmup-stable-decay, batches of 8 (`--set` changes it for a try).
- `bertfam_electra`: ELECTRA's replaced-token detection on the same rows, schedule,
  batch size and pre-norm: a discriminator of the common size (E = H = 256, so that its parameters
  match; the generator, 1/4 of its width, is not counted) and token masking at 15%, as
  the paper. Its MLM columns are the generator's; it is scored by replaced-token
  detection (AUC, precision and recall of "replaced") and downstream.

Every worker writes its trained weights to `<folder>/<system>.weights.h5`;
`benchmarks.pretrain_downstream.sequence_model` rebuilds a system around them for
fine-tuning.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import keras
import numpy as np

COMMON = {"L": 4, "H": 256, "A": 4, "I": 1024, "S": 128, "batch": 32, "V": 30522}
EVAL_BATCHES = 8  # held-out batches of `batch` rows, per split
EVAL_MASKING = {"rate": 0.15, "max_predictions_per_seq": 20}
SYSTEMS = ("keras_hub_guide", "keras_hub_scheduled", "bertfam_bert", "bertfam_best",
           "bertfam_electra")  # fmt: skip
SPLITS = ("validation", "test")


def prepare(folder: Path) -> dict:
    """Split the corpus (every 20th document held out; held-out documents alternate
    between validation and test), mask the held-out batches every system is scored
    on, and find the most-frequent-token baseline. Writes into `folder`."""
    import tensorflow as tf

    from benchmarks.optional import minilm_dir
    from keras_bertfam.data import DataConfig, MaskingConfig, load_tokenizer, unmasked_dataset
    from keras_bertfam.data.pipeline import masker
    from keras_bertfam.resources import PYDOCS_CORPUS

    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(PYDOCS_CORPUS, "rt", encoding="utf-8") as handle:
        docs = [d for d in handle.read().split("\n\n") if d.strip()]
    held = [d for i, d in enumerate(docs) if i % 20 == 0]
    parts = {
        "train": [d for i, d in enumerate(docs) if i % 20],
        "validation": held[0::2],
        "test": held[1::2],
    }
    for name, part in parts.items():
        (folder / f"{name}.txt").write_text("\n\n".join(part) + "\n", encoding="utf-8")
    tok = load_tokenizer(minilm_dir("the pretrain benchmark") / "vocab.txt")
    config = DataConfig(
        objective="none", sequence_length=COMMON["S"], masking=MaskingConfig(**EVAL_MASKING)
    )
    mask = masker(tok, config)
    counts = np.bincount(
        tok.tokenize([line for d in parts["train"] for line in d.splitlines()]).flat_values.numpy(),
        minlength=tok.vocabulary_size,
    )
    counts[[tok.special_ids[k] for k in ("cls", "sep", "pad", "mask", "unk")]] = 0
    info = {
        "most_frequent_token": int(counts.argmax()),
        "documents": {k: len(v) for k, v in parts.items()},
    }
    for split in SPLITS:
        rows = unmasked_dataset([folder / f"{split}.txt"], tok, config, seed=0)
        rows = next(iter(rows.batch(COMMON["batch"] * EVAL_BATCHES)))
        batch = {k: v for k, v in mask(rows, tf.constant([7, 7], tf.int64)).items()}
        arrays = {
            k: np.asarray(batch[k])
            for k in ("token_ids", "padding_mask", "mask_positions", "mask_ids", "mask_weights")
        }
        np.savez(folder / f"{split}.npz", **arrays)
        real = arrays["mask_weights"] > 0
        info[f"{split}_baseline"] = float(
            np.mean(arrays["mask_ids"][real] == info["most_frequent_token"])
        )
        info[f"{split}_predictions"] = int(real.sum())
    (folder / "prepared.json").write_text(json.dumps(info, indent=2))
    return info


def worker(system: str, folder: Path, budget: float, eval_every: float) -> dict:
    """Train `system` for `budget` seconds; its held-out curve and counts."""
    from benchmarks.optional import minilm_dir
    from benchmarks.timing import OtherLoad
    from keras_bertfam.data import load_tokenizer
    from keras_bertfam.training.budget import TimeBudget

    keras.utils.set_random_seed(0)
    tok = load_tokenizer(minilm_dir("the pretrain benchmark") / "vocab.txt")
    held = {s: dict(np.load(folder / f"{s}.npz")) for s in SPLITS}
    model, dataset, score, schedule, steps = BUILDERS[system](tok, folder / "train.txt")
    clock = TimeBudget(budget, schedule, steps)
    evaluator = Evaluator(clock, score, held, eval_every)
    with OtherLoad() as load:
        model.fit(
            dataset,
            epochs=1,
            steps_per_epoch=10**9 // COMMON["batch"],
            verbose=0,
            callbacks=[clock, evaluator],
        )
    evaluator.record()
    model.save_weights(folder / f"{system}.weights.h5", overwrite=True)
    return {
        "system": system,
        "parameters": _parameters(model),
        "rtd": _rtd_scores(model, held["test"]) if hasattr(model, "rtd_metrics") else None,
        "curve": evaluator.curve,
        "updates": int(model.optimizer.iterations.numpy()),
        "elapsed_seconds": clock.elapsed(),
        "other_load": load.value,
    }


class Evaluator(keras.callbacks.Callback):
    """Scores the held-out batches every `every` seconds of the budget's clock (the
    scoring itself left out of the budget): rows of seconds, updates and, per split,
    accuracy and cross-entropy at the masked positions."""

    def __init__(self, clock, score, held, every):
        super().__init__()
        self.clock, self.score, self.held, self.every = clock, score, held, every
        self.curve, self._next = [], every

    def on_train_batch_end(self, batch, logs=None):
        if self.clock.elapsed() >= self._next:
            self.record()
            self._next += self.every

    def record(self):
        start = time.perf_counter()
        row = [round(self.clock.elapsed(), 2), int(self.model.optimizer.iterations.numpy())]
        for split in SPLITS:
            row += _accuracy_and_loss(self.score, self.held[split])
        self.curve.append(row)
        self.clock.exclude(time.perf_counter() - start)


def _accuracy_and_loss(score, arrays) -> list[float]:
    """Accuracy and mean cross-entropy (nats) at the real masked positions."""
    right = loss = count = 0.0
    n, b = len(arrays["token_ids"]), COMMON["batch"]
    for i in range(0, n, b):
        part = {k: v[i : i + b] for k, v in arrays.items()}
        log_probs = score(part)  # [b, P, V], log-probabilities
        weights = part["mask_weights"]
        target = np.take_along_axis(log_probs, part["mask_ids"][..., None], axis=-1)[..., 0]
        right += float(((log_probs.argmax(-1) == part["mask_ids"]) * weights).sum())
        loss += float((-target * weights).sum())
        count += float(weights.sum())
    return [right / count, loss / count]


# -- the systems: (model, dataset, score, schedule or None, steps of the schedule) --------


def _hub_rows(train_file, tok):
    """Full-sentence rows of S tokens (the same text every system reads), batched."""
    from keras_bertfam.data import DataConfig, unmasked_dataset

    config = DataConfig(objective="none", sequence_length=COMMON["S"])
    rows = unmasked_dataset([train_file], tok, config, seed=0).repeat()
    return rows.shuffle(2048, seed=0).batch(COMMON["batch"], drop_remainder=True)


def _keras_hub(tok, train_file, scheduled: bool):
    import keras_hub
    import tensorflow as tf

    from keras_bertfam.training.optimizers import learning_rate_schedule

    c, special = COMMON, tok.special_ids
    generator = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=tok.vocabulary_size,
        mask_selection_rate=0.25,
        mask_token_id=special["mask"],
        mask_selection_length=32,
        unselectable_token_ids=[special[k] for k in ("cls", "sep", "pad")],
    )

    def to_fit(rows):
        masked = generator(rows["token_ids"])
        x = {"token_ids": masked["token_ids"], "mask_positions": masked["mask_positions"]}
        if scheduled:
            x["padding_mask"] = rows["padding_mask"]
        return x, masked["mask_ids"], tf.cast(masked["mask_weights"], tf.float32)

    dataset = _hub_rows(train_file, tok).map(to_fit, num_parallel_calls=tf.data.AUTOTUNE)
    token_ids = keras.Input((c["S"],), dtype="int32", name="token_ids")
    positions = keras.Input((None,), dtype="int32", name="mask_positions")
    inputs = {"token_ids": token_ids, "mask_positions": positions}
    embedding = keras_hub.layers.TokenAndPositionEmbedding(c["V"], c["S"], c["H"])
    x = keras.layers.Dropout(0.1)(
        keras.layers.LayerNormalization(epsilon=1e-5)(embedding(token_ids))
    )
    mask = None
    if scheduled:
        inputs["padding_mask"] = mask = keras.Input((c["S"],), dtype="int32", name="padding_mask")
    for _ in range(c["L"]):
        x = keras_hub.layers.TransformerEncoder(
            c["I"], c["A"], dropout=0.1, layer_norm_epsilon=1e-5
        )(x, padding_mask=mask)
    probs = keras_hub.layers.MaskedLMHead(
        token_embedding=embedding.token_embedding, activation="softmax"
    )(x, mask_positions=positions)
    model = keras.Model(inputs, probs)
    steps, schedule = 1000, None
    if scheduled:
        schedule = learning_rate_schedule(5e-4, steps, warmup_steps=steps // 10)
    model.compile(
        optimizer=keras.optimizers.AdamW(0.0 if scheduled else 5e-4),
        loss="sparse_categorical_crossentropy",
        weighted_metrics=["sparse_categorical_accuracy"],
        jit_compile=True,
    )

    def score(part):
        x = {"token_ids": part["token_ids"], "mask_positions": part["mask_positions"]}
        if scheduled:
            x["padding_mask"] = part["padding_mask"]
        return np.log(np.maximum(np.asarray(model.predict_on_batch(x)), 1e-30))

    return model, dataset, score, schedule, steps


def _bertfam(tok, train_file, recipe: dict):
    import keras_bertfam as bf
    from benchmarks.timing import shape_config
    from keras_bertfam.data import DataConfig, pretraining_dataset
    from keras_bertfam.models.electra import ElectraPretrainer, electra_batches
    from keras_bertfam.training.optimizers import build_optimizer, learning_rate_schedule
    from keras_bertfam.training.recipe import compile_pretrainer

    c, t = COMMON, recipe["train"]
    config = shape_config(recipe["preset"], c, **recipe.get("model", {}))
    data = DataConfig.from_dict({**recipe["data"], "sequence_length": c["S"]})
    batch = t.get("batch_size", c["batch"])
    dataset = pretraining_dataset([train_file], tok, data, batch, seed=0).repeat()
    if config.token_objective == "rtd":
        model, dataset = ElectraPretrainer(config), electra_batches(dataset)
    else:
        model = bf.build_pretrainer(config)
    steps, warmup = t["steps"], t["warmup_steps"]
    optimizer = build_optimizer(
        "adamw",
        model,
        t["learning_rate"],
        steps,
        warmup,
        clocked=True,
        schedule=t.get("schedule", "polynomial"),
        decay_steps=t.get("decay_steps"),
        weight_decay=t.get("weight_decay", 0.01),
    )
    compile_pretrainer(model, optimizer, jit=True)
    schedule = learning_rate_schedule(
        t["learning_rate"],
        steps,
        warmup,
        t.get("schedule", "polynomial"),
        decay_steps=t.get("decay_steps"),
    )

    def score(part):
        x = {
            "token_ids": part["token_ids"],
            "padding_mask": part["padding_mask"],
            "segment_ids": np.zeros_like(part["token_ids"]),
            "mask_positions": part["mask_positions"],
            "mask_ids": part["mask_ids"],  # ELECTRA's generator fills these positions
            "mask_weights": part["mask_weights"],
        }
        x = {k: v for k, v in x.items() if k in model.input}
        logits = np.asarray(model.predict_on_batch(x)["mlm_logits"], np.float64)
        logits -= logits.max(-1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(-1, keepdims=True))

    return model, dataset, score, schedule, steps


BERT = {
    "preset": "bert_base",
    "data": {"objective": "nsp", "masking": {"strategy": "token", "max_predictions_per_seq": 20}},
    "train": {"learning_rate": 1e-4, "steps": 1_000_000, "warmup_steps": 10_000},
}


def _from_recipe(name: str) -> dict:
    """A library recipe (`keras_bertfam.recipes`) as a system's settings."""
    from keras_bertfam.recipes import load_recipe

    recipe = load_recipe(name)
    model = dict(recipe["model"])
    return {"preset": model.pop("preset"), "model": model, "data": recipe["data"],
            "train": recipe["train"]}  # fmt: skip


BEST = _from_recipe("budget")


def apply_settings(pairs) -> None:
    """Change `bertfam_best`'s recipe in this process: `SECTION.FIELD=VALUE` pairs, the
    section `model`, `data`, `masking` or `train`, the value JSON (else a string), e.g.
    `train.batch_size=16`, `masking.strategy=token`, `model.position_embedding=rotary`."""
    global BEST
    recipe = json.loads(json.dumps(BEST))
    for pair in pairs:
        key, equals, text = pair.partition("=")
        section, _, field = key.partition(".")
        parent = recipe["data"] if section == "masking" else recipe.get(section)
        if parent is None or not field or not equals:
            raise ValueError(f"--set {pair!r}: use SECTION.FIELD=VALUE, the section one of "
                             "model, data, masking, train")  # fmt: skip
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        (parent.setdefault("masking", {}) if section == "masking" else parent)[field] = value
    BEST = recipe


ELECTRA = {
    "preset": "electra_small",
    "model": {**BEST["model"], "embedding_dim": COMMON["H"]},
    "data": {"objective": "none", "masking": {"strategy": "token", "rate": 0.15}},
    "train": BEST["train"],
}
BUILDERS = {
    "keras_hub_guide": lambda tok, f: _keras_hub(tok, f, scheduled=False),
    "keras_hub_scheduled": lambda tok, f: _keras_hub(tok, f, scheduled=True),
    "bertfam_bert": lambda tok, f: _bertfam(tok, f, BERT),
    "bertfam_best": lambda tok, f: _bertfam(tok, f, BEST),
    "bertfam_electra": lambda tok, f: _bertfam(tok, f, ELECTRA),
}


def _parameters(model) -> int:
    """Trainable and other weights, an ELECTRA generator's own left out (its tables are
    the discriminator's)."""
    own = [w for w in model.weights if not w.path.startswith("generator_")]
    return int(sum(np.prod(w.shape) for w in own))


def _rtd_scores(model, arrays) -> dict:
    """Replaced-token detection on held-out batches, as ELECTRA's code reports it: AUC,
    precision and recall of "replaced" over the non-pad tokens, and the replaced share."""
    metrics = {"auc": keras.metrics.AUC(), "precision": keras.metrics.Precision(),
               "recall": keras.metrics.Recall()}  # fmt: skip
    replaced = tokens = 0.0
    b = COMMON["batch"]
    for i in range(0, len(arrays["token_ids"]), b):
        part = {k: v[i : i + b] for k, v in arrays.items()}
        x = {**part, "segment_ids": np.zeros_like(part["token_ids"])}
        out = model.predict_on_batch({k: x[k] for k in model.input})
        labels, weights = np.asarray(out["rtd_labels"]), part["padding_mask"].astype("float32")
        probs = 1 / (1 + np.exp(-np.asarray(out["rtd_logits"], np.float64)))
        for metric in metrics.values():
            metric.update_state(labels, probs, sample_weight=weights)
        replaced += float((labels * weights).sum())
        tokens += float(weights.sum())
    scores = {k: float(m.result()) for k, m in metrics.items()}
    return {**scores, "replaced_share": replaced / tokens}
