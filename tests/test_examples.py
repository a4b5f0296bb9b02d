"""The README's example scripts run (the demo itself is `make demo`, minutes long)."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_runs_and_prints_published_counts():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        cwd=ROOT,
    )
    assert "albert_base: 11,683,584 parameters" in proc.stdout
    assert "sop_logits: (2, 2)" in proc.stdout
    assert "pooled_output: (2, 128)" in proc.stdout


def test_demo_ends_with_both_exports_and_runs_twice(tmp_path):
    """`make demo`'s script at a tiny size and few steps, run twice in one folder: its
    report and both exports each time."""
    command = [sys.executable, str(ROOT / "examples" / "pretrain_demo.py"), "--steps", "20",
               "--num-layers", "1", "--hidden-dim", "64", "--vocabulary-size", "2000",
               "--out", str(tmp_path / "runs" / "demo")]  # fmt: skip
    for run in (1, 2):
        proc = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert re.search(r"held-out MLM accuracy 0\.\d+: \d+\.\dx always guessing", proc.stdout)
        report = json.loads((tmp_path / "runs" / "demo" / "demo_report.json").read_text())
        assert report["updates"] == 20 and 0 < report["baseline_mlm"] < 0.2
        saved_model = tmp_path / "saved_models" / "bertfam_demo" / str(run)
        assert (saved_model / "saved_model.pb").is_file()
        assert f"SavedModel: saved_models/bertfam_demo/{run}" in proc.stdout
        tflite = saved_model.parent / "bertfam_demo-text-dynamic_int8.tflite"
        assert tflite.is_file() and "TFLite: saved_models/bertfam_demo/" in proc.stdout
