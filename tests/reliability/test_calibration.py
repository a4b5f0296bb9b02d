"""int8 calibration reads the representative file the way the model's task reads its files.

(Guessing the task from the file's suffix made a classifier's `topics.json` — JSON
Lines — read as SQuAD, and a token classifier's JSONL read as classification rows.)
"""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from keras_bertfam import tasks
from keras_bertfam.cli import main
from keras_bertfam.models.tasks import build_task_model
from keras_bertfam.resources import FORTUNES_TRAIN
from tests.data_fixtures import minilm_dir

TINY = dict(num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
            max_sequence_length=32)  # fmt: skip


def _texts(count=8):
    """Real short texts: the first rows of the bundled fortunes topics."""
    with gzip.open(FORTUNES_TRAIN, "rt", encoding="utf-8") as handle:
        rows = handle.read().splitlines()[1 : count + 1]
    return [row.split("\t", 1)[1] for row in rows]


def _files(folder):
    """One small file per task, in the task's own format."""
    texts = _texts()
    rows = [{"text": t, "label": ["a", "b"][i % 2]} for i, t in enumerate(texts)]
    tags = [{"tokens": t.split(), "tags": ["O"] * len(t.split())} for t in texts]
    squad = {"data": [{"paragraphs": [{"context": t, "qas": [
        {"id": f"q{i}", "question": "What is it?", "answers": [{"text": t.split()[0],
                                                                 "answer_start": 0}]}]}]}
        for i, t in enumerate(texts)]}  # fmt: skip
    paths = {}
    for task, name, lines in (("classification", "topics.json", rows),
                              ("token_classification", "tags.jsonl", tags)):  # fmt: skip
        paths[task] = folder / name
        paths[task].write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    paths["question_answering"] = folder / "squad.json"
    paths["question_answering"].write_text(json.dumps(squad))
    return paths


def _model_folder(folder, task, labels):
    """A folder as `bertfam finetune` writes it: model.keras, task.json, tokenizer/."""
    model = build_task_model("bert_tiny", task, len(labels) if labels else None,
                             vocabulary_size=30522, **TINY)  # fmt: skip
    folder.mkdir()
    model.save(folder / "model.keras")
    info = {"task": task, "labels": labels, "sequence_length": 32, "pairs": False}
    (folder / "task.json").write_text(json.dumps(info))
    (folder / "tokenizer").mkdir()
    shutil.copy(minilm_dir() / "vocab.txt", folder / "tokenizer" / "vocab.txt")


@pytest.mark.parametrize(
    ("task", "labels"),
    [("classification", ["a", "b"]), ("token_classification", ["O"]),
     ("question_answering", None)],
)  # fmt: skip
def test_int8_calibrates_on_the_models_own_task_file(tmp_path, task, labels, capsys):
    files = _files(tmp_path)
    _model_folder(tmp_path / "model", task, labels)
    root = tmp_path / "exported"
    code = main(["export", str(tmp_path / "model"), "--format", "tflite", "--no-text",
                 "--quantization", "int8", "--representative", str(files[task]),
                 "--root", str(root)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    report = json.loads(next(root.rglob("*.report.json")).read_text())
    assert report["quantization"] == "int8" and report["sequence_length"] == 32
    assert tasks.get(task).name == task


def test_a_multiple_choice_model_is_refused_with_a_message(tmp_path, capsys):
    folder = tmp_path / "mc"
    model = build_task_model("bert_tiny", "multiple_choice", 2, vocabulary_size=30522, **TINY)
    folder.mkdir()
    model.save(folder / "model.keras")
    info = {"task": "multiple_choice", "labels": None, "sequence_length": 32, "num_choices": 2}
    (folder / "task.json").write_text(json.dumps(info))
    (folder / "tokenizer").mkdir()
    shutil.copy(minilm_dir() / "vocab.txt", folder / "tokenizer" / "vocab.txt")
    assert main(["export", str(folder), "--root", str(tmp_path / "out")]) == 2
    assert "multiple_choice models are not exportable" in capsys.readouterr().err
