"""Training on the JAX backend: pretrain (DataParallel over two CPU devices, accumulation,
mixed precision, a budget, a crash and its resume) and finetune, then the `.keras` model
trained there loads and exports to a SavedModel under TensorFlow.

The JAX side runs in one subprocess (tests/jax_training_worker.py) with
KERAS_BACKEND=jax; this process stays on TensorFlow.
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bertfam.export.folder import export_folder

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "jax_training_worker.py"
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed (make install adds it)"
)


@pytest.fixture(scope="module")
def trained_on_jax(tmp_path_factory):
    work = tmp_path_factory.mktemp("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT),
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}  # fmt: skip
    done = subprocess.run([sys.executable, str(WORKER), str(work)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-5000:]
    return work, json.loads((work / "result.json").read_text())


def test_pretrain_on_jax_shards_over_two_devices_and_resumes_after_a_crash(trained_on_jax):
    _, result = trained_on_jax
    assert result["backend"] == "jax" and result["devices"] == 2
    assert result["crash"] == "simulated crash after the first checkpoint"
    assert result["epochs_at_crash"] == 1  # the first checkpoint (2 updates) was written
    summary = result["pretrain"]
    assert result["cli_status"] == 0  # `bertfam pretrain` resumed the API's run
    assert summary["backend"] == "jax" and summary["replicas"] == 2
    assert summary["training_loop"] == "model.fit"
    assert summary["resumed_from_epoch"] == 1 and summary["epochs_run_now"] == 1
    assert summary["steps"] == 4  # updates, each of 2 accumulated micro-batches
    assert summary["global_batch"] == 8 and summary["precision"] == "mixed_bfloat16"
    assert summary["stopped_by"] == "steps" and summary["elapsed_seconds"] < 600
    losses = summary["history"]["loss"]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)  # both runs' epochs
    assert losses[1] < losses[0]


def test_jax_refuses_tf_distribute_names_and_batches_the_devices_cannot_split(trained_on_jax):
    refusals = trained_on_jax[1]["refusals"]
    for name in ("mirrored", "tpu"):
        assert refusals[name].startswith(f"BackendError: strategy='{name}' (tf.distribute)")
        assert "use strategy='auto' (keras.distribution.DataParallel" in refusals[name]
    assert refusals["batch_size"].startswith("InputError: batch_size=3 does not divide over the 2")


def test_finetune_on_jax_jit_compiles_and_learns(trained_on_jax):
    work, result = trained_on_jax
    tuned = result["finetune"]
    assert result["finetune_jit"] is True  # jit=None means jax.jit on JAX
    assert tuned["epochs_run"] == 2
    assert tuned["history"]["loss"][1] < tuned["history"]["loss"][0]
    assert all(math.isfinite(v) for v in tuned["history"]["val_loss"])
    assert (work / "finetune" / "eval_report.json").is_file()


def test_a_model_trained_on_jax_exports_to_a_saved_model_under_tensorflow(trained_on_jax):
    work, result = trained_on_jax
    assert keras.backend.backend() == "tensorflow"
    x = {name: np.array(value, "int32") for name, value in result["inputs"].items()}
    on_jax = np.array(result["logits"])
    model = keras.saving.load_model(work / "finetune" / "model.keras")
    on_tensorflow = keras.ops.convert_to_numpy(model(x, training=False)["logits"])
    tolerance = 2e-2 if "bfloat16" in str(model.dtype_policy.compute_dtype) else 1e-4
    np.testing.assert_allclose(on_tensorflow, on_jax, atol=tolerance)
    exported = export_folder(work / "finetune", root=work / "saved_models", text=False)
    served = tf.saved_model.load(exported["path"]).signatures["encode"](
        input_word_ids=tf.constant(x["token_ids"]),
        input_mask=tf.constant(x["padding_mask"]),
        input_type_ids=tf.constant(x["segment_ids"]),
    )
    np.testing.assert_allclose(served["logits"].numpy(), on_tensorflow, atol=1e-5)
