"""`bertfam bench`: the smallest real runs of the albert suite and of the matmul-peak worker.

They check what the suites write (fields, positive finite numbers, a PNG chart), not
how fast anything is: speed is measured by `bertfam bench`, on a quiet machine, not by
tests.
"""

import json
import math

import pytest

from benchmarks import run_suite
from benchmarks.timing import run_worker
from benchmarks.core import CONFIGS, _flops_per_token, _summarize
from keras_bertfam.cli import build_parser

TINY = {"L": 2, "H": 32, "A": 2, "I": 64, "E": 16, "V": 500, "S": 16, "batch": 2, "P": 2}
ONCE = {"rounds": 1, "warmup": 1, "steps": 1, "repeats": 1}


def _positive(value):
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_matmul_peak_worker_reports_flops():
    out = run_worker("benchmarks.core", ["matmul_peak", "--size", 64, "--repeats", 2])
    assert out["size"] == 64
    assert len(out["seconds"]) == len(out["flops_per_s"]) == 2
    assert all(_positive(v) for v in out["seconds"] + out["flops_per_s"])
    assert out["flops_per_s"][0] == pytest.approx(2 * 64**3 / out["seconds"][0])


def test_albert_suite_writes_json_and_chart(tmp_path):
    report = run_suite(
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
    assert report["charts"] == [str(tmp_path / "albert.png")]
    assert (tmp_path / "albert.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
    lines = []
    result = _summarize("small", ONCE, raw, 1e11, {}, lines)
    flops = _flops_per_token(CONFIGS["small"])
    ours, peer = result["median"]["keras_bertfam"], result["median"]["keras_hub"]
    assert ours["share_of_matmul_peak"] == pytest.approx(2100 * flops / 1e11)
    assert ours["share_of_matmul_peak"] / peer["share_of_matmul_peak"] == pytest.approx(2.0)
    assert result["ratios"]["train: keras_bertfam / keras_hub"] == pytest.approx(2.0)
    assert any("of peak" in line for line in lines)
    # others took half the cores while keras_hub was timed: the table says not to trust it
    assert any("above 20% for keras_hub:" in line for line in lines)


def test_bench_command_line():
    args = build_parser().parse_args(["bench", "albert", "--quick", "--out", "x"])
    assert (args.suites, args.quick, args.out) == (["albert"], True, "x")
    assert build_parser().parse_args(["bench"]).out == "bench/results"
    with pytest.raises(ValueError, match="unknown bench suite"):
        run_suite(["nope"], quick=True, out_dir="unused")
