"""How every suite times: worker processes, alternation, medians and spreads, the machine.

The measuring rules of benchmarks/README.md live here once: each system runs in a
fresh process (`run_worker`), the systems alternate A, B, C, C, B, A, ...
(`alternating`), warm-up is left out of the timed steps (`time_model`), and a figure is
the median of all repeats with its spread (`median_spread`), printed beside the core
count and library versions (`machine`) and the share of the cores other processes used
meanwhile (`OtherLoad`). The machine's matmul peak (`matmul_peak`) runs as a worker of
this module: `python -m benchmarks.timing --worker matmul_peak --size 2048`.
`time_model` times with TensorFlow's tools (tf.data, tf.function); `time_keras_model`
with Keras alone, on whichever backend `KERAS_BACKEND` names (JAX on a GPU, say).

Nothing is imported here at module level beyond the standard library: the process that
orchestrates the workers stays light and idle while they are timed.

>>> list(alternating(["a", "b"], rounds=3))
[(0, 'a'), (0, 'b'), (1, 'b'), (1, 'a'), (2, 'a'), (2, 'b')]
>>> flags(steps=3, config="small")
['--steps', '3', '--config', 'small']
>>> median_spread([3.0, 1.0, 2.0])
(2.0, 1.0, 3.0)
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

ROOT = Path(__file__).resolve().parents[1]  # the folder holding the benchmarks package
MATMUL = "matmul_peak"  # the worker name of the matmul peak
TIMING = ("rounds", "warmup", "steps", "repeats")  # a suite's settings besides its systems
BUSY = 0.2  # other processes used more of the cores than this: a busy machine
VERSIONED = ("tensorflow", "keras", "keras-hub", "tf-models-official", "keras_bertfam")


def versions(names=VERSIONED) -> str:
    """`name version` of each installed distribution in `names`."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            parts.append(f"{name} {version(name)}")
    return ", ".join(parts)


def cpu_model() -> str:
    """The processor's name (Linux `/proc/cpuinfo`), else what `platform` knows."""
    import platform

    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> str:
    """The line every run starts with: core count, processor and library versions."""
    return f"cores: {os.cpu_count()} ({cpu_model()}); {versions()}"


def mode_name(quick: bool) -> str:
    return "quick" if quick else "full"


def run_worker(module: str, args: list, label: str | None = None) -> dict:
    """Run `python -m module --worker ARGS` in a fresh process; its last stdout line is JSON.

    The worker finds the benchmarks package from any current directory: its folder
    goes first on the worker's PYTHONPATH. The result gains `worker_seconds`: the
    process's whole wall time (imports, compilation), which is printed after `label`
    when one is given.
    """
    cmd = [sys.executable, "-m", module, "--worker", *map(str, args)]
    path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
    }
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise RuntimeError(f"worker {' '.join(cmd[2:])} failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["worker_seconds"] = time.perf_counter() - start
    if label:
        print(f"  {label} done ({result['worker_seconds']:.0f}s)", flush=True)
    return result


def worker_exit(result: dict):
    """End a worker process: its result as the last stdout line, then exit at once.

    `os._exit` skips the interpreter's teardown of TensorFlow (about a second per
    process, untimed but paid by every run); the worker has nothing left to clean up.
    """
    print(json.dumps(result), flush=True)
    sys.stderr.flush()
    os._exit(0)


def _machine_busy_seconds() -> float:
    """CPU seconds every process has used since boot (Linux `/proc/stat`); NaN elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """Share of the machine's cores that *other* processes used during a `with` block.

    Near 0 on a quiet machine; when other work took cores away, this process's figures
    are low, and a ratio with them says more about the machine than about the system.
    (Linux: from `/proc/stat`, less this process's own CPU time; NaN elsewhere.)
    """

    def __enter__(self):
        self.value = float("nan")
        self._all, self._own = _machine_busy_seconds(), time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._wall
        others = _machine_busy_seconds() - self._all - (time.process_time() - self._own)
        self.value = max(0.0, others / (wall * (os.cpu_count() or 1)))


def busy_note(other_load: dict[str, float], threshold: float = BUSY) -> str:
    """A table's footnote on its `other` column, naming the systems timed on a busy machine."""
    busy = sorted(name for name, share in other_load.items() if share > threshold)
    text = f"other: share of the {os.cpu_count()} cores other processes used while timed"
    if not busy:
        return text
    return (
        f"{text}; above {threshold:.0%} for {', '.join(busy)}: their figures are low and "
        "ratios with them are not to be trusted (run again on a quiet machine)"
    )


def flags(**values) -> list[str]:
    """Command-line flags for a worker: `flags(steps=3)` -> `["--steps", "3"]`."""
    return [part for k, v in values.items() for part in (f"--{k.replace('_', '-')}", str(v))]


def add_timing_arguments(parser) -> None:
    """--quick, --rounds, --warmup, --steps, --repeats: a suite's settings from the command line."""
    parser.add_argument("--quick", action="store_true", help="the quick settings (1 round)")
    parser.add_argument("--rounds", type=int, help="alternating rounds of all systems")
    parser.add_argument("--warmup", type=int, help="warm-up steps per process (not timed)")
    parser.add_argument("--steps", type=int, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, help="timed repeats per process")


def settings_given(args, keys=TIMING) -> dict:
    """The settings among `keys` given on the command line (not None)."""
    return {k: getattr(args, k) for k in keys if getattr(args, k) is not None}


def shape_config(preset: str, shape: dict, **fields):
    """keras_bertfam's `preset` at a suite's shape (`L`, `H`, `A`, `I`, `V`), with `fields`."""
    from keras_bertfam.models.presets import get_preset

    return get_preset(preset, num_layers=shape["L"], hidden_dim=shape["H"], num_heads=shape["A"],
                      intermediate_dim=shape["I"], vocabulary_size=shape["V"],
                      **fields)  # fmt: skip


def alternating(systems, rounds: int):
    """(round, system) pairs: forward in even rounds, backward in odd ones (A B, B A, ...)."""
    systems = list(systems)
    for round_ in range(rounds):
        for system in systems if round_ % 2 == 0 else systems[::-1]:
            yield round_, system


def median_spread(values) -> tuple[float, float, float]:
    """(median, min, max); NaNs when there are no values."""
    values = list(values)
    if not values:
        return float("nan"), float("nan"), float("nan")
    return statistics.median(values), min(values), max(values)


def spread_text(values, fmt: str = ",.0f") -> str:
    _, low, high = median_spread(values)
    return f"{low:{fmt}}-{high:{fmt}}"


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

    `keras_mod` is the Keras the models are built with (Keras 3, or tf_keras for
    tf-models-official). `y` is keyed by the pretrainer's output names; `x` feeds the
    pretrainer, and `x` without the masked positions feeds the encoder. The first
    `warmup` training steps (and passes) compile and warm up and are not timed.
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


def time_keras_model(pretrainer, encoder, x, y, jit, warmup, steps, repeats) -> dict:
    """`time_model`'s figures on any Keras 3 backend (TensorFlow, JAX, PyTorch).

    The batch is put on the device once; each training step is a `train_on_batch` and
    each encoder pass a `predict_on_batch` (both compiled with `jit_compile=jit`, both
    waiting for their result). `x` holds every input either model takes; each model is
    fed its own. The first `warmup` steps (and passes, at least one) are not timed.
    """
    import keras

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    pretrainer.compile(
        optimizer=keras.optimizers.Adam(1e-4), loss=dict.fromkeys(y, loss), jit_compile=jit
    )
    encoder.compile(jit_compile=jit)
    on_device = {k: keras.ops.convert_to_tensor(v) for k, v in x.items()}
    train_x = {k: on_device[k] for k in pretrainer.input}
    infer_x = {k: on_device[k] for k in encoder.input}
    y = {k: keras.ops.convert_to_tensor(v) for k, v in y.items()}

    def timed(step):
        for _ in range(max(warmup, 1)):
            step()
        seconds = []
        with OtherLoad() as load:
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(steps):
                    step()
                seconds.append(time.perf_counter() - start)
        return seconds, [load.value]

    train, train_load = timed(lambda: pretrainer.train_on_batch(train_x, y))
    infer, infer_load = timed(lambda: encoder.predict_on_batch(infer_x))
    return {
        "train_seconds": train,
        "infer_seconds": infer,
        "train_other_load": train_load,
        "infer_other_load": infer_load,
    }


def main(argv=None) -> None:
    """The matmul-peak worker: `python -m benchmarks.timing --worker matmul_peak`."""
    parser = argparse.ArgumentParser(description="the machine's matmul peak, in a worker")
    parser.add_argument("--worker", choices=[MATMUL], required=True)
    parser.add_argument("--size", type=int, default=2048, help="matrix size")
    parser.add_argument("--repeats", type=int, default=10, help="timed matmuls")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    worker_exit(matmul_peak(args.size, args.repeats, args.jit))


if __name__ == "__main__":
    main()
