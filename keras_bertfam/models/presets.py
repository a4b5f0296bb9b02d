"""Presets: the published BERT, ALBERT, RoBERTa, ELECTRA and ModernBERT architectures.

Each is an `EncoderConfig`. Sizes follow the papers and the released checkpoints (BERT:
Devlin et al. 2019 and the 24 smaller BERTs of Turc et al. 2019; ALBERT: Lan et al. 2020,
v2 settings with no dropout; RoBERTa: Liu et al. 2019; ELECTRA: Clark et al. 2020, the
discriminators). The `*_tiny` presets are for tests and demos.

Example:

>>> import keras_bertfam as bf
>>> "albert_base" in bf.list_presets()
True
>>> cfg = bf.get_preset("albert_base", num_layers=4)
>>> (cfg.embedding_dim, cfg.hidden_dim, cfg.num_layers, cfg.sharing)
(128, 768, 4, 'all')
"""

from __future__ import annotations

from keras_bertfam.models.config import ConfigError, EncoderConfig

_BERT = EncoderConfig(
    vocabulary_size=30522,
    max_sequence_length=512,
    num_segments=2,
    activation="gelu",
    layer_norm_epsilon=1e-12,
    sentence_objective="nsp",
)
_ALBERT = EncoderConfig(
    vocabulary_size=30000,
    embedding_dim=128,
    num_groups=1,
    sharing="all",
    max_sequence_length=512,
    num_segments=2,
    dropout=0.0,
    activation="gelu_approximate",
    layer_norm_epsilon=1e-12,
    sentence_objective="sop",
)
_ROBERTA = EncoderConfig(
    vocabulary_size=50265,
    max_sequence_length=512,
    num_segments=1,
    position_offset=2,
    activation="gelu",
    layer_norm_epsilon=1e-5,
    sentence_objective="none",
)


# ModernBERT (Warner et al. 2024, https://arxiv.org/abs/2412.13663; the answerdotai
# checkpoints): rotary positions (160k global, 10k local), a 128-token window with a
# global layer every third, GeGLU, pre-norm LayerNorm without biases, no pooler, no
# segments, no attention norm on the first layer.
_MODERNBERT = EncoderConfig(
    vocabulary_size=50368,
    max_sequence_length=8192,
    num_segments=0,
    dropout=0.0,
    activation="gelu",
    layer_norm_epsilon=1e-5,
    norm_first=True,
    sentence_objective="none",
    pooler=False,
    position_embedding="rotary",
    rotary_theta=160000.0,
    rotary_theta_local=10000.0,
    local_window=128,
    global_every=3,
    feedforward="geglu",
    use_bias=False,
    first_attention_norm=False,
)


# ELECTRA (Clark et al. 2020, https://arxiv.org/abs/2003.10555; the google/electra-*
# discriminators): BERT's encoder without a pooler and without a sentence task, trained by
# replaced-token detection; Small factorizes E = 128 -> H = 256.
_ELECTRA = _BERT.replace(sentence_objective="none", token_objective="rtd", pooler=False)


def _sized(base, layers, hidden, heads, **extra):
    return base.replace(
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=heads,
        intermediate_dim=4 * hidden,
        **extra,
    )


PRESETS: dict[str, EncoderConfig] = {
    # BERT (Devlin et al.) and the small BERTs (Turc et al., "Well-Read Students").
    "bert_tiny": _sized(_BERT, 2, 128, 2),
    "bert_mini": _sized(_BERT, 4, 256, 4),
    "bert_small": _sized(_BERT, 4, 512, 8),
    "bert_medium": _sized(_BERT, 8, 512, 8),
    "bert_base": _sized(_BERT, 12, 768, 12),
    "bert_large": _sized(_BERT, 24, 1024, 16),
    # ALBERT (Lan et al.): E = 128, all layers share one block.
    "albert_tiny": _sized(_ALBERT, 4, 128, 2, embedding_dim=32, vocabulary_size=8000),
    "albert_base": _sized(_ALBERT, 12, 768, 12),
    "albert_large": _sized(_ALBERT, 24, 1024, 16),
    "albert_xlarge": _sized(_ALBERT, 24, 2048, 16),
    "albert_xxlarge": _sized(_ALBERT, 12, 4096, 64),
    # RoBERTa (Liu et al.): BERT's shape, byte-level BPE, positions offset by 2.
    "roberta_tiny": _sized(_ROBERTA, 2, 128, 2, vocabulary_size=8000, max_sequence_length=128),
    "roberta_base": _sized(_ROBERTA, 12, 768, 12),
    "roberta_large": _sized(_ROBERTA, 24, 1024, 16),
    # ELECTRA discriminators (Small: E = 128, H = 256, 4 heads; Base: BERT-base's shape).
    "electra_tiny": _sized(
        _ELECTRA, 2, 64, 2, embedding_dim=32, vocabulary_size=8000, max_sequence_length=128
    ),
    "electra_small": _sized(_ELECTRA, 12, 256, 4, embedding_dim=128),
    "electra_base": _sized(_ELECTRA, 12, 768, 12, generator_fraction=1 / 3),
    # ModernBERT: the published shapes (intermediate_dim is each GeGLU half's width).
    "modernbert_tiny": _MODERNBERT.replace(
        num_layers=3,
        hidden_dim=64,
        num_heads=2,
        intermediate_dim=96,
        vocabulary_size=8000,
        max_sequence_length=128,
        local_window=8,
    ),
    "modernbert_base": _MODERNBERT.replace(
        num_layers=22, hidden_dim=768, num_heads=12, intermediate_dim=1152
    ),
    "modernbert_large": _MODERNBERT.replace(
        num_layers=28, hidden_dim=1024, num_heads=16, intermediate_dim=2624
    ),
}


def list_presets() -> list[str]:
    """Names of the built-in presets."""
    return list(PRESETS)


def get_preset(name: str, **overrides) -> EncoderConfig:
    """The preset `name` as an `EncoderConfig`, with `overrides` applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; available presets: {list_presets()}")
    return PRESETS[name].replace(**overrides)


def resolve_config(config_or_preset, **overrides) -> EncoderConfig:
    """Accept an `EncoderConfig`, a preset name, a dict or a `.json` path."""
    if isinstance(config_or_preset, EncoderConfig):
        return config_or_preset.replace(**overrides)
    if isinstance(config_or_preset, dict):
        return EncoderConfig.from_dict(config_or_preset).replace(**overrides)
    if isinstance(config_or_preset, str):
        if config_or_preset.endswith(".json"):
            return EncoderConfig.from_json_file(config_or_preset).replace(**overrides)
        return get_preset(config_or_preset, **overrides)
    raise ConfigError(
        "expected an EncoderConfig, a preset name, a dict or a path to a .json file; "
        f"got {type(config_or_preset).__name__}: {config_or_preset!r}"
    )
