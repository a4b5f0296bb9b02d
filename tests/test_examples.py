"""The README's example scripts run (the demo itself is `make demo`, minutes long)."""

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
