"""The model side needs no TensorFlow, and what needs it says so.

In a fresh interpreter on this backend: build, call, train a few `fit` steps on numpy
arrays, save, load and import a Hugging Face folder, then check that TensorFlow was
never imported. Where TensorFlow is not installed (`.venv-jax`), the TensorFlow-only
features raise errors that name the feature and what to install, and tf.distribute
names the backend.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.requires import BackendError, MissingDependencyError

ROOT = Path(__file__).resolve().parents[2]
NO_TENSORFLOW = importlib.util.find_spec("tensorflow") is None
WORK = """
import json, sys
import keras, numpy as np
import keras_bertfam as bf
from tests.helpers import make_batch
model = bf.build_pretrainer("bert_tiny", num_layers=1, vocabulary_size=100)
x = make_batch(100)
y = {"mlm_logits": np.zeros((2, 3), "int32"), "nsp_logits": np.zeros((2,), "int32")}
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
model.compile(optimizer="adam", loss={"mlm_logits": loss, "nsp_logits": loss})
history = model.fit(x, y, epochs=3, batch_size=2, verbose=0).history["loss"]
model.save(sys.argv[1])
loaded = bf.load_model(sys.argv[1])
numpy = keras.ops.convert_to_numpy
same = np.allclose(numpy(loaded(x)["mlm_logits"]), numpy(model(x)["mlm_logits"]), atol=1e-5)
bf.from_pretrained("tests/fixtures/hf/bert", task="pretraining")
print(json.dumps({"backend": keras.backend.backend(), "loss": history, "same": bool(same),
                  "tensorflow": "tensorflow" in sys.modules}))
"""


def test_build_call_fit_save_and_import_never_import_tensorflow(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", WORK, str(tmp_path / "m.keras")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == keras.backend.backend() != "tensorflow"
    assert result["tensorflow"] is False
    assert result["same"] and result["loss"][-1] < result["loss"][0], result


def test_import_keeps_the_users_backend():
    code = "import keras_bertfam as bf, keras; bf.build_encoder; print(keras.backend.backend())"
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == keras.backend.backend(), done.stderr[-2000:]


def test_tf_distribute_names_the_backend():
    from keras_bertfam.training.strategy import get_strategy

    with pytest.raises(
        BackendError,
        match=rf"needs the TensorFlow backend.*'{keras.backend.backend()}'.*DataParallel",
    ):
        get_strategy("mirrored")


def test_export_names_the_backend_and_the_way_out():
    from keras_bertfam.export import export_saved_model, export_tflite

    model = bf.build_encoder("bert_tiny", num_layers=1, vocabulary_size=100)
    with pytest.raises(
        BackendError, match=r"SavedModel export needs the TensorFlow backend.*\.keras"
    ):
        export_saved_model(model, None)
    with pytest.raises(BackendError, match="TFLite export needs the TensorFlow backend"):
        export_tflite(model, "model.tflite")


@pytest.mark.skipif(not NO_TENSORFLOW, reason="TensorFlow is installed here")
def test_tokenizers_and_tf1_checkpoints_name_what_to_install(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n")
    with pytest.raises(
        MissingDependencyError,
        match=r"tokenizers .* needs TensorFlow, which is not installed \(pip install 'tensorf",
    ):
        bf.load_tokenizer(tmp_path)
    (tmp_path / "bert_config.json").write_text(json.dumps({
        "vocab_size": 6, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 16, "max_position_embeddings": 16, "type_vocab_size": 2}))  # fmt: skip
    (tmp_path / "model.ckpt.index").write_bytes(b"")
    with pytest.raises(
        MissingDependencyError, match="reading a Google TF1 checkpoint needs TensorFlow"
    ):
        bf.from_pretrained(tmp_path)
    from keras_bertfam.data import pipeline

    with pytest.raises(
        MissingDependencyError, match=r"tf\.data pretraining pipeline needs TensorFlow"
    ):
        pipeline.to_fit_format({"token_ids": np.zeros((1, 2))}, "nsp")
