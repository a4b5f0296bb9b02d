"""The benchmarks (`python -m benchmarks`, `bertfam bench`): the smallest real runs and wiring.

The runs (the albert and modern suites at a tiny size, the matmul-peak worker) check what the suites
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
from benchmarks import goals, modern, optional, report, run_suite, timing
from benchmarks.core import CONFIGS, _flops_per_token, _summarize
from keras_bertfam.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
TINY = {"L": 2, "H": 32, "A": 2, "I": 64, "E": 16, "V": 500, "S": 16, "batch": 2, "P": 2}
ONCE = {"rounds": 1, "warmup": 1, "steps": 1, "repeats": 1}
TINY_MODERN = {"L": 3, "H": 32, "A": 2, "I": 48, "V": 500, "S": 16, "batch": 2, "window": 4}


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


def test_modern_suite_writes_both_tables(tmp_path, capsys):
    # the window comparison at one S, long enough that its local layers take the band path
    window = {**TINY_MODERN, "window": 8, "lengths": [64]}
    overrides = {"modern": {"equal": TINY_MODERN, "window": window, "settings": ONCE}}
    result = run_suite(["modern"], quick=True, out_dir=tmp_path, overrides=overrides)
    saved = json.loads((tmp_path / "bench.json").read_text())
    suite = saved["suites"]["modern"]
    assert "backend: tensorflow on cpu" in suite["title"]
    assert set(suite["median"]) == {"equal S=16", "window S=64"}
    for summary in suite["median"].values():
        for system, m in summary.items():
            for key in ("train_tokens_per_s", "infer_tokens_per_s", "training_flops_per_token"):
                assert _positive(m[key]), (system, key, m[key])
            assert m["parameters"] == m["predicted_parameters"]  # models.info agrees
    equal = suite["median"]["equal S=16"]
    bert, ours = equal["bert"], equal["modernbert"]
    assert abs(ours["parameters"] / bert["parameters"] - 1) < modern.TOLERANCE
    assert ours["intermediate_dim"] == TINY_MODERN["I"]  # bert's I is the one chosen
    ratios = suite["ratios"]["window S=64"]
    assert ratios["training_flops_per_token"] < 1  # local layers score fewer keys
    assert all(_positive(v) for r in suite["ratios"].values() for v in r.values())
    # the tables as data: one row per system, and the ratio row of each S
    equal_table, window_table = suite["tables"]
    assert [row[0] for row in equal_table["rows"]] == ["bert", "modernbert"]
    assert equal_table["columns"][:4] == ["system", "I", "parameters", "models.info"]
    assert [row[0] for row in window_table["rows"]] == [
        "S=64 global",
        "S=64 local",
        "S=64 local/global",
    ]
    assert window_table["rows"][2][2] == f"{ratios['train_tokens_per_s']:.2f}x"
    # the figures held against goals, at the longest S measured
    measured = {m["goal"]: m for m in suite["goals"]}
    assert set(measured) == {"modern.local_vs_global_train", "modern.local_vs_global_infer"}
    assert measured["modern.local_vs_global_train"]["value"] == ratios["train_tokens_per_s"]
    assert all(m["label"].startswith("[S=64]") for m in measured.values())
    out = capsys.readouterr().out
    assert "[equal parameters]" in out and "S=64 local/global" in out
    assert result["charts"] == [str(tmp_path / "modern.png")]
    text = report.markdown(saved, "bench.json", recorded=None)
    assert "### modern" in text and "| S=64 local/global |" in text
    assert "Alone: `python -m benchmarks modern --quick`" in text


def test_modern_configs_differ_only_where_compared():
    assert doctest.testmod(modern).failed == 0
    from keras_bertfam.models.info import parameter_breakdown, training_flops_per_token

    def total(config):
        return parameter_breakdown(config)["total pretrainer"]

    for shape in (modern.EQUAL, *({**modern.WINDOW, "S": n} for n in modern.LENGTHS)):
        ours, bert = modern.model_config("modernbert", shape), modern.model_config("bert", shape)
        assert abs(total(ours) / total(bert) - 1) < modern.TOLERANCE, shape
        same = ("num_layers", "hidden_dim", "num_heads", "vocabulary_size", "dropout")
        assert all(getattr(ours, f) == getattr(bert, f) for f in same)
        assert (bert.position_embedding, bert.feedforward, bert.norm_first) == (
            "learned",
            "dense",
            False,
        )
        assert (ours.position_embedding, ours.feedforward, ours.use_bias) == (
            "rotary",
            "geglu",
            False,
        )
        # local vs global: the same config but for the window
        local, glob = (modern.model_config(x, shape) for x in ("local", "global"))
        assert glob.local_window is None and glob.replace(local_window=local.local_window) == local
    shape = {**modern.WINDOW, "S": 1024}
    local, glob = (modern.model_config(x, shape) for x in ("local", "global"))
    flops = [
        training_flops_per_token(c, 1024, modern.predictions(1024))["total"] for c in (local, glob)
    ]
    assert flops[0] < 0.8 * flops[1]
    # a learned table of 8192 rows outweighs ModernBERT's whole budget for the FFN
    with pytest.raises(ValueError, match="within 1%"):
        modern.bert_config({**modern.EQUAL, "S": 8192})


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
        assert goal.comparison in (">=", "<=") and goal.unit in ("x", "%", "s", "sd"), name
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
    assert build_parser().parse_args(["bench", "pretrain", "--budget", "5m"]).budget == 300.0
    from benchmarks.__main__ import build_parser as bench_parser

    assert bench_parser().parse_args(["pretrain", "--budget", "90s"]).budget == 90.0
    with pytest.raises(SystemExit):
        bench_parser().parse_args(["pretrain", "--budget", "soon"])
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
    assert "core | albert | data | finetune | modern | pretrain" in proc.stdout


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
    assert benchmarks.SUITES == ("core", "albert", "data", "finetune", "modern", "pretrain")
    assert benchmarks.SUITES[:-1] == benchmarks.DEFAULT_SUITES  # pretrain runs for minutes


def test_bertfam_bench_help_names_every_suite():
    from benchmarks import SUITES
    from keras_bertfam.cli.bench import SUITE_NAMES

    assert SUITE_NAMES.split(" | ") == list(SUITES)


def test_pretrain_summary_picks_by_validation_and_times_against_keras_hub(tmp_path):
    """The time-to-quality tables from curves of [seconds, updates, val acc, val loss, test
    acc, test loss]: the best of ours by validation accuracy, its test accuracy against the
    better keras-hub variant's, and when it first reached that."""
    from benchmarks.pretrain import curves_chart, summarize

    def system(params, *curve):
        return {"parameters": params, "curve": [list(r) for r in curve]}

    raw = {
        "keras_hub_guide": system(100, (30, 10, 0.05, 7, 0.05, 7), (60, 20, 0.06, 6, 0.06, 6)),
        "keras_hub_scheduled": system(100, (30, 9, 0.07, 6, 0.07, 6), (60, 19, 0.10, 5, 0.10, 5)),
        "bertfam_bert": system(102, (30, 9, 0.08, 6, 0.09, 6), (60, 19, 0.11, 5, 0.12, 5)),
        "bertfam_best": system(101, (30, 9, 0.12, 5, 0.11, 5), (60, 19, 0.15, 4, 0.14, 4)),
        # an ELECTRA generator's MLM accuracy does not make ELECTRA the best MLM recipe
        "bertfam_electra": system(99, (30, 5, 0.2, 4, 0.2, 4), (60, 9, 0.3, 3, 0.3, 3)),
    }
    raw["bertfam_electra"]["rtd"] = {"auc": 0.8, "precision": 0.5, "recall": 0.25,
                                     "replaced_share": 0.12}  # fmt: skip
    info = {"test_baseline": 0.05, "validation_baseline": 0.05, "test_predictions": 100,
            "documents": {"train": 10}}  # fmt: skip

    def tuned(*accuracies):
        mean = sum(accuracies) / len(accuracies)
        sd = (sum((a - mean) ** 2 for a in accuracies) / (len(accuracies) - 1)) ** 0.5
        return {"dev_accuracy": list(accuracies), "mean": mean, "sd": sd, "seconds": 1.0}

    downstream = {"tfidf_logreg": {"dev_accuracy": 0.5}, "keras_hub_scheduled": tuned(0.5, 0.6),
                  "bertfam_best": tuned(0.7, 0.8), "random_init": tuned(0.3, 0.3)}  # fmt: skip
    results = summarize(raw, info, {"budget": 60.0, "evaluations": 2}, "quick", downstream)
    goals_by_name = {g["goal"]: g["value"] for g in results["goals"]}
    sd = 0.1 / 2**0.5  # both pairs of seeds
    assert goals_by_name["pretrain.best_downstream_vs_keras_hub"] == pytest.approx(0.2 / sd)
    assert goals_by_name["pretrain.best_downstream_vs_tfidf"] == pytest.approx(0.75 / 0.5)
    titles = [t["title"] for t in results["tables"]]
    assert titles[1:] == ["replaced-token detection (test)",
                          "downstream: fine-tuned on the fortunes topics"]  # fmt: skip
    assert results["tables"][1]["rows"] == [["bertfam_electra", "0.800", "0.500", "0.250",
                                             "12.0%"]]  # fmt: skip
    assert goals_by_name["pretrain.best_vs_keras_hub"] == pytest.approx(0.14 / 0.10)
    assert goals_by_name["pretrain.best_time_to_keras_hub"] == pytest.approx(0.5)
    assert goals_by_name["pretrain.best_vs_baseline"] == pytest.approx(0.14 / 0.05)
    rows = {r[0]: r for r in results["tables"][0]["rows"]}
    assert "bertfam_best (best of ours)" in rows and "bertfam_bert" in rows
    assert rows["keras_hub_guide"][-2] == "-"  # never reached the scheduled variant's 0.10
    assert Path(curves_chart(raw, info, tmp_path / "curves.png")).stat().st_size > 1000


def test_pretrain_set_changes_only_the_best_recipe_and_names_a_bad_pair(monkeypatch):
    from benchmarks import pretrain_systems

    monkeypatch.setattr(pretrain_systems, "BEST", pretrain_systems.BEST)
    before = json.dumps(pretrain_systems.ELECTRA, sort_keys=True)
    pretrain_systems.apply_settings(["train.batch_size=16", "masking.strategy=token",
                                     "model.position_embedding=rotary"])  # fmt: skip
    best = pretrain_systems.BEST
    assert best["train"]["batch_size"] == 16 and best["data"]["masking"]["strategy"] == "token"
    assert best["model"]["position_embedding"] == "rotary"
    assert json.dumps(pretrain_systems.ELECTRA, sort_keys=True) == before
    with pytest.raises(ValueError, match=r"'trian\.steps=3'"):
        pretrain_systems.apply_settings(["trian.steps=3"])


def test_finetune_packing_summary_takes_the_fastest_packed_recipe_at_the_same_accuracy():
    """The goal's figure: among packed systems whose mean dev accuracy is under the
    buckets' by no more than the larger of the two sds, the fastest, against the buckets."""
    import argparse

    from benchmarks.finetune_packing import parse_system, summarize

    def runs(rate, *accuracies, slots=120, useful=100, scores=9000):
        work = {"updates": 10, "slots": slots, "useful": useful, "scores": scores, "shapes": 2}
        return [{"dev_accuracy": a, "useful_tokens_per_s": [rate], "epoch_seconds": [10.0],
                 "work": work, "other_load": 0.01} for a in accuracies]  # fmt: skip

    results = {
        "buckets:32": runs(1000, 0.72, 0.72, 0.72),  # mean 0.72, sd 0
        "pack:9": runs(1250, 0.69, 0.71, 0.73),  # 0.71, sd 0.02: the same accuracy
        "pack:16@2e-4": runs(1400, 0.66, 0.70, 0.74),  # 0.70, sd 0.04: the same, faster
        "pack:32": runs(1600, 0.60, 0.62, 0.64),  # the fastest, but 0.62 < 0.72 - 0.02
    }
    out = summarize(results, 1)
    (goal,) = out["goals"]
    assert goal["goal"] in goals.GOALS and "pack:16@2e-4" in goal["label"]
    assert goal["value"] == pytest.approx(1.4)
    assert out["median"]["pack:9"]["same_accuracy"] is True
    assert out["median"]["pack:32"]["same_accuracy"] is False
    rows = {r[0]: r for r in out["tables"][0]["rows"]}
    assert rows["pack:9"][2] == "0.710 ± 0.020" and rows["pack:9"][6] == "17%"
    for system in ("pack:9", "pack:16@2e-4"):
        results.pop(system)
    assert math.isnan(summarize(results, 1)["goals"][0]["value"])
    assert parse_system("pack:9") == ("pack", 9, 1e-4)
    assert parse_system("pack:16@1.75e-4") == ("pack", 16, 1.75e-4)
    for bad in ("pack", "pack:0", "packed:9", "buckets:x", "pack:9@fast", "pack:9@0"):
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(repr(bad))):
            parse_system(bad)
