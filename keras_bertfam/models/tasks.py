"""Fine-tuning task models on any encoder, built with the functional API.

`build_task_model(encoder, task, ...)` puts a head on an encoder (a
`build_encoder` / `from_pretrained` model, a pretrainer, or a config/preset
name) and returns one functional `keras.Model` over the contract inputs
`token_ids`, `segment_ids`, `padding_mask`:

each task's head comes from its module in `keras_bertfam.tasks` (see the table
there).

Pooling: "pooled" (BERT's tanh pooler on [CLS]; the default when the encoder
has one), "cls" (the raw first token) or "mean" (the mean of the real tokens,
as sentence-transformers models are trained).

Head initialization: "fan_in_uniform" by default (weights and bias uniform in
+-1/sqrt(H), as `torch.nn.Linear`), or "truncated_normal" (BERT's N(0, 0.02)).
It matters for short fine-tunes: AdamW moves a weight by about the learning rate
per step at most, so at 1e-4 over one epoch of 112 steps (warmup and decay) the
head's weights change by about 0.006, less than their initial size, and the
initial scale caps how sure the model can get. On fortunes topics (MiniLM, one
epoch) the dev loss is 0.89-0.95 with "fan_in_uniform" (9 seeds) and 1.03-1.07
with "truncated_normal" (4 seeds); accuracy 0.728 vs 0.717 on average.

Example:

>>> import numpy as np, keras_bertfam as bf
>>> from keras_bertfam.models.tasks import build_task_model
>>> model = build_task_model("bert_tiny", "classification", num_classes=3,
...                          num_layers=1, vocabulary_size=100)
>>> x = {"token_ids": np.array([[2, 7, 3, 0]]), "segment_ids": np.zeros((1, 4), "int32"),
...      "padding_mask": np.array([[1, 1, 1, 0]])}
>>> tuple(model(x)["logits"].shape)
(1, 3)
"""

from __future__ import annotations

import keras

from keras_bertfam import tasks
from keras_bertfam.errors import InputError
from keras_bertfam.kinds import HEAD_INITS, POOLINGS
from keras_bertfam.models.builders import (
    ENCODER_INPUTS,
    build_encoder,
    encoder_of,
    has_pooler_dense,
    segment_rows,
)
from keras_bertfam.models.model import BertfamModel
from keras_bertfam.validate import require_choice

TASKS = tasks.names()


def build_task_model(
    encoder,
    task: str,
    num_classes: int | None = None,
    pooling: str | None = None,
    dropout: float = 0.1,
    initializer_range: float = 0.02,
    head_init: str = "fan_in_uniform",
    name: str | None = None,
    head_transform: dict | None = None,
    **overrides,
) -> keras.Model:
    """An encoder with a fine-tuning head for `task`.

    Args:
        encoder: a keras_bertfam encoder or pretrainer `keras.Model`, or an
            `EncoderConfig` / preset name (then built with `**overrides`).
        task: a task name of `keras_bertfam.tasks.names()`.
        num_classes: the head's width: classes (classification, token
            classification) or choices per example (multiple choice); the tasks
            with a fixed width (question answering) ignore it.
        pooling: "pooled", "cls" or "mean" for the pooling heads; None means
            "pooled" if the encoder has a pooler Dense, else "cls" (for an
            encoder without one, "pooled" is the first token too).
        dropout: dropout before the head's Dense layer.
        head_init: "fan_in_uniform" or "truncated_normal" (with `initializer_range`);
            see the module docstring.
        head_transform: `SentenceHead` arguments of a transform before the head's
            Dense (ModernBERT's classifier: `{"transform_activation": "gelu",
            "use_bias": False, ...}`); None: none.
    """
    spec = tasks.get(task)
    if spec.needs_num_classes and not (isinstance(num_classes, int) and num_classes >= 1):
        raise InputError(f"task={task!r} needs num_classes >= 1, got num_classes={num_classes!r}")
    require_choice("head_init", head_init, HEAD_INITS)
    if not isinstance(encoder, keras.Model):
        encoder = build_encoder(encoder, **overrides)
    elif overrides:
        raise InputError(f"config overrides {sorted(overrides)} need a config, not a built model")
    encoder = encoder_of(encoder)
    slots = getattr(getattr(encoder, "bertfam_config", None), "packed_sequences", 0)
    if pooling is None:
        pooling = "pooled" if has_pooler_dense(encoder) else "cls"
    require_choice("pooling", pooling, POOLINGS)
    if pooling == "pooled" and "pooled_output" not in encoder.output:
        raise InputError("pooling='pooled' needs an encoder with a pooler; use 'cls' or 'mean'")
    if not spec.uses_pooled_output(pooling) and "pooled_output" in encoder.output:
        # the pooler would get no gradient (and cost a matmul): leave it out of the graph
        outputs = {"sequence_output": encoder.output["sequence_output"]}
        encoder = BertfamModel(encoder.input, outputs, name=encoder.name)
    names = None
    if slots:  # packed rows: sequence_ids in place of padding_mask, outputs per slot
        if spec.packing is None:
            raise InputError(f"task={task!r} cannot train on packed rows (packed_sequences="
                             f"{slots}); tasks that can: {list(tasks.packable())}")  # fmt: skip
        names = tuple("sequence_ids" if n == "padding_mask" else n for n in ENCODER_INPUTS)
    inputs, encoder_inputs = spec.model_inputs(num_classes, **({"names": names} if slots else {}))
    if "segment_ids" in encoder.input and segment_rows(encoder) < 2:
        # one segment row (RoBERTa): a pair packed as segments 0 and 1 reads as all 0, as
        # Hugging Face's tokenizers give it (and the exported signatures feed it)
        zeros = keras.ops.zeros_like(encoder_inputs["segment_ids"])
        encoder_inputs = {**encoder_inputs, "segment_ids": zeros}
    head = dict(dropout=dropout, initializer_range=initializer_range, init=head_init,
                **(head_transform or {}))  # fmt: skip
    packed = {"slots": slots} if slots else {}
    outputs = spec.head(encoder(encoder_inputs), encoder_inputs, num_classes, pooling, head,
                        **packed)  # fmt: skip
    return BertfamModel(inputs, outputs, name=name or task)
