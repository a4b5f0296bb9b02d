"""Classification models as Hugging Face `*ForSequenceClassification` folders.

The inverse of `keras_bertfam.convert.classifier`: a classifier whose head reads
the pooler (pooling "pooled", a plain Dense head, as `bertfam finetune` builds by
default and as the import gives) becomes

- BERT, ALBERT: the base model with its pooler, and `classifier` (the head's Dense);
- RoBERTa: the base model without a pooler, `classifier.dense` (our pooler) and
  `classifier.out_proj` (the head's Dense);

with `id2label` / `label2id` from the labels and `classifier_dropout` from the
head. Heads Hugging Face's classes do not have are refused by name: mean or
first-token pooling without the pooler Dense, a head transform (ModernBERT's
classifier head), and the families whose classifiers are not mapped (ModernBERT,
ELECTRA).

Example:

>>> from keras_bertfam.export.hf_classifier import classifier_architecture
>>> classifier_architecture("roberta")
'RobertaForSequenceClassification'
"""

from __future__ import annotations

from keras_bertfam.export.hf_config import ARCHITECTURES, UnexpressibleError

FAMILIES = ("bert", "albert", "roberta")


def classifier_architecture(family: str) -> str:
    """The transformers class of a family's sequence classifier."""
    return ARCHITECTURES[family, None].removesuffix("Model") + "ForSequenceClassification"


def check_classifier(model):
    """The encoder of a classification model that Hugging Face can hold, else an
    `UnexpressibleError` naming what it cannot (see the module docstring)."""
    from keras_bertfam.export.hf_config import family_of
    from keras_bertfam.layers import SentenceHead
    from keras_bertfam.layers.task_heads import SequencePooling
    from keras_bertfam.models.builders import encoder_of, has_pooler_dense

    encoder = encoder_of(model)
    configs = [getattr(x, "bertfam_config", None) for x in (encoder, *model.layers)]
    config = next((c for c in configs if c is not None), None)
    family = family_of(config) if config is not None else "bert"
    if family not in FAMILIES:
        raise UnexpressibleError(
            f"{family} sequence classifiers are not exported to Hugging Face (families "
            f"{list(FAMILIES)}); export the encoder"
        )
    heads = [layer for layer in model.layers if isinstance(layer, SentenceHead)]
    pooled = not any(isinstance(layer, SequencePooling) for layer in model.layers)
    if len(heads) != 1 or not pooled or not has_pooler_dense(encoder):
        raise UnexpressibleError(
            "the classification head does not read the pooler (pooling 'mean' or 'cls', or "
            "an encoder without one): Hugging Face's BERT, ALBERT and RoBERTa sequence "
            "classifiers do; fine-tune with pooling='pooled' or export the encoder"
        )
    if heads[0].transform_activation is not None:
        raise UnexpressibleError(
            f"the classification head has a transform (transform_activation="
            f"{heads[0].transform_activation!r}), which {classifier_architecture(family)} "
            "lacks"
        )
    return encoder


def classifier_parts(model, family: str, labels=None) -> tuple[dict, dict]:
    """(config.json values to add, tensors) of a classification model's head (checked by
    `check_classifier`)."""
    import numpy as np

    from keras_bertfam.layers import SentenceHead

    head = next(layer for layer in model.layers if isinstance(layer, SentenceHead))
    kernel, bias = (np.asarray(w.numpy(), np.float32) for w in (head.dense.kernel, head.dense.bias))
    count = kernel.shape[-1]
    labels = list(labels) if labels else [f"LABEL_{i}" for i in range(count)]
    if len(labels) != count:
        raise UnexpressibleError(f"{len(labels)} labels for a head of {count} classes")
    out = "classifier.out_proj" if family == "roberta" else "classifier"
    tensors = {f"{out}.weight": np.ascontiguousarray(kernel.T), f"{out}.bias": bias}
    values = {
        "architectures": [classifier_architecture(family)],
        "id2label": {str(i): str(label) for i, label in enumerate(labels)},
        "label2id": {str(label): i for i, label in enumerate(labels)},
        "classifier_dropout": float(head.dropout),
        "problem_type": "single_label_classification",
    }
    return values, tensors


def move_pooler(tensors: dict, family: str) -> dict:
    """RoBERTa's classifier holds the pooler as `classifier.dense` (its base has none)."""
    if family != "roberta":
        return tensors
    moved = {}
    for name, value in tensors.items():
        if name.startswith("roberta.pooler.dense."):
            name = "classifier.dense." + name.removeprefix("roberta.pooler.dense.")
        moved[name] = value
    return moved
