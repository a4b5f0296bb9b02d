"""The shared checks every layer and model test runs (`check_keras_contract`).

For a model factory `make(dtype) -> keras.Model` and concrete inputs it checks:
1. config round trip: `from_config(get_config())` rebuilds the same config;
2. the symbolic (functional) shapes equal the eager output shapes;
3. `.keras` save -> load gives the same outputs;
4. one `fit` step with `jit_compile=True` runs, gives a finite loss and moves
   every trainable variable (so gradients reach all of them);
5. under mixed_float16 and mixed_bfloat16, variables stay float32 and float
   outputs come out in the compute dtype.
"""

from __future__ import annotations

import copy

import keras
import numpy as np


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
        return {k: np.asarray(v) for k, v in outputs.items()}
    return {"output": np.asarray(outputs)}


def check_keras_contract(make, inputs: dict, tmp_path, atol=1e-5, frozen=()):
    """Run the five checks on `make(dtype)`; `frozen` names variables allowed not to move."""
    model = make(None)
    eager = _flat(model(inputs, training=False))

    # 1. config round trip (functional config includes every layer's config).
    config = model.get_config()
    rebuilt = model.__class__.from_config(copy.deepcopy(config))
    assert rebuilt.get_config() == config

    # 2. symbolic shapes agree with eager shapes (batch and seq dims may be None).
    symbolic = _flat_shapes(model.outputs, model.output)
    for name, value in eager.items():
        for s, e in zip(symbolic[name], value.shape, strict=True):
            assert s is None or s == e, (name, symbolic[name], value.shape)

    # 3. .keras save -> load -> same outputs.
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for name, value in _flat(loaded(inputs, training=False)).items():
        np.testing.assert_allclose(value, eager[name], atol=atol, rtol=1e-5)

    # 4. one jit-compiled fit step moves every trainable variable.
    before = {v.path: np.array(v.numpy()) for v in model.trainable_variables}
    targets = {name: np.ones_like(value) for name, value in eager.items()}
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss={name: "mse" for name in eager} if isinstance(model.output, dict) else "mse",
        jit_compile=True,
    )
    y = targets if isinstance(model.output, dict) else targets["output"]
    history = model.fit(inputs, y, batch_size=len(next(iter(inputs.values()))), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    unmoved = [
        v.path
        for v in model.trainable_variables
        if np.array_equal(v.numpy(), before[v.path]) and not any(f in v.path for f in frozen)
    ]
    assert not unmoved, f"variables without a gradient update: {unmoved}"

    # 5. mixed precision: float32 variables, compute-dtype outputs.
    for policy, compute in (("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")):
        mixed = make(policy)
        assert all(v.dtype == "float32" for v in mixed.weights), policy
        for name, value in (
            mixed(inputs, training=False).items()
            if isinstance(mixed.output, dict)
            else {"output": mixed(inputs, training=False)}.items()
        ):
            assert keras.backend.standardize_dtype(value.dtype) == compute, (policy, name)
    return model, eager


def _flat_shapes(outputs, structure):
    if isinstance(structure, dict):
        return {name: tuple(t.shape) for name, t in structure.items()}
    return {"output": tuple(outputs[0].shape)}


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
