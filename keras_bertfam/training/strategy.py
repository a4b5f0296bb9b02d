"""Pick a `tf.distribute` strategy by name: one device, mirrored, multi-worker, TPU.

- "one": `OneDeviceStrategy` on the first GPU, or the CPU;
- "mirrored": `MirroredStrategy` over the local GPUs (or the local logical CPUs
  when there are no GPUs, which is how the tests run it);
- "multi-worker": `MultiWorkerMirroredStrategy`, configured from `TF_CONFIG`;
- "tpu": `TPUStrategy` on the TPU at `tpu_address` (or the default resolver);
- "auto": TPU if `tpu_address` is given, multi-worker if `TF_CONFIG` names
  several workers, mirrored on more than one GPU, otherwise one device.

On the JAX backend the same names give a `jax_devices.JaxDevices` instead:
"auto" is `keras.distribution.DataParallel` over `jax.devices()` when there are
several, "one" one device; the `tf.distribute` names raise `BackendError`
saying so.

Example:

>>> from keras_bertfam.training.strategy import get_strategy
>>> get_strategy("one").num_replicas_in_sync
1
"""

from __future__ import annotations

import json
import os

from keras_bertfam import requires
from keras_bertfam.errors import InputError
from keras_bertfam.kinds import STRATEGIES


def _workers_in_tf_config() -> int:
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    except json.JSONDecodeError as err:
        raise InputError(f"TF_CONFIG is not valid JSON: {err}") from None
    return len(config.get("cluster", {}).get("worker", []))


def get_strategy(name: str = "auto", tpu_address: str | None = None):
    """The `tf.distribute.Strategy` called `name` (see the module docstring); on JAX,
    a `jax_devices.JaxDevices`."""
    if name not in STRATEGIES:
        raise InputError(f"strategy={name!r} is not one of {list(STRATEGIES)}")
    if requires.backend_name() == "jax":
        from keras_bertfam.training.jax_devices import jax_devices

        return jax_devices(name, tpu_address)
    tf = requires.tensorflow_backend(
        f"strategy={name!r} (tf.distribute)",
        instead="on JAX, keras.distribution.DataParallel shards batches over the devices",
    )
    # Multi-worker and TPU strategies must be created before TensorFlow runs any op,
    # so they are decided without touching the runtime.
    if name == "auto" and tpu_address:
        name = "tpu"
    elif name == "auto" and _workers_in_tf_config() > 1:
        name = "multi-worker"
    if name == "multi-worker":
        if _workers_in_tf_config() < 1:
            raise InputError("strategy='multi-worker' needs TF_CONFIG with a cluster of workers")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one"
    if name == "one":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices)
