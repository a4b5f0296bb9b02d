"""Replaced-token detection (ELECTRA, Clark et al. 2020, https://arxiv.org/abs/2003.10555).

The discriminator gives every token a logit: was it replaced (by a token the
generator sampled)? The head is `layers.ReplacedTokenHead` (Dense H -> H, the
encoder's activation, Dense H -> 1), Hugging Face's
`ElectraDiscriminatorPredictions`; its output `rtd_logits` is [batch, seq] and
reads no `mask_positions`.

Example:

>>> import numpy as np, keras_bertfam as bf
>>> model = bf.build_pretrainer("electra_tiny")
>>> x = {"token_ids": np.array([[2, 10, 11, 3]]), "segment_ids": np.zeros((1, 4), "int32"),
...      "padding_mask": np.ones((1, 4), "int32")}
>>> {k: tuple(v.shape) for k, v in model(x).items()}
{'rtd_logits': (1, 4)}
"""

from __future__ import annotations

from keras_bertfam.layers import ReplacedTokenHead
from keras_bertfam.objectives.base import Objective


def build(encoded, inputs, encoder, config, dtype=None):
    """`rtd_logits` [batch, seq]: one replaced-token logit per position."""
    head = ReplacedTokenHead(config.activation, config.initializer_range, dtype=dtype,
                             name="rtd_head")  # fmt: skip
    return head(encoded["sequence_output"])


OBJECTIVE = Objective(
    name="rtd",
    level="token",
    output="rtd_logits",
    heads=("rtd_head",),
    build=build,
)
