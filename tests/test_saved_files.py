"""`.keras` files written by an earlier state of the code still load and give the same outputs.

The fixtures in tests/fixtures/keras/ were written once by `write_keras_fixtures.py` and are
committed; they stand for the files users already have.
"""

from pathlib import Path

import numpy as np
import pytest

import keras_bertfam as bf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "keras"


@pytest.mark.parametrize("name", ["albert_pretrainer", "bert_classifier"])
def test_committed_keras_files_load_with_the_same_outputs(name):
    recorded = np.load(FIXTURES / "outputs.npz")
    model = bf.load_model(FIXTURES / f"{name}.keras")
    feed = {k.split("/", 1)[1]: recorded[k] for k in recorded.files if k.startswith("input/")}
    feed = {k: v for k, v in feed.items() if k in model.input}
    outputs = model(feed, training=False)
    expected = {k.split("/", 1)[1]: recorded[k] for k in recorded.files if k.startswith(name)}
    assert set(outputs) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(outputs[key]), value, atol=1e-6, rtol=1e-6)
