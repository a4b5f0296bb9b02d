"""Extractive question answering, SQuAD v1.1 and v2.0: the answer is a span of the context.

Files: SQuAD JSON (`data[].paragraphs[].qas[]`). Each context is read in
windows of `sequence_length` tokens that overlap by `doc_stride` (BERT's
`run_squad`): `[CLS] question [SEP] window [SEP]`, the question cut to 64
tokens. A window that does not hold the answer trains towards [CLS].

Head: Dense(2) per position, padding masked -> `start_logits`, `end_logits` [B, S].
Answers follow one rule (`keras_bertfam.tasks.spans`): the best start <= end
span in the context, at most `MAX_ANSWER_TOKENS` long. SQuAD 2.0: a question
gets no answer ("") when its null score (start + end logit at [CLS], lowest over
its windows) beats the best span by more than `null_threshold`.
Served: `start`, `end`, `score`, `null_score` and, on raw text, `answer`.

Example:

>>> import json, tempfile, os
>>> from keras_bertfam.tasks.question_answering import read_squad
>>> path = os.path.join(tempfile.mkdtemp(), "squad.json")
>>> context = "Ada Lovelace wrote the first program."
>>> qa = {"id": "q1", "question": "Who wrote it?", "answers": [{"text": "Ada Lovelace",
...       "answer_start": 0}]}
>>> _ = open(path, "w").write(json.dumps({"data": [{"paragraphs": [{"context": context,
...     "qas": [qa]}]}]}))
>>> read_squad(path)[0]["answers"]
[('Ada Lovelace', 0)]
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from pathlib import Path

import numpy as np

from keras_bertfam.errors import InputError
from keras_bertfam.tasks import files
from keras_bertfam.tasks.base import Task
from keras_bertfam.tasks.files import TaskDataError
from keras_bertfam.tasks.spans import MAX_ANSWER_TOKENS, best_span, graph_best_spans

MAX_QUESTION_TOKENS = 64


def read_squad(path) -> list[dict]:
    """SQuAD questions `{"id", "question", "context", "answers": [(text, start)], ...}`.

    A missing or malformed field raises `TaskDataError` naming where it is, as
    `data[a].paragraphs[p].qas[q]` (with the question's id once it is known).
    """
    path = Path(path)
    try:
        spec = json.loads(files.text(path))
    except json.JSONDecodeError as err:
        raise TaskDataError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    data = spec.get("data") if isinstance(spec, dict) else None
    if not isinstance(data, list):
        raise TaskDataError(f"{path}: not SQuAD JSON (expected an object with a 'data' list)")

    def field(record, key, kind, where, default=None):
        if not isinstance(record, dict):
            raise TaskDataError(f"{path}: {where}: expected a JSON object, got {record!r:.40}")
        value = record.get(key, default)
        empty = isinstance(value, str) and not value.strip() and key != "context"
        if not isinstance(value, kind) or isinstance(value, bool) or empty:
            got = f"{value!r:.40}" if key in record else "missing"
            raise TaskDataError(f"{path}: {where}: {key!r} must be a {kind.__name__} ({got})")
        return value

    rows, seen = [], {}
    for a, article in enumerate(data):
        for p, paragraph in enumerate(field(article, "paragraphs", list, f"data[{a}]")):
            where = f"data[{a}].paragraphs[{p}]"
            context = field(paragraph, "context", str, where)
            for q, qa in enumerate(field(paragraph, "qas", list, where)):
                qid = field(qa, "id", str, f"{where}.qas[{q}]")
                at = f"{where}.qas[{q}] (id {qid!r})"
                if qid in seen:
                    raise TaskDataError(f"{path}: {at}: the same id as {seen[qid]}")
                seen[qid] = f"{where}.qas[{q}]"
                question = field(qa, "question", str, at)
                answers = []
                for k, answer in enumerate(field(qa, "answers", list, at, default=[])):
                    text = field(answer, "text", str, f"{at}.answers[{k}]")
                    start = field(answer, "answer_start", int, f"{at}.answers[{k}]")
                    if start < 0 or context[start : start + len(text)] != text:
                        raise TaskDataError(
                            f"{path}: question {qid!r}: answer {text!r} is not at "
                            f"answer_start={start} of its context"
                        )
                    answers.append((text, start))
                rows.append({"id": qid, "question": question, "context": context,
                             "answers": answers})  # fmt: skip
    return files.nonempty(path, rows)


def context_words(context: str):
    """Whitespace words of `context` and the word index of every character."""
    words, char_to_word, previous_space = [], [], True
    for char in context:
        if char.isspace():
            previous_space = True
        else:
            if previous_space:
                words.append(char)
            else:
                words[-1] += char
            previous_space = False
        char_to_word.append(max(len(words) - 1, 0))
    return words, char_to_word


def _answer_tokens(row, word_first, n_tokens, char_to_word, n_words):
    """(first, last) token of the row's first answer in its context, or None."""
    if not row["answers"]:
        return None
    text, start_char = row["answers"][0]
    first_word = char_to_word[start_char]
    last_word = char_to_word[start_char + len(text) - 1]
    last = word_first[last_word + 1] - 1 if last_word + 1 < n_words else n_tokens - 1
    return word_first[first_word], last


def encode_squad(rows, tokenizer, sequence_length: int = 384, stride: int = 128,
                 max_query: int = MAX_QUESTION_TOKENS) -> dict:  # fmt: skip
    """Windows over each context (BERT's run_squad): features and the maps back to words.

    Returns a dict of lists: ids, types, start, end (token positions of the
    answer in the window, 0 = [CLS] when it is outside), example (row index),
    token_to_word (word index per token, -1 outside the context).
    """
    special = tokenizer.require_special("cls", "sep")
    separators = [special["sep"]] * tokenizer.pair_separators  # after the question
    questions = files.tokenize_texts(tokenizer, [r["question"] for r in rows])
    contexts = [context_words(r["context"]) for r in rows]
    word_pieces = files.tokenize_texts(tokenizer, [w for words, _ in contexts for w in words])
    out = {k: [] for k in ("ids", "types", "start", "end", "example", "token_to_word")}
    cursor = 0
    for index, (row, question, (words, char_to_word)) in enumerate(
        zip(rows, questions, contexts, strict=True)
    ):
        question = question[:max_query]
        tokens, token_word, word_first = [], [], []
        for w in range(len(words)):
            word_first.append(len(tokens))
            tokens += word_pieces[cursor + w]
            token_word += [w] * len(word_pieces[cursor + w])
        cursor += len(words)
        span = _answer_tokens(row, word_first, len(tokens), char_to_word, len(words))
        room = sequence_length - len(question) - 2 - len(separators)
        if room < 1:
            raise InputError(
                f"sequence_length={sequence_length} leaves no room for the context after a "
                f"question of {len(question)} tokens"
            )
        offset, window_start = len(question) + 1 + len(separators), 0
        while True:
            window = range(window_start, min(window_start + room, len(tokens)))
            ids = [special["cls"], *question, *separators]
            ids += [tokens[t] for t in window] + [special["sep"]]
            start = end = 0
            if span and window.start <= span[0] and span[1] < window.stop:
                start, end = span[0] - window.start + offset, span[1] - window.start + offset
            out["ids"].append(ids)
            out["types"].append([0] * offset + [1] * (len(window) + 1))
            out["start"].append(start)
            out["end"].append(end)
            out["example"].append(index)
            out["token_to_word"].append([-1] * offset + [token_word[t] for t in window] + [-1])
            if window.stop >= len(tokens):
                break
            window_start += min(stride, room)
    return out


def best_spans(rows, features, start_logits, end_logits, max_answer_tokens=MAX_ANSWER_TOKENS,
               null_threshold=None) -> dict:  # fmt: skip
    """SQuAD predictions `{id: answer text}`: the best span of each question's windows.

    `null_threshold=None` (SQuAD 1.1) always answers. A number (SQuAD 2.0, as
    BERT's run_squad): the question gets "" (no answer) when its null score,
    start + end logit at [CLS] taken at its lowest over the windows, beats the
    best span's score by more than `null_threshold`.
    """
    best, null = {}, {}
    for f, index in enumerate(features["example"]):
        to_word = np.asarray(features["token_to_word"][f])
        starts = np.asarray(start_logits[f])[: len(to_word)]
        ends = np.asarray(end_logits[f])[: len(to_word)]
        null[index] = min(null.get(index, np.inf), float(starts[0] + ends[0]))
        found = best_span(starts, ends, to_word >= 0, max_answer_tokens)
        if found and (index not in best or found[2] > best[index][0]):
            best[index] = (found[2], int(to_word[found[0]]), int(to_word[found[1]]))
    predictions = {}
    for index, row in enumerate(rows):
        answered = index in best and (
            null_threshold is None or null[index] - best[index][0] <= null_threshold
        )
        if answered:
            words, _ = context_words(row["context"])
            _, first, last = best[index]
            predictions[row["id"]] = " ".join(words[first : last + 1])
        else:
            predictions[row["id"]] = ""
    return predictions


def _normalize_answer(text: str) -> list[str]:
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def squad_scores(rows, predictions: dict) -> dict:
    """Exact match and token F1 (the official SQuAD definitions), in percent.

    A question without answers (SQuAD 2.0) counts as right only when the
    prediction is "". When a file has both kinds, the scores of each are
    added (`has_answer_*`, `no_answer_*`, as the official v2.0 script).
    """
    exact, f1 = [], []
    for row in rows:
        golds = [text for text, _ in row["answers"]] or [""]
        guess = _normalize_answer(predictions.get(row["id"], ""))
        exact.append(max(float(_normalize_answer(g) == guess) for g in golds))
        scores = []
        for gold in golds:
            gold = _normalize_answer(gold)
            common = sum((Counter(gold) & Counter(guess)).values())
            if not gold or not guess:
                scores.append(float(gold == guess))
            elif common == 0:
                scores.append(0.0)
            else:
                p, r = common / len(guess), common / len(gold)
                scores.append(2 * p * r / (p + r))
        f1.append(max(scores))
    result = {"exact_match": 100 * float(np.mean(exact)), "f1": 100 * float(np.mean(f1))}
    answerable = np.array([bool(row["answers"]) for row in rows])
    if answerable.any() and not answerable.all():
        for name, keep in (("has_answer", answerable), ("no_answer", ~answerable)):
            result[f"{name}_exact_match"] = 100 * float(np.mean(np.array(exact)[keep]))
            result[f"{name}_f1"] = 100 * float(np.mean(np.array(f1)[keep]))
            result[f"{name}_total"] = int(keep.sum())
    return result


class QuestionAnswering(Task):
    name = "question_answering"
    files = "SQuAD v1.1 or v2.0 JSON"
    outputs = ("start_logits", "end_logits")
    needs_num_classes = False
    trimmer = "keep_first"  # served: the question stays whole, the context is cut
    hf_head = "keras_bertfam.convert.span_classifier"  # *ForQuestionAnswering

    def read(self, path, header="auto", labels=None):
        return read_squad(path), False

    def encode(self, rows, tokenizer, sequence_length, labels=None, path="data", doc_stride=128):
        windows = encode_squad(rows, tokenizer, sequence_length, doc_stride)
        answered = sum(1 for r in rows if r["answers"])
        return {
            "features": {"token_ids": windows["ids"], "segment_ids": windows["types"]},
            "targets": {
                "start_logits": np.array(windows["start"], np.int32),
                "end_logits": np.array(windows["end"], np.int32),
            },
            "windows": windows,
            "squad_v2": not all(r["answers"] for r in rows),  # has unanswerable questions
            "summary": {
                "labels": {"has_answer": answered, "no_answer": len(rows) - answered},
                "windows": len(windows["ids"]),
            },
        }

    def info(self, prepared):
        return {"squad_v2": bool(prepared.get("squad_v2"))}

    def head(self, encoded, inputs, num_classes, pooling, head):
        from keras_bertfam.layers import SentenceHead, SpanLogits

        scores = SentenceHead(2, name="span_classifier", **head)(encoded["sequence_output"])
        start, end = SpanLogits(name="span_logits")(scores, inputs["padding_mask"])
        return {"start_logits": start, "end_logits": end}

    def matches(self, model):
        return "start_logits" in model.output

    def score(self, outputs, prepared, labels, null_threshold=None):
        predictions = best_spans(prepared["rows"], prepared["windows"], outputs["start_logits"],
                                 outputs["end_logits"], null_threshold=null_threshold)  # fmt: skip
        return squad_scores(prepared["rows"], predictions), predictions

    def text_inputs(self, info):
        return ("question", "context")

    def serving_outputs(self, outputs, padding_mask, segment_ids, labels):
        import tensorflow as tf

        context = tf.logical_and(segment_ids > 0, padding_mask > 0)
        start, end, score = graph_best_spans(outputs["start_logits"], outputs["end_logits"],
                                             context)  # fmt: skip
        return {
            "start_logits": outputs["start_logits"],
            "end_logits": outputs["end_logits"],
            "start": start,
            "end": end,
            "score": score,
            # SQuAD 2.0 models: no answer when null_score - score > a threshold (0 by default)
            "null_score": outputs["start_logits"][:, 0] + outputs["end_logits"][:, 0],
        }

    def text_outputs(self, result, token_ids, tokenizer):
        import tensorflow as tf

        length = tf.maximum(result["end"] - result["start"] + 1, 0)
        seq = tf.shape(token_ids)[1]
        index = tf.minimum(tf.range(seq)[None] + result["start"][:, None], seq - 1)
        shifted = tf.gather(token_ids, index, batch_dims=1)  # each span starts at column 0
        span = tf.RaggedTensor.from_tensor(shifted, lengths=length)
        return {"answer": tokenizer.detokenize(span)}


TASK = QuestionAnswering()
