"""Task models as Hugging Face task classes: sequence and token classifiers, span heads.

The inverse of the task heads' import (`keras_bertfam.convert.hf_heads`, whose
`HEADS` table names the head's tensors both ways). A task whose `hf_head` module
says its kind (`HEAD`) exports as

- "sequence" (classification whose head reads the pooler: pooling "pooled", a
  plain Dense head, as `bertfam finetune` builds by default and as the import
  gives): `*ForSequenceClassification`; BERT, ALBERT: the base model with its
  pooler and `classifier`; RoBERTa: the base model without a pooler,
  `classifier.dense` (our pooler) and `classifier.out_proj` (the head's Dense);
- "token" (token classification): `*ForTokenClassification`, `classifier` on every
  token, the base model without a pooler;
- "span" (question answering): `*ForQuestionAnswering`, `qa_outputs` (2 outputs:
  start and end) on every token;

with `id2label` / `label2id` from the labels (classifiers) and `classifier_dropout`
from the head (ALBERT: `classifier_dropout_prob`). Heads Hugging Face's classes do
not have are refused by name: mean or first-token pooling without the pooler Dense,
a head transform (ModernBERT's classifier head), and the families whose heads are
not mapped (ModernBERT; ELECTRA's sequence classifier).

Example:

>>> from keras_bertfam.export.hf_classifier import classifier_architecture
>>> classifier_architecture("roberta")
'RobertaForSequenceClassification'
"""

from __future__ import annotations

from keras_bertfam.convert.hf_heads import HEADS, architecture, dropout_key
from keras_bertfam.export.hf_config import UnexpressibleError


def classifier_architecture(family: str, kind: str = "sequence") -> str:
    """The transformers class of a family's task head (default: its sequence classifier)."""
    return architecture(family, kind)


_STACK_FIELDS = ("num_layers", "num_heads", "intermediate_dim", "num_groups", "sharing",
                 "activation", "dropout", "attention_dropout", "layer_norm_epsilon", "norm_first",
                 "initializer_range", "inner_group_size", "norm", "use_bias", "rotary_theta",
                 "rotary_theta_local", "local_window", "global_every", "first_attention_norm",
                 )  # fmt: skip


def _layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)


def config_of(model):
    """The `EncoderConfig` of a task model: its own (`from_pretrained` sets it), its
    encoder's, or read back from the encoder's layers (a head on the sequence output holds
    the encoder without its pooler, which keeps no config)."""
    from keras_bertfam.models.config import EncoderConfig

    for part in (model, *_layers(model)):
        if getattr(part, "bertfam_config", None) is not None:
            return part.bertfam_config
    layers = {layer.name: layer.get_config() for layer in _layers(model)}
    if not {"encoder", "embeddings", "token_embedding"} <= set(layers):
        raise UnexpressibleError(f"model {model.name!r} holds no keras_bertfam encoder")
    stack, embeddings, token = layers["encoder"], layers["embeddings"], layers["token_embedding"]
    fields = {name: stack[name] for name in _STACK_FIELDS if stack.get(name) is not None}
    fields.update(feedforward=stack["feedforward_kind"], vocabulary_size=token["input_dim"],
                  embedding_dim=token["output_dim"], hidden_dim=embeddings["hidden_dim"],
                  num_segments=embeddings["num_segments"], pooler=False,
                  sentence_objective="none", position_embedding="rotary")  # fmt: skip
    position = layers.get("position_embedding")
    if position is not None:
        fields.update(position_embedding="learned", position_offset=position["offset"],
                      max_sequence_length=position["max_sequence_length"])  # fmt: skip
    return EncoderConfig(**fields)


def check_task_model(model, kind: str):
    """(config, family) of a task model whose `kind` head Hugging Face can hold, else an
    `UnexpressibleError` naming what it cannot (see the module docstring)."""
    from keras_bertfam.export.hf_config import family_of
    from keras_bertfam.layers import SentenceHead
    from keras_bertfam.layers.task_heads import SequencePooling
    from keras_bertfam.models.builders import encoder_of, has_pooler_dense

    head, encoder, config = HEADS[kind], encoder_of(model), config_of(model)
    family = family_of(config)
    if family not in head.layers:
        raise UnexpressibleError(
            f"{family} models have no *{head.suffix} export (families {list(head.layers)}); "
            "export the encoder"
        )
    heads = [layer for layer in model.layers if isinstance(layer, SentenceHead)]
    pooled = not any(isinstance(layer, SequencePooling) for layer in model.layers)
    if head.pooled and (len(heads) != 1 or not pooled or not has_pooler_dense(encoder)):
        raise UnexpressibleError(
            "the classification head does not read the pooler (pooling 'mean' or 'cls', or "
            "an encoder without one): Hugging Face's BERT, ALBERT and RoBERTa sequence "
            "classifiers do; fine-tune with pooling='pooled' or export the encoder"
        )
    ours = {layer.split("/")[0] for layer in head.layers[family]} - {"pooler"}
    if [layer.name for layer in heads] != sorted(ours):
        raise UnexpressibleError(
            f"{architecture(family, kind)} holds the head layer(s) {sorted(ours)}; the model "
            f"has {[layer.name for layer in heads]}"
        )
    if heads[0].transform_activation is not None:
        raise UnexpressibleError(
            f"the {heads[0].name} head has a transform (transform_activation="
            f"{heads[0].transform_activation!r}), which {architecture(family, kind)} lacks"
        )
    return config, family


def head_names(kind: str, family: str) -> dict:
    """Our layer paths -> the Hugging Face modules of a `kind` head (for `hf_tensors`)."""
    return HEADS[kind].layers[family]


def head_config(model, kind: str, family: str, labels=None) -> dict:
    """The config.json values a task model's `kind` head adds (checked by
    `check_task_model`)."""
    from keras_bertfam.layers import SentenceHead

    head = next(layer for layer in model.layers if isinstance(layer, SentenceHead))
    values = {"architectures": [architecture(family, kind)]}
    if not HEADS[kind].labels:
        return values
    count = int(head.dense.kernel.shape[-1])
    labels = list(labels) if labels else [f"LABEL_{i}" for i in range(count)]
    if len(labels) != count:
        raise UnexpressibleError(f"{len(labels)} labels for a head of {count} classes")
    values.update(id2label={str(i): str(label) for i, label in enumerate(labels)},
                  label2id={str(label): i for i, label in enumerate(labels)},
                  **{dropout_key(family): float(head.dropout)})  # fmt: skip
    if kind == "sequence":
        values["problem_type"] = "single_label_classification"
    return values
