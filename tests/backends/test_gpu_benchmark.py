"""benchmarks/gpu/pretraining_step.py end to end at its tiny size, inside a short budget:
the matmul worker, the first A B workers of both systems, a clean stop, the files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the benchmark runs on JAX")
def test_tiny_run_measures_both_systems_and_stops_inside_its_budget(tmp_path):
    cmd = [sys.executable, "-m", "benchmarks.gpu.pretraining_step", "--tiny", "--budget", "45",
           "--repeats", "1", "--warmup", "0", "--out", str(tmp_path)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "gpu.json").read_text())
    assert record["matmul"]["flops_per_s"] > 0
    assert record["seconds"] < 45 + 15 and record["stopped"].startswith("budget")
    rows = {(r["system"], r["attention"]): r for r in record["rows"]}
    first = {system: rows[system, "default"] for system in ("keras_bertfam", "keras_hub")}
    for row in first.values():
        assert not row["errors"] and row["tok_per_s"] > 0 and 0 < row["of_matmul"] < 10
    assert first["keras_bertfam"]["vs_keras_hub"] > 0
    assert "| tiny-base | 32 | default | keras_bertfam |" in (tmp_path / "gpu.md").read_text()
