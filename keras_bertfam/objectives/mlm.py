"""Masked-LM prediction (Devlin et al. 2019): logits over the vocabulary at `mask_positions`.

The head gathers the hidden states at the masked positions, transforms them (Dense
to E, activation, norm) and decodes with the token table (tied), plus an output
bias: `layers.heads.masked_lm_logits`. ELECTRA's generator is this objective.

Example:

>>> from keras_bertfam import objectives
>>> objectives.get("mlm").heads
('mlm_head', 'mlm_output_bias')
"""

from __future__ import annotations

from keras_bertfam.layers import masked_lm_logits
from keras_bertfam.objectives.base import Objective


def build(encoded, inputs, encoder, config, dtype=None):
    """`mlm_logits` [batch, P, V] at `inputs["mask_positions"]`."""
    return masked_lm_logits(encoded["sequence_output"], inputs["mask_positions"],
                            encoder.token_embedding, config, dtype)  # fmt: skip


OBJECTIVE = Objective(
    name="mlm",
    level="token",
    output="mlm_logits",
    heads=("mlm_head", "mlm_output_bias"),
    build=build,
    inputs=("mask_positions",),
)
