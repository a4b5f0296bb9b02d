"""Multi-worker pretraining: two worker processes on 127.0.0.1 train in lockstep.

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy` (see
keras_bertfam/training/loop.py); `pretrain` runs `fit_distributed` there instead.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.pretrain_worker import make_data, run

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "pretrain_worker.py"
TIMEOUT = 180  # a hung collective fails the test instead of hanging CI


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(data_dir, out_dir, tmp_path, n=2):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(n)]}
    procs, logs = [], []
    for index in range(n):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CONFIG": json.dumps(config)}
        log = open(tmp_path / f"worker-{index}.log", "w+")  # noqa: SIM115 (closed below)
        result = tmp_path / f"worker-{index}.npz"
        args = [sys.executable, str(WORKER), str(data_dir), str(out_dir), str(result), "auto"]
        procs.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log))
        logs.append(log)
    try:
        for proc in procs:
            proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    failed = [i for i, proc in enumerate(procs) if proc.returncode != 0]
    for log in logs:
        log.seek(0)
    text = [log.read() for log in logs]
    for log in logs:
        log.close()
    if failed:
        pytest.fail(
            "\n".join(
                f"worker {i} (exit {procs[i].returncode}):\n{text[i][-3000:]}" for i in failed
            )
        )
    results = []
    for index in range(n):
        with np.load(tmp_path / f"worker-{index}.npz") as data:
            count = sum(k.startswith("end_") for k in data.files)
            results.append(
                {
                    "start": [data[f"start_{i}"] for i in range(count)],
                    "end": [data[f"end_{i}"] for i in range(count)],
                    "summary": json.loads(str(data["summary"])),
                }
            )
    return results


def test_two_workers_train_in_lockstep_like_one_process(tmp_path):
    data_dir = make_data(tmp_path / "data")
    out = tmp_path / "run"
    chief, other = _run_workers(data_dir, out, tmp_path)

    # The same updates on both workers: bit-identical weights, and they did train.
    for a, b in zip(chief["end"], other["end"], strict=True):
        np.testing.assert_array_equal(a, b)
    for start, end in zip(chief["start"], chief["end"], strict=True):
        assert not np.allclose(start, end), "a weight array did not move"
    for s in (chief["summary"], other["summary"]):
        assert s["replicas"] == 2 and s["steps"] == 4 and s["epochs_run_now"] == 2
        assert s["training_loop"] == "fit_distributed"
    history = {k: v for k, v in chief["summary"]["history"].items() if k != "tokens_per_s"}
    assert history == {  # global logs, the same on every worker (throughput is each one's)
        k: v for k, v in other["summary"]["history"].items() if k != "tokens_per_s"
    }

    # The chief writes the outputs; the other worker's scratch folder is gone.
    assert (out / "model.keras").is_file()
    assert any((out / "logs").rglob("events.out.tfevents*"))  # TensorBoard
    assert json.loads((out / "training_summary.json").read_text())["replicas"] == 2
    assert not list(out.glob(".worker-*"))
    assert not (out / "backup").exists()

    # One process, same global batches, model.fit without XLA: the same run.
    start, end, summary = run(data_dir, tmp_path / "single", "one", jit=False)
    assert summary["training_loop"] == "model.fit" and summary["replicas"] == 1
    for a, b in zip(chief["start"], start, strict=True):
        np.testing.assert_array_equal(a, b)  # same initial weights on every worker
    assert set(history) == set(summary["history"]) - {"tokens_per_s"}
    for name, values in history.items():
        np.testing.assert_allclose(values, summary["history"][name], rtol=1e-5, err_msg=name)
    for a, b in zip(chief["end"], end, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)
