"""An `EncoderConfig` as a Hugging Face `config.json`, checked by reading it back.

`hf_config(config, head, special)` gives the values of the family's config.json
(bert, albert, roberta or modernbert, from the config's fields); the importer's
`config_from_hf` must read them back as the same config, or the model has parts
Hugging Face cannot express, and `UnexpressibleError` names the fields.

Example:

>>> import keras_bertfam as bf
>>> from keras_bertfam.export.hf_config import family_of, hf_config
>>> family_of(bf.get_preset("albert_base"))
'albert'
>>> hf_config(bf.get_preset("roberta_base"), "mlm", {})["max_position_embeddings"]
514
"""

from __future__ import annotations

import dataclasses

from keras_bertfam.convert.checkpoint import HF_ACTIVATIONS, config_from_hf
from keras_bertfam.errors import InputError

# our activation -> the Hugging Face name that reads back as it
ACTIVATIONS = {ours: theirs for theirs, ours in reversed(HF_ACTIVATIONS.items())}
ACTIVATIONS["gelu_approximate"] = "gelu_new"
# (family, head) -> the transformers class of the exported weights
ARCHITECTURES = {
    ("bert", None): "BertModel", ("bert", "mlm"): "BertForMaskedLM",
    ("bert", "nsp"): "BertForPreTraining", ("albert", None): "AlbertModel",
    ("albert", "mlm"): "AlbertForMaskedLM", ("albert", "sop"): "AlbertForPreTraining",
    ("roberta", None): "RobertaModel", ("roberta", "mlm"): "RobertaForMaskedLM",
    ("modernbert", None): "ModernBertModel", ("modernbert", "mlm"): "ModernBertForMaskedLM",
    ("electra", None): "ElectraModel", ("electra", "rtd"): "ElectraForPreTraining",
    ("electra", "mlm"): "ElectraForMaskedLM",
}  # fmt: skip


class UnexpressibleError(InputError):
    """A model has a part that no Hugging Face class of its family can hold."""


def family_of(config) -> str:
    """The Hugging Face family whose classes a config's model fits."""
    if config.position_embedding == "rotary" or config.norm_first:
        return "modernbert"
    if config.token_objective == "rtd":
        return "electra"  # a discriminator (its generator is exported with family="electra")
    if config.sharing != "none":
        return "albert"
    if config.resolved_embedding_dim != config.hidden_dim:
        return "electra"  # E != H without sharing: ELECTRA's embeddings_project, not ALBERT
    return "roberta" if config.position_offset else "bert"


def _activation(config) -> str:
    return ACTIVATIONS.get(config.activation, config.activation)


def _classic(config, family: str, special: dict) -> dict:
    values = {
        "vocab_size": config.vocabulary_size, "hidden_size": config.hidden_dim,
        "num_hidden_layers": config.num_layers, "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_dim, "hidden_act": _activation(config),
        "hidden_dropout_prob": config.dropout,
        "attention_probs_dropout_prob": config.resolved_attention_dropout,
        "max_position_embeddings": config.max_sequence_length + config.position_offset,
        "type_vocab_size": config.num_segments, "initializer_range": config.initializer_range,
        "layer_norm_eps": config.layer_norm_epsilon, "position_embedding_type": "absolute",
        "pad_token_id": special.get("pad", 0),
    }  # fmt: skip
    if family == "roberta":
        values.update(pad_token_id=config.position_offset - 1, bos_token_id=special.get("cls", 0),
                      eos_token_id=special.get("sep", 2))  # fmt: skip
    if family == "electra":
        values.update(embedding_size=config.resolved_embedding_dim)
    if family == "albert":
        values.update(embedding_size=config.resolved_embedding_dim,
                      num_hidden_groups=config.resolved_num_groups,
                      inner_group_num=config.inner_group_size)  # fmt: skip
    return values


def _modernbert(config, special: dict) -> dict:
    types = ["full_attention" if i % config.global_every == 0 else "sliding_attention"
             for i in range(config.num_layers)]  # fmt: skip
    local = config.rotary_theta_local or config.rotary_theta
    return {
        "vocab_size": config.vocabulary_size, "hidden_size": config.hidden_dim,
        "num_hidden_layers": config.num_layers, "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_dim, "hidden_activation": _activation(config),
        "max_position_embeddings": config.max_sequence_length, "mlp_dropout": config.dropout,
        "attention_dropout": config.resolved_attention_dropout, "embedding_dropout": 0.0,
        "norm_eps": config.layer_norm_epsilon, "initializer_range": config.initializer_range,
        "local_attention": config.local_window or config.max_sequence_length,
        "layer_types": types, "global_attn_every_n_layers": config.global_every,
        "rope_parameters": {
            "full_attention": {"rope_theta": config.rotary_theta, "rope_type": "default"},
            "sliding_attention": {"rope_theta": local, "rope_type": "default"}},
        "attention_bias": config.use_bias, "mlp_bias": config.use_bias,
        "norm_bias": config.use_bias, "classifier_bias": config.use_bias, "decoder_bias": True,
        "pad_token_id": special.get("pad", 0), "cls_token_id": special.get("cls", 0),
        "sep_token_id": special.get("sep", 0), "bos_token_id": special.get("cls", 0),
        "eos_token_id": special.get("sep", 0),
    }  # fmt: skip


def hf_config(config, head: str | None, special: dict, family: str | None = None) -> dict:
    """config.json values for `config` with `head` (None, "mlm", "nsp", "sop" or "rtd");
    `special` maps cls, sep, pad, ... to the tokenizer's ids; `family` defaults to
    `family_of(config)`."""
    family = family or family_of(config)
    if (family, head) not in ARCHITECTURES:
        heads = sorted(h for f, h in ARCHITECTURES if f == family and h)
        raise UnexpressibleError(
            f"Hugging Face {family} models have no {head} head (sentence_objective="
            f"{config.sentence_objective!r}); theirs: {heads}"
        )
    values = _modernbert(config, special) if family == "modernbert" else _classic(
        config, family, special)  # fmt: skip
    values.update(model_type=family, architectures=[ARCHITECTURES[family, head]],
                  tie_word_embeddings=True)  # fmt: skip
    check_round_trip(config, values)
    return values


def _comparable(config) -> dict:
    fields = dataclasses.asdict(config.replace(
        embedding_dim=config.resolved_embedding_dim, num_groups=config.resolved_num_groups,
        attention_dropout=config.resolved_attention_dropout))  # fmt: skip
    # chosen by the weights, not config.json; the generator's width is not the encoder's
    for name in ("sentence_objective", "token_objective", "pooler", "generator_fraction"):
        fields.pop(name)
    if config.position_embedding == "rotary" and config.rotary_theta_local is None:
        fields["rotary_theta_local"] = config.rotary_theta
    return fields


def check_round_trip(config, values: dict) -> None:
    """`UnexpressibleError` naming each field that `values` would not give back."""
    ours, back = _comparable(config), _comparable(config_from_hf(values))
    differ = {k: (ours[k], back[k]) for k in ours if ours[k] != back[k]}
    if differ:
        parts = ", ".join(f"{k}={a!r} (would load as {b!r})" for k, (a, b) in differ.items())
        raise UnexpressibleError(
            f"Hugging Face {values['model_type']} cannot express this model: {parts}"
        )
