"""Training on JAX: `keras.distribution.DataParallel` where TensorFlow has `tf.distribute`.

On the JAX backend, `strategy.get_strategy` returns a `JaxDevices`: what the
recipes need of a strategy (`scope()`, `num_replicas_in_sync`), over
`jax.devices()`:

- "auto": `keras.distribution.DataParallel` over every local device when there
  are several (each global batch is split along its first axis, the weights are
  replicated, XLA all-reduces the gradients), otherwise one device;
- "one": the first device, no distribution;
- "mirrored", "multi-worker", "tpu" (and a TPU address) name `tf.distribute`
  strategies: they raise `BackendError` saying what to use on JAX.

TensorFlow, when installed, still runs the input pipeline (tf.data, tf.text) on
the CPU and hands numpy batches to JAX; `JaxDevices` hides the GPUs from it so
that it does not reserve their memory.

Example:

>>> import keras
>>> from keras_bertfam.training.jax_devices import JaxDevices
>>> JaxDevices(["cpu:0"]).num_replicas_in_sync, JaxDevices(["cpu:0"]).distribution
(1, None)
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging

from keras_bertfam.errors import InputError
from keras_bertfam.requires import BackendError

TF_DISTRIBUTE = ("mirrored", "multi-worker", "tpu")
LOG = logging.getLogger("keras_bertfam")
USE_INSTEAD = (
    "on JAX, use strategy='auto' (keras.distribution.DataParallel over jax.devices() when "
    "there are several, else one device) or 'one'"
)


class JaxDevices:
    """The devices a JAX run trains on, and their `keras.distribution.DataParallel`.

    Args:
        devices: Keras device names (`keras.distribution.list_devices()`).
        data_parallel: split batches over `devices` (needs more than one).
    """

    def __init__(self, devices, data_parallel: bool = False):
        import keras

        self.devices = list(devices)
        self.distribution = None
        if data_parallel and len(self.devices) > 1:
            self.distribution = keras.distribution.DataParallel(devices=self.devices)

    @property
    def num_replicas_in_sync(self) -> int:
        return len(self.devices) if self.distribution is not None else 1

    def scope(self):
        """Variables made and batches fed inside are laid out over the devices."""
        if self.distribution is None:
            return contextlib.nullcontext()
        return self.distribution.scope()

    def check_batch_size(self, batch_size: int, name: str = "batch_size"):
        """`InputError` unless `batch_size` splits evenly over the devices."""
        replicas = self.num_replicas_in_sync
        if batch_size % replicas:
            raise InputError(
                f"{name}={batch_size} does not divide over the {replicas} devices that "
                f"keras.distribution.DataParallel splits each batch across; use a multiple of "
                f"{replicas} (or strategy='one' for a single device)"
            )

    def describe(self) -> str:
        if self.distribution is None:
            return f"one device ({self.devices[0]})"
        return f"keras.distribution.DataParallel over {len(self.devices)} devices"


def jax_devices(name: str, tpu_address: str | None = None) -> JaxDevices:
    """The `JaxDevices` of a strategy name (see the module docstring)."""
    import keras

    if name in TF_DISTRIBUTE or tpu_address:
        what = f"strategy={name!r}" + (f" with tpu_address={tpu_address!r}" if tpu_address else "")
        raise BackendError(
            f"{what} (tf.distribute) needs the TensorFlow backend, but Keras runs on 'jax' "
            f"(set by KERAS_BACKEND or ~/.keras/keras.json); {USE_INSTEAD}; JAX finds TPUs "
            "and GPUs itself."
        )
    import jax

    if jax.process_count() > 1:
        raise InputError(
            f"{jax.process_count()} JAX processes: multi-process training on JAX is not "
            "supported; train in one process over its local devices (strategy='auto')"
        )
    hide_accelerators_from_tensorflow()
    return JaxDevices(keras.distribution.list_devices(), data_parallel=name == "auto")


def hide_accelerators_from_tensorflow():
    """Keep TensorFlow (the input pipeline only, on JAX) off the GPUs JAX trains on."""
    if importlib.util.find_spec("tensorflow") is None:
        return
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # its runtime already started: too late
        tf.config.set_visible_devices([], "GPU")


def fit_scope(strategy):
    """Where `model.fit` runs: a `JaxDevices`' scope (DataParallel lays out the batches as
    they are fed); none for a `tf.distribute` strategy (the model keeps its own)."""
    if isinstance(strategy, JaxDevices):
        return strategy.scope()
    return contextlib.nullcontext()


def backend_versions() -> dict:
    """`{"backend": ...}` and, on JAX, `{"jax": version}`, for a training summary."""
    import keras

    versions = {"backend": keras.backend.backend()}
    if versions["backend"] == "jax":
        import jax

        versions["jax"] = jax.__version__
    return versions


def one_device(what: str):
    """Prepare a JAX run that trains on one device: TensorFlow kept off the GPUs, and a
    log line when there are several devices (`what`'s batches vary in size, which
    DataParallel cannot split evenly)."""
    import jax

    hide_accelerators_from_tensorflow()
    devices = jax.devices()
    if len(devices) > 1:
        LOG.info("%s on JAX trains on one device (%s of %d): its length-bucketed batches vary "
                 "in size, which keras.distribution.DataParallel cannot split evenly",
                 what, devices[0], len(devices))  # fmt: skip


def check_batch_size(strategy, batch_size: int):
    """On JAX, `InputError` unless the devices split `batch_size` evenly."""
    if isinstance(strategy, JaxDevices):
        strategy.check_batch_size(batch_size)


def micro_steps(own_loop: bool, train) -> int:
    """Batches `model.fit` counts per update: `train.accumulate` when Keras' optimizer
    accumulates (model.fit, JAX), 1 when `loop.fit_distributed` does (it counts updates)."""
    return 1 if own_loop else train.accumulate


def finetune_jit(jit: bool | None) -> bool:
    """`finetune`'s `jit`: None is the backend's default (JAX: on, TensorFlow: off). On JAX
    this also prepares its one device (`one_device`)."""
    import keras

    if keras.backend.backend() == "jax":
        one_device("finetune")
    return keras.backend.backend() == "jax" if jit is None else jit
