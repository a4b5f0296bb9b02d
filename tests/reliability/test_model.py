"""Reliability of the model side: configs, saving and loading, checkpoint import, model inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam import ConfigError, EncoderConfig

# -- EncoderConfig values -------------------------------------------------------------


def test_from_json_of_bad_json_is_a_config_error():
    with pytest.raises(ConfigError, match=r"needs JSON text, got '\{num_layers: 2'"):
        EncoderConfig.from_json("{num_layers: 2")


def test_numpy_numbers_are_stored_as_python_numbers():
    cfg = EncoderConfig(
        num_layers=np.int64(4),
        hidden_dim=np.int32(64),
        num_heads=np.int64(2),
        dropout=np.float32(0.25),
        layer_norm_epsilon=np.float64(1e-6),
        norm_first=np.bool_(True),
    )
    assert type(cfg.num_layers) is int and cfg.num_layers == 4
    assert type(cfg.hidden_dim) is int and type(cfg.dropout) is float
    assert type(cfg.norm_first) is bool and cfg.norm_first
    assert EncoderConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize(
    "field, value",
    [
        ("layer_norm_epsilon", True),
        ("initializer_range", True),
        ("dropout", False),
        ("layer_norm_epsilon", math.inf),
        ("initializer_range", math.inf),
        ("dropout", math.nan),
        ("pooler", 1),
    ],
)
def test_booleans_and_non_finite_numbers_are_refused(field, value):
    with pytest.raises(ConfigError, match=f"^{field}={value!r} must be"):
        EncoderConfig(**{field: value})
    if not isinstance(value, np.generic):  # as `--set FIELD=VALUE` passes it (parsed as JSON)
        with pytest.raises(ConfigError, match=f"^{field}="):
            bf.get_preset("bert_tiny").replace(**{field: json.loads(json.dumps(value))})
