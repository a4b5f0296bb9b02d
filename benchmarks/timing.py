"""What every benchmark suite shares: worker processes, alternation, medians, charts.

The honesty rules of DESIGN.md ("Measuring speed honestly") live here once: each
system runs in a fresh process (`run_worker`), the systems alternate A, B, C, C,
B, A, ... (`alternating`), and a figure is the median of all repeats with its
spread (`median_spread`). Nothing here imports TensorFlow: the process that
orchestrates the workers stays light and idle while they are timed.

>>> list(alternating(["a", "b"], rounds=3))
[(0, 'a'), (0, 'b'), (1, 'b'), (1, 'a'), (2, 'a'), (2, 'b')]
>>> flags(steps=3, config="small")
['--steps', '3', '--config', 'small']
>>> median_spread([3.0, 1.0, 2.0])
(2.0, 1.0, 3.0)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def machine() -> str:
    """The line every table starts with: core count and library versions."""
    return f"cores: {os.cpu_count()}; {versions()}"


def mode_name(quick: bool) -> str:
    return "quick" if quick else "full"


def run_worker(module: str, args: list, label: str | None = None) -> dict:
    """Run `python -m module --worker ARGS` in a fresh process; its last stdout line is JSON.

    `-m` finds the module wherever the package is installed (editable or not). The
    result gains `worker_seconds`: the process's whole wall time (imports, compilation),
    which is printed after `label` when one is given.
    """
    cmd = [sys.executable, "-m", module, "--worker", *map(str, args)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
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


def bar_chart(path: Path, title: str, panels: dict[str, dict[str, float]]) -> Path | None:
    """Horizontal bars, one panel per entry of `panels` ({bar label: ratio}), a line at 1.

    Non-finite values are left out; a panel spanning more than 20x gets a log scale.
    Written with matplotlib's Agg backend (no display needed); None when nothing to draw.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = {
        name: {k: v for k, v in bars.items() if math.isfinite(v)} for name, bars in panels.items()
    }
    panels = {name: bars for name, bars in finite.items() if bars}
    if not panels:
        return None
    height = max(2.0, 0.45 * sum(len(b) for b in panels.values()) + 1.2 * len(panels))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, height), squeeze=False)
    for ax, (name, bars) in zip(axes[:, 0], panels.items(), strict=True):
        labels, values = list(bars)[::-1], list(bars.values())[::-1]
        ax.barh(labels, values, color="tab:blue")
        ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:,.0f}x" if v >= 100 else f" {v:.2f}x", va="center", fontsize=8)
        high = max([*values, 1.0])
        if high / min([*values, 1.0]) > 20:
            ax.set_xscale("log")
            ax.set_xlim(min([*values, 1.0]) / 2, high * 4)
        else:
            ax.set_xlim(0, high * 1.25)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_json(path: Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
