"""What a config costs: parameters by component and training FLOPs per token.

Computed from the config alone (no model is built), and checked against built
models by the tests. Each figure is set beside the same architecture with
E = H and no sharing, so the savings of ALBERT's factorization and cross-layer
sharing show: factorization saves parameters and decoder FLOPs; sharing saves
parameters but no FLOPs (every layer still runs).

Example:

>>> from keras_bertfam.models.info import parameter_breakdown
>>> from keras_bertfam import get_preset
>>> rows = parameter_breakdown(get_preset("albert_base"))
>>> rows["encoder blocks"], rows["total encoder (with pooler)"]
(7087872, 11683584)
"""

from __future__ import annotations

from keras_bertfam.deprecation import renamed_keywords
from keras_bertfam.kinds import attention_windows, keys_per_query, sharing_plan
from keras_bertfam.models.config import EncoderConfig


def _distinct_sublayers(config: EncoderConfig) -> tuple[int, int]:
    """Attention and feed-forward sublayers with weights of their own, as the stack builds them."""
    plan = sharing_plan(config.num_layers, config.resolved_num_groups, config.sharing,
                        config.inner_group_size)  # fmt: skip
    return len(set(plan[0])), len(set(plan[1]))


def _norm(config: EncoderConfig, width: int) -> int:
    """Parameters of one norm: LayerNorm's scale (and bias with `use_bias`); RMSNorm's scale."""
    return width * (2 if config.norm == "layer" and config.use_bias else 1)


def parameter_breakdown(config: EncoderConfig) -> dict[str, int]:
    """Parameters by component, in the order of the data flow.

    The pooler is counted only when the config has one (`pooler=True`); the
    encoder total is then "total encoder (with pooler)", else "total encoder
    (no pooler)".
    """
    V, E, H, Im = (
        config.vocabulary_size,
        config.resolved_embedding_dim,
        config.hidden_dim,
        config.intermediate_dim,
    )
    bias = int(config.use_bias)
    gated = config.feedforward != "dense"
    attention_params = 4 * H * H + bias * 4 * H + _norm(config, H)  # fused QKV + output
    feedforward_params = (
        (2 + gated) * H * Im + bias * ((1 + gated) * Im + H) + _norm(config, H)
    )  # input projection (2I wide when gated) + output
    n_attention, n_feedforward = _distinct_sublayers(config)
    learned = config.position_table_size if config.position_embedding == "learned" else 0
    rows = {
        "token embedding table (V x E)": V * E,
        "position + segment tables, norm": (learned + config.num_segments) * E + _norm(config, E),
        "embedding projection (E x H)": E * H + bias * H if E != H else 0,
        "encoder blocks": (
            n_attention * attention_params
            + n_feedforward * feedforward_params
            - (0 if config.first_attention_norm else _norm(config, H))
            + (_norm(config, H) if config.norm_first else 0)  # the final norm
        ),
    }
    if config.pooler:
        rows["pooler"] = H * H + bias * H
    encoder_total = sum(rows.values())
    rows[f"total encoder ({'with' if config.pooler else 'no'} pooler)"] = encoder_total
    if config.token_objective == "rtd":
        token = "RTD head (dense + activation + dense to 1)"
        rows[token] = H * H + H + H + 1
    else:
        token = "MLM head (transform + norm + bias; decoder tied)"
        rows[token] = H * E + bias * E + _norm(config, E) + V
    rows["sentence head (NSP/SOP)"] = 2 * H + 2 if config.sentence_objective != "none" else 0
    # a pretrainer without a sentence head does not use the pooler
    rows["total pretrainer"] = (
        encoder_total
        - rows.get("pooler", 0) * (config.sentence_objective == "none")
        + rows[token]
        + rows["sentence head (NSP/SOP)"]
    )
    return rows


@renamed_keywords(seq_length="sequence_length")
def training_flops_per_token(config: EncoderConfig, sequence_length: int, predictions: int) -> dict:
    """Training FLOPs per input token (forward + backward = 3x forward, 2 FLOPs per MAC).

    Attention scores and context cost 2 * keys * H MACs per token, where a
    sliding-window layer scores only the keys of its band (`kinds.keys_per_query`),
    so local layers' cost falls with the window.

    Args:
        sequence_length: tokens per sequence S.
        predictions: masked positions P per sequence scored by the MLM head.
    """
    V, E, H, Im, S = (
        config.vocabulary_size,
        config.resolved_embedding_dim,
        config.hidden_dim,
        config.intermediate_dim,
        sequence_length,
    )
    sentence = config.sentence_objective != "none"
    mlm = config.token_objective == "mlm"
    windows = attention_windows(config.num_layers, config.inner_group_size,
                                config.local_window, config.global_every)  # fmt: skip
    L = len(windows)
    keys = [keys_per_query(S, window) for window in windows]
    forward_macs = {
        "embedding projection": E * H if E != H else 0,
        "attention projections (QKV, output)": L * 4 * H * H,
        "attention scores and context": sum(2 * k * H for k in keys),
        "feed-forward": L * (3 if config.feedforward != "dense" else 2) * H * Im,
        "MLM head (at masked positions)": (H * E + E * V) * predictions / S * mlm,
        "RTD head (every position)": (H * H + H) * (not mlm),
        # a pretrainer without a sentence task has neither (see `Pretrainer`)
        "pooler + sentence head": (H * H * config.pooler + 2 * H) / S * sentence,
    }
    flops = {name: 3 * 2 * macs for name, macs in forward_macs.items()}
    flops["total"] = sum(flops.values())
    return flops


def unfactorized_unshared(config: EncoderConfig) -> EncoderConfig:
    """The same architecture with E = H, no cross-layer sharing and global attention."""
    return config.replace(embedding_dim=None, num_groups=None, sharing="none", local_window=None)


def parts_line(config: EncoderConfig) -> str:
    """The config's positions, attention pattern, feed-forward and norms, in one line."""
    positions = config.position_embedding
    if positions == "rotary":
        local = config.rotary_theta_local
        positions += f" (theta {config.rotary_theta:g}" + (f", local {local:g})" if local else ")")
    attention = "global"
    if config.local_window is not None:
        attention = f"window {config.local_window}, global every {config.global_every}"
    norm = f"{config.norm}{'' if config.use_bias else ', no biases'}"
    order = "pre-norm" if config.norm_first else "post-norm"
    first = "" if config.first_attention_norm else ", no first attention norm"
    return (f"positions={positions} attention={attention} feedforward={config.feedforward} "
            f"norm={norm} ({order}{first})")  # fmt: skip


@renamed_keywords(seq_length="sequence_length")
def info_table(config: EncoderConfig, sequence_length: int = 128, predictions: int = 20) -> str:
    """A printable table of parameters and FLOPs, beside the E = H, unshared baseline."""
    base = unfactorized_unshared(config)
    label = "E=H, unshared" + (", global" if config.local_window is not None else "")
    w = max(14, len(label))
    lines = [
        f"{'parameters':<55} {'this config':>14} {label:>{w}} {'saved':>7}",
    ]
    ours, theirs = parameter_breakdown(config), parameter_breakdown(base)
    for name in ours:
        lines.append(_row(name, ours[name], theirs[name], w))
    lines.append("")
    lines.append(
        f"{f'training FLOPs per token (S={sequence_length}, P={predictions})':<55} "
        f"{'this config':>14} {label:>{w}} {'saved':>7}"
    )
    ours = training_flops_per_token(config, sequence_length, predictions)
    theirs = training_flops_per_token(base, sequence_length, predictions)
    for name in ours:
        lines.append(_row(name, ours[name], theirs[name], w))
    return "\n".join(lines)


def _row(name, value, reference, width=14):
    saved = f"{1 - value / reference:6.1%}" if reference else "     -"
    return f"{name:<55} {value:>14,.0f} {reference:>{width},.0f} {saved:>7}"
