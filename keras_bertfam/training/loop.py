"""`fit_distributed`: the `model.fit` of a compiled model as a `strategy.run` loop.

`pretrain` uses it under `MultiWorkerMirroredStrategy`, where Keras 3's `fit`
cannot train (keras-team/keras#20585, #20329). Two bugs in
`keras/src/backend/tensorflow/trainer.py` (Keras 3.15) stop it there:

1. `fit` -> `_maybe_symbolic_build` calls `strategy.reduce("MEAN", batch, axis=None)`
   on the whole nested `(x, y, sample_weight)` batch. `Strategy.reduce` takes one
   value, not a nest; `MirroredStrategy` maps over nests anyway, but with two
   workers the collective strategy hands the dict to `convert_to_tensor`:
   "Attempt to convert a value ({'token_ids': PerReplica:{...}}) ...".
2. `reduce_per_replica` reduces every output of `train_step` with
   `strategy.reduce("MEAN", value, axis=0)`, and those outputs are 0-d metric
   results: "Invalid reduction dimension 0 for input with 0 dimensions".

Besides, `jit_compile=True` puts the whole step, the gradient all-reduce included,
in one XLA cluster, and XLA on CPU has no kernel for the collectives.

Gradient accumulation has the same problem under every strategy: Keras' optimizer
(`gradient_accumulation_steps`) puts the update, and with it the cross-replica
`merge_call`, inside a conditional, which `tf.distribute` refuses. Here
`accumulate=K` is done in the step instead: one update reads K batches, runs the
forward and backward pass on each in turn, and applies the mean of their
gradients once, so there is no conditional and the optimizer counts updates.

This loop calls what `fit` calls, on the loss, metrics and optimizer `compile` set
up: `compute_loss` (scaled by 1 / replicas, so the summed gradients are those of
the global batch), the optimizer's own all-reduce and update, `compute_metrics`,
`test_step` for validation, and the usual callbacks through `CallbackList`. XLA
compiles only the per-replica forward and backward pass. Metrics are read in
cross-replica context, so every log is the global value, the same on every worker.

Example:

>>> import numpy as np, keras, tensorflow as tf
>>> from keras_bertfam.training.loop import fit_distributed
>>> with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
...     model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
...     model.compile(optimizer="sgd", loss="mse")
>>> data = tf.data.Dataset.from_tensors((np.ones((4, 3)), np.zeros((4, 1)))).repeat()
>>> history = fit_distributed(model, data, epochs=2, steps_per_epoch=3, verbose=0,
...                           validation_data=data.take(2))
>>> history.epoch, sorted(history.history), int(model.optimizer.iterations.numpy())
([0, 1], ['loss', 'val_loss'], 6)
"""

from __future__ import annotations

import keras
import numpy as np

from keras_bertfam.errors import InputError


def fit_distributed(
    model: keras.Model,
    dataset,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    callbacks=(),
    verbose: int = 1,
    initial_epoch: int = 0,
    validation_data=None,
    validation_steps: int | None = None,
    jit: bool = False,
    accumulate: int = 1,
) -> keras.callbacks.History:
    """Train `model` (compiled, built in its strategy's scope) as `model.fit` would.

    Args:
        model: a compiled model; its strategy is the one it was created under.
        dataset: a `tf.data.Dataset` of global batches (it is distributed here; its
            `auto_shard_policy` decides how workers split it) or a distributed one.
        epochs / steps_per_epoch / initial_epoch / callbacks / verbose: as in `fit`;
            `steps_per_epoch` is required (workers must agree on the step count);
            with `accumulate`, a step is an update (it reads `accumulate` batches).
        validation_data / validation_steps: an optional dataset evaluated after each
            epoch with `test_step`; logged with a `val_` prefix.
        jit: XLA-compile the per-replica forward and backward pass.
        accumulate: batches per update; their gradients are averaged (the
            optimizer must not accumulate itself).

    Returns:
        The `History` callback, as `fit` returns it.
    """
    _check_arguments(model, steps_per_epoch, accumulate)
    strategy = model.distribute_strategy
    distributed = _distribute(strategy, dataset)
    # As in fit: a first iterator only builds, training reads a fresh one (so datasets
    # that rerandomize each iteration, like dynamic masking, give fit's batches).
    _build(model, strategy, next(iter(distributed)))
    iterator = iter(distributed)
    train_step = _train_function(model, strategy, jit)
    test_step = _test_function(model, strategy, jit) if validation_data is not None else None

    history = keras.callbacks.History()
    callbacks = keras.callbacks.CallbackList(
        [*callbacks, history],
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=steps_per_epoch,
        model=model,
    )
    model.stop_training = False
    callbacks.on_train_begin()
    # a resumed run's checkpoint callback says where to resume through this attribute
    initial_epoch = getattr(model, "_initial_epoch", None) or initial_epoch
    training_logs = logs = None
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            callbacks.on_train_batch_begin(step)
            logs = _floats(train_step(tuple(next(iterator) for _ in range(accumulate))))
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs or {})
        if validation_data is not None:
            val_logs = _evaluate(model, strategy, test_step, validation_data, validation_steps)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        callbacks.on_epoch_end(epoch, epoch_logs)
        training_logs = epoch_logs
        if model.stop_training:
            break
    if epochs > initial_epoch:
        model.optimizer.finalize_variable_values(model.trainable_weights)
    callbacks.on_train_end(logs=training_logs)
    return history


def _check_arguments(model, steps_per_epoch, accumulate):
    if not steps_per_epoch or steps_per_epoch < 1:
        raise InputError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    if accumulate < 1:
        raise InputError(f"accumulate must be >= 1, got {accumulate}")
    if accumulate > 1 and getattr(model.optimizer, "gradient_accumulation_steps", None):
        raise InputError(
            "accumulate > 1 with an optimizer that accumulates too "
            f"(gradient_accumulation_steps={model.optimizer.gradient_accumulation_steps}): "
            "build it with accumulate=1"
        )


def _distribute(strategy, dataset):
    import tensorflow as tf

    if isinstance(dataset, tf.distribute.DistributedDataset):
        return dataset
    return strategy.experimental_distribute_dataset(dataset)


def _unpack(data):
    return keras.utils.unpack_x_y_sample_weight(data)


def _build(model, strategy, batch):
    """Create the optimizer, loss and metric variables in the strategy's scope, as `fit` does.

    Keras builds compiled metrics lazily on their first update; here that happens on
    a batch in replica context, before any traced (and maybe XLA) step runs.
    """

    def build(data):
        x, y, sample_weight = _unpack(data)
        y_pred = model(x, training=False)
        model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    with strategy.scope():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        strategy.run(build, args=(batch,))
    model.reset_metrics()


def _loss_tracker(model):
    """The model's running mean of the loss (the `loss` log), which `train_step` updates."""
    for metric in model.metrics:
        if metric.name == "loss":
            return metric
    raise InputError("fit_distributed needs a compiled model (no `loss` metric found)")


def _train_function(model, strategy, jit):
    """A `tf.function` (distributed batch) -> global metric results, for one update."""
    import tensorflow as tf

    tracker = _loss_tracker(model)
    replicas = strategy.num_replicas_in_sync
    weights = model.trainable_weights

    def forward_backward(x, y, sample_weight):  # no collectives: XLA can compile it
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            scaled = model.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, weights)
        batch_size = tf.shape(keras.tree.flatten(x)[0])[0]
        tracker.update_state(loss * replicas, sample_weight=batch_size)  # undo 1 / replicas
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        return gradients

    if jit:
        forward_backward = tf.function(forward_backward, jit_compile=True)

    def replica_step(*micro_batches):
        total = []
        for data in micro_batches:  # in turn: one batch's activations alive at a time
            after = [g.values if isinstance(g, tf.IndexedSlices) else g for g in total]
            after = [g for g in after if g is not None]
            with tf.control_dependencies(after):
                gradients = forward_backward(*_unpack(data))
            if total:
                gradients = [_add(a, b) for a, b in zip(total, gradients, strict=True)]
            total = gradients
        if len(micro_batches) > 1:
            total = [_scale(g, 1.0 / len(micro_batches)) for g in total]
        # all-reduces the gradients, then updates (Keras clips before, per replica)
        model.optimizer.apply_gradients(zip(total, weights, strict=True))

    @tf.function(reduce_retracing=True)
    def step(micro_batches):
        strategy.run(replica_step, args=micro_batches)
        return model.get_metrics_result()  # cross-replica read: summed over all replicas

    return step


def _add(a, b):
    """a + b for gradients; embedding gradients (IndexedSlices) stay sparse, rows concatenated."""
    import tensorflow as tf

    if a is None or b is None:  # a weight the loss does not reach
        return None
    if isinstance(a, tf.IndexedSlices) and isinstance(b, tf.IndexedSlices):
        return tf.IndexedSlices(
            tf.concat([a.values, b.values], 0), tf.concat([a.indices, b.indices], 0), a.dense_shape
        )
    return tf.convert_to_tensor(a) + tf.convert_to_tensor(b)


def _scale(gradient, factor):
    import tensorflow as tf

    if gradient is None:
        return None
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(gradient.values * factor, gradient.indices, gradient.dense_shape)
    return gradient * factor


def _test_function(model, strategy, jit):
    import tensorflow as tf

    test_step = tf.function(model.test_step, jit_compile=True) if jit else model.test_step

    @tf.function(reduce_retracing=True)
    def step(data):
        strategy.run(test_step, args=(data,))
        return model.get_metrics_result()

    return step


def _evaluate(model, strategy, test_step, dataset, steps):
    model.reset_metrics()
    logs = {}
    for step, batch in enumerate(_distribute(strategy, dataset)):
        if steps is not None and step >= steps:
            break
        logs = test_step(batch)
    return _floats(logs)


def _floats(logs):
    return {name: float(np.asarray(value)) for name, value in logs.items()}
