"""Pretrain, resume and fine-tune on the JAX backend in a fresh process (used by
test_jax_training).

    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 \
        python tests/jax_training_worker.py WORK_DIR

In WORK_DIR: a pretraining run (DataParallel over the devices, gradient accumulation in
the optimizer, mixed bfloat16, a time budget) is stopped by a simulated crash after its
first checkpoint, then resumed through the `bertfam pretrain` command line; the result
is fine-tuned on a slice of the bundled fortunes topics. Writes WORK_DIR/result.json
with what the test checks, including the fine-tuned model's logits on a fixed batch.
"""

import gzip
import itertools
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

STEPS, EVERY, BATCH, ACCUMULATE, LENGTH = 4, 2, 4, 2, 32
CORPUS_LINES = 400
PRESET_FIELDS = {"num_layers": 1, "max_sequence_length": LENGTH}


def cli_arguments(out, corpus, tokenizer):
    fields = [f"{k}={v}" for k, v in PRESET_FIELDS.items()]
    return ["pretrain", "--preset", "bert_tiny", *(a for f in fields for a in ("--set", f)),
            "--corpus", str(corpus), "--tokenizer", str(tokenizer), "--out", str(out),
            "--sequence-length", str(LENGTH), "--steps", str(STEPS), "--batch-size", str(BATCH),
            "--accumulate", str(ACCUMULATE), "--checkpoint-every", str(EVERY),
            "--warmup-steps", "1", "--learning-rate", "0.002", "--precision", "mixed_bfloat16",
            "--budget", "10m", "--seed", "3"]  # fmt: skip


def crash_after_the_first_checkpoint(out, corpus, tokenizer):
    """The same run as the command line's, through the API, stopped after one checkpoint."""
    import keras

    import keras_bertfam as bf
    from keras_bertfam.data import DataConfig
    from keras_bertfam.training import TrainConfig, pretrain

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("simulated crash after the first checkpoint")

    train = TrainConfig(steps=STEPS, batch_size=BATCH, accumulate=ACCUMULATE,
                        checkpoint_every=EVERY, warmup_steps=1, learning_rate=0.002,
                        precision="mixed_bfloat16", budget_seconds=600.0, seed=3,
                        verbose=0)  # fmt: skip
    config = bf.get_preset("bert_tiny", **PRESET_FIELDS)
    try:
        pretrain(config, [corpus], out, train, DataConfig(sequence_length=LENGTH), tokenizer,
                 callbacks=[Crash()])  # fmt: skip
    except RuntimeError as err:
        return str(err)
    return None


def refusals():
    """The messages of what JAX refuses: tf.distribute names, a batch the devices cannot split."""
    from keras_bertfam.training.strategy import get_strategy

    messages = {}
    for name in ("mirrored", "tpu"):
        try:
            get_strategy(name)
        except Exception as err:
            messages[name] = f"{type(err).__name__}: {err}"
    try:
        get_strategy("auto").check_batch_size(3)
    except Exception as err:
        messages["batch_size"] = f"{type(err).__name__}: {err}"
    return messages


def fortunes_slice(folder, rows):
    """The first `rows` examples of the bundled fortunes topics (train and dev file)."""
    from keras_bertfam.resources import FORTUNES_TRAIN

    lines = gzip.decompress(Path(FORTUNES_TRAIN).read_bytes()).decode().splitlines()
    path = Path(folder) / "fortunes.tsv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n")  # the header and `rows` rows
    return path


def main():
    work = Path(sys.argv[1])
    import jax
    import keras
    import numpy as np

    from keras_bertfam.cli import main as bertfam
    from keras_bertfam.resources import PYDOCS_CORPUS
    from keras_bertfam.training.finetune import finetune
    from tests.data_fixtures import minilm_dir

    started = time.perf_counter()
    # the resumed run compiles the crashed run's train step again: from this cache
    jax.config.update("jax_compilation_cache_dir", str(work / "jax-cache"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    tokenizer = minilm_dir() / "vocab.txt"
    corpus = work / "corpus.txt"  # the bundled corpus' first documents
    with gzip.open(PYDOCS_CORPUS, "rt", encoding="utf-8") as text:
        corpus.write_text("".join(itertools.islice(text, CORPUS_LINES)), encoding="utf-8")
    pretrained = work / "pretrain"
    crash = crash_after_the_first_checkpoint(pretrained, corpus, tokenizer)
    progress = json.loads((pretrained / "backup" / "progress.json").read_text())
    status = bertfam(cli_arguments(pretrained, corpus, tokenizer))
    summary = json.loads((pretrained / "training_summary.json").read_text())
    pretrain_seconds = time.perf_counter() - started

    fortunes = fortunes_slice(work, rows=48)
    tuned = finetune(str(pretrained), fortunes, fortunes, out=work / "finetune", epochs=2,
                     batch_size=8, learning_rate=1e-3, sequence_length=LENGTH, bucketing=False,
                     verbose=0)  # fmt: skip
    model = keras.saving.load_model(work / "finetune" / "model.keras")
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 1000, (3, 16)).astype("int32")
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    logits = keras.ops.convert_to_numpy(model(x, training=False)["logits"]).astype("float64")
    result = {
        "backend": keras.backend.backend(),
        "devices": len(jax.devices()),
        "refusals": refusals(),
        "crash": crash,
        "epochs_at_crash": progress["epochs_done"],
        "cli_status": status,
        "pretrain": summary,
        "pretrain_seconds": pretrain_seconds,
        "finetune": {k: tuned[k] for k in ("epochs_run", "history", "useful_tokens_per_s")},
        "finetune_jit": json.loads((work / "finetune" / "run.json").read_text())["configuration"][
            "jit"
        ],
        "inputs": {k: v.tolist() for k, v in x.items()},
        "logits": logits.tolist(),
        "seconds": time.perf_counter() - started,
    }
    (work / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
