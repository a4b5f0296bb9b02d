"""`.keras` files move between backends with their outputs: files TensorFlow wrote load
here, and models trained and saved here load under TensorFlow (in a TensorFlow
interpreter, when one is at hand) and export from there as a SavedModel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from tests.backends.families import FAMILIES, write_models

ROOT = Path(__file__).resolve().parents[2]
KERAS_FIXTURES = ROOT / "tests" / "fixtures" / "keras"  # written on TensorFlow
TOL = 1e-5


@pytest.mark.parametrize("name", ["albert_pretrainer", "bert_classifier"])
def test_files_written_on_tensorflow_load_with_the_same_outputs(name):
    recorded = np.load(KERAS_FIXTURES / "outputs.npz")
    model = bf.load_model(KERAS_FIXTURES / f"{name}.keras")
    x = {k: recorded[f"input/{k}"] for k in model.input}
    out = model(x, training=False)
    for key, value in out.items():
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(value), recorded[f"{name}/{key}"], atol=TOL, rtol=0
        )


def tensorflow_python() -> str | None:
    """An interpreter with TensorFlow and keras_bertfam: $BERTFAM_TF_PYTHON or the repo's .venv."""
    candidate = os.environ.get("BERTFAM_TF_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
    if not Path(candidate).is_file():
        return None
    probe = [candidate, "-c", "import tensorflow, keras_bertfam"]
    return candidate if subprocess.run(probe, capture_output=True).returncode == 0 else None


def test_models_trained_here_load_on_tensorflow_and_export(tmp_path):
    python = tensorflow_python()
    if python is None:
        pytest.skip("no interpreter with TensorFlow (set BERTFAM_TF_PYTHON)")
    write_models(tmp_path)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    done = subprocess.run(
        [python, str(Path(__file__).with_name("tensorflow_side.py")), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "tensorflow" and sys.modules.get("tensorflow") is None
    assert {key.split("/")[0] for key in result["differences"]} == set(FAMILIES)
    worst = {key: d for key, d in result["differences"].items() if d > TOL}
    assert not worst, worst
    assert result["saved_model"]["difference"] <= TOL, result["saved_model"]


def test_a_file_compiled_on_pytorch_loads_without_its_optimizer_elsewhere(tmp_path):
    """PyTorch saves its own Adam class (keras.src.backend.torch.optimizers.torch_adam),
    which no other backend rebuilds: the model loads with a warning, outputs unchanged."""
    import zipfile

    if keras.backend.backend() == "torch":
        pytest.skip("PyTorch rebuilds its own optimizer")
    model = bf.build_encoder("bert_tiny", num_layers=1, vocabulary_size=100)
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "here.keras")
    with zipfile.ZipFile(tmp_path / "here.keras") as here:
        files = {name: here.read(name) for name in here.namelist()}
    config = json.loads(files["config.json"])
    optimizer = config["compile_config"]["optimizer"]
    assert optimizer["class_name"] == "Adam"
    optimizer["module"] = "keras.src.backend.torch.optimizers.torch_adam"  # as PyTorch saves it
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "torch.keras", "w") as written:
        for name, data in files.items():
            written.writestr(name, data)
    with pytest.warns(UserWarning, match="saved by Keras' torch backend.*compile it again"):
        loaded = bf.load_model(tmp_path / "torch.keras")
    x = {k: np.ones((1, 4), "int32") for k in model.input}
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)["sequence_output"]),
        keras.ops.convert_to_numpy(model(x)["sequence_output"]),
        atol=1e-6,
    )
