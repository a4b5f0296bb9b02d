"""Multiple choice (SWAG, RACE, ARC style): which of C answers goes with the question.

Files (gzip allowed): JSON Lines with `question` (or `context`), `choices` (the
same number for every question) and `label` (the right choice's index). Each
(question, choice) pair is packed as `[CLS] question [SEP] choice [SEP]`.

Head: inputs [batch, choices, seq] are folded into one batch of pairs, pooled and
scored by Dense(1), and unfolded -> `logits` [batch, choices]. Not exportable as
a SavedModel (its inputs have a choices axis): export the encoder, or score the
choices on the client.

Example:

>>> import tempfile, os
>>> from keras_bertfam.tasks.multiple_choice import read_multiple_choice
>>> path = os.path.join(tempfile.mkdtemp(), "mc.jsonl")
>>> _ = open(path, "w").write('{"question": "2 + 2?", "choices": ["3", "4"], "label": 1}\\n')
>>> read_multiple_choice(path)[0]["choices"]
['3', '4']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_bertfam.data.packing import pack
from keras_bertfam.tasks import files
from keras_bertfam.tasks.base import Task, pooled_features
from keras_bertfam.tasks.files import TaskDataError
from keras_bertfam.tasks.metrics import classification_report


def read_multiple_choice(path) -> list[dict]:
    """Rows `{"context": str, "choices": [...], "label": int, "line": n}` from JSON Lines."""
    rows = []
    for n, record in files.json_lines(Path(path)):
        context = record.get("question", record.get("context"))
        choices, label = record.get("choices"), record.get("label")
        if not isinstance(context, str) or not context.strip():
            raise TaskDataError(f"{path}:{n}: empty 'question'")
        if not isinstance(choices, list) or len(choices) < 2:
            raise TaskDataError(f"{path}:{n}: 'choices' must list at least 2 answers")
        if isinstance(label, bool) or not (isinstance(label, int) and 0 <= label < len(choices)):
            raise TaskDataError(f"{path}:{n}: label={label!r} is not a choice index")
        rows.append({"context": context, "choices": [str(c) for c in choices], "label": label,
                     "line": n})  # fmt: skip
    rows = files.nonempty(path, rows)
    first = rows[0]
    odd = next((r for r in rows if len(r["choices"]) != len(first["choices"])), None)
    if odd is not None:
        raise TaskDataError(
            f"{path}:{odd['line']}: {len(odd['choices'])} choices, but line {first['line']} "
            f"has {len(first['choices'])}: every question needs the same number"
        )
    return rows


def encode_multiple_choice(rows, tokenizer, sequence_length: int):
    """[example][choice] packed ids and segment ids of (question, choice) pairs."""
    special = tokenizer.require_special("cls", "sep")
    contexts = files.tokenize_texts(tokenizer, [r["context"] for r in rows])
    choices = files.tokenize_texts(tokenizer, [c for r in rows for c in r["choices"]])
    ids, types, cursor = [], [], 0
    for row, context in zip(rows, contexts, strict=True):
        packed = [
            pack(
                [context, choices[cursor + k]],
                sequence_length,
                special["cls"],
                special["sep"],
                separators=tokenizer.pair_separators,
            )
            for k in range(len(row["choices"]))
        ]
        cursor += len(row["choices"])
        ids.append([p[0] for p in packed])
        types.append([p[1] for p in packed])
    return ids, types


class MultipleChoice(Task):
    name = "multiple_choice"
    files = "JSON Lines (question, choices, label)"
    outputs = ("logits",)
    exportable = False

    def read(self, path, header="auto", labels=None):
        return read_multiple_choice(path), False

    def encode(self, rows, tokenizer, sequence_length, labels=None, path="data", doc_stride=128):
        ids, types = encode_multiple_choice(rows, tokenizer, sequence_length)
        return {
            "features": {"token_ids": ids, "segment_ids": types},
            "targets": {"logits": np.array([r["label"] for r in rows], np.int32)},
            "summary": {
                "labels": files.counts(r["label"] for r in rows),
                "choices": len(rows[0]["choices"]),
            },
        }

    def num_classes(self, prepared):
        return len(prepared["rows"][0]["choices"])

    def info(self, prepared):
        return {"num_choices": self.num_classes(prepared)}

    def model_inputs(self, num_classes):
        import keras

        from keras_bertfam.layers import FoldChoices
        from keras_bertfam.models.builders import ENCODER_INPUTS

        inputs = {n: keras.Input((num_classes, None), dtype="int32", name=n)
                  for n in ENCODER_INPUTS}  # fmt: skip
        return inputs, {n: FoldChoices(name=f"fold_{n}")(inputs[n]) for n in ENCODER_INPUTS}

    def uses_pooled_output(self, pooling):
        return pooling == "pooled"

    def head(self, encoded, inputs, num_classes, pooling, head):
        from keras_bertfam.layers import SentenceHead, UnfoldChoices

        features = pooled_features(encoded, inputs, pooling)
        logits = SentenceHead(1, name="classifier", **head)(features)
        return {"logits": UnfoldChoices(num_classes, name="choices")(logits)}

    def matches(self, model):
        return set(model.output) == {"logits"} and len(model.input["token_ids"].shape) == 3

    def score(self, outputs, prepared, labels, null_threshold=None):
        predicted = [int(np.argmax(v, axis=-1)) for v in outputs["logits"]]
        names = [str(k) for k in range(np.asarray(outputs["logits"][0]).shape[-1])]
        report = classification_report(prepared["targets"]["logits"], predicted, names)
        return report, predicted


TASK = MultipleChoice()
