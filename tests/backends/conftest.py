"""tests/backends/: the model side on the JAX or PyTorch backend, without TensorFlow.

`make test` runs this folder in `.venv-jax` (jax, keras, no TensorFlow) with
`KERAS_BACKEND=jax`; `KERAS_BACKEND=torch` runs it where torch is installed. Under
the TensorFlow backend (the main suite) the folder is skipped: the same contract runs
there in tests/test_layers.py and tests/test_models.py.
"""

import keras

collect_ignore_glob = ["test_*.py"] if keras.backend.backend() == "tensorflow" else []
