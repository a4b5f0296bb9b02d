"""`Objective`: what one pretraining objective adds to an encoder.

Example:

>>> from keras_bertfam.objectives.base import Objective
>>> Objective("demo", "token", "demo_logits", heads=("demo_head",), build=None).inputs
()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Objective:
    """One pretraining objective: its head, its output and the inputs it reads.

    Attributes:
        name: the config value that chooses it ("mlm", "rtd", "nsp", "sop").
        level: "token" (`EncoderConfig.token_objective`) or "sentence"
            (`EncoderConfig.sentence_objective`).
        output: the pretrainer output it adds, e.g. "rtd_logits".
        heads: names of its head layers (stable: checkpoint converters and
            `init_from` find the head by them).
        build: `build(encoded, inputs, encoder, config, dtype)` -> the output
            KerasTensor; `encoded` is the encoder's output dict, `inputs` the
            pretrainer's input dict, `encoder` the `Encoder` (its
            `token_embedding` is the MLM decoder's tie).
        inputs: inputs it needs beyond the encoder's (int32 [batch, None]),
            e.g. `mask_positions`.
        uses_pooler: whether its head reads `pooled_output` (a pretrainer
            with no such head is built without a pooler).
    """

    name: str
    level: str
    output: str
    heads: tuple[str, ...]
    build: Callable | None
    inputs: tuple[str, ...] = ()
    uses_pooler: bool = False
