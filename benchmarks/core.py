"""Core suite: a pretraining step and an inference pass, keras_bertfam vs its peers.

Configs (`--config small|base|both`):
- small: L=4, H=256, A=4, I=1024, S=128, batch 32, V=30522;
- base: BERT-base's shape, L=12, H=768, A=12, I=3072, S=128, batch 8 (in full mode of
  `python -m benchmarks`, or `--config base|both`; few steps: one takes seconds on 2 cores).

The training step is MLM at 20 masked positions + NSP with Adam; XLA on (`--no-jit` to
compare). Systems: `keras_bertfam` (the bare step); `keras_hub` (BertBackbone +
MaskedLMHead + a Dense NSP head); `tf_models` when installed (`pip install -e .[bench]`:
BertEncoderV2 + BertPretrainerV2); `bertfam_pretrain` (small config only), the whole
`bertfam pretrain` recipe on the same model with its input pipeline (the bundled corpus,
MiniLM's WordPiece vocabulary, NSP pairs, dynamic masking, AdamW with clipping), set
beside the bare step. The peers' models are built in `benchmarks.peers`.

The machine's matmul peak is measured in the same run, in its own process, taking its
turn in every round (`benchmarks.timing.matmul_peak`). Each system's achieved training
FLOP/s is its tokens/s times the training FLOPs per token of the config from
`keras_bertfam.models.info.training_flops_per_token`; the same count is used for every
system, since they all compute the same model (a system that did extra work would show
a lower share, not a higher count).

Quick mode times keras_bertfam and its peers at the small config, one round; full mode
adds `bertfam_pretrain`, a second round and the base config (`SETTINGS`). The same
seeded batch goes to every system.

    python -m benchmarks core [--quick]      # full mode: both configs
    python -m benchmarks.core                # the small config, full settings
    python -m benchmarks.core --quick        # the small config, 1 round
    python -m benchmarks.core --config both
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks import peers
from benchmarks.optional import minilm_dir
from benchmarks.report import RESULTS, print_suite, table, write_json
from benchmarks.timing import (
    MATMUL,
    add_timing_arguments,
    alternating,
    busy_note,
    flags,
    machine,
    median_spread,
    mode_name,
    run_worker,
    settings_given,
    shape_config,
    spread_text,
    time_model,
    worker_exit,
)

CONFIGS = {
    "small": {"L": 4, "H": 256, "A": 4, "I": 1024, "S": 128, "batch": 32, "V": 30522, "P": 20},
    "base": {"L": 12, "H": 768, "A": 12, "I": 3072, "S": 128, "batch": 8, "V": 30522, "P": 20},
}
MODULE = "benchmarks.core"  # workers run as `python -m MODULE --worker ...`
TIMING_MODULE = "benchmarks.timing"  # the matmul-peak worker
SYSTEMS = ("keras_bertfam", "keras_hub", "tf_models", "bertfam_pretrain")
PEER = "keras_hub"  # always installed (a dependency); every ratio column divides by it
PEERS = ("keras_hub", "tf_models")
# what a worker reports: lists, one value per timed repeat (rates) or per process (shares)
RATES = ("train_tokens_per_s", "infer_tokens_per_s", "train_other_load", "infer_other_load")
# per mode: systems, configs, and per config the alternating rounds, warm-up steps, steps
# per timed repeat and repeats; quick mode times keras_bertfam against its peers only
SETTINGS = {
    "quick": {
        "systems": ("keras_bertfam", *PEERS),
        "configs": ("small",),
        "small": {"rounds": 1, "warmup": 1, "steps": 2, "repeats": 2},
        "matmul": {"size": 2048, "repeats": 5},
    },
    "full": {
        "systems": SYSTEMS,
        "configs": ("small", "base"),
        "small": {"rounds": 2, "warmup": 2, "steps": 5, "repeats": 3},
        "base": {"rounds": 1, "warmup": 1, "steps": 2, "repeats": 2},
        "matmul": {"size": 2048, "repeats": 10},
    },
}


def synthetic_batch(c: dict):
    """One seeded batch (inputs, {"mlm", "nsp"} labels) of the shape `c`, for every system."""
    import numpy as np

    rng = np.random.default_rng(0)
    b, s, p = c["batch"], c["S"], c["P"]
    x = {
        "token_ids": rng.integers(5, c["V"], (b, s)).astype("int32"),
        "segment_ids": np.repeat([[0] * (s // 2) + [1] * (s - s // 2)], b, 0).astype("int32"),
        "padding_mask": np.ones((b, s), "int32"),
        "mask_positions": np.stack([rng.choice(s, p, replace=False) for _ in range(b)]).astype(
            "int32"
        ),
    }
    y = {"mlm": rng.integers(0, c["V"], (b, p)).astype("int32"), "nsp": rng.integers(0, 2, b)}
    return x, y


def model_config(c: dict):
    """The keras_bertfam config of a core shape (BERT: E = H, no sharing, NSP)."""
    return shape_config("bert_base", c)


def _keras_bertfam(c):
    import keras_bertfam as bf

    cfg = model_config(c)
    return bf.build_pretrainer(cfg), bf.build_encoder(cfg), ("mlm_logits", "nsp_logits")


def _pretrain_recipe(c: dict, jit: bool, steps: int, repeats: int) -> dict:
    """`pretrain` end to end; tokens/s of each epoch after the first (which compiles)."""
    import tempfile

    from keras_bertfam.data import DataConfig, MaskingConfig
    from keras_bertfam.resources import PYDOCS_CORPUS
    from keras_bertfam.training import TrainConfig, pretrain

    steps = max(steps, 2)  # its Throughput callback leaves out the first step of each epoch
    train = TrainConfig(
        steps=steps * (1 + repeats),
        batch_size=c["batch"],
        checkpoint_every=steps,
        warmup_steps=0,
        jit=jit,
        optimizer="adamw",
        verbose=0,
    )
    masking = MaskingConfig(max_predictions_per_seq=c["P"])
    data = DataConfig(max_seq_length=c["S"], objective="nsp", masking=masking)
    with tempfile.TemporaryDirectory() as out:
        summary = pretrain(
            model_config(c),
            PYDOCS_CORPUS,
            out,
            train,
            data,
            tokenizer=minilm_dir("the bertfam_pretrain system"),
        )
    # no load figures: the recipe's timed epochs are inside `pretrain`
    return {"train_tokens_per_s": summary["tokens_per_s"][1:], **{k: [] for k in RATES[1:]}}


def worker(system: str, c: dict, jit: bool, warmup: int, steps: int, repeats: int) -> dict:
    if system == "bertfam_pretrain":
        return _pretrain_recipe(c, jit, steps, repeats)

    x, y = synthetic_batch(c)
    build = {
        "keras_bertfam": _keras_bertfam,
        "keras_hub": peers.keras_hub_pretrainer,
        "tf_models": peers.tf_models_pretrainer,
    }
    pretrainer, encoder, (mlm_key, nsp_key) = build[system](c)
    if system == "tf_models":
        names = ("input_word_ids", "input_type_ids", "input_mask", "masked_lm_positions")
        x = dict(zip(names, x.values(), strict=True))
        keras_mod = peers.tf_models_keras()
    else:
        import keras as keras_mod

    y = {mlm_key: y["mlm"], nsp_key: y["nsp"]}
    seconds = time_model(keras_mod, pretrainer, encoder, x, y, jit, warmup, steps, repeats)
    tokens = c["batch"] * c["S"] * steps
    return {
        "train_tokens_per_s": [tokens / t for t in seconds["train_seconds"]],
        "infer_tokens_per_s": [tokens / t for t in seconds["infer_seconds"]],
        "train_other_load": seconds["train_other_load"],
        "infer_other_load": seconds["infer_other_load"],
    }


def _systems(config: str, wanted, absent: str) -> tuple[list[str], dict[str, str]]:
    """The systems to run at `config`, and why each other one of SYSTEMS is not run."""
    run, skipped = [], {}
    for system in SYSTEMS:
        if system not in wanted:
            skipped[system] = absent
        elif system in PEERS and not peers.available(system):
            skipped[system] = "not installed"
        elif config != "small" and system == "bertfam_pretrain":
            # beside the small model the recipe's input pipeline matters; at BERT-base
            # size the step is compute-bound and one more process costs minutes
            skipped[system] = "small config only"
        else:
            run.append(system)
    return run, skipped


def _flops_per_token(c: dict) -> float:
    from keras_bertfam.models.info import training_flops_per_token

    return training_flops_per_token(model_config(c), c["S"], c["P"])["total"]


def _times(ratio) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def _shape_text(c: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in c.items())


def run(quick: bool, configs=None, systems=None, jit: bool = True, settings=None) -> dict:
    """Run the core suite and print its tables; return raw figures, medians and ratios.

    `settings` overrides this mode's entries of `SETTINGS` (per config, and `matmul`).
    """
    mode = mode_name(quick)
    chosen = {**SETTINGS[mode], **(settings or {})}
    per_config = {
        name: chosen.get(name) or SETTINGS["full"][name] for name in configs or chosen["configs"]
    }
    absent = "not chosen" if systems else f"not in {mode} mode"
    systems = systems or chosen["systems"]
    peak_settings = chosen["matmul"]
    peaks, raws, skipped = [], {}, {}
    for name, s in per_config.items():
        names, skipped[name] = _systems(name, systems, absent)
        raw = raws[name] = {x: {key: [] for key in RATES} for x in names}
        # the matmul peak takes its turn in every round, like a system
        for round_, system in alternating([MATMUL, *raw], s["rounds"]):
            label = f"core [{name}] round {round_ + 1}: {system}"
            if system == MATMUL:
                out = run_worker(TIMING_MODULE, [MATMUL, *flags(**peak_settings)], label)
                peaks += out["flops_per_s"]
                continue
            timing = {k: s[k] for k in ("warmup", "steps", "repeats")}
            jit_flag = "--jit" if jit else "--no-jit"
            out = run_worker(MODULE, [system, *flags(config=name, **timing), jit_flag], label)
            for key in raw[system]:
                raw[system][key] += out[key]

    peak = median_spread(peaks)
    size = peak_settings["size"]
    results = {
        "mode": mode,
        "jit": jit,
        "title": f"core, {mode} mode; XLA {'on' if jit else 'off'}",
        "notes": [
            f"matmul peak ({size}x{size} @ {size}x{size} float32, XLA, own process, warm-up "
            f"excluded): {peak[0] / 1e9:,.1f} GFLOP/s (median of {len(peaks)}, "
            f"{peak[1] / 1e9:,.1f}-{peak[2] / 1e9:,.1f})"
        ],
        "matmul_peak": {"size": size, "flops_per_s": peaks, "median": peak[0]},
        "configs": {},
        "tables": [],
        "goals": [],
    }
    panels = {}
    for name, s in per_config.items():
        result = _summarize(name, s, raws[name], peak[0], skipped[name])
        panels.update(result.pop("panels"))
        results["tables"].append(result.pop("table"))
        results["goals"] += result.pop("goals")
        results["configs"][name] = result
    results["chart"] = {
        "title": f"core ({mode} mode): ratios to the peer in the same run",
        "panels": panels,
    }
    print_suite(results)
    return results


def _summarize(name: str, s: dict, raw: dict, peak: float, skipped: dict) -> dict:
    """Medians, ratios to the peer and shares of the matmul peak, the table and the goals."""
    c = CONFIGS[name]
    flops = _flops_per_token(c)
    summary = {}
    for system, r in raw.items():
        m = summary[system] = {key: median_spread(r[key])[0] for key in RATES}
        m["training_flops_per_s"] = m["train_tokens_per_s"] * flops
        m["share_of_matmul_peak"] = m["training_flops_per_s"] / peak
    ref = summary.get(PEER)
    rows = []
    for system, m in summary.items():
        if ref:
            m["train_vs_peer"] = m["train_tokens_per_s"] / ref["train_tokens_per_s"]
            m["infer_vs_peer"] = m["infer_tokens_per_s"] / ref["infer_tokens_per_s"]
        r = raw[system]
        rows.append(
            [
                system,
                f"{m['train_tokens_per_s']:,.0f}",
                spread_text(r["train_tokens_per_s"]),
                _times(m.get("train_vs_peer")),
                f"{m['share_of_matmul_peak']:.1%}",
                f"{m['train_other_load']:.0%}",
                f"{m['infer_tokens_per_s']:,.0f}",
                spread_text(r["infer_tokens_per_s"]),
                _times(m.get("infer_vs_peer")),
                f"{m['infer_other_load']:.0%}",
            ]
        )
    notes = [
        f"training FLOPs/token {flops / 1e6:,.1f} M (models.info.training_flops_per_token; "
        "the same count for every system: they compute the same model)"
    ]
    if skipped:
        notes.append("not run: " + ", ".join(f"{x} ({why})" for x, why in skipped.items()))
    loads = {
        x: max(r["train_other_load"] + r["infer_other_load"], default=0.0) for x, r in raw.items()
    }
    notes.append(busy_note(loads))
    columns = ["system", "train tok/s", "spread", f"/{PEER}", "of peak", "other"]
    columns += ["infer tok/s", "spread", f"/{PEER}", "other"]
    title = (
        f"[{name}] {_shape_text(c)}: {s['rounds']} round(s) x {s['repeats']} repeats x "
        f"{s['steps']} steps, {s['warmup']} warm-up step(s) excluded"
    )

    ratios, goals = {}, []
    if {"keras_bertfam", "bertfam_pretrain"} <= set(summary):
        ratio = (
            summary["bertfam_pretrain"]["train_tokens_per_s"]
            / summary["keras_bertfam"]["train_tokens_per_s"]
        )
        ratios["train: pretrain recipe / bare step"] = ratio
        goals.append(
            {
                "goal": "core.pretrain_vs_bare_step",
                "label": f"[{name}] bertfam pretrain (input pipeline included) / bare step",
                "value": ratio,
            }
        )
    others = [p for p in summary if p not in ("keras_bertfam", "bertfam_pretrain")]
    if "keras_bertfam" in summary:
        ours = summary["keras_bertfam"]
        for key in ("train", "infer"):
            rate = f"{key}_tokens_per_s"
            for peer in others:
                ratios[f"{key}: keras_bertfam / {peer}"] = ours[rate] / summary[peer][rate]
            if others:
                best = max(others, key=lambda p, rate=rate: summary[p][rate])
                goals.append(
                    {
                        "goal": f"core.{key}_vs_fastest_peer",
                        "label": f"[{name}] {key}: keras_bertfam / fastest peer ({best})",
                        "value": ours[rate] / summary[best][rate],
                    }
                )
        goals.append(
            {
                "goal": "core.share_of_matmul_peak",
                "label": f"[{name}] keras_bertfam training FLOP/s / matmul peak",
                "value": ours["share_of_matmul_peak"],
            }
        )
    panels = {
        f"[{name}] {_shape_text(c)}": ratios,
        f"[{name}] training FLOP/s / matmul peak": {
            x: m["share_of_matmul_peak"] for x, m in summary.items()
        },
    }
    return {
        "shape": c,
        "settings": s,
        "training_flops_per_token": flops,
        "raw": raw,
        "median": summary,
        "ratios": ratios,
        "table": table(title, columns, rows, notes),
        "goals": goals,
        "panels": panels,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_timing_arguments(parser)
    parser.add_argument(
        "--config",
        choices=["small", "base", "both"],
        default="small",
        help="default: small (`python -m benchmarks` runs both in full mode)",
    )
    parser.add_argument("--size", type=int, default=2048, help="matmul peak: matrix size")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, help="default: the mode's")
    parser.add_argument("--json", type=Path, default=RESULTS / "core.json")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    given = settings_given(args)
    if args.worker:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        s = {**SETTINGS["full"][args.config], **given}
        c = CONFIGS[args.config]
        out = worker(args.worker, c, args.jit, s["warmup"], s["steps"], s["repeats"])
        worker_exit(out)

    mode = mode_name(args.quick)
    configs = list(CONFIGS) if args.config == "both" else [args.config]
    settings = {"matmul": {**SETTINGS[mode]["matmul"], "size": args.size}}
    for name in configs:
        base = SETTINGS[mode].get(name) or SETTINGS["full"][name]
        settings[name] = {**base, **given}
    start = time.perf_counter()
    print(machine(), flush=True)
    results = run(args.quick, configs, args.systems, args.jit, settings)
    write_json(args.json, results)
    print(f"\nelapsed {time.perf_counter() - start:.0f}s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
