"""Hugging Face question answering models (`*ForQuestionAnswering`) as span models.

BERT, ALBERT, RoBERTa and ELECTRA: the base model without a pooler and
`qa_outputs` (a Linear with 2 outputs, start and end, on every token) -> our span
head's Dense, with no dropout before it (Hugging Face's has none). The tensor
names come from `keras_bertfam.convert.hf_heads`, which the export reads too.

Example:

>>> from keras_bertfam.convert.span_classifier import HEAD
>>> from keras_bertfam.convert.hf_heads import HEADS
>>> HEADS[HEAD].layers["albert"]
{'span_classifier/dense': 'qa_outputs'}
"""

from __future__ import annotations

from keras_bertfam.convert.checkpoint import Checkpoint, CheckpointError
from keras_bertfam.convert.hf_heads import check_checkpoint

HEAD = "span"


def task_head(checkpoint: Checkpoint) -> dict:
    """`build_task_model` arguments for the checkpoint's span head (no labels)."""
    check_checkpoint(checkpoint, HEAD)
    width = checkpoint.tensors["qa_outputs.weight"].shape[0]
    if width != 2:
        raise CheckpointError(
            f"{str(checkpoint.folder)!r}: qa_outputs has {width} outputs; a span head has 2 "
            "(start and end)"
        )
    return dict(dropout=0.0)
