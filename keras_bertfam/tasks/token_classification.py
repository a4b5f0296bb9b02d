"""Token classification (tagging: named entities, parts of speech): a tag per word.

Files (gzip allowed): JSON Lines with `tokens` (words) and `tags` (one per word).
Each word is split into pieces; its first piece carries the tag and is scored,
the other pieces (and [CLS]/[SEP]) have weight 0. Words beyond the sequence
length are dropped and not scored.

Head: dropout + Dense on every position -> `logits` [B, S, C].
Served: `probabilities` [B, S, C], `tag` [B, S] (the best tag's name), `padding_mask`.

Example:

>>> import tempfile, os
>>> from keras_bertfam.tasks.token_classification import read_token_classification
>>> path = os.path.join(tempfile.mkdtemp(), "t.jsonl")
>>> _ = open(path, "w").write('{"tokens": ["Ada", "wrote"], "tags": ["B-PER", "O"]}\\n')
>>> read_token_classification(path)[0]["tags"]
['B-PER', 'O']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_bertfam.tasks import files
from keras_bertfam.tasks.base import Task
from keras_bertfam.tasks.files import TaskDataError
from keras_bertfam.tasks.metrics import classification_report


def read_token_classification(path) -> list[dict]:
    """Rows `{"words": [...], "tags": [...], "line": n}` from JSON Lines."""
    rows = []
    for n, record in files.json_lines(Path(path)):
        words, tags = record.get("tokens"), record.get("tags")
        if not isinstance(words, list) or not words or not isinstance(tags, list):
            raise TaskDataError(f"{path}:{n}: needs non-empty 'tokens' and 'tags' lists")
        if len(words) != len(tags):
            raise TaskDataError(f"{path}:{n}: {len(words)} tokens but {len(tags)} tags")
        rows.append({"words": [str(w) for w in words], "tags": [str(t) for t in tags], "line": n})
    return files.nonempty(path, rows)


def encode_token_classification(rows, tokenizer, sequence_length: int, tag_ids: np.ndarray):
    """(ids, segment ids, per-token labels, per-token weights): the first piece of each word
    carries its tag, the others (and [CLS]/[SEP]) weight 0."""
    special = tokenizer.require_special("cls", "sep", "unk")
    pieces = files.tokenize_texts(tokenizer, [w for r in rows for w in r["words"]])
    ids, types, labels, weights = [], [], [], []
    cursor = 0
    for row in rows:
        row_ids, row_labels, row_weights = [special["cls"]], [0], [0.0]
        for _ in row["words"]:
            word = pieces[cursor] or [special["unk"]]
            tag = int(tag_ids[cursor])
            cursor += 1
            if len(row_ids) + len(word) > sequence_length - 1:
                continue  # words beyond the length are dropped (and not scored)
            row_ids += word
            row_labels += [tag] + [0] * (len(word) - 1)
            row_weights += [1.0] + [0.0] * (len(word) - 1)
        ids.append([*row_ids, special["sep"]])
        types.append([0] * (len(row_ids) + 1))
        labels.append([*row_labels, 0])
        weights.append([*row_weights, 0.0])
    return ids, types, labels, weights


class TokenClassification(Task):
    name = "token_classification"
    files = "JSON Lines (tokens, tags)"
    outputs = ("logits",)
    hf_head = "keras_bertfam.convert.token_classifier"  # *ForTokenClassification
    packing = "tokens"  # per-token labels, wherever a text sits in its row

    def read(self, path, header="auto", labels=None):
        return read_token_classification(path), False

    def encode(self, rows, tokenizer, sequence_length, labels=None, path="data", doc_stride=128):
        all_tags = [t for r in rows for t in r["tags"]]
        names, tags = files.label_index(all_tags, labels, path)
        ids, types, y, w = encode_token_classification(rows, tokenizer, sequence_length, tags)
        return {
            "features": {"token_ids": ids, "segment_ids": types},
            "targets": ({"logits": y}, {"logits": w}),
            "labels": names,
            "summary": {"labels": files.counts(all_tags)},
        }

    def head(self, encoded, inputs, num_classes, pooling, head, slots=0):
        from keras_bertfam.layers import SentenceHead

        logits = SentenceHead(num_classes, name="classifier", **head)(encoded["sequence_output"])
        return {"logits": logits}

    def matches(self, model):
        if set(model.output) != {"logits"}:
            return False
        shape = model.output["logits"].shape  # [batch, seq, C] (packed texts: [batch, K, C])
        return len(shape) == 3 and shape[1] is None

    def score(self, outputs, prepared, labels, null_threshold=None):
        predicted = [np.argmax(v, axis=-1) for v in outputs["logits"]]
        y, w = prepared["targets"][0]["logits"], prepared["targets"][1]["logits"]
        truth = np.concatenate([np.asarray(t) for t in y])
        weights = np.concatenate([np.asarray(t) for t in w])
        guess = np.concatenate([p[: len(t)] for p, t in zip(predicted, y, strict=True)])
        tags = [
            [labels[int(k)] for k, keep in zip(p, ws, strict=False) if keep > 0]
            for p, ws in zip(predicted, w, strict=True)
        ]
        return classification_report(truth, guess, labels, weights), tags

    def serving_outputs(self, outputs, padding_mask, segment_ids, labels):
        import tensorflow as tf

        probabilities = tf.nn.softmax(outputs["logits"], axis=-1)
        return {
            "probabilities": probabilities,
            "tag": tf.gather(tf.constant(labels), tf.argmax(probabilities, axis=-1)),
            "padding_mask": padding_mask,
        }


TASK = TokenClassification()
