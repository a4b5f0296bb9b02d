"""What needs TensorFlow: the clear error when it is not installed or not the backend.

The model side of keras_bertfam (layers, `EncoderConfig`, presets, builders, task
heads, `from_pretrained` of Hugging Face folders, `.keras` files) is written with
`keras.ops` and runs on any Keras backend without TensorFlow installed. The rest
needs TensorFlow installed, whatever the backend (tf.data and tf.text input
pipelines, the tokenizers, Google TF1 checkpoints, SavedModel and TFLite export):
`tensorflow(feature)` imports it or raises `MissingDependencyError` naming the
feature and what to install. What needs the TensorFlow *backend* (tf.distribute
strategies) calls `tensorflow_backend(feature)`, which raises `BackendError`
naming the active backend.

Example:

>>> from keras_bertfam import requires
>>> requires.tensorflow("tf.data input").__name__
'tensorflow'
>>> requires.backend_name() in ("tensorflow", "jax", "torch", "numpy", "openvino")
True
"""

from __future__ import annotations

from keras_bertfam.errors import BertfamError

INSTALL = "pip install 'tensorflow~=2.20.0' 'tensorflow-text~=2.20.0'"
MODEL_SIDE = (
    "the model side (layers, build_encoder/build_pretrainer, from_pretrained of Hugging "
    "Face folders, .keras files) runs without it"
)


EXPORT_ELSEWHERE = (
    "save the model as .keras (`model.save`) and export it from a process whose Keras runs "
    "on TensorFlow (KERAS_BACKEND=tensorflow)"
)


class MissingDependencyError(BertfamError, ImportError):
    """A feature needs a package that is not installed (names the feature and the package)."""


class BackendError(BertfamError, RuntimeError):
    """A feature needs another Keras backend than the active one (names both)."""


def backend_name() -> str:
    """The active Keras backend ("tensorflow", "jax", "torch", ...)."""
    import keras

    return keras.backend.backend()


def _import(module: str, feature: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is None or err.name.split(".")[0] != module.split(".")[0]:
            raise  # something else is missing inside the package: its own error says what
        raise MissingDependencyError(
            f"{feature} needs {package}, which is not installed ({INSTALL}); {MODEL_SIDE}."
        ) from None


def tensorflow(feature: str):
    """The `tensorflow` module, or `MissingDependencyError` naming `feature`."""
    return _import("tensorflow", feature, "TensorFlow")


def tensorflow_text(feature: str):
    """The `tensorflow_text` module (and TensorFlow), or `MissingDependencyError`."""
    tensorflow(feature)
    return _import("tensorflow_text", feature, "tensorflow-text")


def tensorflow_backend(feature: str, instead: str = ""):
    """Raise `BackendError` unless Keras runs on TensorFlow; return the `tensorflow` module.

    `instead` says what to use on the other backends.
    """
    name = backend_name()
    if name != "tensorflow":
        hint = f"; {instead}" if instead else ""
        raise BackendError(
            f"{feature} needs the TensorFlow backend, but Keras runs on {name!r} "
            f"(set by KERAS_BACKEND or ~/.keras/keras.json){hint}."
        )
    return tensorflow(feature)
