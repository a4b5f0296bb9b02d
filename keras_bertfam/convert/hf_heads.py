"""The heads of Hugging Face's task classes, as one table the import and the export read.

`HEADS[kind]` says, per family, which of our layers a transformers task class
holds under which name:

| kind | class | ours -> theirs |
| --- | --- | --- |
| sequence | `*ForSequenceClassification` | `classifier/dense` -> `classifier` (*) |
| token | `*ForTokenClassification` | `classifier/dense` -> `classifier` |
| span | `*ForQuestionAnswering` | `span_classifier/dense` -> `qa_outputs` |

(*) RoBERTa: `pooler/dense` -> `classifier.dense`, `classifier/dense` ->
`classifier.out_proj`.

The importer's rule table (`keras_bertfam.convert.names`) takes its head rules
from here (`rules`), and the exporter (`keras_bertfam.export.hf_classifier`)
names the head's tensors from here, so the two directions cannot drift apart.
A task declares its kind in the module its `hf_head` names (`HEAD`).

Example:

>>> from keras_bertfam.convert.hf_heads import HEADS, architecture
>>> HEADS["span"].layers["bert"]
{'span_classifier/dense': 'qa_outputs'}
>>> architecture("roberta", "token")
'RobertaForTokenClassification'
"""

from __future__ import annotations

from typing import NamedTuple

from keras_bertfam.convert.checkpoint import CheckpointError

CLASS_PREFIX = {"bert": "Bert", "albert": "Albert", "roberta": "Roberta", "electra": "Electra"}


class Head(NamedTuple):
    suffix: str  # the transformers class is <Family><suffix>
    layers: dict  # family -> {our layer path: the Hugging Face module, without the base prefix}
    pooled: bool  # the head reads the pooler (the base model keeps it)
    labels: bool  # config.json names the classes (id2label / label2id)


def _all(layers: dict, families=("bert", "albert", "roberta", "electra")) -> dict:
    return {family: dict(layers) for family in families}


HEADS = {
    "sequence": Head("ForSequenceClassification", {
        **_all({"classifier/dense": "classifier"}, ("bert", "albert")),
        "roberta": {"pooler/dense": "classifier.dense", "classifier/dense": "classifier.out_proj"},
    }, pooled=True, labels=True),
    "token": Head("ForTokenClassification", _all({"classifier/dense": "classifier"}),
                  pooled=False, labels=True),
    "span": Head("ForQuestionAnswering", _all({"span_classifier/dense": "qa_outputs"}),
                 pooled=False, labels=False),
}  # fmt: skip


def architecture(family: str, kind: str) -> str:
    """The transformers class of a family's `kind` head."""
    return CLASS_PREFIX[family] + HEADS[kind].suffix


def dropout_key(family: str) -> str:
    """The config.json key of the dropout before a classifier (ALBERT names it its own way)."""
    return "classifier_dropout_prob" if family == "albert" else "classifier_dropout"


def rules(family: str) -> list[tuple[str, str, str]]:
    """The import rules (pattern, our layer, "torch") of every head a family has."""
    found = {}
    for head in HEADS.values():
        for ours, theirs in head.layers.get(family, {}).items():
            found[theirs.replace(".", r"\.")] = ours
    return [(pattern, ours, "torch") for pattern, ours in found.items()]


def head_layers() -> tuple[str, ...]:
    """Our top-level layers that hold a task head (optional parts of an import)."""
    return tuple(sorted({ours.split("/")[0] for head in HEADS.values()
                         for layers in head.layers.values() for ours in layers
                         if not ours.startswith("pooler/")}))  # fmt: skip


def check_checkpoint(checkpoint, kind: str) -> str:
    """The family of a Hugging Face checkpoint that holds a `kind` head, else a
    `CheckpointError` naming what it holds instead."""
    head, folder = HEADS[kind], str(checkpoint.folder)
    family = checkpoint.source.removeprefix("hf_").removesuffix("_classifier")
    if not checkpoint.source.startswith("hf_") or family not in head.layers:
        raise CheckpointError(
            f"a *{head.suffix} head imports from the Hugging Face families {list(head.layers)}; "
            f"{folder!r} is a {checkpoint.source} checkpoint"
        )
    wanted = architecture(family, kind)
    classes = checkpoint.values.get("architectures") or []
    if classes and wanted not in classes:
        raise CheckpointError(f"{folder!r} holds a {classes[0]}, not a {wanted}")
    names = {f"{theirs}.{p}" for theirs in head.layers[family].values() for p in ("weight", "bias")}
    missing = sorted(names - set(checkpoint.tensors))
    if missing:
        raise CheckpointError(f"{folder!r} is not a {wanted}: it lacks {missing}")
    return family
