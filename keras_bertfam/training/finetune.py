"""The fine-tuning recipe: a checkpoint + task files -> a task model, its best epoch kept.

`finetune` reads the task files (the task's module in `keras_bertfam.tasks`),
puts the task head on the encoder (`build_task_model`), trains with AdamW,
linear warmup and decay, batches bucketed by length (or padded, or packed: see
`keras_bertfam.data.batching`), early stopping on the dev
loss, and keeps the best epoch. The output folder receives `model.keras`,
`task.json` (task, label names, sequence length), the tokenizer files,
`training_summary.json`, and with a dev file `eval_report.json` and
`predictions.json`. `evaluate` (`keras_bertfam.training.evaluate`) scores a
saved folder on a file.

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

from keras_bertfam import tasks
from keras_bertfam.data.row_packing import DEFAULT_MAX_SEQUENCES
from keras_bertfam.deprecation import renamed_keywords
from keras_bertfam.errors import InputError, TrainingDiverged
from keras_bertfam.kinds import BATCHINGS, HEAD_INITS, POOLINGS, TSV_HEADERS
from keras_bertfam.models.builders import encoder_of
from keras_bertfam.models.saving import load_model
from keras_bertfam.tasks.metrics import classification_report, format_report
from keras_bertfam.training.evaluate import (
    TASK_FILE,
    _null_threshold,
    describe_summary,
    evaluate,
    load_finetuned,
    predict_and_score,
)
from keras_bertfam.training.jax_devices import finetune_jit
from keras_bertfam.training.run_folder import RunFolder
from keras_bertfam.validate import require_choice, require_int, require_number

SUMMARY = "training_summary.json"
# the arguments of `finetune` that the run's configuration records (and `_fit` reads)
SETTINGS = ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay",
            "clipnorm", "sequence_length", "pooling", "dropout", "head_init", "patience",
            "batching", "jit", "seed", "verbose")  # fmt: skip
LOG = logging.getLogger("keras_bertfam")


@renamed_keywords(max_sequence_length="sequence_length")
def finetune(model, train, dev=None, task: str = tasks.DEFAULT, out="runs/finetune",
             epochs: int = 3, batch_size: int = 32, learning_rate: float = 5e-5,
             warmup_ratio: float = 0.1, weight_decay: float = 0.01, clipnorm: float | None = None,
             sequence_length: int = 128, pooling: str | None = None, dropout: float = 0.1,
             head_init: str = "fan_in_uniform", patience: int = 2, batching: str = "buckets",
             jit: bool | None = None, seed: int = 0, tokenizer=None, verbose: int = 1,
             header: str = "auto", overwrite: bool = False, callbacks=(),
             bucketing: bool | None = None,
) -> dict:  # fmt: skip
    """Fine-tune `model` (a checkpoint path or an encoder `keras.Model`) on `train`.

    Args:
        model: anything `from_pretrained` reads, or a keras_bertfam encoder
            (then pass `tokenizer`).
        train, dev: task files (see `keras_bertfam.data.tasks`).
        task: a task name of `keras_bertfam.tasks.names()`.
        sequence_length: tokens per sequence (at most the model's
            max_sequence_length).
        out: the output folder. A finished run of the same configuration there
            is reported (`summary["already_complete"]`), an unfinished one is run
            again; anything else is refused unless `overwrite=True`. It must not
            be the `model` folder.
        pooling: "pooled", "cls" or "mean" for the pooling heads.
        head_init: "fan_in_uniform" or "truncated_normal" (see
            `keras_bertfam.models.tasks`).
        clipnorm: clip gradients to this global norm; None (default) does not
            clip. (BERT's optimization.py and Hugging Face's Trainer clip at 1.0;
            on fortunes topics, not clipping trained faster: see the README.)
        patience: epochs without a better dev loss before stopping.
        batching: "buckets" (length-bucketed batches), "pad" (every batch padded to
            `sequence_length`) or "pack" (several examples per row of
            `sequence_length`, on a packed twin of the model with the same weights;
            classification and token classification). The model written is the
            plain one either way.
        bucketing: the older switch: True is batching="buckets", False "pad".
        jit: XLA-compile the step (each bucket shape compiles once); None: on
            TensorFlow no, on JAX yes (jax.jit, as JAX runs; False runs eagerly).
        header: classification TSV header row: "auto", "yes" or "no".
        callbacks: more Keras callbacks for `fit`.

    Returns:
        The summary written to `training_summary.json`, with the dev report.

    Raises:
        TrainingDiverged: the loss became NaN or infinite (no model is written).
    """
    import keras

    if bucketing is not None:
        batching = "buckets" if bucketing else "pad"
    _check_arguments(locals())  # every argument, before anything is read
    jit = finetune_jit(jit)  # on JAX, also before TensorFlow (the input pipeline) starts
    keras.utils.set_random_seed(seed)
    out = Path(out)
    source = _source(model, out)
    encoder, tokenizer = _encoder_and_tokenizer(model, source, tokenizer, sequence_length)
    spec = tasks.get(task)
    train_data, dev_data = _task_data(spec, train, dev, tokenizer, sequence_length, header)
    _check_batch_size(batch_size, train_data, train)
    values = locals()
    settings = {name: values[name] for name in SETTINGS}
    configuration = {"model": str(source.resolve()) if source is not None else encoder.name,
                     "task": task, "train": _file_identity(train),
                     "dev": _file_identity(dev) if dev else None, "header": header,
                     "tokenizer_files": [str(f) for f in tokenizer.files], **settings}  # fmt: skip
    with RunFolder(out, "finetune", configuration, overwrite, ignored=("verbose",)) as run:
        if run.state == "complete":
            summary = json.loads((out / SUMMARY).read_text(encoding="utf-8"))
            return {**summary, "already_complete": True}
        task_model, summary = _fit(encoder, spec, train_data, dev_data, tokenizer, run, settings,
                                   list(callbacks))  # fmt: skip
        return _write_outputs(task_model, summary, source, spec, train_data, dev_data,
                              tokenizer, run, settings)  # fmt: skip


def _source(model, out: Path):
    """The model folder (None for a built model); refused when it is `out` itself."""
    source = Path(model) if isinstance(model, str | Path) else None
    if source is not None and out.resolve() == source.resolve():
        raise InputError(
            f"out={str(out)!r} is the model folder itself; write the fine-tuned model to "
            "another folder"
        )
    return source


def _check_batch_size(batch_size, train_data, train):
    examples = len(train_data["features"]["token_ids"])
    if batch_size > examples:
        raise InputError(
            f"batch_size={batch_size} is larger than the {examples} training examples "
            f"of {str(train)!r}"
        )


def _encoder_and_tokenizer(model, source, tokenizer, sequence_length):
    """The encoder (imported when `model` is a path) and its tokenizer, checked against
    the sequence length."""
    from keras_bertfam.convert.importer import from_pretrained
    from keras_bertfam.data.tokenizers import load_tokenizer

    if tokenizer is None:
        if source is None:
            raise InputError("a model passed as a keras.Model needs tokenizer=")
        tokenizer = source
    tokenizer = load_tokenizer(tokenizer)
    encoder = from_pretrained(model) if source is not None else model
    limit = model_limits(encoder)["max_sequence_length"]
    if limit is not None and sequence_length > limit:
        raise InputError(
            f"sequence_length={sequence_length} exceeds the model's "
            f"max_sequence_length={limit} (its position table has no rows for longer "
            "sequences)"
        )
    return encoder, tokenizer


def _task_data(spec, train, dev, tokenizer, sequence_length, header):
    """(train data, dev data or None), read and encoded, and said in the log."""
    train_data = spec.prepare(train, tokenizer, sequence_length, header=header)
    dev_data = None
    if dev:
        dev_data = spec.prepare(dev, tokenizer, sequence_length, train_data["labels"], header)
    for part, data in (("train", train_data), ("dev", dev_data)):
        if data is not None:
            LOG.info("%s: %s", part, describe_summary(data["summary"]))
    return train_data, dev_data


def _fit(encoder, spec, train_data, dev_data, tokenizer, run, a, extra_callbacks):
    """Train the task model; returns (the best epoch's model, the summary so far)."""
    import keras

    from keras_bertfam.data.batching import task_batches
    from keras_bertfam.training.callbacks import DivergenceGuard, EpochTimer
    from keras_bertfam.training.optimizers import build_optimizer
    from keras_bertfam.training.recipe import compile_pretrainer

    pad_id = tokenizer.special_ids.get("pad", 0)
    slots = DEFAULT_MAX_SEQUENCES if a["batching"] == "pack" else 0
    task_model = _task_model(encoder, spec, train_data, a, slots)

    def dataset(data, shuffle):
        return task_batches(a["batching"], data["features"], data["targets"], a["batch_size"],
                            a["sequence_length"], pad_id, shuffle, a["seed"])  # fmt: skip

    train_ds = dataset(train_data, shuffle=True)
    total = int(train_ds.cardinality()) * a["epochs"]
    optimizer = build_optimizer("adamw", task_model, a["learning_rate"], total,
                                int(a["warmup_ratio"] * total), a["weight_decay"],
                                global_clipnorm=a["clipnorm"], epsilon=1e-8)  # fmt: skip
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
    if slots:  # the plain twin, with the trained weights, is the model written
        task_model = _task_model(encoder, spec, train_data, a, 0, task_model)
        task_model.save(run.path / "model.keras")
        best.unlink()
    else:
        os.replace(best, run.path / "model.keras")
    tokens = sum(map(len, _flat_sequences(train_data["features"]["token_ids"])))
    return task_model, {
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


def _task_model(encoder, spec, train_data, a, slots, weights_from=None):
    """The task model on `encoder` with `slots` packed sequences per row (0: plain), with
    the weights of `weights_from` (its twin) if given."""
    from keras_bertfam.models.packed import copy_weights, with_packing
    from keras_bertfam.models.tasks import build_task_model

    if slots:
        encoder = with_packing(encoder_of(encoder), slots)
    model = build_task_model(encoder, spec.name, spec.num_classes(train_data),
                             pooling=a["pooling"], dropout=a["dropout"],
                             head_init=a["head_init"])  # fmt: skip
    if weights_from is not None:
        copy_weights(weights_from, model)
    return model


def _write_outputs(task_model, summary, source, spec, train_data, dev_data, tokenizer, run, a):
    """task.json, the tokenizer, the dev report and predictions, the summary; then done."""
    labels = train_data["labels"]
    task_info = {"task": spec.name, "labels": labels, "sequence_length": a["sequence_length"],
                 **spec.info(train_data),
                 "source": str(source) if source is not None else None}  # fmt: skip
    run.write_json(TASK_FILE, task_info)
    run.copy_tokenizer(tokenizer)
    if dev_data:
        pad_id = tokenizer.special_ids.get("pad", 0)
        report, predictions = predict_and_score(
            task_model, dev_data, spec.name, labels, a["batch_size"], a["sequence_length"],
            pad_id, _null_threshold(task_info, None),
        )  # fmt: skip
        summary["dev"] = report
        run.write_json("eval_report.json", report)
        run.write_json("predictions.json", predictions)
    run.write_json(SUMMARY, summary)
    run.finish()
    return summary


def _check_arguments(a: dict):
    require_choice("task", a["task"], tasks.names())
    for name in ("epochs", "batch_size"):
        require_int(name, a[name], minimum=1)
    require_int("sequence_length", a["sequence_length"], minimum=3)
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
    require_choice("head_init", a["head_init"], HEAD_INITS)
    require_choice("header", a["header"], TSV_HEADERS)
    require_choice("batching", a["batching"], BATCHINGS)
    if a["batching"] == "pack" and tasks.get(a["task"]).packing is None:
        raise InputError(f"batching='pack' is for the tasks {list(tasks.packable())}, not "
                         f"task={a['task']!r}: use 'buckets' or 'pad'")  # fmt: skip


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


def _flat_sequences(token_ids):
    for item in token_ids:
        if item and isinstance(item[0], list):  # multiple choice: [choice][token]
            yield from item
        else:
            yield item


__all__ = [
    "TASK_FILE",
    "classification_report",
    "describe_summary",
    "evaluate",
    "finetune",
    "format_report",
    "load_finetuned",
    "model_limits",
    "predict_and_score",
]
