"""`EncoderConfig`: BERT, ALBERT, RoBERTa and their hybrids as one set of fields.

Every member of the family is a value of this dataclass; the presets in
`keras_bertfam.models.presets` are plain instances of it. The field names follow
keras-hub (`vocabulary_size`, `num_layers`, `hidden_dim`, ...); the family
switches are explicit fields (`embedding_dim`, `num_groups`, `sharing`,
`sentence_objective`, `position_offset`, ...).

Example:

>>> from keras_bertfam import EncoderConfig
>>> cfg = EncoderConfig(vocabulary_size=1000, num_layers=4, num_heads=2,
...                     hidden_dim=64, intermediate_dim=128, embedding_dim=16,
...                     num_groups=1, sharing="all", sentence_objective="sop")
>>> cfg.resolved_embedding_dim, cfg.resolved_num_groups
(16, 1)
>>> EncoderConfig.from_json(cfg.to_json()) == cfg
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from pathlib import Path

from keras_bertfam.errors import InputError
from keras_bertfam.kinds import (
    ACTIVATIONS,
    FEEDFORWARDS,
    NORMS,
    POSITION_EMBEDDINGS,
    SENTENCE_OBJECTIVES,
    SHARING_MODES,
    TOKEN_OBJECTIVES,
    sharing_plan,
)


class ConfigError(InputError):
    """An `EncoderConfig` field has a value the family cannot build."""


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """The architecture (and pretraining objective) of a BERT-family encoder.

    Args:
        vocabulary_size: rows V of the token-embedding table.
        num_layers: transformer layers L applied in sequence.
        num_heads: attention heads A; must divide `hidden_dim`.
        hidden_dim: hidden size H.
        intermediate_dim: inner size of the feed-forward network.
        embedding_dim: size E of token/segment/position embeddings. `None`
            means E = H (BERT, RoBERTa); E < H is ALBERT's factorization,
            which adds an E×H projection and ties the MLM decoder through E.
        num_groups: distinct parameter groups G across the L layers; layer i
            uses group `i * G // L` (ALBERT's `num_hidden_groups`). `None`
            means L groups when `sharing="none"` and 1 group otherwise.
        sharing: what the layers of one group share (ALBERT paper, table 4):
            "all" (the whole block), "attention" (only self-attention, each
            layer keeps its feed-forward), "ffn" (only the feed-forward) or
            "none" (nothing; every layer has its own block).
        inner_group_size: blocks K that each layer applies in turn from its
            group (ALBERT's `inner_group_num`; 1 in every published model).
            The network is `num_layers * inner_group_size` blocks deep.
        max_sequence_length: longest sequence S the position table serves.
        num_segments: rows of the segment (token-type) table; 0 for none.
        position_offset: positions start at this index (RoBERTa: padding_idx
            + 1 = 2); the position table has `max_sequence_length +
            position_offset` rows, as in the published checkpoints.
        dropout: dropout rate on embeddings and sublayer outputs.
        attention_dropout: dropout on attention probabilities; `None` means
            the same as `dropout`.
        activation: feed-forward and MLM-transform activation: "gelu" (exact
            erf, BERT/RoBERTa), "gelu_approximate" (tanh form, ALBERT's
            `gelu_new`), "relu", "silu" or "tanh".
        layer_norm_epsilon: epsilon of every LayerNorm.
        norm_first: pre-LayerNorm blocks if True; post-LN (the papers) if
            False. Pre-LN adds a final LayerNorm after the last block.
        initializer_range: stddev of the truncated-normal initializer.
        sentence_objective: the pretrainer's sentence head: "nsp" (BERT),
            "sop" (ALBERT) or "none" (RoBERTa, ELECTRA).
        token_objective: the pretrainer's token head: "mlm" (masked-LM logits
            at `mask_positions`, BERT) or "rtd" (ELECTRA's replaced-token
            detection: one logit per token, `rtd_logits` [batch, seq]).
        generator_fraction: ELECTRA's generator (`build_electra_pretrainer`) is
            this fraction of the discriminator's hidden size, heads and
            feed-forward size, at the same depth and embedding size (the paper:
            1/4 for Small and Large, 1/3 for Base; 1/4 to 1/2 work best).
        pooler: whether the encoder has BERT's pooler (a tanh Dense on the
            first token). Without one, `pooled_output` is the first token's
            final hidden state, so every consumer of `pooled_output` works
            either way. Checkpoints that ship no pooler (RoBERTa masked-LM
            checkpoints) import with `pooler=False`.
        position_embedding: "learned" (a table, BERT/ALBERT/RoBERTa), "rotary"
            (RoPE on q and k, ModernBERT/NeoBERT; no table) or "none".
        rotary_theta: the rotary base of the global layers (ModernBERT: 160,000).
        rotary_theta_local: the rotary base of the local (sliding-window) layers;
            `None` means `rotary_theta` (ModernBERT: 10,000).
        local_window: a sliding window of this many tokens on the layers that
            are not global (query i sees key j when |i - j| <= local_window // 2,
            ModernBERT's rule); `None`: every layer attends globally.
        global_every: with `local_window`, layer i is global when i %
            global_every == 0 (ModernBERT: 3, so layers 0, 3, 6, ...).
        feedforward: "dense" (BERT), "geglu" (ModernBERT) or "swiglu" (NeoBERT);
            the gated kinds have one fused input projection of width
            2 * intermediate_dim.
        norm: "layer" (LayerNorm) or "rms" (RMSNorm, a scale only) for every norm.
        use_bias: biases in every Dense and LayerNorm of the encoder and the MLM
            transform (ModernBERT: False; the MLM decoder keeps its bias).
        first_attention_norm: False leaves out the first layer's attention norm
            (ModernBERT; pre-norm only, and that attention must not be shared).
        packed_sequences: 0 (one sequence per row: input `padding_mask`) or K:
            rows hold up to K packed sequences, input `sequence_ids` (0 padding,
            1..K the sequences) instead of `padding_mask`; attention is
            block-diagonal, positions restart at every sequence, and the pooled,
            sentence and classification outputs have one slot per sequence
            ([batch, K, ...]). The weights are the same for every K, so a packed
            model's weights load into an unpacked one (`unpacked`).

    Integer fields accept Python or numpy integers and float fields any real
    number (numpy included); both are stored as plain Python numbers. Booleans
    are refused where a number is expected, and so are inf and nan.
    """

    vocabulary_size: int = 30522
    num_layers: int = 12
    num_heads: int = 12
    hidden_dim: int = 768
    intermediate_dim: int = 3072
    embedding_dim: int | None = None
    num_groups: int | None = None
    sharing: str = "none"
    inner_group_size: int = 1
    max_sequence_length: int = 512
    num_segments: int = 2
    position_offset: int = 0
    dropout: float = 0.1
    attention_dropout: float | None = None
    activation: str = "gelu"
    layer_norm_epsilon: float = 1e-12
    norm_first: bool = False
    initializer_range: float = 0.02
    sentence_objective: str = "nsp"
    token_objective: str = "mlm"
    generator_fraction: float = 0.25
    pooler: bool = True
    position_embedding: str = "learned"
    rotary_theta: float = 10000.0
    rotary_theta_local: float | None = None
    local_window: int | None = None
    global_every: int = 1
    feedforward: str = "dense"
    norm: str = "layer"
    use_bias: bool = True
    first_attention_norm: bool = True
    packed_sequences: int = 0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            plain = _plain_number(value, field.name)
            if plain is not value:
                object.__setattr__(self, field.name, plain)
        self.validate()

    # -- derived values -------------------------------------------------
    @property
    def resolved_embedding_dim(self) -> int:
        return self.hidden_dim if self.embedding_dim is None else self.embedding_dim

    @property
    def resolved_num_groups(self) -> int:
        if self.num_groups is not None:
            return self.num_groups
        return self.num_layers if self.sharing == "none" else 1

    @property
    def resolved_attention_dropout(self) -> float:
        return self.dropout if self.attention_dropout is None else self.attention_dropout

    @property
    def position_table_size(self) -> int:
        return self.max_sequence_length + self.position_offset

    # -- validation -----------------------------------------------------
    def validate(self) -> None:
        """Raise `ConfigError` naming the first field whose value is unusable."""
        for name in (
            "vocabulary_size",
            "num_layers",
            "num_heads",
            "hidden_dim",
            "intermediate_dim",
            "max_sequence_length",
        ):
            _require_int(name, getattr(self, name), minimum=1)
        _require_int("inner_group_size", self.inner_group_size, minimum=1)
        _require_int("num_segments", self.num_segments, minimum=0)
        _require_int("position_offset", self.position_offset, minimum=0)
        _require_int("packed_sequences", self.packed_sequences, minimum=0)
        if self.embedding_dim is not None:
            _require_int("embedding_dim", self.embedding_dim, minimum=1)
        if self.hidden_dim % self.num_heads:
            raise ConfigError(
                f"hidden_dim={self.hidden_dim} is not divisible by "
                f"num_heads={self.num_heads}; each head needs hidden_dim / num_heads "
                "features."
            )
        _require_choice("sharing", self.sharing, SHARING_MODES)
        _require_choice("sentence_objective", self.sentence_objective, SENTENCE_OBJECTIVES)
        _require_choice("token_objective", self.token_objective, TOKEN_OBJECTIVES)
        if not (_is_number(self.generator_fraction) and 0 < self.generator_fraction <= 1):
            raise ConfigError(
                f"generator_fraction={self.generator_fraction!r} must be a number in (0, 1]."
            )
        _require_choice("activation", self.activation, ACTIVATIONS)
        if self.num_groups is not None:
            _require_int("num_groups", self.num_groups, minimum=1)
            if self.num_layers % self.num_groups:
                raise ConfigError(
                    f"num_layers={self.num_layers} is not a multiple of "
                    f"num_groups={self.num_groups}; each group must serve the same "
                    "number of consecutive layers."
                )
            if self.sharing == "none" and self.num_groups != self.num_layers:
                raise ConfigError(
                    f"num_groups={self.num_groups} with sharing='none': without "
                    "sharing every layer is its own group, so num_groups must be "
                    f"None or num_layers={self.num_layers}. Choose sharing='all', "
                    "'attention' or 'ffn' to share weights within groups."
                )
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and 0 <= value < 1):
                raise ConfigError(f"{name}={value!r} must be a number in [0, 1).")
        for name in ("layer_norm_epsilon", "initializer_range", "rotary_theta"):
            _require_positive(name, getattr(self, name))
        for name in ("norm_first", "pooler", "use_bias", "first_attention_norm"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be True or False.")
        self._validate_modern_parts()

    def _validate_modern_parts(self) -> None:
        """Positions, attention pattern, feed-forward and norm kinds, and their mixes."""
        _require_choice("position_embedding", self.position_embedding, POSITION_EMBEDDINGS)
        _require_choice("feedforward", self.feedforward, FEEDFORWARDS)
        _require_choice("norm", self.norm, NORMS)
        if self.rotary_theta_local is not None:
            _require_positive("rotary_theta_local", self.rotary_theta_local)
        if self.local_window is not None:
            _require_int("local_window", self.local_window, minimum=2)
        _require_int("global_every", self.global_every, minimum=1)
        if self.position_embedding == "rotary" and (self.hidden_dim // self.num_heads) % 2:
            raise ConfigError(
                f"position_embedding='rotary' needs an even head size, but hidden_dim="
                f"{self.hidden_dim} / num_heads={self.num_heads} = "
                f"{self.hidden_dim // self.num_heads}."
            )
        if self.position_embedding != "learned" and self.position_offset:
            raise ConfigError(
                f"position_offset={self.position_offset} with position_embedding="
                f"{self.position_embedding!r}: an offset is a row of the learned table; use 0."
            )
        if not self.first_attention_norm:
            if not self.norm_first:
                raise ConfigError(
                    "first_attention_norm=False needs norm_first=True: a post-norm layer "
                    "without its attention norm would never normalize."
                )
            plan = sharing_plan(self.num_layers, self.resolved_num_groups, self.sharing,
                                self.inner_group_size)[0]  # fmt: skip
            if plan.count(plan[0]) > 1:
                raise ConfigError(
                    f"first_attention_norm=False with sharing={self.sharing!r}: the first "
                    "layer's attention is shared with other layers, which need their norm."
                )

    # -- edits and JSON -------------------------------------------------
    def replace(self, **overrides) -> EncoderConfig:
        """A copy with some fields changed (validated); unknown names raise."""
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(
                f"unknown EncoderConfig field(s) {unknown}; known fields: "
                f"{[f.name for f in dataclasses.fields(self)]}"
            )
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, values: dict) -> EncoderConfig:
        if not isinstance(values, dict):
            raise ConfigError(f"an EncoderConfig needs a JSON object, got {type(values).__name__}")
        return cls().replace(**values)

    @classmethod
    def from_json(cls, text: str) -> EncoderConfig:
        try:
            values = json.loads(text)
        except (TypeError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigError(
                f"an EncoderConfig needs JSON text, got {_preview(text)}: {err}"
            ) from None
        return cls.from_dict(values)

    @classmethod
    def from_json_file(cls, path: str | Path) -> EncoderConfig:
        path = Path(path)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {str(path)!r} does not exist") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigError(f"config file {str(path)!r} is not valid JSON: {err}") from None
        return cls.from_dict(values)


_INT_FIELDS = {
    "vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
    "embedding_dim", "num_groups", "inner_group_size", "max_sequence_length", "num_segments",
    "position_offset",
}  # fmt: skip
_FLOAT_FIELDS = {"dropout", "attention_dropout", "layer_norm_epsilon", "initializer_range",
                 "generator_fraction"}  # fmt: skip
_BOOL_FIELDS = {"norm_first", "pooler"}


def _plain_number(value, name):
    """numpy scalars (and ints in float fields) as the plain Python type of field `name`."""
    numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
    if name in _BOOL_FIELDS:
        return bool(value) if numpy_bool else value
    if isinstance(value, bool) or numpy_bool:
        return value  # refused by validate(), with the value as given
    if name in _INT_FIELDS and isinstance(value, numbers.Integral) and type(value) is not int:
        return int(value)
    if name in _FLOAT_FIELDS and isinstance(value, numbers.Real) and type(value) is not float:
        return float(value)
    return value


def _is_number(value) -> bool:
    """A real number, not a boolean (True is an int in Python; here it is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _preview(text) -> str:
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _require_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name}={value!r} must be an integer >= {minimum}.")


def _require_positive(name, value):
    if not (_is_number(value) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name}={value!r} must be a finite number > 0.")


def _require_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {list(choices)}.")
