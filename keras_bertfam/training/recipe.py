"""`pretrain`: the BERT-family pretraining recipe on `model.fit`, one device to many.

It builds the pretrainer of a config inside a `tf.distribute` strategy, with
the chosen precision policy, compiles it with masked-LM (+ NSP/SOP) losses,
weighted accuracies and an AdamW/LAMB optimizer with warmup, XLA on or off,
and fits on data from `create_data` (static or dynamic masking) or straight
from text. Training runs in "epochs" of `checkpoint_every` updates; after each
one a checkpoint is written (`callbacks.Checkpoint`), so a run that is killed
restarts from its last checkpoint, skips the data it had read and ends at the
same step. The output folder receives the model (`model.keras`), its config,
the tokenizer files, TensorBoard logs and `training_summary.json`.

The output folder belongs to one run (`run_folder.RunFolder`): the run's whole
configuration (model, data, training) is recorded when it starts, so running
the same command again resumes an unfinished run (a larger `steps` is allowed)
or reports a finished one, and anything else is refused unless
`overwrite=True`. Outputs are written under temporary names and moved into
place, and the checkpoint is deleted last. A loss that becomes NaN or infinite
stops the run with `TrainingDiverged`: the last good checkpoint stays, and no
model is written from the diverged weights.

Under `MultiWorkerMirroredStrategy`, where Keras 3's `fit` fails, and with
gradient accumulation (`accumulate > 1`, which Keras' optimizer cannot do under
any `tf.distribute` strategy), the same model, losses, metrics, optimizer and
callbacks run in `loop.fit_distributed` instead; it accumulates in the step.
Every worker reads the whole input pipeline and keeps its replicas' rows of each
global batch (DATA sharding), so the updates are those of one process with the
same global batch. The chief writes the outputs; the other workers write theirs
(backups included, which they resume from) into `out_dir/.worker-<i>`, removed
at the end.

Example:

>>> import tempfile
>>> import keras_bertfam as bf
>>> from keras_bertfam.resources import PYDOCS_CORPUS
>>> from keras_bertfam.training import TrainConfig, pretrain
>>> from keras_bertfam.data import DataConfig
>>> letters = "abcdefghijklmnopqrstuvwxyz"
>>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *("##" + c for c in letters)]
>>> vocab_file = tempfile.mkdtemp() + "/vocab.txt"
>>> _ = open(vocab_file, "w").write("\\n".join(vocab))
>>> summary = pretrain(
...     bf.get_preset("bert_tiny", num_layers=1, max_sequence_length=32, vocabulary_size=64),
...     [PYDOCS_CORPUS], tempfile.mkdtemp(), TrainConfig(steps=2, batch_size=4,
...     checkpoint_every=1, warmup_steps=1, jit=False, verbose=0),
...     DataConfig(sequence_length=32), tokenizer=vocab_file)
>>> summary["steps"], sorted(summary["history"])[:2]
(2, ['loss', 'mlm_logits_accuracy'])
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path

import keras

from keras_bertfam.data.pipeline import DataConfig, iter_instances, pretraining_dataset
from keras_bertfam.data.records import MANIFEST, load_data, open_data
from keras_bertfam.data.tokenizers import load_tokenizer
from keras_bertfam.errors import InputError, WriteError, disk_full
from keras_bertfam.models.builders import build_pretrainer
from keras_bertfam.models.config import EncoderConfig
from keras_bertfam.models.electra import ElectraPretrainer, electra_batches
from keras_bertfam.models.packed import unpacked
from keras_bertfam.training import jax_devices
from keras_bertfam.training.budget import budget_clock
from keras_bertfam.training.callbacks import Checkpoint, Throughput, diverged_error
from keras_bertfam.training.config import TrainConfig
from keras_bertfam.training.loop import fit_distributed
from keras_bertfam.training.optimizers import build_optimizer
from keras_bertfam.training.run_folder import RunFolder
from keras_bertfam.training.strategy import get_strategy

SUMMARY = "training_summary.json"
BACKUP = "backup"


def compile_pretrainer(model, optimizer, jit: bool):
    """Masked-LM and sentence (or task) losses on logits, and their weighted accuracies.

    The masked-LM loss is divided by the prediction slots (batch x P, padded ones
    weighing 0), the same count on every replica, so that a run on R replicas takes the
    steps of one process. Every other loss is the weighted mean over its weights,
    `sum(w * loss) / sum(w)`: the empty slots of packed rows and the unscored tokens of
    a tagger count for nothing.
    """
    names = getattr(model, "target_outputs", model.output)  # ELECTRA: RTD's loss is its own
    loss = {name: keras.losses.SparseCategoricalCrossentropy(
                from_logits=True,
                reduction="sum_over_batch_size" if name == "mlm_logits" else
                "mean_with_sample_weight")
            for name in names}  # fmt: skip
    metrics = {name: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")] for name in names}
    model.compile(optimizer=optimizer, loss=loss, weighted_metrics=metrics, jit_compile=jit)


def _build(model_config):
    """The pretrainer of a config: generator + discriminator for replaced-token detection
    (`token_objective="rtd"`, ELECTRA), else the encoder with its objectives' heads."""
    if model_config.token_objective == "rtd":
        return ElectraPretrainer(model_config, name="electra_pretrainer")
    return build_pretrainer(model_config)


def _digest(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _dataset(data, tokenizer, data_config, batch_size, seed, model_config):
    """(dataset, tokenizer, data config, a description of the data) for a create_data
    folder or text files. Text is read far enough to know that it makes sequences."""
    if isinstance(data, str | Path) and (Path(data) / MANIFEST).is_file():
        _, config, tokenizer_file = open_data(data)
        tok = load_tokenizer(tokenizer_file)
        source = {"folder": str(Path(data).resolve()),
                  "manifest_sha256": _digest([Path(data) / MANIFEST])}  # fmt: skip
        return load_data(data, batch_size, seed=seed, repeat=True), tok, config, source
    if isinstance(data, str | Path) and Path(data).is_dir():
        raise InputError(
            f"{str(data)!r} is a folder without {MANIFEST}: pass a folder written by "
            "create-data, or text files"
        )
    files = [data] if isinstance(data, str | Path) else list(data)
    if tokenizer is None:
        raise InputError("training from text files needs tokenizer= (a file or folder)")
    tok = load_tokenizer(tokenizer)
    config = data_config or DataConfig(
        objective=model_config.sentence_objective,
        sequence_length=min(128, model_config.max_sequence_length),
    )
    next(iter(iter_instances(files, tok, config, seed)))  # a clear error for unusable text
    source = {
        "corpus": [
            {"path": str(Path(f).resolve()), "bytes": Path(f).stat().st_size} for f in files
        ],
        "tokenizer_sha256": _digest(tok.files),
    }
    ds = pretraining_dataset(files, tok, config, batch_size, seed).repeat()
    return ds, tok, config, source


def _check_fit(model_config, tok, data_cfg):
    if data_cfg.objective != model_config.sentence_objective:
        raise InputError(
            f"the data's objective={data_cfg.objective!r} differs from the model's "
            f"sentence_objective={model_config.sentence_objective!r}"
        )
    if tok.vocabulary_size > model_config.vocabulary_size:
        raise InputError(
            f"the tokenizer has {tok.vocabulary_size} tokens but the model's "
            f"vocabulary_size={model_config.vocabulary_size}"
        )
    if model_config.packed_sequences and model_config.packed_sequences != data_cfg.pack:
        raise InputError(
            f"the model's packed_sequences={model_config.packed_sequences} but the data has "
            f"pack={data_cfg.pack}: packing follows the data (pack it, and leave "
            "packed_sequences unset)"
        )
    if data_cfg.sequence_length > model_config.max_sequence_length:
        raise InputError(
            f"the data's sequence_length={data_cfg.sequence_length} exceeds the model's "
            f"max_sequence_length={model_config.max_sequence_length}"
        )


def pretrain(
    model_config: EncoderConfig | None,
    data,
    out_dir,
    train: TrainConfig | None = None,
    data_config: DataConfig | None = None,
    tokenizer=None,
    validation_data=None,
    validation_steps: int | None = None,
    callbacks=(),
    overwrite: bool = False,
    init_from=None,
) -> dict:
    """Pretrain `model_config` on `data` into `out_dir`; returns the training summary.

    Args:
        model_config: the architecture (its sentence objective must match the data's);
            None with `init_from`: the checkpoint's.
        data: a `create_data` folder, or text files (then pass `tokenizer`, and
            `data_config` unless the default suits: the model's sentence objective,
            sequences of min(128, max_sequence_length) tokens; masked dynamically).
        out_dir: output folder. An unfinished run of the same configuration there
            is resumed; a finished one is reported (`summary["already_complete"]`);
            anything else is refused unless `overwrite=True`.
        validation_data: an optional `(x, y, sample_weight)` dataset evaluated each epoch.
        init_from: start from the weights of this checkpoint (continued pretraining:
            a folder of ours or anything `from_pretrained` reads; see
            `keras_bertfam.training.init_from`). A resumed run restores its own
            checkpoint instead.

    Raises:
        TrainingDiverged: the loss became NaN or infinite (the last good
            checkpoint stays in `out_dir/backup`).
    """
    import tensorflow as tf

    train = train or TrainConfig()
    strategy = get_strategy(train.strategy, train.tpu_address)  # before any TF op runs
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    jax_devices.check_batch_size(strategy, train.batch_size)  # DataParallel splits it evenly
    if multi_worker and train.budget_seconds is not None:
        raise InputError(
            f"budget_seconds={train.budget_seconds:g} is for one process (each worker's clock "
            "would give its replicas another learning rate): train multi-worker runs by steps"
        )
    out = Path(out_dir)
    if multi_worker and not strategy.extended.should_checkpoint:  # not the chief
        resolver = strategy.cluster_resolver
        out = out / f".{resolver.task_type}-{resolver.task_id}"  # removed at the end
    keras.utils.set_random_seed(train.seed)
    initial, model_config = _initial(init_from, model_config)
    dataset, tok, data_cfg, source = _dataset(
        data, tokenizer, data_config, train.batch_size, train.seed, model_config
    )
    _check_fit(model_config, tok, data_cfg)
    if data_cfg.pack:  # rows of up to K sequences: the pretrainer trains on them packed
        model_config = model_config.replace(packed_sequences=data_cfg.pack)
    configuration = {
        "model": model_config.to_dict(),
        "data": {"source": source, "config": data_cfg.to_dict()},
        "train": dataclasses.asdict(train),
    }
    if initial is not None:
        configuration["init_from"] = str(Path(init_from).resolve())
    defaults = {"model": EncoderConfig().to_dict(), "train": dataclasses.asdict(TrainConfig())}
    run = RunFolder(out, "pretrain", configuration, overwrite, growable=("train.steps",),
                    ignored=("train.verbose",), keep=(BACKUP,), defaults=defaults)  # fmt: skip
    with run:
        if run.state == "complete":
            shutil.rmtree(out / BACKUP, ignore_errors=True)
            summary = json.loads((out / SUMMARY).read_text(encoding="utf-8"))
            return {**summary, "already_complete": True}
        summary = _train(model_config, dataset, tok, data_cfg, train, strategy, multi_worker,
                         run, validation_data, validation_steps, callbacks, initial)  # fmt: skip
    if out != Path(out_dir):  # a worker's scratch copy of the outputs
        shutil.rmtree(out, ignore_errors=True)
    return summary


def _initial(init_from, model_config):
    """(the weights of `init_from` or None, the model config: the given one, else theirs)."""
    initial = None
    if init_from is not None:
        from keras_bertfam.training.init_from import load_initial

        initial = load_initial(init_from)
        model_config = model_config or initial["config"]
    if model_config is None:
        raise InputError("pretrain needs a model config, or init_from (a checkpoint)")
    return initial, model_config


def _train(model_config, dataset, tok, data_cfg, train, strategy, multi_worker, run,
           validation_data, validation_steps, callbacks, initial=None) -> dict:  # fmt: skip
    import tensorflow as tf

    out = run.path
    # Keras' fit cannot train under multi-worker, and its optimizer's accumulation fails
    # under any tf.distribute strategy: both run in fit_distributed, which accumulates in
    # the step. On JAX, model.fit trains and Keras' optimizer accumulates.
    own_loop = multi_worker or (
        train.accumulate > 1 and not isinstance(strategy, jax_devices.JaxDevices)
    )
    micro = jax_devices.micro_steps(own_loop, train)  # batches per update that fit counts
    progress = Checkpoint.progress(out / BACKUP)
    done = progress["epochs_done"]
    if done:  # resuming: skip the batches the interrupted run had consumed
        dataset = dataset.skip(done * train.checkpoint_every * train.accumulate)
    if multi_worker:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        dataset = dataset.with_options(options)
    throughput = Throughput(train.batch_size * train.accumulate // micro * data_cfg.sequence_length)
    clock = budget_clock(train, progress.get("elapsed_seconds", 0.0),
                         progress.get("overhead_seconds", 0.0))  # fmt: skip
    checkpoint = Checkpoint(out / BACKUP, clock=clock)
    fit_callbacks = [*([clock] if clock else []), throughput, checkpoint,
                     keras.callbacks.TensorBoard(str(out / "logs"), update_freq="epoch"),
                     *callbacks]  # fmt: skip
    start = time.perf_counter()
    model, history, initialized = _fit(model_config, train, strategy, own_loop, dataset,
                                       fit_callbacks, validation_data, validation_steps, out,
                                       initial)  # fmt: skip
    seconds = time.perf_counter() - start
    if checkpoint.diverged is not None:
        raise diverged_error(checkpoint.diverged, train, run, out / BACKUP, micro)
    history_all = Checkpoint.progress(out / BACKUP)["history"]
    summary = {
        "steps": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "epochs_run_now": len(history.epoch),
        "resumed_from_epoch": done,
        "global_batch": train.batch_size * train.accumulate,
        "replicas": strategy.num_replicas_in_sync,
        "precision": train.precision,
        "jit": train.jit,
        "training_loop": "fit_distributed" if own_loop else "model.fit",
        "seconds": seconds,
        "tokens_per_s": throughput.history,
        "history": history_all,
        "final": {k: v[-1] for k, v in history_all.items() if v},
        "train_config": dataclasses.asdict(train),
        "tensorflow": tf.__version__,
        **jax_devices.backend_versions(),
    }
    if clock is not None:
        summary.update(budget_seconds=train.budget_seconds, elapsed_seconds=clock.elapsed(),
                       stopped_by=clock.stopped_by or "steps")  # fmt: skip
    if initial is not None:
        summary.update(initialized_from=initial["path"], **initialized)
    _write_outputs(run, model, model_config, data_cfg, tok, summary)
    shutil.rmtree(out / BACKUP, ignore_errors=True)  # last: until here a rerun can resume
    return summary


def _fit(model_config, train, strategy, own_loop, dataset, callbacks, validation_data,
         validation_steps, out, initial=None):  # fmt: skip
    """Build and compile the pretrainer under `train`'s precision and `strategy` (with
    `initial`'s weights, `init_from.load_initial`), and fit it; returns (model, history,
    what `init_from.initialize` reports, or None)."""
    micro = jax_devices.micro_steps(own_loop, train)  # batches per update that fit counts
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(train.precision)
    try:
        with strategy.scope():
            model = _build(model_config)
            initialized = None
            if initial is not None:
                from keras_bertfam.training.init_from import initialize

                initialized = initialize(model, initial)
            optimizer = build_optimizer(train.optimizer, model, train.learning_rate, train.steps,
                                        train.warmup_steps, train.weight_decay,
                                        train.global_clipnorm, power=train.decay_power,
                                        beta_1=train.beta_1, beta_2=train.beta_2,
                                        epsilon=train.epsilon, schedule=train.schedule,
                                        decay_steps=train.decay_steps, accumulate=micro,
                                        clocked=train.budget_seconds is not None)  # fmt: skip
            compile_pretrainer(model, optimizer, train.jit)
        if isinstance(model, ElectraPretrainer):  # it reads the MLM targets as inputs too
            dataset = electra_batches(dataset)
            validation_data = validation_data and electra_batches(validation_data)
        fit_args = dict(epochs=train.steps // train.checkpoint_every,
                        steps_per_epoch=train.checkpoint_every * micro,
                        validation_data=validation_data,
                        validation_steps=validation_steps, verbose=train.verbose,
                        callbacks=callbacks)  # fmt: skip
        try:
            if own_loop:
                history = fit_distributed(model, dataset, jit=train.jit,
                                          accumulate=train.accumulate, **fit_args)  # fmt: skip
            else:
                with jax_devices.fit_scope(strategy):  # JAX: DataParallel lays out the batches
                    history = model.fit(dataset, shuffle=False, **fit_args)
        except Exception as err:
            if not disk_full(err):
                raise
            raise WriteError(
                f"the disk filled while training into {str(out)!r}: {err}. The last complete "
                f"checkpoint is kept in {str(out / BACKUP)!r}: make room and run the same "
                "command again to resume"
            ) from err
    finally:
        keras.config.set_dtype_policy(previous_policy)
    return model, history, initialized


def _write_outputs(run, model, model_config, data_cfg, tok, summary):
    """The run's outputs, each moved into place when whole; then the record says complete."""
    try:
        model = unpacked(model)  # trained on packed rows or not, it serves plain ones
        run.save_model(model)
        run.write_text("config.json", model.bertfam_config.to_json())  # as built
        run.write_json("data_config.json", data_cfg.to_dict())
        run.copy_tokenizer(tok)
        run.write_json(SUMMARY, summary)
        run.finish(steps=summary["steps"])
    except OSError as err:
        raise WriteError(
            f"could not write the outputs to {str(run.path)!r}: {err}. The final checkpoint "
            f"is kept in {str(run.path / BACKUP)!r}: make room and run the same command again "
            "to write them (it resumes there without training)"
        ) from err
