"""Modern encoder parts: ModernBERT vs BERT at equal parameters, local vs global attention.

Two comparisons, each system in its own process, alternated, MLM at P = S * 5 // 32
positions (BERT's recipe: 20 at S=128, 80 at S=512), no sentence head, dropout 0:

- equal: `modernbert_tiny`'s shape (L=3, H=64, A=2, I=96, V=8000, rotary positions, an
  8-token window with a global layer every 3rd, GeGLU, pre-norm, no biases) against a
  BERT-shaped model (learned positions, dense GELU feed-forward, post-norm, biases; a
  position table of S rows, 2 segments) at the same L, H, A and V, whose
  intermediate_dim is chosen so that the two pretrainers' parameter counts
  (`models.info.parameter_breakdown`) differ by less than 1%; S=128, batch 32.
- window: one ModernBERT-style config (L=6, H=128, A=2, I=192, V=8000) with
  local_window=128 and a global layer every 3rd (layers 0 and 3), against the same
  config with every layer global (local_window=None), at S=512 and S=1024, batch 2.
  Beside the tokens/s, each config's training FLOPs per token
  (`models.info.training_flops_per_token`, where a local layer scores only the keys of
  its band) and the ratio local / global.

Per system: training tokens/s (Adam, `train_on_batch`) and encoder inference tokens/s
(`predict_on_batch`), compiled (XLA; `--no-jit` to compare), warm-up excluded, the
median and spread of all repeats, the ratio to the other system of its comparison, and
the share of the cores other processes used meanwhile. Timing uses Keras alone
(`benchmarks.timing.time_keras_model`), so the suite runs on any Keras backend:
`KERAS_BACKEND=jax python -m benchmarks.modern` times the same models on JAX (on a GPU
where JAX sees one); the table names the backend and device the workers ran on.

    python -m benchmarks modern [--quick]
    python -m benchmarks.modern --quick           # both comparisons, 1 round
    python -m benchmarks.modern --case window --lengths 512 1024 2048

>>> predictions(128), predictions(1024)
(20, 160)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.report import RESULTS, print_suite, table, write_json
from benchmarks.timing import (
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
    time_keras_model,
    worker_exit,
)

MODULE = "benchmarks.modern"
CASES = ("equal", "window")
SYSTEMS = {"equal": ("bert", "modernbert"), "window": ("global", "local")}
# modernbert_tiny's shape; `window` is its local_window
EQUAL = {"L": 3, "H": 64, "A": 2, "I": 96, "V": 8000, "S": 128, "batch": 32, "window": 8}
WINDOW = {"L": 6, "H": 128, "A": 2, "I": 192, "V": 8000, "batch": 2, "window": 128}
LENGTHS = (512, 1024)
TOLERANCE = 0.01  # the two pretrainers' parameter counts differ by less than this share
RATES = ("train_tokens_per_s", "infer_tokens_per_s", "train_other_load", "infer_other_load")
SETTINGS = {
    "quick": {
        "equal": {"rounds": 1, "warmup": 1, "steps": 4, "repeats": 2},
        "window": {"rounds": 1, "warmup": 1, "steps": 2, "repeats": 2},
    },
    "full": {
        "equal": {"rounds": 2, "warmup": 2, "steps": 10, "repeats": 3},
        "window": {"rounds": 2, "warmup": 2, "steps": 4, "repeats": 3},
    },
}


def predictions(sequence_length: int) -> int:
    """Masked positions per sequence: BERT's 20 at S=128, in proportion (at least 1)."""
    return max(1, sequence_length * 5 // 32)


def modern_config(shape: dict):
    """`modernbert_tiny` with the L, H, A, I, V, window and S of `shape`."""
    return shape_config("modernbert_tiny", shape, max_sequence_length=shape["S"],
                        local_window=shape["window"])  # fmt: skip


def bert_config(shape: dict):
    """BERT's architecture at `shape`'s L, H, A, V and S (MLM only, dropout 0), with the
    intermediate_dim whose pretrainer has the parameter count nearest to ModernBERT's."""
    from keras_bertfam.models.info import parameter_breakdown
    from keras_bertfam.models.presets import get_preset

    base = get_preset(
        "bert_tiny",
        num_layers=shape["L"],
        hidden_dim=shape["H"],
        num_heads=shape["A"],
        vocabulary_size=shape["V"],
        max_sequence_length=shape["S"],
        sentence_objective="none",
        pooler=False,
        dropout=0.0,
    )

    def count(config):
        return parameter_breakdown(config)["total pretrainer"]

    target = count(modern_config(shape))
    one, two = (count(base.replace(intermediate_dim=i)) for i in (1, 2))  # linear in I
    config = base.replace(intermediate_dim=max(1, round((target - one) / (two - one)) + 1))
    if abs(count(config) / target - 1) >= TOLERANCE:
        raise ValueError(
            f"no BERT intermediate_dim at {shape} comes within {TOLERANCE:.0%} of ModernBERT's "
            f"{target:,} parameters (nearest: {count(config):,} at I={config.intermediate_dim})"
        )
    return config


def model_config(system: str, shape: dict):
    """The `EncoderConfig` of one system (SYSTEMS) at `shape` (with its S)."""
    if system == "bert":
        return bert_config(shape)
    config = modern_config(shape)
    return config.replace(local_window=None) if system == "global" else config


def backend_name() -> str:
    """The Keras backend the worker runs on, and its device."""
    import keras

    name = keras.backend.backend()
    if name == "jax":
        import jax

        device = jax.devices()[0]
        kind = "" if device.device_kind == device.platform else f" ({device.device_kind})"
        return f"jax {jax.__version__} on {device.platform}{kind}"
    if name == "tensorflow":
        import tensorflow as tf

        return f"tensorflow on {'gpu' if tf.config.list_physical_devices('GPU') else 'cpu'}"
    return name


def worker(system: str, shape: dict, jit: bool, warmup: int, steps: int, repeats: int) -> dict:
    import keras_bertfam as bf
    from benchmarks.core import synthetic_batch

    config = model_config(system, shape)
    pretrainer, encoder = bf.build_pretrainer(config), bf.build_encoder(config)
    x, y = synthetic_batch({**shape, "P": predictions(shape["S"])})
    seconds = time_keras_model(
        pretrainer, encoder, x, {"mlm_logits": y["mlm"]}, jit, warmup, steps, repeats
    )
    tokens = shape["batch"] * shape["S"] * steps
    return {
        "train_tokens_per_s": [tokens / t for t in seconds["train_seconds"]],
        "infer_tokens_per_s": [tokens / t for t in seconds["infer_seconds"]],
        "train_other_load": seconds["train_other_load"],
        "infer_other_load": seconds["infer_other_load"],
        "parameters": pretrainer.count_params(),
        "encoder_parameters": encoder.count_params(),
        "backend": backend_name(),
    }


def _measure(case: str, shape: dict, s: dict, jit: bool) -> dict:
    """Run the two systems of `case` at `shape`, alternated; their raw figures."""
    raw = {system: {key: [] for key in RATES} for system in SYSTEMS[case]}
    timing = {k: s[k] for k in ("warmup", "steps", "repeats")}
    for round_, system in alternating(raw, s["rounds"]):
        args = [system, *flags(shape=json.dumps(shape), **timing), "--jit" if jit else "--no-jit"]
        label = f"modern [{case} S={shape['S']}] round {round_ + 1}: {system}"
        out = run_worker(MODULE, args, label)
        for key in RATES:
            raw[system][key] += out[key]
        for key in ("parameters", "encoder_parameters", "backend"):
            raw[system][key] = out[key]
    return raw


def _summary(system: str, shape: dict, raw: dict) -> dict:
    """Medians, the counts of `models.info` and the highest other load of one system."""
    from keras_bertfam.models.info import parameter_breakdown, training_flops_per_token

    config = model_config(system, shape)
    rows = parameter_breakdown(config)
    return {
        **{key: median_spread(raw[key])[0] for key in RATES[:2]},
        "train_spread": spread_text(raw["train_tokens_per_s"]),
        "infer_spread": spread_text(raw["infer_tokens_per_s"]),
        "other_load": max(raw["train_other_load"] + raw["infer_other_load"], default=0.0),
        "parameters": raw["parameters"],
        "encoder_parameters": raw["encoder_parameters"],
        "predicted_parameters": rows["total pretrainer"],
        "intermediate_dim": config.intermediate_dim,
        "training_flops_per_token": training_flops_per_token(
            config, shape["S"], predictions(shape["S"])
        )["total"],
    }


def _rates(m: dict) -> list[str]:
    """The cells every row shows: FLOPs/token, train and infer tokens/s with spreads."""
    return [
        f"{m['training_flops_per_token'] / 1e6:,.2f} M",
        f"{m['train_tokens_per_s']:,.0f}",
        m["train_spread"],
        f"{m['infer_tokens_per_s']:,.0f}",
        m["infer_spread"],
    ]


def _equal_table(shape: dict, s: dict, summary: dict) -> dict:
    bert, modern = summary["bert"], summary["modernbert"]
    rows = [
        [system, f"{m['intermediate_dim']}", f"{m['parameters']:,}"]
        + [f"{m['predicted_parameters']:,}", *_rates(m)]
        + [f"{m[f'{k}_tokens_per_s'] / bert[f'{k}_tokens_per_s']:.2f}x" for k in ("train", "infer")]
        + [f"{m['other_load']:.0%}"]
        for system, m in summary.items()
    ]
    columns = ["system", "I", "parameters", "models.info", "train FLOPs/token", "train tok/s"]
    columns += ["spread", "infer tok/s", "spread", "train /bert", "infer /bert", "other"]
    gap = modern["parameters"] / bert["parameters"] - 1
    notes = [
        f"parameters: the built pretrainer's, beside models.info.parameter_breakdown's "
        f"'total pretrainer'; modernbert / bert - 1 = {gap:+.2%} (matched within "
        f"{TOLERANCE:.0%} by bert's I); encoders: bert {bert['encoder_parameters']:,}, "
        f"modernbert {modern['encoder_parameters']:,}",
        "bert: learned positions (a table of S rows), 2 segments, dense GELU feed-forward "
        "(2 matrices of H x I), post-norm, biases; modernbert: rotary, a "
        f"{shape['window']}-token window with a global layer every 3rd, GeGLU (3 matrices "
        "of H x I), pre-norm, no biases",
    ]
    title = (
        f"[equal parameters] modernbert_tiny's shape L={shape['L']} H={shape['H']} "
        f"A={shape['A']} V={shape['V']} S={shape['S']} batch={shape['batch']} "
        f"P={predictions(shape['S'])}: {_timing_text(s)}"
    )
    return table(title, columns, rows, notes)


def _window_rows(length: int, summary: dict) -> tuple[list, dict]:
    """Three rows at one S (global, local, local/global) and the ratios."""
    glob, local = summary["global"], summary["local"]
    keys = ("training_flops_per_token", "train_tokens_per_s", "infer_tokens_per_s")
    ratios = {key: local[key] / glob[key] for key in keys}
    rows = [[f"S={length} {x}", *_rates(summary[x]), f"{summary[x]['other_load']:.0%}"]
            for x in ("global", "local")]  # fmt: skip
    flops, train, infer = (f"{ratios[key]:.2f}x" for key in keys)
    rows.append([f"S={length} local/global", flops, train, "", infer, "", ""])
    return rows, ratios


def _timing_text(s: dict) -> str:
    return (
        f"{s['rounds']} round(s) x {s['repeats']} repeats x {s['steps']} steps, "
        f"{s['warmup']} warm-up step(s) excluded"
    )


def run(quick: bool, jit: bool = True, settings=None, equal=None, window=None, cases=CASES):
    """Run the suite and print its tables; return raw figures, medians and ratios.

    `settings` overrides both comparisons' timing settings, `equal` and `window` their
    shapes (`window` may hold "lengths"); `cases` (default CASES) picks comparisons.
    """
    mode = mode_name(quick)
    s = {case: {**SETTINGS[mode][case], **(settings or {})} for case in CASES}
    window = {**WINDOW, **(window or {})}
    lengths = window.pop("lengths", LENGTHS)
    shapes = {
        "equal": [{**EQUAL, **(equal or {})}],
        "window": [{**window, "S": n} for n in lengths],
    }
    cases = [case for case in CASES if case in cases]
    raws = {case: [_measure(case, shape, s[case], jit) for shape in shapes[case]] for case in cases}

    results = {"mode": mode, "jit": jit, "settings": s, "shapes": shapes, "raw": raws}
    results.update(median={}, ratios={}, tables=[], goals=[], notes=[])
    backends = {r["backend"] for runs in raws.values() for raw in runs for r in raw.values()}
    results["title"] = (
        f"modern encoder parts, {mode} mode; XLA {'on' if jit else 'off'}; "
        f"backend: {', '.join(sorted(backends))}"
    )
    loads = {}
    for case in cases:
        rows = []
        for shape, raw in zip(shapes[case], raws[case], strict=True):
            summary = {x: _summary(x, shape, r) for x, r in raw.items()}
            key = f"{case} S={shape['S']}"
            results["median"][key] = summary
            loads.update({f"{x} (S={shape['S']})": m["other_load"] for x, m in summary.items()})
            if case == "equal":
                results["tables"].append(_equal_table(shape, s[case], summary))
                results["ratios"][key] = {
                    f"{k}: modernbert / bert": summary["modernbert"][f"{k}_tokens_per_s"]
                    / summary["bert"][f"{k}_tokens_per_s"]
                    for k in ("train", "infer")
                }
            else:
                more, results["ratios"][key] = _window_rows(shape["S"], summary)
                rows += more
        if case == "window":
            results["tables"].append(_window_table(shapes[case], s[case], rows))
            results["goals"] += _window_goals(shapes[case][-1]["S"], results["ratios"])
    results["notes"].append(busy_note(loads))
    results["chart"] = _chart(mode, results["ratios"])
    print_suite(results)
    return results


def _window_table(shapes: list, s: dict, rows: list) -> dict:
    shape = shapes[0]
    title = (
        f"[local vs global] L={shape['L']} H={shape['H']} A={shape['A']} I={shape['I']} "
        f"V={shape['V']} batch={shape['batch']} P=S*5/32; local: local_window="
        f"{shape['window']}, a global layer every 3rd; global: local_window=None: "
        f"{_timing_text(s)}"
    )
    columns = ["", "train FLOPs/token", "train tok/s", "spread", "infer tok/s", "spread", "other"]
    notes = [
        "train FLOPs/token: models.info.training_flops_per_token (a local layer scores the "
        f"{3 * (shape['window'] // 2)} keys of its band); local/global < 1 is the work saved, "
        "> 1 in tok/s is local running faster"
    ]
    return table(title, columns, rows, notes)


def _window_goals(length: int, ratios: dict) -> list[dict]:
    r = ratios[f"window S={length}"]
    return [
        {
            "goal": f"modern.local_vs_global_{key}",
            "label": f"[S={length}] {key}: local / global attention tokens/s",
            "value": r[f"{key}_tokens_per_s"],
        }
        for key in ("train", "infer")
    ]


def _chart(mode: str, ratios: dict) -> dict:
    panels = {}
    for key, r in ratios.items():
        if key.startswith("equal"):
            panels[f"[{key}] modernbert / bert, equal parameters"] = r
        else:
            panels[f"[{key}] local / global"] = {
                "training FLOPs/token": r["training_flops_per_token"],
                "train tokens/s": r["train_tokens_per_s"],
                "infer tokens/s": r["infer_tokens_per_s"],
            }
    return {"title": f"modern ({mode} mode): ratios within the same run", "panels": panels}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_timing_arguments(parser)
    parser.add_argument("--case", choices=[*CASES, "both"], default="both")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS), help="window: S")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--json", type=Path, default=RESULTS / "modern.json")
    systems = [x for case in CASES for x in SYSTEMS[case]]
    parser.add_argument("--worker", choices=systems, help=argparse.SUPPRESS)
    parser.add_argument("--shape", type=json.loads, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    given = settings_given(args)
    if args.worker:
        s = {**SETTINGS["full"]["window"], **given}
        out = worker(args.worker, args.shape, args.jit, s["warmup"], s["steps"], s["repeats"])
        worker_exit(out)
    start = time.perf_counter()
    print(machine(), flush=True)
    cases = CASES if args.case == "both" else (args.case,)
    results = run(args.quick, args.jit, given, window={"lengths": args.lengths}, cases=cases)
    write_json(args.json, results)
    print(f"\nelapsed {time.perf_counter() - start:.0f}s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
