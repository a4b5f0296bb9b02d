"""`BertfamModel`: the functional `keras.Model` every keras_bertfam builder returns.

It is a plain functional model (same constructor, same `get_config`, so it
round-trips through `from_config` and `.keras` files, registered as
`keras_bertfam>BertfamModel`) that checks what it is called with before Keras
converts it (`keras_bertfam.layers.checks.check_model_inputs`):

- ids, masks and positions must be integers: a float `token_ids` of 99.9 is
  refused, not truncated to 99;
- every input must have its rank (`[batch, seq]`, `[batch, P]`, or
  `[batch, num_choices, seq]` for multiple choice); Keras would squeeze a
  trailing 1 or fail with a generic message;
- `segment_ids` and `padding_mask` must have `token_ids`' shape and
  `mask_positions` its batch size; Keras would broadcast a batch of 1;
- a dict of inputs is matched by name: extra entries (a pretraining batch
  given to an encoder) are left out, a missing one is named.

Shapes known when a call is traced are checked then; in a TensorFlow graph with
shapes known only at run time, an assertion checks them, and under XLA (which
drops assertions) mismatched shapes make the outputs NaN.

`predict` on an empty batch returns empty outputs of the right shapes (Keras
itself fails on a batch of 0 with an `UnboundLocalError`).

Models saved by earlier releases as plain "Functional" models still load;
they lack these checks until rebuilt (`BertfamModel(model.input, model.output)`).

Example:

>>> import numpy as np, keras_bertfam as bf
>>> encoder = bf.build_encoder("bert_tiny", num_layers=1, vocabulary_size=50)
>>> isinstance(encoder, bf.BertfamModel)
True
>>> x = {"token_ids": np.array([[2, 7, 3]]), "segment_ids": np.zeros((1, 3), "int32"),
...      "padding_mask": np.ones((1, 3), "int32")}
>>> encoder(dict(x, token_ids=x["token_ids"] + 0.9))
Traceback (most recent call last):
...
keras_bertfam.errors.InputError: token_ids has dtype float64: it must hold integers ...
>>> empty = {k: v[:0] for k, v in x.items()}
>>> sorted((k, v.shape) for k, v in encoder.predict(empty, verbose=0).items())
[('pooled_output', (0, 128)), ('sequence_output', (0, 3, 128))]
"""

from __future__ import annotations

import keras
import numpy as np

from keras_bertfam.errors import InputError
from keras_bertfam.layers import checks
from keras_bertfam.layers.common import register


@register
class BertfamModel(keras.Model):
    """A functional model over the keras_bertfam inputs, with checked inputs.

    Args:
        inputs: the model inputs (a dict of `keras.Input`s by name:
            `token_ids`, `segment_ids`, `padding_mask`, and `mask_positions`
            for a pretrainer).
        outputs: the output tensors (a dict by name).
        name: the model name.

    Call arguments:
        inputs: a dict of integer arrays or tensors: `token_ids`,
            `segment_ids`, `padding_mask` of shape [batch, seq] (or
            [batch, num_choices, seq] for a multiple-choice model), and
            `mask_positions` [batch, P] for a pretrainer.

    Returns:
        A dict of outputs by name (see the builder that made the model).
    """

    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(inputs, outputs, name=name, **kwargs)

    def _input_specs(self):
        return [(t.name, tuple(t.shape), t.dtype) for t in self.inputs]

    def __call__(self, *args, **kwargs):
        if args:
            args = (self._checked(args[0]), *args[1:])
        elif "inputs" in kwargs:
            kwargs["inputs"] = self._checked(kwargs["inputs"])
        return super().__call__(*args, **kwargs)

    def _checked(self, inputs):
        specs = self._input_specs()
        if isinstance(inputs, dict):
            names = [name for name, _, _ in specs]
            missing = [name for name in names if name not in inputs]
            if missing:
                raise InputError(
                    f"model {self.name!r} needs the inputs {names}; missing: {missing}"
                )
            # by name: Keras would match a dict with extra entries (e.g. a pretraining
            # batch given to an encoder) to the inputs by sorted position instead
            inputs = {name: inputs[name] for name in names}
        checks.check_model_inputs(inputs, specs)
        return inputs

    def call(self, inputs, training=None, mask=None, **kwargs):
        if isinstance(inputs, dict):
            shapes = {
                name: checks.static_shape(inputs[name])
                for name, _, _ in self._input_specs()
                if inputs.get(name) is not None and hasattr(inputs[name], "shape")
            }
            shapes = {k: v for k, v in shapes.items() if v is not None}
            inputs = checks.guard_dynamic_shapes(inputs, shapes)
        return super().call(inputs, training=training, mask=mask, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """`keras.Model.predict`, which also answers an empty batch (with empty outputs)."""
        empty = _empty_batch(x)
        if empty is not None:
            outputs = self(empty, training=False)
            return keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)
        return super().predict(
            x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks
        )


def _empty_batch(x):
    """`x` itself if it is arrays with batch size 0; zeros of its element spec for an
    empty `tf.data.Dataset`; None otherwise."""
    if isinstance(x, dict | list | tuple) or hasattr(x, "shape"):
        leaves = keras.tree.flatten(x)
        shapes = [getattr(leaf, "shape", None) for leaf in leaves]
        if shapes and all(s is not None and len(s) and s[0] == 0 for s in shapes):
            return x
        return None
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(x, tf.data.Dataset) and int(x.cardinality()) == 0:
            spec = x.element_spec
            if isinstance(spec, tuple):
                spec = spec[0]
            return keras.tree.map_structure(
                lambda s: np.zeros(
                    [0 if d is None else d for d in s.shape], s.dtype.as_numpy_dtype
                ),
                spec,
            )
    return None
