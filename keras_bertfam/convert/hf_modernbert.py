"""Hugging Face ModernBERT folders: their `config.json` as an `EncoderConfig`, and the
names of their tensors.

ModernBERT (Warner et al. 2024) is a pre-norm encoder with rotary positions
(θ per layer kind), a sliding window on every layer but each
`global_attn_every_n_layers`-th, a GeGLU feed-forward with one fused `Wi`, no
biases, LayerNorms without bias and no attention norm on layer 0. Both config
formats import: transformers 4.x's (`global_rope_theta`, `local_rope_theta`,
`global_attn_every_n_layers`, as the published checkpoints ship) and 5.x's
(`layer_types`, `rope_parameters`).

Example:

>>> from keras_bertfam.convert.hf_modernbert import config_fields
>>> fields = config_fields({"model_type": "modernbert", "vocab_size": 100,
...     "hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2,
...     "intermediate_size": 48, "local_attention": 8, "global_attn_every_n_layers": 2})
>>> fields["feedforward"], fields["global_every"], fields["local_window"]
('geglu', 2, 8)
"""

from __future__ import annotations

from keras_bertfam.convert.checkpoint import HF_ACTIVATIONS, CheckpointError

GLOBAL, LOCAL = "full_attention", "sliding_attention"
DEFAULT_THETA = {GLOBAL: 160_000.0, LOCAL: 10_000.0}
_ATT, _FFN = "encoder/attention_{i}", "encoder/feedforward_{i}"
_L = r"layers\.(?P<i>\d+)\."

# (pattern without the variable suffix, our layer path, kind), as `names.RULES`.
RULES = [
    (r"embeddings\.tok_embeddings\.weight", "token_embedding/embeddings", "table"),
    (r"embeddings\.norm", "embeddings/layer_norm", "torch_norm"),
    (_L + r"attn_norm", _ATT + "/layer_norm", "torch_norm"),
    (_L + r"attn\.Wqkv", _ATT + "/qkv", "torch"),  # already fused: q | k | v, heads inside
    (_L + r"attn\.Wo", _ATT + "/output", "torch"),
    (_L + r"mlp_norm", _FFN + "/layer_norm", "torch_norm"),
    (_L + r"mlp\.Wi", _FFN + "/intermediate", "torch"),  # fused: value | gate
    (_L + r"mlp\.Wo", _FFN + "/output", "torch"),
    (r"final_norm", "encoder/final_layer_norm", "torch_norm"),
    (r"head\.dense", "mlm_head/dense", "torch"),
    (r"head\.norm", "mlm_head/layer_norm", "torch_norm"),
    (r"decoder\.bias", "mlm_output_bias/bias", "table"),
    (r"decoder\.weight", "token_embedding/embeddings", "table"),  # tied: must equal the table
]
# A ModernBertForSequenceClassification: `head` is the classifier's transform.
CLASSIFIER_RULES = [
    *(rule for rule in RULES if not rule[1].startswith(("mlm_", "token_embedding/")) or
      rule[0].startswith("embeddings")),
    (r"head\.dense", "classifier/transform", "torch"),
    (r"head\.norm", "classifier/transform_norm", "torch_norm"),
    (r"classifier", "classifier/dense", "torch"),
]  # fmt: skip


def config_fields(values: dict) -> dict:
    """`EncoderConfig` fields from a ModernBERT `config.json` (4.x or 5.x format)."""
    layers = values.get("num_hidden_layers", 22)
    activation = values.get("hidden_activation", "gelu")
    if activation not in HF_ACTIVATIONS:
        raise CheckpointError(
            f"config.json hidden_activation={activation!r} is not one of {sorted(HF_ACTIVATIONS)}"
        )
    thetas = _rope_thetas(values)
    return dict(
        vocabulary_size=values.get("vocab_size", 50368),
        num_layers=layers,
        num_heads=values.get("num_attention_heads", 12),
        hidden_dim=values.get("hidden_size", 768),
        intermediate_dim=values.get("intermediate_size", 1152),
        max_sequence_length=values.get("max_position_embeddings", 8192),
        num_segments=0,
        dropout=values.get("mlp_dropout", 0.0),
        attention_dropout=values.get("attention_dropout", 0.0),
        activation=HF_ACTIVATIONS[activation],
        layer_norm_epsilon=values.get("norm_eps", 1e-5),
        norm_first=True,
        initializer_range=values.get("initializer_range", 0.02),
        sentence_objective="none",
        pooler=False,
        position_embedding="rotary",
        rotary_theta=thetas[GLOBAL],
        rotary_theta_local=thetas[LOCAL],
        local_window=values.get("local_attention", 128),
        global_every=_global_every(values, layers),
        feedforward="geglu",
        norm="layer",
        use_bias=_use_bias(values),
        first_attention_norm=False,
    )


def _global_every(values: dict, layers: int) -> int:
    """n such that layer i attends globally exactly when i % n == 0."""
    types = values.get("layer_types")
    if types is None:
        return values.get("global_attn_every_n_layers", 3)
    if not isinstance(types, list) or len(types) != layers or set(types) - {GLOBAL, LOCAL}:
        raise CheckpointError(
            f"config.json layer_types={types!r} must list {layers} entries of "
            f"{GLOBAL!r} / {LOCAL!r}"
        )
    every = next((i for i, kind in enumerate(types) if i and kind == GLOBAL), layers)
    pattern = [GLOBAL if i % every == 0 else LOCAL for i in range(layers)]
    if types != pattern:
        raise CheckpointError(
            f"config.json layer_types={types!r} is not 'global every n layers from layer 0'"
            ", the only pattern the encoder builds (global_every)"
        )
    return every


def _rope_thetas(values: dict) -> dict:
    parameters = values.get("rope_parameters") or {}
    thetas = {}
    for kind, old_name in ((GLOBAL, "global_rope_theta"), (LOCAL, "local_rope_theta")):
        spec = parameters.get(kind) or {}
        rope_type = spec.get("rope_type", "default")
        if rope_type != "default":
            raise CheckpointError(
                f"config.json rope_parameters[{kind!r}].rope_type={rope_type!r}: only "
                "'default' rotary positions are supported (no scaling)"
            )
        thetas[kind] = float(spec.get("rope_theta", values.get(old_name, DEFAULT_THETA[kind])))
    if values.get("rope_scaling"):
        raise CheckpointError(
            f"config.json rope_scaling={values['rope_scaling']!r}: scaled rotary positions "
            "are not supported"
        )
    return thetas


def _use_bias(values: dict) -> bool:
    """One `use_bias` for attention, feed-forward, norms and the MLM transform."""
    flags = {name: bool(values.get(name, False)) for name in
             ("attention_bias", "mlp_bias", "norm_bias", "classifier_bias")}  # fmt: skip
    if len(set(flags.values())) > 1:
        raise CheckpointError(
            f"config.json bias flags {flags} differ; the encoder has one use_bias for "
            "every dense layer and norm"
        )
    if not values.get("decoder_bias", True):
        raise CheckpointError(
            "config.json decoder_bias=False: the MLM decoder always has an output bias"
        )
    return flags["attention_bias"]
