"""Fine-tuning tasks as plugins: one module per task, one registry everything reads.

| task | file | head | outputs |
| --- | --- | --- | --- |
| classification | TSV `label, text[, text_b]`, JSONL | pooling + Dense | `logits` [B, C] |
| token_classification | JSONL `tokens`, `tags` | Dense per token | `logits` [B, S, C] |
| question_answering | SQuAD v1.1 / v2.0 JSON | Dense(2) per token | `start/end_logits` [B, S] |
| multiple_choice | JSONL `question`, `choices`, `label` | pooling + Dense(1) | `logits` [B, C] |

Each module defines a `Task` (`keras_bertfam.tasks.base`): reading its files,
encoding, its head, scoring and what its exported model serves. The
task-model builder, `finetune`, `evaluate`, the exporters and the command line
find tasks here, by name (`get`) or by a built model (`task_of`). A new task is
one module with a `TASK` and its name in `_MODULES`.

Example:

>>> from keras_bertfam import tasks
>>> tasks.names()
('classification', 'token_classification', 'question_answering', 'multiple_choice')
>>> tasks.get("question_answering").outputs
('start_logits', 'end_logits')
"""

from __future__ import annotations

import importlib

from keras_bertfam.errors import InputError
from keras_bertfam.tasks.base import Task

_MODULES = ("classification", "token_classification", "question_answering", "multiple_choice")
DEFAULT = "classification"  # what `finetune` and `bertfam finetune` fine-tune for by default
_TASKS: dict[str, Task] = {}


def _load() -> dict[str, Task]:
    if not _TASKS:
        for module in _MODULES:
            task = importlib.import_module(f"keras_bertfam.tasks.{module}").TASK
            _TASKS[task.name] = task
    return _TASKS


def names() -> tuple[str, ...]:
    """The names of the fine-tuning tasks, in the order of the table above."""
    return tuple(_load())


def importable() -> tuple[str, ...]:
    """The tasks whose heads `from_pretrained(task=...)` imports from checkpoints."""
    return tuple(name for name, task in _load().items() if task.hf_head)


def packable() -> tuple[str, ...]:
    """The tasks that train on packed rows (`batching="pack"`)."""
    return tuple(name for name, task in _load().items() if task.packing)


def get(name: str) -> Task:
    """The task called `name`, or an `InputError` listing the tasks."""
    tasks = _load()
    if name not in tasks:
        raise InputError(f"task={name!r} is not one of {list(tasks)}")
    return tasks[name]


def task_of(model) -> Task | None:
    """The task a built model serves (None for an encoder or a pretrainer)."""
    for task in _load().values():
        if task.matches(model):
            return task
    return None


__all__ = ["DEFAULT", "Task", "get", "names", "task_of"]
