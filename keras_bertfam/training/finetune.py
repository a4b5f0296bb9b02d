"""The fine-tuning recipe: a checkpoint + task files -> a task model, its best epoch kept.

`finetune` reads the task files (`keras_bertfam.data.tasks`), puts the task head
on the encoder (`build_task_model`), trains with AdamW, linear warmup and decay,
batches bucketed by length, early stopping on the dev loss, and keeps the best
epoch. The output folder receives `model.keras`, `task.json` (task, label names,
sequence length), the tokenizer files, `training_summary.json` and
`eval_report.json`. `evaluate` scores a saved folder on a file: accuracy and
per-class precision/recall/F1, or SQuAD exact match/F1 (and the predictions).

Example:

>>> from keras_bertfam.training.finetune import classification_report
>>> r = classification_report([0, 1, 1, 0], [0, 1, 0, 0], ["neg", "pos"])
>>> r["accuracy"], r["per_class"]["pos"]["recall"]
(0.75, 0.5)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from keras_bertfam.errors import InputError, MissingInputError, TrainingDiverged
from keras_bertfam.models.saving import load_model
from keras_bertfam.training.callbacks import DivergenceGuard, EpochTimer
from keras_bertfam.training.run_folder import RunFolder
from keras_bertfam.validate import require_choice, require_int, require_number

TASK_FILE = "task.json"
SUMMARY = "training_summary.json"
LOG = logging.getLogger("keras_bertfam")


def classification_report(truth, predicted, labels: list[str], weights=None) -> dict:
    """Accuracy, macro F1 and per-class precision/recall/F1/support."""
    truth, predicted = np.asarray(truth).ravel(), np.asarray(predicted).ravel()
    keep = np.ones_like(truth, bool) if weights is None else np.asarray(weights).ravel() > 0
    truth, predicted = truth[keep], predicted[keep]
    per_class = {}
    for index, name in enumerate(labels):
        tp = int(np.sum((predicted == index) & (truth == index)))
        p_count, t_count = int(np.sum(predicted == index)), int(np.sum(truth == index))
        precision = tp / p_count if p_count else 0.0
        recall = tp / t_count if t_count else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": t_count}
    present = [v["f1"] for v in per_class.values() if v["support"]]
    return {
        "examples": int(truth.size),
        "accuracy": float(np.mean(truth == predicted)) if truth.size else 0.0,
        "macro_f1": float(np.mean(present)) if present else 0.0,
        "per_class": per_class,
    }


def format_report(report: dict) -> str:
    """A printable table of a classification report (or the SQuAD scores)."""
    if "per_class" not in report:
        return "  ".join(f"{k}: {v:.2f}" for k, v in report.items() if isinstance(v, float))
    lines = [f"{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for name, row in report["per_class"].items():
        lines.append(
            f"{name[:19]:<20}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>10.3f}{row['support']:>9d}"
        )
    lines.append(
        f"accuracy {report['accuracy']:.4f}   macro F1 {report['macro_f1']:.4f}   "
        f"examples {report['examples']}"
    )
    return "\n".join(lines)


def predict_and_score(
    model,
    data: dict,
    task: str,
    labels,
    batch_size: int,
    max_length: int,
    pad_id: int,
    null_threshold: float | None = None,
) -> tuple[dict, object]:
    """(report, predictions) of `model` on prepared `data` (see `data.tasks.prepare`).

    `null_threshold`: question answering only; see `data.tasks.best_spans`.
    """
    from keras_bertfam.data.tasks import batches, best_spans, squad_scores

    count = len(data["features"]["token_ids"])
    # The example index rides along as the target, so bucketed batches can be put back in order.
    dataset = batches(data["features"], {"index": np.arange(count, dtype=np.int32)}, batch_size,
                      max_length, pad_id)  # fmt: skip
    restored = {}
    for x, y in dataset:
        for name, value in model.predict_on_batch(x).items():
            column = restored.setdefault(name, [None] * count)
            for index, row in zip(y["index"].numpy(), np.asarray(value), strict=True):
                column[index] = row
    if task == "question_answering":
        predictions = best_spans(
            data["rows"], data["windows"], restored["start_logits"], restored["end_logits"],
            null_threshold=null_threshold,
        )  # fmt: skip
        return squad_scores(data["rows"], predictions), predictions
    predicted = [np.argmax(v, axis=-1) for v in restored["logits"]]
    if task == "token_classification":
        y, w = data["targets"][0]["logits"], data["targets"][1]["logits"]
        truth = np.concatenate([np.asarray(t) for t in y])
        weights = np.concatenate([np.asarray(t) for t in w])
        guess = np.concatenate([p[: len(t)] for p, t in zip(predicted, y, strict=True)])
        tags = [
            [labels[int(k)] for k, keep in zip(p, ws, strict=False) if keep > 0]
            for p, ws in zip(predicted, w, strict=True)
        ]
        return classification_report(truth, guess, labels, weights), tags
    if task == "multiple_choice":
        names = [str(k) for k in range(np.asarray(restored["logits"][0]).shape[-1])]
        report = classification_report(data["targets"]["logits"], predicted, names)
        return report, [int(k) for k in predicted]
    report = classification_report(data["targets"]["logits"], predicted, labels)
    return report, [labels[int(k)] for k in predicted]


def finetune(
    model,
    train,
    dev=None,
    task: str = "classification",
    out="runs/finetune",
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    clipnorm: float | None = None,
    max_sequence_length: int = 128,
    pooling: str | None = None,
    dropout: float = 0.1,
    head_init: str = "fan_in_uniform",
    patience: int = 2,
    bucketing: bool = True,
    jit: bool = False,
    seed: int = 0,
    tokenizer=None,
    verbose: int = 1,
    header: str = "auto",
    overwrite: bool = False,
    callbacks=(),
) -> dict:
    """Fine-tune `model` (a checkpoint path or an encoder `keras.Model`) on `train`.

    Args:
        model: anything `from_pretrained` reads, or a keras_bertfam encoder
            (then pass `tokenizer`).
        train, dev: task files (see `keras_bertfam.data.tasks`).
        task: "classification", "token_classification", "question_answering"
            or "multiple_choice".
        out: the output folder. A finished run of the same configuration there
            is reported (`summary["already_complete"]`), an unfinished one is run
            again; anything else is refused unless `overwrite=True`. It must not
            be the `model` folder.
        pooling: "pooled", "cls" or "mean" for classification heads.
        head_init: "fan_in_uniform" or "truncated_normal" (see
            `keras_bertfam.models.tasks`).
        clipnorm: clip gradients to this global norm; None (default) does not
            clip. (BERT's optimization.py and Hugging Face's Trainer clip at 1.0;
            on fortunes topics, not clipping trained faster: see the README.)
        patience: epochs without a better dev loss before stopping.
        bucketing: length-bucketed batches (False: pad every batch to max length).
        jit: XLA-compile the step (each bucket shape compiles once).
        header: classification TSV header row: "auto", "yes" or "no".
        callbacks: more Keras callbacks for `fit`.

    Returns:
        The summary written to `training_summary.json`, with the dev report.

    Raises:
        TrainingDiverged: the loss became NaN or infinite (no model is written).
    """
    import keras

    from keras_bertfam.convert.importer import from_pretrained
    from keras_bertfam.data.tasks import prepare
    from keras_bertfam.data.tokenizers import load_tokenizer

    _check_arguments(locals())  # every argument, before anything is read
    keras.utils.set_random_seed(seed)
    out = Path(out)
    source = Path(model) if isinstance(model, str | Path) else None
    if source is not None and out.resolve() == source.resolve():
        raise InputError(
            f"out={str(out)!r} is the model folder itself; write the fine-tuned model to "
            "another folder"
        )
    if tokenizer is None:
        if source is None:
            raise InputError("a model passed as a keras.Model needs tokenizer=")
        tokenizer = source
    tokenizer = load_tokenizer(tokenizer)
    encoder = from_pretrained(model) if source is not None else model
    limit = model_limits(encoder)["max_sequence_length"]
    if limit is not None and max_sequence_length > limit:
        raise InputError(
            f"max_sequence_length={max_sequence_length} exceeds the model's "
            f"max_sequence_length={limit} (its position table has no rows for longer "
            "sequences)"
        )
    train_data = prepare(task, train, tokenizer, max_sequence_length, header=header)
    dev_data = None
    if dev:
        labels = train_data["labels"]
        dev_data = prepare(task, dev, tokenizer, max_sequence_length, labels, header=header)
    for part, data in (("train", train_data), ("dev", dev_data)):
        if data is not None:
            LOG.info("%s: %s", part, describe_summary(data["summary"]))
    examples = len(train_data["features"]["token_ids"])
    if batch_size > examples:
        raise InputError(
            f"batch_size={batch_size} is larger than the {examples} training examples "
            f"of {str(train)!r}"
        )
    settings = dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                    warmup_ratio=warmup_ratio, weight_decay=weight_decay, clipnorm=clipnorm,
                    max_sequence_length=max_sequence_length, pooling=pooling, dropout=dropout,
                    head_init=head_init, patience=patience, bucketing=bucketing, jit=jit,
                    seed=seed, verbose=verbose)  # fmt: skip
    extra_callbacks = list(callbacks)
    configuration = {
        "model": str(source.resolve()) if source is not None else encoder.name,
        "task": task,
        "train": _file_identity(train),
        "dev": _file_identity(dev) if dev else None,
        "header": header,
        "tokenizer_files": [str(f) for f in tokenizer.files],
        **settings,
    }
    with RunFolder(out, "finetune", configuration, overwrite, ignored=("verbose",)) as run:
        if run.state == "complete":
            summary = json.loads((out / SUMMARY).read_text(encoding="utf-8"))
            return {**summary, "already_complete": True}
        return _train_task(encoder, source, task, train_data, dev_data, tokenizer, run, settings,
                           extra_callbacks)  # fmt: skip


def _train_task(encoder, source, task, train_data, dev_data, tokenizer, run, a,
                extra_callbacks) -> dict:  # fmt: skip
    import keras

    from keras_bertfam.data.tasks import batches
    from keras_bertfam.models.tasks import build_task_model
    from keras_bertfam.training.optimizers import build_optimizer
    from keras_bertfam.training.recipe import compile_pretrainer

    pad_id = tokenizer.special_ids.get("pad", 0)
    labels = train_data["labels"]
    num_classes = len(labels) if labels else None
    if task == "multiple_choice":
        num_classes = len(train_data["rows"][0]["choices"])
    task_model = build_task_model(encoder, task, num_classes, pooling=a["pooling"],
                                  dropout=a["dropout"], head_init=a["head_init"])  # fmt: skip

    def dataset(data, shuffle):
        return batches(data["features"], data["targets"], a["batch_size"],
                       a["max_sequence_length"], pad_id, a["bucketing"], shuffle,
                       a["seed"])  # fmt: skip

    train_ds = dataset(train_data, shuffle=True)
    total = int(train_ds.cardinality()) * a["epochs"]
    optimizer = build_optimizer(
        "adamw",
        task_model,
        a["learning_rate"],
        total,
        int(a["warmup_ratio"] * total),
        a["weight_decay"],
        global_clipnorm=a["clipnorm"],
        epsilon=1e-8,
    )
    compile_pretrainer(task_model, optimizer, a["jit"])
    guard, epoch_times = DivergenceGuard(), EpochTimer()
    callbacks = [guard, epoch_times, keras.callbacks.TensorBoard(str(run.path / "logs")),
                 *extra_callbacks]  # fmt: skip
    best = run.path / "model.partial.keras"
    if dev_data:
        callbacks += [
            keras.callbacks.EarlyStopping("val_loss", patience=a["patience"]),
            keras.callbacks.ModelCheckpoint(str(best), "val_loss", save_best_only=True),
        ]
    tokens = sum(map(len, _flat_sequences(train_data["features"]["token_ids"])))
    history = task_model.fit(
        train_ds,
        validation_data=dataset(dev_data, shuffle=False) if dev_data else None,
        epochs=a["epochs"],
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles (within a seed) before bucketing
        verbose=a["verbose"],
    )
    if guard.diverged is not None:
        raise TrainingDiverged(
            f"the loss became {guard.diverged['loss']} in epoch {guard.diverged['epoch']}; "
            "training stopped and no model was written. Try a lower learning rate "
            f"(learning_rate={a['learning_rate']}) or gradient clipping (clipnorm)."
        )
    if not dev_data or not best.is_file():
        task_model.save(best)
    task_model = load_model(best)
    os.replace(best, run.path / "model.keras")
    task_info = {"task": task, "labels": labels, "max_sequence_length": a["max_sequence_length"],
                 "num_choices": num_classes if task == "multiple_choice" else None,
                 "pairs": task == "classification" and len(train_data["rows"][0]["texts"]) == 2,
                 "squad_v2": bool(train_data.get("squad_v2")),
                 "source": str(source) if source is not None else None}  # fmt: skip
    run.write_json(TASK_FILE, task_info)
    run.copy_tokenizer(tokenizer)
    summary = {
        "epochs_run": len(history.history["loss"]),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "train_examples": len(train_data["rows"]),
        "data": {
            "train": train_data["summary"],
            "dev": dev_data["summary"] if dev_data else None,
        },
        "train_tokens_per_epoch": tokens,
        "useful_tokens_per_s": [tokens / t for t in epoch_times.seconds],
    }
    if dev_data:
        report, predictions = predict_and_score(
            task_model, dev_data, task, labels, a["batch_size"], a["max_sequence_length"],
            pad_id, _null_threshold(task_info, None),
        )  # fmt: skip
        summary["dev"] = report
        run.write_json("eval_report.json", report)
        if task == "question_answering":
            run.write_json("predictions.json", predictions)
    run.write_json(SUMMARY, summary)
    run.finish()
    return summary


def _check_arguments(a: dict):
    from keras_bertfam.models.tasks import POOLINGS, TASKS

    require_choice("task", a["task"], TASKS)
    for name in ("epochs", "batch_size"):
        require_int(name, a[name], minimum=1)
    require_int("max_sequence_length", a["max_sequence_length"], minimum=3)
    require_int("patience", a["patience"], minimum=0)
    require_int("seed", a["seed"])
    require_number("learning_rate", a["learning_rate"], above=0)
    require_number("warmup_ratio", a["warmup_ratio"], minimum=0, maximum=1)
    require_number("weight_decay", a["weight_decay"], minimum=0)
    require_number("dropout", a["dropout"], minimum=0, below=1)
    if a["clipnorm"] is not None:
        require_number("clipnorm", a["clipnorm"], above=0)
    if a["pooling"] is not None:
        require_choice("pooling", a["pooling"], POOLINGS)
    require_choice("head_init", a["head_init"], ("fan_in_uniform", "truncated_normal"))


def model_limits(model) -> dict:
    """`{"vocabulary_size", "max_sequence_length"}` a keras_bertfam model accepts (None
    when the model does not say)."""
    config = getattr(model, "bertfam_config", None)
    if config is not None:
        return {
            "vocabulary_size": config.vocabulary_size,
            "max_sequence_length": config.max_sequence_length,
        }
    limits = {"vocabulary_size": None, "max_sequence_length": None}
    for layer in model.layers:
        if layer.name == "token_embedding":
            limits["vocabulary_size"] = layer.input_dim
        if hasattr(layer, "max_sequence_length"):
            limits["max_sequence_length"] = layer.max_sequence_length
    return limits


def _file_identity(path) -> dict:
    path = Path(path)
    return {"path": str(path.resolve()), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def describe_summary(summary: dict) -> str:
    """One line of what a task file held: rows, header, classes with their counts."""
    labels = summary.get("labels") or {}
    shown = ", ".join(f"{name} {count}" for name, count in list(labels.items())[:20])
    more = f", ... ({len(labels)} in all)" if len(labels) > 20 else ""
    extra = "".join(
        f", {summary[k]} {k}" for k in ("windows", "choices") if summary.get(k) is not None
    )
    header = " (header row skipped)" if summary.get("header") else ""
    return (
        f"{summary['rows']} rows from {summary['path']}{header}{extra}; "
        f"{len(labels)} labels: {shown}{more}"
    )


def _flat_sequences(token_ids):
    for item in token_ids:
        if item and isinstance(item[0], list):  # multiple choice: [choice][token]
            yield from item
        else:
            yield item


def load_finetuned(folder):
    """(task model, task info, tokenizer) of a folder written by `finetune`."""

    from keras_bertfam.data.tokenizers import load_tokenizer

    folder = Path(folder)
    for name in ("model.keras", TASK_FILE):
        if not (folder / name).is_file():
            raise MissingInputError(f"{str(folder / name)!r} is missing: not a finetune output")
    info = json.loads((folder / TASK_FILE).read_text())
    return (
        load_model(folder / "model.keras"),
        info,
        load_tokenizer(folder / "tokenizer"),
    )


def _null_threshold(info: dict, given: float | None) -> float | None:
    """The no-answer rule of a QA model: the given threshold, else 0.0 when trained on v2."""
    if given is not None:
        return float(given)
    return 0.0 if info.get("squad_v2") else None


def evaluate(folder, path, batch_size: int = 64, null_threshold: float | None = None,
             header: str = "auto") -> tuple[dict, object]:  # fmt: skip
    """Score a `finetune` output folder on a task file: (report, predictions).

    `null_threshold` (question answering): answer "" when the no-answer score
    beats the best span by more than this; by default 0.0 for models trained on
    SQuAD 2.0 data (unanswerable questions) and never for SQuAD 1.1 models.
    """
    from keras_bertfam.data.tasks import prepare

    require_int("batch_size", batch_size, minimum=1)
    if null_threshold is not None:
        require_number("null_threshold", null_threshold)
    model, info, tokenizer = load_finetuned(folder)
    length = info["max_sequence_length"]
    data = prepare(info["task"], path, tokenizer, length, info["labels"], header=header)
    LOG.info("%s", describe_summary(data["summary"]))
    pad_id = tokenizer.special_ids.get("pad", 0)
    return predict_and_score(model, data, info["task"], info["labels"], batch_size, length, pad_id,
                             _null_threshold(info, null_threshold))  # fmt: skip
