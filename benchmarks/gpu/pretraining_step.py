"""A BERT pretraining step on one GPU: keras_bertfam vs keras-hub, against the chip's limit.

What it measures: one training step (forward, backward, AdamW update) of a BERT
pretrainer, MLM at 15% of the positions (P = ceil(0.15 S), logits only there) + NSP,
under `mixed_bfloat16`, jit-compiled, for keras_bertfam (`build_pretrainer`) and for
keras-hub (`BertBackbone` + a tied `MaskedLMHead` + a Dense NSP head), on the same
seeded batch of the same shape. Each measurement is a fresh worker process; the
systems alternate (A B B A) within each case. Cases, in this order, until the time
budget is spent:

1. BERT-base S=128, each system with its default attention (dropout 0.1);
2. BERT-base S=128 with `keras.config.enable_flash_attention()` (both with dropout 0,
   since keras-hub refuses flash attention with dropout);
3. BERT-large S=128, default then flash; 4. BERT-base S=512, default then flash.

Figures: sequences/s and tokens/s (median of the timed repeats, with the spread), and
MFU: training FLOPs per token (`keras_bertfam.models.info.training_flops_per_token`,
as `bertfam info` prints them) x tokens/s, against the 989 TFLOP/s dense bf16 peak of
an H200 and against an 8192^3 bf16 matmul measured in the same run. Compilation and
warm-up are not timed. A worker that would not finish inside the budget is not
started; one that fails (flash attention unavailable, out of memory) is reported with
its error and the run goes on.

On the CPU JAX backend, `--tiny` runs the same cases at a tiny size (seconds):

    KERAS_BACKEND=jax .venv-jax/bin/python -m benchmarks.gpu.pretraining_step --tiny

On the lent H200 (JAX 0.11 and CUDA there, no TensorFlow): carry keras, keras-hub and
the keras dependencies the image lacks as wheels. Here, once, in the repository root:

    echo /.whl/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
        keras==3.15.1 keras-hub==0.32.0 namex==0.1.0 optree==0.20.0

then one device `run` with carry [".whl"] and timeout_s 600:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit;
    KERAS_BACKEND=jax PYTHONUNBUFFERED=1 python3 -m benchmarks.gpu.pretraining_step \
        --budget 480 --out $OUT

It prints the table and writes `gpu.json` and `gpu.md` (the rows for
docs/benchmarks.md) under `--out`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.timing import ROOT, alternating, machine, median_spread, shape_config

PEAK_FLOPS = 989e12  # H200 dense bf16
SYSTEMS = ("keras_bertfam", "keras_hub")
SHAPES = {  # L, H, A, I, V and the batch per sequence length
    "base": {"L": 12, "H": 768, "A": 12, "I": 3072, "V": 30522, "batch": {128: 256, 512: 32}},
    "large": {"L": 24, "H": 1024, "A": 16, "I": 4096, "V": 30522, "batch": {128: 128, 512: 16}},
    "tiny-base": {"L": 2, "H": 64, "A": 2, "I": 128, "V": 512, "batch": {32: 4, 64: 2}},
    "tiny-large": {"L": 3, "H": 96, "A": 3, "I": 192, "V": 512, "batch": {32: 4, 64: 2}},
}
# (shape, S) in order of importance; each case runs default then flash attention
CASES = [("base", 128), ("large", 128), ("base", 512)]
TINY_CASES = [("tiny-base", 32), ("tiny-large", 32), ("tiny-base", 64)]


def model_config(shape: str, dropout: float):
    return shape_config("bert_base", SHAPES[shape], dropout=dropout)


def predictions(seq: int) -> int:
    return math.ceil(0.15 * seq)


def flops_per_token(shape: str, seq: int) -> float:
    from keras_bertfam.models.info import training_flops_per_token

    return training_flops_per_token(model_config(shape, 0.1), seq, predictions(seq))["total"]


def batch(shape: str, seq: int):
    """One seeded batch and its labels, the same for both systems."""
    import numpy as np

    rng = np.random.default_rng(0)
    c, b, p = SHAPES[shape], SHAPES[shape]["batch"][seq], predictions(seq)
    x = {
        "token_ids": rng.integers(5, c["V"], (b, seq)).astype("int32"),
        "segment_ids": np.repeat([[0] * (seq // 2) + [1] * (seq - seq // 2)], b, 0).astype("int32"),
        "padding_mask": np.ones((b, seq), "int32"),
        "mask_positions": np.stack([rng.choice(seq, p, replace=False) for _ in range(b)]),
    }
    x["mask_positions"] = x["mask_positions"].astype("int32")
    y = (rng.integers(0, c["V"], (b, p)).astype("int32"), rng.integers(0, 2, b).astype("int32"))
    return x, y


def pretrainer(system: str, shape: str, dropout: float):
    """(model, MLM output name, NSP output name)."""

    if system == "keras_bertfam":
        import keras_bertfam as bf

        return bf.build_pretrainer(model_config(shape, dropout)), "mlm_logits", "nsp_logits"
    from benchmarks.peers import keras_hub_pretrainer

    model, _, (mlm, nsp) = keras_hub_pretrainer(SHAPES[shape], dropout)
    return model, mlm, nsp


def worker(a) -> dict:
    """Time `a.repeats` x `a.steps` training steps of one system (in this process)."""
    import keras

    flash = a.attention == "flash"
    if flash:
        keras.config.enable_flash_attention()
    keras.mixed_precision.set_global_policy(a.precision)
    keras.utils.set_random_seed(0)
    model, mlm, nsp = pretrainer(a.system, a.shape, 0.0 if flash else 0.1)
    x, (mlm_y, nsp_y) = batch(a.shape, a.seq)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.AdamW(1e-4), loss={mlm: loss, nsp: loss},
                  jit_compile=True)  # fmt: skip
    x = {k: keras.ops.convert_to_tensor(x[k]) for k in model.input}
    y = {mlm: keras.ops.convert_to_tensor(mlm_y), nsp: keras.ops.convert_to_tensor(nsp_y)}
    start = time.perf_counter()
    model.train_on_batch(x, y)  # compiles; each call waits for its result
    compile_seconds = time.perf_counter() - start
    for _ in range(a.warmup):
        model.train_on_batch(x, y)
    seconds = []
    for _ in range(a.repeats):
        start = time.perf_counter()
        for _ in range(a.steps):
            logs = model.train_on_batch(x, y, return_dict=True)
        seconds.append((time.perf_counter() - start) / a.steps)
    return {"step_seconds": seconds, "compile_seconds": compile_seconds,
            "loss": float(logs["loss"]), "params": model.count_params(),
            "device": _device(), "backend": keras.backend.backend()}  # fmt: skip


def _device() -> str:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.devices()[0].device_kind
    return keras.backend.backend()


def matmul(size: int, repeats: int) -> dict:
    """FLOP/s of a size^3 bf16 matmul (float32 on a CPU), jit-compiled, after warm-up."""
    import jax
    import jax.numpy as jnp

    dtype = jnp.float32 if jax.devices()[0].platform == "cpu" else jnp.bfloat16
    a = jax.random.normal(jax.random.key(0), (size, size), dtype)
    b = jax.random.normal(jax.random.key(1), (size, size), dtype)
    f = jax.jit(jnp.matmul)
    for _ in range(3):
        f(a, b).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        f(a, b).block_until_ready()
    return {"flops_per_s": 2 * size**3 * repeats / (time.perf_counter() - start),
            "size": size, "dtype": str(jnp.dtype(dtype))}  # fmt: skip


def run_worker(args: list, timeout: float) -> dict:
    """A worker in a fresh process; its last stdout line is JSON (an error on failure)."""
    cmd = [sys.executable, "-m", "benchmarks.gpu.pretraining_step", "--worker", *args]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f}s", "seconds": timeout}
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last[-300:], "seconds": seconds}
    return {**json.loads(lines[-1]), "seconds": seconds}


def plan(tiny: bool):
    """(shape, seq, attention, system) in the order they run: A B B A per case."""
    for shape, seq in TINY_CASES if tiny else CASES:
        for attention in ("default", "flash"):
            for _, system in alternating(SYSTEMS, rounds=2):
                yield shape, seq, attention, system


def summarize(results: list[dict], matmul_flops: float) -> list[dict]:
    """One row per (shape, seq, attention, system): medians over all its workers' repeats."""
    rows = {}
    for r in results:
        key = (r["shape"], r["seq"], r["attention"], r["system"])
        row = rows.setdefault(key, {"shape": r["shape"], "seq": r["seq"], "attention":
                                    r["attention"], "system": r["system"], "steps": [],
                                    "errors": []})  # fmt: skip
        row["steps"] += r.get("step_seconds", [])
        if "error" in r:
            row["errors"].append(r["error"])
    for row in rows.values():
        if not row["steps"]:
            continue
        step, fast, slow = median_spread(row["steps"])
        b, s = SHAPES[row["shape"]]["batch"][row["seq"]], row["seq"]
        flops = flops_per_token(row["shape"], s) * b * s / step
        row.update(step_ms=1e3 * step, step_ms_spread=(1e3 * fast, 1e3 * slow),
                   seq_per_s=b / step, tok_per_s=b * s / step, mfu=flops / PEAK_FLOPS,
                   of_matmul=flops / matmul_flops)  # fmt: skip
    for row in rows.values():
        peer = rows.get((row["shape"], row["seq"], row["attention"], "keras_hub"), {})
        if "tok_per_s" in row and "tok_per_s" in peer:
            row["vs_keras_hub"] = row["tok_per_s"] / peer["tok_per_s"]
    return list(rows.values())


def table(rows: list[dict]) -> str:
    lines = ["| shape | S | attention | system | seq/s | tok/s | step ms (spread) | MFU of "
             "989 TFLOP/s | of matmul | vs keras-hub |", "|" + " --- |" * 10]  # fmt: skip
    for r in rows:
        head = f"| {r['shape']} | {r['seq']} | {r['attention']} | {r['system']} |"
        if "tok_per_s" not in r:
            lines.append(f"{head} failed: {'; '.join(r['errors'])[:120]} | | | | | |")
            continue
        ratio = f"{r['vs_keras_hub']:.2f}x" if "vs_keras_hub" in r else "-"
        fast, slow = r["step_ms_spread"]
        lines.append(f"{head} {r['seq_per_s']:,.1f} | {r['tok_per_s']:,.0f} | {r['step_ms']:.1f} "
                     f"({fast:.1f}-{slow:.1f}) | {r['mfu']:.1%} | {r['of_matmul']:.1%} | "
                     f"{ratio} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (a CPU check)")
    parser.add_argument("--budget", type=float, default=480, help="seconds for the whole run")
    parser.add_argument("--out", type=Path, help="folder for gpu.json and gpu.md")
    parser.add_argument("--steps", type=int, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per worker")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps after compiling")
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for name in ("system", "shape", "attention"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    parser.add_argument("--seq", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--matmul", type=int, help=argparse.SUPPRESS)
    a = parser.parse_args(argv)
    if a.worker:
        result = matmul(a.matmul, 10) if a.matmul else worker(a)
        print(json.dumps(result), flush=True)
        os._exit(0)  # skip the backends' teardown
    return orchestrate(a)


def orchestrate(a) -> int:
    start = time.perf_counter()
    steps = a.steps or (2 if a.tiny else 10)
    print(machine(), f"; KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '(unset)')}", flush=True)
    peak = run_worker(["--matmul", "256" if a.tiny else "8192"], a.budget)
    print(f"matmul: {peak}", flush=True)
    results, seen, stopped = [], {}, None  # seen: (shape, seq) -> a worker's longest time
    for shape, seq, attention, system in plan(a.tiny):
        left = a.budget - (time.perf_counter() - start)
        expected = seen.get((shape, seq), 2 * max(seen.values(), default=0.0))
        if left < 1.1 * expected:  # it would not finish: stop cleanly
            stopped = f"budget: {left:.0f}s left before {shape} S={seq} {attention} {system}"
            break
        args = ["--system", system, "--shape", shape, "--seq", str(seq), "--attention",
                attention, "--steps", str(steps), "--repeats", str(a.repeats), "--warmup",
                str(a.warmup), "--precision", a.precision]  # fmt: skip
        result = {"shape": shape, "seq": seq, "attention": attention, "system": system,
                  **run_worker(args, left)}  # fmt: skip
        seen[shape, seq] = max(seen.get((shape, seq), 0.0), result["seconds"])
        print(f"  {shape} S={seq} {attention:7} {system:13} {result['seconds']:5.0f}s "
              f"{result.get('error', '')}", flush=True)  # fmt: skip
        results.append(result)
    rows = summarize(results, peak.get("flops_per_s", float("nan")))
    text = table(rows)
    print(text)
    print(stopped or "every case ran", f"({time.perf_counter() - start:.0f}s)")
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        record = {"machine": machine(), "matmul": peak, "rows": rows, "workers": results,
                  "stopped": stopped, "seconds": time.perf_counter() - start}  # fmt: skip
        (a.out / "gpu.json").write_text(json.dumps(record, indent=1) + "\n")
        (a.out / "gpu.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
