"""Hugging Face sequence classifiers (`*ForSequenceClassification`) as classification models.

The head of each family becomes our classification head with the same function:

- BERT, ALBERT: the pooler (dense + tanh on [CLS]), dropout, `classifier` ->
  pooling "pooled" and the head's Dense;
- RoBERTa: `classifier.dense` + tanh on <s> (our pooler), `classifier.out_proj`
  (the head's Dense);
- ModernBERT: `classifier_pooling` "cls" or "mean", then `head` (dense,
  `classifier_activation`, norm) and `classifier` -> that pooling and a
  `SentenceHead` with `transform_activation`.

Label names come from `id2label`. Regression (`num_labels=1`) and multi-label
classifiers are refused: the classification task is single-label softmax.

Example:

>>> from keras_bertfam.convert.classifier import labels_of
>>> labels_of({"id2label": {"0": "neg", "1": "pos"}}, "config.json")
['neg', 'pos']
"""

from __future__ import annotations

from keras_bertfam.convert.checkpoint import HF_ACTIVATIONS, Checkpoint, CheckpointError
from keras_bertfam.convert.hf_heads import check_checkpoint, dropout_key

HEAD = "sequence"  # the kind of head in `keras_bertfam.convert.hf_heads.HEADS`
SINGLE_LABEL = (None, "single_label_classification")


def labels_of(values: dict, file: str) -> list[str]:
    """The class names of a classifier's config, in id order."""
    problem = values.get("problem_type")
    if problem not in SINGLE_LABEL:
        raise CheckpointError(
            f"{file} problem_type={problem!r}: only single-label classifiers import "
            "(task 'classification' is a softmax over classes)"
        )
    id2label = values.get("id2label") or {}
    count = len(id2label) or values.get("num_labels", 2)
    if count < 2:
        raise CheckpointError(
            f"{file} has num_labels={count}: a regression head, which task 'classification' "
            "does not serve"
        )
    try:
        return [str(id2label[str(i)] if str(i) in id2label else id2label.get(i, f"LABEL_{i}"))
                for i in range(count)]  # fmt: skip
    except AttributeError:
        raise CheckpointError(f"{file} id2label={id2label!r} is not an object") from None


def task_head(checkpoint: Checkpoint) -> dict:
    """`build_task_model` arguments for the checkpoint's classification head, and its
    `labels`."""
    if not checkpoint.source.startswith("hf_"):
        raise CheckpointError(
            f"a classification head imports from Hugging Face sequence classifiers; "
            f"{str(checkpoint.folder)!r} is a {checkpoint.source} checkpoint"
        )
    if not any(name.startswith("classifier.") for name in checkpoint.tensors):
        raise CheckpointError(
            f"{str(checkpoint.folder)!r} holds no classifier.* tensors: not a sequence "
            "classifier (fine-tune it with `bertfam finetune` to get one)"
        )
    if checkpoint.source != "hf_modernbert_classifier":
        check_checkpoint(checkpoint, HEAD)  # not a token classifier's or a span head's file
    values, config = checkpoint.values, checkpoint.config
    family = checkpoint.source.removeprefix("hf_").removesuffix("_classifier")
    dropout = values.get(dropout_key(family))
    labels = labels_of(values, "config.json")
    head = dict(labels=labels, num_classes=len(labels), pooling="pooled",
                dropout=config.dropout if dropout is None else dropout)  # fmt: skip
    if checkpoint.source == "hf_modernbert_classifier":
        pooling = values.get("classifier_pooling", "cls")
        activation = values.get("classifier_activation", "gelu")
        if pooling not in ("cls", "mean") or activation not in HF_ACTIVATIONS:
            raise CheckpointError(
                f"config.json classifier_pooling={pooling!r} / classifier_activation="
                f"{activation!r}: expected 'cls' or 'mean' / one of {sorted(HF_ACTIVATIONS)}"
            )
        head.update(pooling=pooling, head_transform=dict(
            transform_activation=HF_ACTIVATIONS[activation], norm=config.norm,
            use_bias=config.use_bias, layer_norm_epsilon=config.layer_norm_epsilon))  # fmt: skip
    return head
