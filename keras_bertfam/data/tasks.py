"""The fine-tuning data functions under their earlier names.

The tasks now live in `keras_bertfam.tasks` (one module per task: reading,
encoding, scoring), batching in `keras_bertfam.data.batching` and packing in
`keras_bertfam.data.packing`. This module keeps the names it always offered
(`prepare`, `batches`, `pack`, the readers and encoders, `best_spans`,
`squad_scores`, `TaskDataError`); `max_length=` is accepted as the old name of
`sequence_length=`.

Example:

>>> from keras_bertfam.data.tasks import pack
>>> pack([[7, 8, 9], [4, 5]], 6, cls=1, sep=2)
([1, 7, 8, 2, 4, 2], [0, 0, 0, 0, 1, 1])
"""

from __future__ import annotations

from keras_bertfam import tasks as _tasks
from keras_bertfam.data import batching as _batching
from keras_bertfam.data import packing as _packing
from keras_bertfam.deprecation import renamed_keywords
from keras_bertfam.kinds import TSV_HEADERS as HEADER_CHOICES
from keras_bertfam.tasks import classification as _classification
from keras_bertfam.tasks import multiple_choice as _multiple_choice
from keras_bertfam.tasks import question_answering as _question_answering
from keras_bertfam.tasks import token_classification as _token_classification
from keras_bertfam.tasks.classification import read_classification
from keras_bertfam.tasks.files import TaskDataError, label_index, tokenize_texts
from keras_bertfam.tasks.multiple_choice import read_multiple_choice
from keras_bertfam.tasks.question_answering import best_spans, read_squad, squad_scores
from keras_bertfam.tasks.token_classification import read_token_classification


def _reader(task):
    return lambda path: task.read(path)[0]


TASK_READERS = {name: _reader(_tasks.get(name)) for name in _tasks.names()}
_old_length = renamed_keywords(max_length="sequence_length")
bucket_bounds = _old_length(_batching.bucket_bounds)
batches = _old_length(_batching.batches)
batch_count = _old_length(_batching.batch_count)
pack = _old_length(_packing.pack)
encode_classification = _old_length(_classification.encode_classification)
encode_token_classification = _old_length(_token_classification.encode_token_classification)
encode_multiple_choice = _old_length(_multiple_choice.encode_multiple_choice)
encode_squad = _old_length(_question_answering.encode_squad)


@_old_length
def prepare(task: str, path, tokenizer, sequence_length: int, labels=None, doc_stride: int = 128,
            header: str = "auto") -> dict:  # fmt: skip
    """`keras_bertfam.tasks.get(task).prepare(...)`: read and encode a task file."""
    return _tasks.get(task).prepare(path, tokenizer, sequence_length, labels, header, doc_stride)


__all__ = [
    "HEADER_CHOICES",
    "TASK_READERS",
    "TaskDataError",
    "batch_count",
    "batches",
    "best_spans",
    "bucket_bounds",
    "encode_classification",
    "encode_multiple_choice",
    "encode_squad",
    "encode_token_classification",
    "label_index",
    "pack",
    "prepare",
    "read_classification",
    "read_multiple_choice",
    "read_squad",
    "read_token_classification",
    "squad_scores",
    "tokenize_texts",
]
