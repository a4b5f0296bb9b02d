"""Text classification, single texts or pairs: TSV or JSON Lines in, a class per text out.

Files (gzip allowed): TSV `label<TAB>text` or `label<TAB>text_a<TAB>text_b` (the
same number of columns on every row), or JSON Lines with `text` (and `text_b`)
and `label`. TSV is read as GLUE-style files define it: one row per line, cells
split at every tab, no quoting (as `csv.QUOTE_NONE`: a `"` is part of the text
and never joins lines); only a cell that is wholly one CSV-quoted field (`"..."`
with inner quotes doubled, as spreadsheets and pandas write it) is unquoted.
The first row is a header with `header="yes"`, or with `header="auto"` when its
first cell is `label` or its label occurs nowhere else in the file.

Head: pooling ("pooled", "cls" or "mean") + dropout + Dense -> `logits` [B, C].
Served: `probabilities`, `label` (the best class name), `label_names`, `logits`.

Example:

>>> import tempfile, os
>>> from keras_bertfam.tasks.classification import read_classification
>>> path = os.path.join(tempfile.mkdtemp(), "t.tsv")
>>> _ = open(path, "w").write("category\\tsentence\\npos\\tgood\\nneg\\tbad\\npos\\tfine\\n")
>>> [(r["label"], r["texts"]) for r in read_classification(path)]
[('pos', ('good',)), ('neg', ('bad',)), ('pos', ('fine',))]
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from keras_bertfam.data.packing import pack
from keras_bertfam.errors import InputError
from keras_bertfam.kinds import TSV_HEADERS
from keras_bertfam.tasks import files
from keras_bertfam.tasks.base import Task, pooled_features
from keras_bertfam.tasks.files import TaskDataError
from keras_bertfam.tasks.metrics import classification_report


def read_classification(path, header: str = "auto", labels=None) -> list[dict]:
    """Rows `{"texts": (a,) or (a, b), "label": str, "line": n}` from a TSV or JSONL file.

    `header`: "yes" (the first row is a header), "no" or "auto": the first row is
    a header when its first cell is `label`, or when its label cell occurs nowhere
    else in the label column while other labels repeat (with `labels`, the known
    class names: when it is not one of them either).
    """
    return _read(Path(path), header, labels)[0]


def _read(path: Path, header: str, known=None) -> tuple[list[dict], bool]:
    if header not in TSV_HEADERS:
        raise InputError(f"header={header!r} is not one of {list(TSV_HEADERS)}")
    if files.kind(path) in (".jsonl", ".json"):
        rows, first = [], None
        for n, record in files.json_lines(path):
            texts = tuple(record.get(k) for k in ("text", "text_b") if record.get(k) is not None)
            row = _checked_row(path, n, texts, record.get("label"))
            first = first or row
            if len(row["texts"]) != len(first["texts"]):
                raise TaskDataError(
                    f"{path}:{n}: {len(row['texts'])} text(s), but line {first['line']} has "
                    f"{len(first['texts'])}: every row needs 'text', or every row 'text' and "
                    "'text_b'"
                )
            rows.append(row)
        return files.nonempty(path, rows), False
    table = [(n, files.cells(line)) for n, line in enumerate(files.lines(path), start=1)
             if line.strip()]  # fmt: skip
    skip = bool(table) and _is_header(table, header, known)
    rows, first = [], None
    for n, cells in table[1:] if skip else table:
        if len(cells) not in (2, 3):
            hint = " (a tab inside a text?)" if len(cells) > 3 else ""
            raise TaskDataError(
                f"{path}:{n}: expected label<TAB>text or label<TAB>text_a<TAB>text_b, "
                f"got {len(cells)} column(s){hint}"
            )
        first = first or (n, len(cells))
        if len(cells) != first[1]:
            raise TaskDataError(
                f"{path}:{n}: {len(cells)} columns, but line {first[0]} has {first[1]} "
                "(a tab inside a text?): every row must be label<TAB>text, or every row "
                "label<TAB>text_a<TAB>text_b"
            )
        rows.append(_checked_row(path, n, tuple(cells[1:]), cells[0]))
    return files.nonempty(path, rows), skip


def _is_header(table, header: str, known) -> bool:
    if header != "auto":
        return header == "yes"
    first = table[0][1][0].strip()
    if first.lower() == "label":
        return True
    others = Counter(cells[0].strip() for _, cells in table[1:])
    if first in others or not others or max(others.values()) < 2:
        return False  # a label seen again, or no column to compare with
    return known is None or first not in set(known)


def _checked_row(path, n, texts, label):
    if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
        raise TaskDataError(f"{path}:{n}: empty text")
    if label is None or str(label).strip() == "":
        raise TaskDataError(f"{path}:{n}: missing label")
    return {"texts": texts, "label": str(label).strip(), "line": n}


def encode_classification(rows, tokenizer, sequence_length: int):
    """Packed (ids, segment ids) lists of classification rows."""
    special = tokenizer.require_special("cls", "sep")
    columns = max(len(r["texts"]) for r in rows)
    if any(len(r["texts"]) != columns for r in rows):
        raise TaskDataError("every row must have the same number of texts (1 or 2)")
    pieces = [files.tokenize_texts(tokenizer, [r["texts"][c] for r in rows])
              for c in range(columns)]  # fmt: skip
    packed = [pack([p[i] for p in pieces], sequence_length, special["cls"], special["sep"],
                   separators=tokenizer.pair_separators) for i in range(len(rows))]  # fmt: skip
    return [p[0] for p in packed], [p[1] for p in packed]


def _per_text(shape) -> bool:
    """[batch, C], or [batch, K, C] with a static K (packed texts; per token: [batch, seq, C])."""
    return len(shape) == 2 or (len(shape) == 3 and shape[1] is not None)


class Classification(Task):
    name = "classification"
    files = "TSV label<TAB>text[<TAB>text_b] or JSON Lines (text, text_b, label)"
    outputs = ("logits",)
    hf_head = "keras_bertfam.convert.classifier"  # *ForSequenceClassification
    packing = "slots"  # one label per packed text

    def read(self, path, header="auto", labels=None):
        return _read(Path(path), header, labels)

    def encode(self, rows, tokenizer, sequence_length, labels=None, path="data", doc_stride=128):
        names, y = files.label_index([r["label"] for r in rows], labels, path)
        ids, types = encode_classification(rows, tokenizer, sequence_length)
        return {
            "features": {"token_ids": ids, "segment_ids": types},
            "targets": {"logits": y},
            "labels": names,
            "summary": {"labels": files.counts(r["label"] for r in rows)},
        }

    def info(self, prepared):
        return {"pairs": len(prepared["rows"][0]["texts"]) == 2}

    def uses_pooled_output(self, pooling):
        return pooling == "pooled"

    def head(self, encoded, inputs, num_classes, pooling, head, slots=0):
        from keras_bertfam.layers import SentenceHead

        features = pooled_features(encoded, inputs, pooling, slots)
        return {"logits": SentenceHead(num_classes, name="classifier", **head)(features)}

    def matches(self, model):
        outputs = set(model.output)
        return (
            outputs == {"logits"}
            and _per_text(model.output["logits"].shape)
            and (len(model.input["token_ids"].shape) == 2)
        )

    def score(self, outputs, prepared, labels, null_threshold=None):
        predicted = [int(np.argmax(v, axis=-1)) for v in outputs["logits"]]
        report = classification_report(prepared["targets"]["logits"], predicted, labels)
        return report, [labels[k] for k in predicted]

    def text_inputs(self, info):
        return ("text", "text_b") if info.get("pairs") else ("text",)

    def serving_outputs(self, outputs, padding_mask, segment_ids, labels):
        import tensorflow as tf

        names = tf.constant(labels)
        probabilities = tf.nn.softmax(outputs["logits"], axis=-1)
        batch = tf.shape(probabilities)[0]
        return {
            "logits": outputs["logits"],
            "probabilities": probabilities,
            "label": tf.gather(names, tf.argmax(probabilities, axis=-1)),
            "label_names": tf.tile(names[None], [batch, 1]),
        }


TASK = Classification()
