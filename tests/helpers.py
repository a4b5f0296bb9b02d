"""The shared checks every layer and model test runs (`check_keras_contract`).

For a model factory `make(dtype) -> keras.Model`, concrete inputs and what the
caller expects of them, it checks:
1. output shapes: the eager outputs have exactly the names and shapes of
   `expected_shapes` (a dict by output name, or one tuple for a single output);
2. weight counts: the trainable and non-trainable weight tensors and
   `count_params()` equal `expected_weights` (a `Weights`);
3. config round trip: `from_config(get_config())` rebuilds the same config and
   the same weights (paths and shapes);
4. the symbolic (functional) shapes agree with the eager output shapes;
5. `.keras` save -> load gives the same weights and the same outputs;
6. one `fit` step with `jit_compile=True` (plain SGD, random targets for the
   float outputs) runs, gives a finite loss and moves every trainable variable
   (so gradients reach all of them); a model with integer outputs only must
   have no trainable weights and runs one jit-compiled `predict` step instead,
   which must give the eager outputs;
7. under mixed_float16 and mixed_bfloat16: the same weights (counts and
   shapes), all float32; float outputs in the compute dtype and finite where
   the float32 ones are, integer outputs in the dtype they have under float32.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import keras
import numpy as np


class Weights(NamedTuple):
    """What a model holds: weight tensors by kind, and `count_params()`."""

    trainable: int
    non_trainable: int
    params: int


def layer_model(layer_factory, inputs: dict, dtype=None) -> keras.Model:
    """Wrap `layer_factory(dtype)` called on `inputs` (in order) into a functional model."""
    symbolic = {
        name: keras.Input(value.shape[1:], dtype=str(value.dtype), name=name)
        for name, value in inputs.items()
    }
    outputs = layer_factory(dtype)(*symbolic.values())
    return keras.Model(symbolic, outputs)


def _flat(outputs):
    if isinstance(outputs, dict):
        return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}
    if isinstance(outputs, list | tuple):
        raise TypeError("give the model a dict of named outputs, not a list or tuple")
    return {"output": keras.ops.convert_to_numpy(outputs)}


def _weights(model, paths=True):
    """Weight counts and the (path, shape) of every weight, for comparing models."""
    counts = Weights(
        len(model.trainable_weights), len(model.non_trainable_weights), model.count_params()
    )
    return counts, sorted((v.path if paths else "", tuple(v.shape)) for v in model.weights)


def _assert_same_weights(got, want, what):
    extra = sorted(set(got[1]) - set(want[1]))
    missing = sorted(set(want[1]) - set(got[1]))
    assert got == want, f"{what}: weights {got[0]}, expected {want[0]}; new {extra}, gone {missing}"


def _is_float(value):
    return keras.backend.is_float_dtype(keras.backend.standardize_dtype(value.dtype))


def check_keras_contract(
    make,
    inputs: dict,
    tmp_path,
    *,
    expected_shapes,
    expected_weights,
    atol=1e-5,
    frozen=(),
):
    """Run the seven checks on `make(dtype)` (see the module docstring).

    Args:
        make: `make(dtype_policy_or_None) -> keras.Model`, a new model per call.
        inputs: concrete inputs by name.
        tmp_path: a folder for the `.keras` file.
        expected_shapes: `{"output name": (batch, ...)}`, or one shape tuple
            for a model with a single output.
        expected_weights: a `Weights(trainable, non_trainable, params)` (or the
            three numbers): weight tensors of each kind and `count_params()`.
        atol: tolerance of the saved-and-loaded outputs.
        frozen: substrings of variable paths allowed not to move in the fit step.

    Returns:
        The float32 model and its eager outputs by name ("output" for a single one).
    """
    expected_weights = Weights(*expected_weights)
    if isinstance(expected_shapes, dict):
        wanted = {name: tuple(shape) for name, shape in expected_shapes.items()}
    else:
        wanted = {"output": tuple(expected_shapes)}
    model = make(None)
    eager = _flat(model(inputs, training=False))

    # 1. output names and shapes are the expected ones.
    got = {name: value.shape for name, value in eager.items()}
    assert got == wanted, f"output shapes {got}, expected {wanted}"

    # 2. weight counts are the expected ones.
    counts, weights = _weights(model)
    assert counts == expected_weights, f"weights {counts}, expected {expected_weights}"

    # 3. config round trip (functional config includes every layer's config).
    config = model.get_config()
    rebuilt = model.__class__.from_config(copy.deepcopy(config))
    assert rebuilt.get_config() == config
    _assert_same_weights(_weights(rebuilt), (counts, weights), "from_config")

    # 4. symbolic shapes agree with eager shapes (batch and seq dims may be None).
    symbolic = _flat_shapes(model.outputs, model.output)
    for name, value in eager.items():
        for s, e in zip(symbolic[name], value.shape, strict=True):
            assert s is None or s == e, (name, symbolic[name], value.shape)

    # 5. .keras save -> load -> same weights, same outputs.
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    _assert_same_weights(_weights(loaded), (counts, weights), "the loaded model")
    reloaded = _flat(loaded(inputs, training=False))
    assert set(reloaded) == set(eager)
    for name, value in reloaded.items():
        np.testing.assert_allclose(value, eager[name], atol=atol, rtol=1e-5)

    # 6. one jit-compiled fit step moves every trainable variable.
    float_outputs = [name for name, value in eager.items() if _is_float(value)]
    batch_size = len(next(iter(inputs.values())))
    if not float_outputs:
        assert not model.trainable_weights, "trainable weights but no float output to train"
        model.compile(jit_compile=True)
        predicted = _flat(model.predict(inputs, batch_size=batch_size, verbose=0))
        for name, value in predicted.items():
            np.testing.assert_array_equal(value, eager[name])
    else:
        _fit_step(model, inputs, eager, float_outputs, batch_size, frozen)

    # 7. mixed precision: float32 variables, compute-dtype float outputs.
    for policy, compute in (("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")):
        mixed = make(policy)
        _assert_same_weights(_weights(mixed, paths=False), _weights(model, paths=False), policy)
        assert all(v.dtype == "float32" for v in mixed.weights), policy
        for name, value in _flat_tensors(mixed(inputs, training=False)).items():
            dtype = keras.backend.standardize_dtype(value.dtype)
            want = compute if name in float_outputs else str(eager[name].dtype)
            assert dtype == want, (policy, name, dtype)
            if name in float_outputs:  # no overflow to inf or NaN where float32 is finite
                finite = np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(value, "float32")))
                assert finite[np.isfinite(eager[name])].all(), (policy, name, "not finite")
    return model, eager


def _fit_step(model, inputs, eager, float_outputs, batch_size, frozen):
    before = {v.path: np.array(v.numpy()) for v in model.trainable_variables}
    if isinstance(model.output, dict):
        loss = {name: "mse" for name in float_outputs}
        y = {name: _targets(eager[name]) for name in float_outputs}
    else:
        loss, y = "mse", _targets(eager["output"])
    # plain SGD at rate 1: a variable moves by its gradient (Adam would blow float noise
    # up to a full step), and it compiles much faster than Adam
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss=loss, jit_compile=True)
    history = model.fit(inputs, y, batch_size=batch_size, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    unmoved = [
        v.path
        for v in model.trainable_variables
        if np.array_equal(v.numpy(), before[v.path]) and not any(f in v.path for f in frozen)
    ]
    assert not unmoved, f"variables without a gradient update: {unmoved}"


def _targets(output):
    """Random targets. With constant ones the gradient through a final LayerNorm (gamma 1,
    beta 0) to its input is zero, and float noise would stand in for it."""
    return np.random.default_rng(0).normal(size=output.shape).astype(output.dtype)


def _flat_tensors(outputs):
    return dict(outputs) if isinstance(outputs, dict) else {"output": outputs}


def _flat_shapes(outputs, structure):
    if isinstance(structure, dict):
        return {name: tuple(t.shape) for name, t in structure.items()}
    return {"output": tuple(outputs[0].shape)}


# A config small enough that one contract run takes a few seconds.
TINY = dict(
    vocabulary_size=64, hidden_dim=16, num_heads=2, intermediate_dim=32, max_sequence_length=16
)


def encoder_weights(config, attention_blocks, feedforward_blocks, pooler=True) -> Weights:
    """What an encoder of `config` holds with the given numbers of distinct sublayers.

    Token table; position and segment tables and LayerNorm; the E x H projection
    when E != H; 6 tensors per attention and per feed-forward sublayer; the final
    LayerNorm of pre-LN; the pooler Dense when `pooler`.
    """
    V, E, H, inner = (
        config.vocabulary_size,
        config.resolved_embedding_dim,
        config.hidden_dim,
        config.intermediate_dim,
    )
    rows = config.max_sequence_length + config.position_offset + config.num_segments
    parts = [
        (1, V * E),
        (1 + (config.num_segments > 0) + 2, rows * E + 2 * E),
        (2, E * H + H) if E != H else (0, 0),
        (6 * attention_blocks, attention_blocks * (4 * H * H + 4 * H + 2 * H)),
        (6 * feedforward_blocks, feedforward_blocks * (2 * H * inner + inner + 3 * H)),
        (2, 2 * H) if config.norm_first else (0, 0),
        (2, H * H + H) if pooler else (0, 0),
    ]
    return Weights(sum(t for t, _ in parts), 0, sum(p for _, p in parts))


def make_batch(vocabulary_size=100, batch=2, seq=8, predictions=3, num_segments=2, seed=0):
    """A small padded batch in the encoder/pretrainer input format."""
    rng = np.random.default_rng(seed)
    lengths = np.array([seq] + [max(2, seq - 3)] * (batch - 1))
    padding_mask = (np.arange(seq)[None] < lengths[:, None]).astype("int32")
    token_ids = (rng.integers(1, vocabulary_size, (batch, seq)) * padding_mask).astype("int32")
    segment_ids = np.zeros((batch, seq), "int32")
    if num_segments > 1:
        segment_ids[:, seq // 2 :] = 1
    segment_ids *= padding_mask
    mask_positions = np.stack(
        [rng.choice(int(n), predictions, replace=False) for n in lengths]
    ).astype("int32")
    return {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": padding_mask,
        "mask_positions": mask_positions,
    }
