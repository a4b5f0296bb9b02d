"""Scoring a fine-tuned model: `evaluate(folder, file)`, and the prediction loop it shares.

`evaluate` reads a task file in the format the model was fine-tuned on, runs the
model over it in length-bucketed batches, puts the predictions back in the
file's order and scores them as the task defines (accuracy and per-class
precision/recall/F1, or SQuAD exact match and F1). A `finetune` output folder
holds what it needs: `model.keras`, `task.json` (task, labels, sequence length)
and the tokenizer.

Example:

>>> from keras_bertfam.training.evaluate import describe_summary
>>> describe_summary({"path": "dev.tsv", "rows": 3, "header": True,
...                   "labels": {"neg": 1, "pos": 2}})
'3 rows from dev.tsv (header row skipped); 2 labels: neg 1, pos 2'
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from keras_bertfam import tasks
from keras_bertfam.errors import MissingInputError
from keras_bertfam.kinds import TSV_HEADERS
from keras_bertfam.models.saving import load_model
from keras_bertfam.validate import require_choice, require_int, require_number

TASK_FILE = "task.json"
LOG = logging.getLogger("keras_bertfam")


def predict_and_score(model, data: dict, task: str, labels, batch_size: int,
                      sequence_length: int, pad_id: int, null_threshold=None):  # fmt: skip
    """(report, predictions) of `model` on `data` prepared by the task's `prepare`.

    `null_threshold`: question answering only (see `tasks.question_answering`).
    """
    from keras_bertfam.data.batching import batches

    count = len(data["features"]["token_ids"])
    # The example index rides along as the target, so bucketed batches can be put back in order.
    dataset = batches(data["features"], {"index": np.arange(count, dtype=np.int32)}, batch_size,
                      sequence_length, pad_id)  # fmt: skip
    restored = {}
    for x, y in dataset.as_numpy_iterator():  # numpy: what every backend's model takes
        for name, value in model.predict_on_batch(x).items():
            column = restored.setdefault(name, [None] * count)
            for index, row in zip(y["index"], np.asarray(value), strict=True):
                column[index] = row
    return tasks.get(task).score(restored, data, labels, null_threshold)


def load_finetuned(folder):
    """(task model, task info, tokenizer) of a folder written by `finetune`."""

    from keras_bertfam.data.tokenizers import load_tokenizer

    folder = Path(folder)
    for name in ("model.keras", TASK_FILE):
        if not (folder / name).is_file():
            raise MissingInputError(f"{str(folder / name)!r} is missing: not a finetune output")
    info = read_task_info(folder / TASK_FILE)
    return (
        load_model(folder / "model.keras"),
        info,
        load_tokenizer(folder / "tokenizer"),
    )


def read_task_info(path) -> dict:
    """A `task.json`, with the sequence length under `sequence_length` (files written
    before the rename have it as `max_sequence_length`)."""
    info = json.loads(Path(path).read_text(encoding="utf-8"))
    if "sequence_length" not in info and "max_sequence_length" in info:
        info["sequence_length"] = info.pop("max_sequence_length")
    return info


def _null_threshold(info: dict, given: float | None) -> float | None:
    """The no-answer rule of a QA model: the given threshold, else 0.0 when trained on v2."""
    if given is not None:
        return float(given)
    return 0.0 if info.get("squad_v2") else None


def evaluate(folder, path, batch_size: int = 64, null_threshold: float | None = None,
             header: str = "auto") -> tuple[dict, object]:  # fmt: skip
    """Score a `finetune` output folder on a task file: (report, predictions).

    `null_threshold` (question answering): answer "" when the no-answer score
    beats the best span by more than this; by default 0.0 for models trained on
    SQuAD 2.0 data (unanswerable questions) and never for SQuAD 1.1 models.
    `header`: "auto", "yes" or "no" for classification TSV files.
    """
    require_int("batch_size", batch_size, minimum=1)
    require_choice("header", header, TSV_HEADERS)
    if null_threshold is not None:
        require_number("null_threshold", null_threshold)
    model, info, tokenizer = load_finetuned(folder)
    length = info["sequence_length"]
    data = tasks.get(info["task"]).prepare(path, tokenizer, length, info["labels"], header)
    LOG.info("%s", describe_summary(data["summary"]))
    pad_id = tokenizer.special_ids.get("pad", 0)
    return predict_and_score(model, data, info["task"], info["labels"], batch_size, length, pad_id,
                             _null_threshold(info, null_threshold))  # fmt: skip


def describe_summary(summary: dict) -> str:
    """One line of what a task file held: rows, header, classes with their counts."""
    labels = summary.get("labels") or {}
    shown = ", ".join(f"{name} {count}" for name, count in list(labels.items())[:20])
    more = f", ... ({len(labels)} in all)" if len(labels) > 20 else ""
    extra = "".join(
        f", {summary[k]} {k}" for k in ("windows", "choices") if summary.get(k) is not None
    )
    header = " (header row skipped)" if summary.get("header") else ""
    return (
        f"{summary['rows']} rows from {summary['path']}{header}{extra}; "
        f"{len(labels)} labels: {shown}{more}"
    )
