"""Small helpers shared by the layers: registration, initializers, activations."""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.kinds import ACTIVATIONS

PACKAGE = "keras_bertfam"


def register(cls):
    """Register a layer for `.keras` (de)serialization under `keras_bertfam>Name`."""
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


def initializer(stddev: float):
    """BERT's weight initializer: a truncated normal with the given stddev."""
    return keras.initializers.TruncatedNormal(stddev=stddev)


def _gelu_exact(x):
    return keras.activations.gelu(x, approximate=False)


def _gelu_approximate(x):
    return keras.activations.gelu(x, approximate=True)


_ACTIVATIONS = {
    "gelu": _gelu_exact,
    "gelu_approximate": _gelu_approximate,
    "relu": keras.activations.relu,
    "silu": keras.activations.silu,
    "tanh": keras.activations.tanh,
}


def activation(name: str):
    """The activation function for a config name ("gelu" is the exact erf form)."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise InputError(f"activation={name!r} is not one of {list(ACTIVATIONS)}") from None


def large_negative(dtype) -> float:
    """A finite stand-in for -inf in `dtype`, used to mask attention logits."""
    return -65000.0 if keras.backend.standardize_dtype(dtype) == "float16" else -1e9


def attention_scale(head_dim: int) -> float:
    return 1.0 / math.sqrt(head_dim)


def padding_to_attention_mask(padding_mask):
    """[batch, seq] 0/1 padding mask -> [batch, 1, 1, seq] boolean key mask."""
    mask = ops.cast(padding_mask, "bool")
    return mask[:, None, None, :]
