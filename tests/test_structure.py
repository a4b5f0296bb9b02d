"""The package's shape: small modules and functions, tasks named only by their modules,
and a command line whose choices and defaults are the API's own."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from keras_bertfam import kinds, tasks
from keras_bertfam.cli import build_parser
from keras_bertfam.cli.common import defaults, field_defaults
from keras_bertfam.convert.importer import import_tasks
from keras_bertfam.data.masking import MaskingConfig
from keras_bertfam.data.pipeline import DataConfig
from keras_bertfam.data.records import create_data
from keras_bertfam.export.folder import export_folder
from keras_bertfam.training.evaluate import evaluate
from keras_bertfam.training.finetune import finetune

PACKAGE = Path(__file__).resolve().parents[1] / "keras_bertfam"
MASKING = field_defaults(MaskingConfig)
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 80


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_over_400_lines_and_no_function_over_80():
    too_long = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(PACKAGE)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = node.end_lineno - first + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(PACKAGE)}:{first} {node.name}: {lines}")
    assert not too_long, too_long


def test_task_names_appear_only_in_the_tasks_package():
    names = set(tasks.names())
    found = []
    for path in _modules():
        if PACKAGE / "tasks" in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}")
    assert not found, found


def _option(command: str, flag: str) -> argparse.Action:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return next(a for a in sub.choices[command]._actions if flag in a.option_strings)


@pytest.mark.parametrize(
    ("command", "flag", "choices"),
    [
        ("finetune", "--task", tasks.names()),
        ("finetune", "--pooling", kinds.POOLINGS),
        ("finetune", "--head-init", kinds.HEAD_INITS),
        ("finetune", "--header", kinds.TSV_HEADERS),
        ("create-data", "--objective", kinds.SENTENCE_OBJECTIVES),
        ("create-data", "--strategy", kinds.MASKING_STRATEGIES),
        ("create-data", "--masking", kinds.MASKING_MODES),
        ("create-vocab", "--kind", kinds.VOCABULARY_KINDS),
        ("pretrain", "--optimizer", kinds.OPTIMIZERS),
        ("pretrain", "--precision", kinds.PRECISIONS),
        ("pretrain", "--strategy", kinds.STRATEGIES),
        ("pretrain", "--mask-strategy", kinds.MASKING_STRATEGIES),
        ("export", "--quantization", kinds.QUANTIZATIONS),
        ("convert", "--task", import_tasks()),
    ],
)
def test_cli_choices_are_the_apis(command, flag, choices):
    assert tuple(_option(command, flag).choices) == tuple(choices)


@pytest.mark.parametrize(
    ("command", "flag", "expected"),
    [
        ("create-data", "--dupe-factor", defaults(create_data)["dupe_factor"]),
        ("create-data", "--sequence-length", field_defaults(DataConfig)["sequence_length"]),
        ("create-data", "--mask-rate", MASKING["rate"]),
        ("create-data", "--max-predictions", MASKING["max_predictions_per_seq"]),
        ("create-data", "--max-span", MASKING["max_span"]),
        ("pretrain", "--mask-rate", None),  # the recipe's
        ("finetune", "--learning-rate", defaults(finetune)["learning_rate"]),
        ("finetune", "--sequence-length", defaults(finetune)["sequence_length"]),
        ("finetune", "--batch-size", defaults(finetune)["batch_size"]),
        ("finetune", "--epochs", defaults(finetune)["epochs"]),
        ("evaluate", "--batch-size", defaults(evaluate)["batch_size"]),
        ("export", "--quantization", defaults(export_folder)["quantization"]),
    ],
)  # fmt: skip
def test_cli_defaults_are_the_apis(command, flag, expected):
    assert _option(command, flag).default == expected


def test_sequence_length_has_one_spelling_and_the_old_flag_still_works():
    action = _option("finetune", "--sequence-length")
    assert action.option_strings == ["--sequence-length", "--seq-length"]
    args = build_parser().parse_args(["info", "bert_tiny", "--seq-length", "64"])
    assert args.sequence_length == 64


def test_every_kind_of_activation_has_its_function():
    from keras_bertfam.layers import common

    assert set(common._ACTIVATIONS) == set(kinds.ACTIVATIONS)
    assert [common.activation(name) for name in kinds.ACTIVATIONS]
