"""Run a few pretraining steps under a strategy in a fresh process (used by test_training).

    python tests/strategy_worker.py OUT.json STRATEGY [--logical-cpus N] [--accumulate K]

With --accumulate K, the same 8-row batches arrive as K batches of 8/K rows and
`fit_distributed` accumulates them into one update.

Prints nothing; writes {"losses": [...], "weights_sum": float, "checksum": [...]} to OUT.
Multi-worker runs read TF_CONFIG like any worker.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# Keras clips by global norm per replica, before the cross-replica sum (as Google's TPU
# BERT did), so runs compare exactly only without clipping; CLIP=1.0 shows the difference.
CLIP = float(os.environ["CLIP"]) if os.environ.get("CLIP") else None


def main():
    out, strategy_name = sys.argv[1], sys.argv[2]
    cpus = (
        int(sys.argv[sys.argv.index("--logical-cpus") + 1]) if "--logical-cpus" in sys.argv else 1
    )
    import tensorflow as tf

    if cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * cpus
        )
    accumulate = (
        int(sys.argv[sys.argv.index("--accumulate") + 1]) if "--accumulate" in sys.argv else 1
    )
    from keras_bertfam.training import (
        build_optimizer,
        compile_pretrainer,
        fit_distributed,
        get_strategy,
    )

    strategy = get_strategy(strategy_name)  # first: multi-worker needs a fresh runtime
    import keras
    import numpy as np

    import keras_bertfam as bf
    from tests.helpers import make_batch

    keras.utils.set_random_seed(0)
    config = bf.get_preset("bert_tiny", num_layers=2, dropout=0.0, vocabulary_size=500)
    batch = make_batch(500, batch=8, seq=16, predictions=3, seed=1)
    rng = np.random.default_rng(2)
    y = {"mlm_logits": rng.integers(0, 500, (8, 3)), "nsp_logits": rng.integers(0, 2, 8)}
    data = tf.data.Dataset.from_tensors((batch, y)).repeat(4)
    reference = bf.build_pretrainer(config)  # same initial weights in every run
    with strategy.scope():
        model = bf.build_pretrainer(config)
        model.set_weights(reference.get_weights())
        optimizer = build_optimizer(
            "adamw", model, 1e-3, total_steps=8, warmup_steps=0, global_clipnorm=CLIP
        )
        compile_pretrainer(model, optimizer, jit=False)
    losses = []  # Keras' running mean of the loss after each step of the epoch

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            losses.append(float(logs["loss"]))

    if accumulate > 1:
        micro = data.unbatch().batch(8 // accumulate)
        fit_distributed(model, micro, steps_per_epoch=4, accumulate=accumulate, verbose=0,
                        callbacks=[Record()])  # fmt: skip
    else:
        model.fit(data, epochs=1, verbose=0, callbacks=[Record()])
    weights = model.get_weights()
    with open(out, "w") as handle:
        json.dump(
            {
                "losses": losses,
                "replicas": strategy.num_replicas_in_sync,
                "updates": int(optimizer.iterations.numpy()),
                "checksum": [float(np.sum(w)) for w in weights],
            },
            handle,
        )


if __name__ == "__main__":
    main()
