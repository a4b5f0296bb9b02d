"""Hugging Face token classifiers (`*ForTokenClassification`) as token classification models.

BERT, ALBERT, RoBERTa and ELECTRA: the base model without a pooler, dropout and
`classifier` (a Linear on every token) -> our head's Dense on the sequence
output. Label names come from `id2label`; `classifier_dropout` (ALBERT:
`classifier_dropout_prob`; else
`hidden_dropout_prob`) is the head's dropout. The head's tensor names come from
`keras_bertfam.convert.hf_heads`, which the export reads too.

Example:

>>> from keras_bertfam.convert.token_classifier import HEAD
>>> from keras_bertfam.convert.hf_heads import HEADS
>>> HEADS[HEAD].suffix
'ForTokenClassification'
"""

from __future__ import annotations

from keras_bertfam.convert.checkpoint import Checkpoint
from keras_bertfam.convert.classifier import labels_of
from keras_bertfam.convert.hf_heads import check_checkpoint, dropout_key

HEAD = "token"


def task_head(checkpoint: Checkpoint) -> dict:
    """`build_task_model` arguments for the checkpoint's token classification head, and
    its `labels`."""
    family = check_checkpoint(checkpoint, HEAD)
    values = checkpoint.values
    dropout = values.get(dropout_key(family))
    labels = labels_of(values, "config.json")
    return dict(labels=labels, num_classes=len(labels),
                dropout=checkpoint.config.dropout if dropout is None else dropout)  # fmt: skip
