"""The benchmarks (`python -m benchmarks`, `bertfam bench`): the smallest real runs and wiring.

The runs (the albert suite at a tiny size, the matmul-peak worker) check what the suites
write (fields, positive finite numbers, a PNG chart, goals beside the figures), not how
fast anything is: speed is measured by `python -m benchmarks`, on a quiet machine, not
by tests.
"""

import ast
import doctest
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import benchmarks
from benchmarks import goals, optional, report, run_suite, timing
from benchmarks.core import CONFIGS, _flops_per_token, _summarize
from keras_bertfam.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
TINY = {"L": 2, "H": 32, "A": 2, "I": 64, "E": 16, "V": 500, "S": 16, "batch": 2, "P": 2}
ONCE = {"rounds": 1, "warmup": 1, "steps": 1, "repeats": 1}


def _positive(value):
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _env_without_repo() -> dict:
    """The environment with the checkout left off PYTHONPATH."""
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    kept = [p for p in paths if p and Path(p).resolve() != ROOT]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(kept)}


def test_matmul_peak_worker_reports_flops():
    out = timing.run_worker("benchmarks.timing", ["matmul_peak", "--size", 64, "--repeats", 2])
    assert out["size"] == 64
    assert len(out["seconds"]) == len(out["flops_per_s"]) == 2
    assert all(_positive(v) for v in out["seconds"] + out["flops_per_s"])
    assert out["flops_per_s"][0] == pytest.approx(2 * 64**3 / out["seconds"][0])


def test_albert_suite_writes_json_and_chart(tmp_path, capsys):
    result = run_suite(
        ["albert"],
        quick=True,
        out_dir=tmp_path,
        overrides={"albert": {"shape": TINY, "settings": ONCE}},
    )
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["mode"] == "quick" and _positive(saved["elapsed_s"])
    assert "cores: " in saved["machine"] and "tensorflow" in saved["machine"]
    albert = saved["suites"]["albert"]
    assert albert["shape"] == TINY
    for system in ("bert", "albert"):
        m = albert["median"][system]
        for key in (
            "parameters",
            "weight_mb",
            "peak_rss_mb",
            "step_ms",
            "steps_per_s",
            "infer_tokens_per_s",
        ):
            assert _positive(m[key]), (system, key, m[key])
        assert math.isfinite(m["other_load"]) and m["other_load"] >= 0
        assert m["parameters"] == m["predicted_parameters"]  # models.info agrees with the model
        assert m["weight_mb"] == pytest.approx(m["parameters"] * 4 / 2**20)
        assert m["steps_per_s"] == pytest.approx(1000 / m["step_ms"])
    assert albert["median"]["albert"]["parameters"] < albert["median"]["bert"]["parameters"]
    assert all(_positive(v) for v in albert["ratios"].values())
    assert result["charts"] == [str(tmp_path / "albert.png")]
    assert (tmp_path / "albert.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the table as data, printed, and rendered as Markdown from the saved bench.json
    (t,) = albert["tables"]
    assert t["columns"] == ["", "bert", "albert", "albert/bert"]
    assert "inference tokens/s" in capsys.readouterr().out
    text = report.markdown(saved, "bench.json", recorded=None)
    assert "| inference tokens/s |" in text and saved["machine"] in text
    assert "quick mode" in text and "python -m benchmarks.report bench.json" in text


def test_core_share_of_peak_uses_one_flop_count():
    raw = {
        system: {
            "train_tokens_per_s": [rate, rate * 1.1],
            "infer_tokens_per_s": [3 * rate],
            "train_other_load": [0.05],
            "infer_other_load": [other],
        }
        for system, rate, other in (("keras_bertfam", 2000.0, 0.1), ("keras_hub", 1000.0, 0.5))
    }
    result = _summarize("small", ONCE, raw, 1e11, {})
    flops = _flops_per_token(CONFIGS["small"])
    ours, peer = result["median"]["keras_bertfam"], result["median"]["keras_hub"]
    assert ours["share_of_matmul_peak"] == pytest.approx(2100 * flops / 1e11)
    assert ours["share_of_matmul_peak"] / peer["share_of_matmul_peak"] == pytest.approx(2.0)
    assert result["ratios"]["train: keras_bertfam / keras_hub"] == pytest.approx(2.0)
    assert "of peak" in result["table"]["columns"]
    # others took half the cores while keras_hub was timed: the table says not to trust it
    assert any("above 20% for keras_hub:" in note for note in result["table"]["notes"])
    # the figures held against goals, printed beside them by the report
    measured = {m["goal"]: m["value"] for m in result["goals"]}
    assert measured["core.train_vs_fastest_peer"] == pytest.approx(2.0)
    assert set(measured) <= set(goals.GOALS)
    lines = report.goal_lines(result["goals"])
    assert any(line.endswith("2.00x (goal >= 1.10x: met)") for line in lines)


def test_goals_table_and_report_text():
    for name, goal in goals.GOALS.items():
        assert goal.comparison in (">=", "<=") and goal.unit in ("x", "%", "s"), name
        assert goal.description
    assert report.goal_text("core.train_vs_fastest_peer", 1.05) == (
        "1.05x (goal >= 1.10x: not met)"
    )
    assert report.goal_text("core.share_of_matmul_peak", 0.613) == "61.3% (goal >= 75.0%: not met)"
    assert report.goal_text("run.quick_seconds", float("nan")).endswith("not measured)")
    for module in (goals, report, timing, optional):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_optional_import_names_its_provider():
    with pytest.raises(ImportError, match=r"pip install -e \.\[bench\]"):
        optional.require("official.no_such_module", "the tf_models peer")
    with pytest.raises(ImportError, match=r"\.\[parity\]"):
        optional.require("torch.no_such_module", "the PyTorch peer")


def test_command_lines():
    args = build_parser().parse_args(["bench", "albert", "--quick", "--out", "x"])
    assert (args.suites, args.quick, args.out) == (["albert"], True, "x")
    assert build_parser().parse_args(["bench"]).out is None  # the checkout's benchmarks/results
    with pytest.raises(ValueError, match="unknown benchmark suite"):
        run_suite(["nope"], quick=True, out_dir="unused")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "python -m benchmarks" in proc.stdout and "--quick" in proc.stdout
    assert "core | albert | data | finetune" in proc.stdout


def test_bertfam_bench_without_the_benchmarks_says_where_they_are(tmp_path):
    # an installed wheel: no checkout in the current directory, none beside the package
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import keras_bertfam.cli.bench as bench\n"
        "bench.installed_tree = lambda: Path(sys.argv[1])\n"
        "from keras_bertfam.cli import main\n"
        "code = main(['bench', '--quick'])\n"
        "assert not any(m.split('.')[0] == 'benchmarks' for m in sys.modules), 'imported'\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "site-packages")],
        cwd=tmp_path,
        env=_env_without_repo(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "bertfam bench: error: the benchmarks are not installed with keras_bertfam" in (
        proc.stderr
    )
    assert "benchmarks/ folder of its source repository" in proc.stderr
    assert "python -m benchmarks --quick" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bertfam_bench_finds_the_checkout(tmp_path):
    from keras_bertfam.cli.bench import find_benchmarks, installed_tree

    assert find_benchmarks(ROOT) == ROOT
    assert find_benchmarks(ROOT / "keras_bertfam" / "cli") == ROOT  # a folder inside it
    if installed_tree() == ROOT:  # an editable install: found from anywhere
        assert find_benchmarks(tmp_path) == ROOT


def test_the_package_does_not_import_the_benchmarks_or_state_goals():
    for path in sorted((ROOT / "keras_bertfam").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for node in tree.body:  # module level: what runs on import
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] != "benchmarks", f"{path} imports {name}"
        # what a figure is held against lives in benchmarks/goals.py, not here
        assert not re.search(r"\b(targets?|goals?)\s*(>=|<=|≥|≤)", source), path
        assert not re.search(r"\bAims?:", source), path
    assert benchmarks.SUITES == ("core", "albert", "data", "finetune")
