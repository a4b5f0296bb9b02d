"""ELECTRA's corruption step: tokens sampled from the generator replace the masked ones.

At each masked position a token is drawn from the generator's softmax (at a
temperature, by the Gumbel-max trick: argmax(logits / T + Gumbel noise), as
ELECTRA's own code samples) under `stop_gradient`, so no gradient flows from the
discriminator into the generator. The sampled tokens go into the sequence at
`mask_positions`; a position is labelled "replaced" (1) when its token now
differs from the original, so a sample equal to the original counts as original
(Clark et al. 2020, section 2). The noise comes from a `keras.random.SeedGenerator`:
stateless, seeded and XLA-compilable.

Example:

>>> import numpy as np
>>> from keras_bertfam.layers import ReplaceTokens
>>> logits = np.full((1, 2, 10), -1e4, "float32"); logits[..., 7] = 0.0  # always token 7
>>> ids, labels = ReplaceTokens(seed=1)(
...     logits, np.array([[2, 4, 4, 9]]), np.array([[1, 2]]),
...     np.array([[5, 7]]), np.ones((1, 2), "float32"))
>>> np.asarray(ids).tolist(), np.asarray(labels).tolist()
([[2, 7, 7, 9]], [[0.0, 1.0, 0.0, 0.0]])
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam.errors import InputError
from keras_bertfam.layers.common import register


@register
class ReplaceTokens(keras.layers.Layer):
    """Sample replacements at the masked positions; the corrupted ids and their labels.

    Args:
        temperature: float, default 1.0. The generator's logits are divided by
            it before sampling (ELECTRA: 1).
        seed: int or None, default None. Seed of the layer's
            `keras.random.SeedGenerator` (each call draws new noise from it).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        mlm_logits: [batch, P, V] float, the generator's logits at the masked positions.
        token_ids: [batch, seq] int, the masked input the generator read.
        mask_positions: [batch, P] int, the masked positions.
        mask_ids: [batch, P] int, the original tokens there.
        mask_weights: [batch, P] float, 1 for a real masked position, 0 for a padding slot
            (left as it is).

    Returns:
        A tuple: `corrupted_ids` [batch, seq] int32 (the discriminator's input: the
        original tokens with the samples at the masked positions) and `rtd_labels`
        [batch, seq] float, 1 where the token differs from the original.

    Example:

    >>> import numpy as np
    >>> from keras_bertfam.layers import ReplaceTokens
    >>> layer = ReplaceTokens(temperature=1.0, seed=3)
    >>> logits = np.zeros((2, 1, 50), "float32")  # uniform: a sample in 0..49
    >>> ids, labels = layer(logits, np.full((2, 4), 4), np.array([[1], [2]]),
    ...                     np.array([[8], [9]]), np.ones((2, 1), "float32"))
    >>> tuple(ids.shape), tuple(labels.shape), str(np.asarray(ids).dtype)
    ((2, 4), (2, 4), 'int32')
    """

    def __init__(self, temperature=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        number = isinstance(temperature, int | float) and not isinstance(temperature, bool)
        if not (number and temperature > 0):
            raise InputError(f"temperature={temperature!r} must be a number > 0")
        self.temperature = temperature
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mlm_logits, token_ids, mask_positions, mask_ids, mask_weights):
        logits = ops.cast(ops.stop_gradient(mlm_logits), "float32") / self.temperature
        uniform = keras.random.uniform(ops.shape(logits), minval=1e-9, maxval=1.0,
                                       seed=self.seed_generator)  # fmt: skip
        sampled = ops.cast(ops.argmax(logits - ops.log(-ops.log(uniform)), axis=-1), "int32")
        token_ids = ops.cast(token_ids, "int32")
        # [batch, P, seq]: which real masked slot writes to which position
        slots = ops.one_hot(ops.cast(mask_positions, "int32"), ops.shape(token_ids)[1])
        slots = slots * ops.cast(mask_weights, slots.dtype)[:, :, None]
        written = ops.max(slots, axis=1) > 0

        def scatter(values):  # [batch, P] -> [batch, seq], the values at their positions
            placed = ops.sum(slots * ops.cast(values, slots.dtype)[:, :, None], axis=1)
            return ops.where(written, ops.cast(ops.round(placed), "int32"), token_ids)

        corrupted = scatter(sampled)
        original = scatter(mask_ids)
        labels = ops.cast(ops.not_equal(corrupted, original), self.compute_dtype)
        return corrupted, labels

    def compute_output_shape(self, mlm_logits_shape, token_ids_shape, *shapes):
        return tuple(token_ids_shape), tuple(token_ids_shape)

    def compute_output_spec(self, mlm_logits, token_ids, *args):
        shape = tuple(token_ids.shape)
        return (keras.KerasTensor(shape, dtype="int32"),
                keras.KerasTensor(shape, dtype=self.compute_dtype))  # fmt: skip

    def save_own_variables(self, store):
        """The sampler's state goes into `.keras` files, so a loaded (resumed) model draws
        the samples the saved one would have drawn next."""
        store["seed_state"] = ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        if "seed_state" in store:  # files written without it start from the seed
            self.seed_generator.state.assign(store["seed_state"])

    def get_config(self):
        config = super().get_config()
        config.update(temperature=self.temperature, seed=self.seed)
        return config
