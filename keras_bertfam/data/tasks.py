"""Fine-tuning data: read task files, pack token ids, and batch them by length.

Files (any of them may be gzip-compressed, `.gz`):

- classification: TSV `label<TAB>text` or `label<TAB>text_a<TAB>text_b` (pairs,
  the same number of columns on every row), or JSON Lines with `text` (and
  `text_b`) and `label`. TSV is read as GLUE-style files define it: one row per
  line, cells split at every tab, no quoting (as `csv.QUOTE_NONE`: a `"` is part
  of the text and never joins lines); only a cell that is wholly one CSV-quoted
  field (`"..."` with inner quotes doubled, as spreadsheets and pandas write it)
  is unquoted. The first row is a header when `header="yes"`, or with
  `header="auto"` when its first cell is `label` or its label occurs nowhere else
  in the file (see `read_classification`).
- token classification: JSON Lines with `tokens` (words) and `tags` (one per word).
- question answering: SQuAD JSON (`data[].paragraphs[].qas[]`), v1.1 or v2.0.
- multiple choice: JSON Lines with `question` (or `context`), `choices` and `label` (index).

Packing is BERT's: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, the longer side
trimmed first, segment ids 0 then 1. Batches are bucketed by length and padded
only to their bucket's bound (16, 32, 64, ... up to `max_sequence_length`), so
short texts do not pay for the longest ones and a compiled step sees a handful
of shapes. `bucketing=False` pads every batch to `max_sequence_length`, the
usual recipe, for comparison.

Example:

>>> from keras_bertfam.data.tasks import pack
>>> pack([[7, 8, 9], [4, 5]], max_length=6, cls=1, sep=2)
([1, 7, 8, 2, 4, 2], [0, 0, 0, 0, 1, 1])
"""

from __future__ import annotations

import gzip
import io
import json
import re
import string
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from keras_bertfam.errors import InputError


class TaskDataError(InputError):
    """A fine-tuning file is missing, malformed, or holds a label the model does not know."""


# -- reading -------------------------------------------------------------------------

HEADER_CHOICES = ("auto", "yes", "no")
_QUOTED_CELL = re.compile(r'"(?:[^"]|"")*"')


def _read_bytes(path: Path) -> bytes:
    """The bytes of a task file (gunzipped for `.gz`), or a `TaskDataError` saying why not."""
    if path.is_dir():
        raise TaskDataError(f"data file {str(path)!r} is a directory, not a file")
    if not path.is_file():
        raise TaskDataError(f"data file {str(path)!r} does not exist")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise TaskDataError(f"cannot read data file {str(path)!r}: {err}") from None
    if path.suffix != ".gz":
        return data
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            while chunk := handle.read(1 << 20):
                out += chunk
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        lines = out.count(b"\n")
        raise TaskDataError(
            f"data file {str(path)!r} is a truncated or corrupt gzip file "
            f"(after line {lines}): {err or type(err).__name__}"
        ) from None
    return bytes(out)


def _text(path: Path) -> str:
    data = _read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise TaskDataError(f"{path}:{line}: not UTF-8 ({err.reason})") from None


def _lines(path) -> list[str]:
    """The lines of a task file, split at newlines only (a U+2028 inside a text stays)."""
    lines = _text(Path(path)).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _kind(path: Path) -> str:
    """The file's format suffix, looking through a `.gz`: `.tsv.gz` -> `.tsv`."""
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def _cells(line: str) -> list[str]:
    """A TSV line's cells: split at every tab, no quoting; a cell that is one whole
    CSV-quoted field (`"..."`, inner quotes doubled, as spreadsheets and pandas write
    them) is unquoted."""
    return [
        cell[1:-1].replace('""', '"') if _QUOTED_CELL.fullmatch(cell) else cell
        for cell in line.split("\t")
    ]


def read_classification(path, header: str = "auto", labels=None) -> list[dict]:
    """Rows `{"texts": (a,) or (a, b), "label": str, "line": n}` from a TSV or JSONL file.

    TSV is read as GLUE-style files are defined: tab-separated, one row per line, no
    quoting (a `"` is text; only a cell that is wholly one CSV-quoted field is
    unquoted). `header`: "yes" (the first row is a header), "no" or "auto": the first
    row is a header when its first cell is `label`, or when its label cell occurs
    nowhere else in the label column while other labels repeat (with `labels`, the
    known class names: when it is not one of them either).
    """
    return _read_classification(Path(path), header, labels)[0]


def _read_classification(path: Path, header: str, known=None) -> tuple[list[dict], bool]:
    if header not in HEADER_CHOICES:
        raise InputError(f"header={header!r} is not one of {list(HEADER_CHOICES)}")
    if _kind(path) in (".jsonl", ".json"):
        rows, first = [], None
        for n, record in _json_lines(path):
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
        return _nonempty(path, rows), False
    table = [(n, _cells(line)) for n, line in enumerate(_lines(path), start=1) if line.strip()]
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
    return _nonempty(path, rows), skip


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


def _nonempty(path, rows):
    if not rows:
        raise TaskDataError(f"data file {str(path)!r} holds no examples")
    return rows


def _json_lines(path: Path):
    for n, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise TaskDataError(f"{path}:{n}: not valid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise TaskDataError(f"{path}:{n}: expected a JSON object")
        yield n, record


def read_token_classification(path) -> list[dict]:
    """Rows `{"words": [...], "tags": [...], "line": n}` from JSON Lines."""
    rows = []
    for n, record in _json_lines(Path(path)):
        words, tags = record.get("tokens"), record.get("tags")
        if not isinstance(words, list) or not words or not isinstance(tags, list):
            raise TaskDataError(f"{path}:{n}: needs non-empty 'tokens' and 'tags' lists")
        if len(words) != len(tags):
            raise TaskDataError(f"{path}:{n}: {len(words)} tokens but {len(tags)} tags")
        rows.append({"words": [str(w) for w in words], "tags": [str(t) for t in tags], "line": n})
    return _nonempty(path, rows)


def read_multiple_choice(path) -> list[dict]:
    """Rows `{"context": str, "choices": [...], "label": int, "line": n}` from JSON Lines."""
    rows = []
    for n, record in _json_lines(Path(path)):
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
    return _nonempty(path, rows)


def read_squad(path) -> list[dict]:
    """SQuAD questions `{"id", "question", "context", "answers": [(text, start)], ...}`.

    A missing or malformed field raises `TaskDataError` naming where it is, as
    `data[a].paragraphs[p].qas[q]` (with the question's id once it is known).
    """
    path = Path(path)
    try:
        spec = json.loads(_text(path))
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
    return _nonempty(path, rows)


# -- packing -------------------------------------------------------------------------


def pack(segments: list[list[int]], max_length: int, cls: int, sep: int):
    """`[CLS] a [SEP] (b [SEP])`, trimming the longest segment first; (ids, segment ids)."""
    segments = [list(s) for s in segments]
    budget = max_length - 1 - len(segments)
    if budget < len(segments):
        raise InputError(f"max_sequence_length={max_length} leaves no room for the text")
    while sum(map(len, segments)) > budget:
        # the longest loses a token; on a tie the later one (as BERT's _truncate_seq_pair)
        longest = max(reversed(range(len(segments))), key=lambda i: len(segments[i]))
        segments[longest].pop()
    ids, types = [cls], [0]
    for index, segment in enumerate(segments):
        ids += [*segment, sep]
        types += [index] * (len(segment) + 1)
    return ids, types


def tokenize_texts(tokenizer, texts: list[str], chunk: int = 2048) -> list[list[int]]:
    """Token ids of many texts, tokenized in batches in the graph."""
    ids = []
    for start in range(0, len(texts), chunk):
        ids += tokenizer.tokenize(texts[start : start + chunk]).to_list()
    return ids


def label_index(labels: list[str], known=None, path="data") -> tuple[list[str], np.ndarray]:
    """Label names (sorted, or `known`) and the int32 index of each label."""
    names = list(known) if known is not None else sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise TaskDataError(f"{path}: label(s) {unknown} are not among the model's {names}")
    return names, np.array([index[label] for label in labels], np.int32)


def encode_classification(rows, tokenizer, max_length: int):
    """Packed (ids, segment ids) lists of classification rows."""
    special = tokenizer.require_special("cls", "sep")
    columns = max(len(r["texts"]) for r in rows)
    if any(len(r["texts"]) != columns for r in rows):
        raise TaskDataError("every row must have the same number of texts (1 or 2)")
    pieces = [tokenize_texts(tokenizer, [r["texts"][c] for r in rows]) for c in range(columns)]
    packed = [pack([p[i] for p in pieces], max_length, special["cls"], special["sep"])
              for i in range(len(rows))]  # fmt: skip
    return [p[0] for p in packed], [p[1] for p in packed]


def encode_token_classification(rows, tokenizer, max_length: int, tag_ids: np.ndarray):
    """(ids, segment ids, per-token labels, per-token weights): the first piece of each word
    carries its tag, the others (and [CLS]/[SEP]) weight 0."""
    special = tokenizer.require_special("cls", "sep", "unk")
    words = [w for r in rows for w in r["words"]]
    pieces = tokenize_texts(tokenizer, words)
    ids, types, labels, weights = [], [], [], []
    cursor = tag_cursor = 0
    for row in rows:
        row_ids, row_labels, row_weights = [special["cls"]], [0], [0.0]
        for _ in row["words"]:
            word = pieces[cursor] or [special["unk"]]
            tag = int(tag_ids[tag_cursor])
            cursor, tag_cursor = cursor + 1, tag_cursor + 1
            if len(row_ids) + len(word) > max_length - 1:
                continue  # words beyond the length are dropped (and not scored)
            row_ids += word
            row_labels += [tag] + [0] * (len(word) - 1)
            row_weights += [1.0] + [0.0] * (len(word) - 1)
        ids.append([*row_ids, special["sep"]])
        types.append([0] * (len(row_ids) + 1))
        labels.append([*row_labels, 0])
        weights.append([*row_weights, 0.0])
    return ids, types, labels, weights


def encode_multiple_choice(rows, tokenizer, max_length: int):
    """[example][choice] packed ids and segment ids of (question, choice) pairs."""
    special = tokenizer.require_special("cls", "sep")
    contexts = tokenize_texts(tokenizer, [r["context"] for r in rows])
    choices = tokenize_texts(tokenizer, [c for r in rows for c in r["choices"]])
    ids, types, cursor = [], [], 0
    for row, context in zip(rows, contexts, strict=True):
        packed = [pack([context, choices[cursor + k]], max_length, special["cls"], special["sep"])
                  for k in range(len(row["choices"]))]  # fmt: skip
        cursor += len(row["choices"])
        ids.append([p[0] for p in packed])
        types.append([p[1] for p in packed])
    return ids, types


# -- question answering --------------------------------------------------------------


def _words(context: str):
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


def encode_squad(rows, tokenizer, max_length: int = 384, stride: int = 128, max_query: int = 64):
    """Windows over each context (BERT's run_squad): features and the maps back to words.

    Returns a dict of lists: ids, types, start, end (token positions of the
    answer in the window, 0 = [CLS] when it is outside), example (row index),
    token_to_word (word index per token, -1 outside the context).
    """
    special = tokenizer.require_special("cls", "sep")
    questions = tokenize_texts(tokenizer, [r["question"] for r in rows])
    contexts = [_words(r["context"]) for r in rows]
    word_pieces = tokenize_texts(tokenizer, [w for words, _ in contexts for w in words])
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
        span = None
        if row["answers"]:
            text, start_char = row["answers"][0]
            first_word = char_to_word[start_char]
            last_word = char_to_word[start_char + len(text) - 1]
            last_token = (
                (word_first[last_word + 1] - 1) if last_word + 1 < len(words) else len(tokens) - 1
            )
            span = (word_first[first_word], last_token)  # fmt: skip
        room = max_length - len(question) - 3
        if room < 1:
            raise InputError(
                f"max_sequence_length={max_length} leaves no room for the context after a "
                f"question of {len(question)} tokens"
            )
        window_start = 0
        while True:
            window = range(window_start, min(window_start + room, len(tokens)))
            offset = len(question) + 2
            ids = [special["cls"], *question, special["sep"]]
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


def best_spans(rows, features, start_logits, end_logits, max_answer_tokens: int = 30,
               null_threshold: float | None = None) -> dict:  # fmt: skip
    """SQuAD predictions `{id: answer text}`: the best start <= end span in the context.

    `null_threshold=None` (SQuAD 1.1) always answers. A number (SQuAD 2.0, as
    BERT's run_squad): the question gets "" (no answer) when its null score,
    start + end logit at [CLS] taken at its lowest over the windows, beats the
    best span's score by more than `null_threshold`.
    """
    best, null = {}, {}
    for f, index in enumerate(features["example"]):
        to_word = features["token_to_word"][f]
        starts, ends = start_logits[f], end_logits[f]
        null[index] = min(null.get(index, np.inf), float(starts[0] + ends[0]))
        top_starts = np.argsort(starts[: len(to_word)])[::-1][:20]
        top_ends = np.argsort(ends[: len(to_word)])[::-1][:20]
        for s in top_starts:
            for e in top_ends:
                if to_word[s] < 0 or to_word[e] < 0 or e < s or e - s + 1 > max_answer_tokens:
                    continue
                score = float(starts[s] + ends[e])
                if index not in best or score > best[index][0]:
                    best[index] = (score, to_word[s], to_word[e])
    predictions = {}
    for index, row in enumerate(rows):
        answered = index in best and (
            null_threshold is None or null[index] - best[index][0] <= null_threshold
        )
        if answered:
            words, _ = _words(row["context"])
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


# -- batching ------------------------------------------------------------------------


def bucket_bounds(max_length: int) -> list[int]:
    """Padded lengths of the buckets: 16, 32, 64, ... and `max_length`."""
    bounds, length = [], 16
    while length < max_length:
        bounds.append(length)
        length *= 2
    return [*bounds, max_length]


def batches(
    features: dict,
    targets,
    batch_size: int,
    max_length: int,
    pad_id: int = 0,
    bucketing: bool = True,
    shuffle: bool = False,
    seed: int = 0,
):
    """A `tf.data.Dataset` of (inputs, targets[, sample weights]) batches.

    Args:
        features: `{"token_ids": [[...]], "segment_ids": [[...]]}` ragged lists
            (or one more level for multiple choice: [example][choice][token]).
        targets: a dict of per-example arrays or ragged lists (keys = model
            outputs), or a (targets, sample_weights) pair of such dicts.
        bucketing: pad each batch to its length bucket (True) or to `max_length`.
    """
    import tensorflow as tf

    def ragged(values, dtype):
        if isinstance(values, np.ndarray):
            return values
        return tf.ragged.constant(values, dtype=dtype)

    weights = None
    if isinstance(targets, tuple):
        targets, weights = targets
    x = {k: ragged(v, tf.int32) for k, v in features.items()}
    y = {k: ragged(v, tf.float32 if np.asarray(v[0]).dtype.kind == "f" else tf.int32)
         for k, v in targets.items()}  # fmt: skip
    parts = (x, y)
    if weights is not None:
        parts = (x, y, {k: ragged(v, tf.float32) for k, v in weights.items()})
    dataset = tf.data.Dataset.from_tensor_slices(parts)

    def dense(*element):
        element = tf.nest.map_structure(
            lambda t: t.to_tensor() if isinstance(t, tf.RaggedTensor) else t, element
        )
        element[0]["padding_mask"] = tf.ones_like(element[0]["token_ids"])
        return element

    dataset = dataset.map(dense)
    if shuffle:
        dataset = dataset.shuffle(min(len(features["token_ids"]), 20_000), seed=seed)
    padding_values = tf.nest.map_structure(lambda s: tf.zeros((), s.dtype), dataset.element_spec)
    padding_values[0]["token_ids"] = tf.constant(pad_id, tf.int32)
    # Bucketing hides the number of batches from tf.data; it follows from the lengths, and a
    # known cardinality lets Keras see where an epoch ends.
    count = tf.data.experimental.assert_cardinality(
        batch_count(features["token_ids"], batch_size, max_length, bucketing)
    )
    if not bucketing:
        shapes = tf.nest.map_structure(
            lambda spec: [max_length if d is None else d for d in spec.shape], dataset.element_spec
        )
        return dataset.padded_batch(batch_size, shapes, padding_values).apply(count).prefetch(2)
    bounds = bucket_bounds(max_length)
    return (
        dataset.bucket_by_sequence_length(
            lambda x, *_: tf.shape(x["token_ids"])[-1],
            bucket_boundaries=[b + 1 for b in bounds[:-1]],
            bucket_batch_sizes=[batch_size] * len(bounds),
            padding_values=padding_values,
            pad_to_bucket_boundary=False,
        )
        .map(lambda *e: _pad_to_bound(e, bounds, pad_id))
        .apply(count)
        .prefetch(2)
    )


def batch_count(token_ids, batch_size: int, max_length: int, bucketing: bool = True) -> int:
    """How many batches `batches` yields: each length bucket ends with one partial batch."""
    if not bucketing:
        return -(-len(token_ids) // batch_size)
    bounds = bucket_bounds(max_length)
    sizes = [0] * len(bounds)
    for ids in token_ids:  # multiple choice: the longest choice decides the bucket
        length = max(map(len, ids)) if ids and isinstance(ids[0], list) else len(ids)
        sizes[next((i for i, b in enumerate(bounds) if length <= b), len(bounds) - 1)] += 1
    return sum(-(-n // batch_size) for n in sizes)


def _pad_to_bound(element, bounds, pad_id):
    """Pad a bucketed batch's sequence axis up to its bucket bound (few shapes for XLA)."""
    import tensorflow as tf

    length = tf.shape(element[0]["token_ids"])[-1]
    bound = tf.reduce_min(tf.boolean_mask(tf.constant(bounds), tf.constant(bounds) >= length))

    def pad(t, value):
        if t.shape.rank < 2:
            return t
        extra = bound - tf.shape(t)[-1]
        paddings = [[0, 0]] * (t.shape.rank - 1) + [[0, extra]]
        return tf.pad(t, paddings, constant_values=tf.cast(value, t.dtype))

    x = dict(element[0])
    x = {k: pad(v, pad_id if k == "token_ids" else 0) for k, v in x.items()}
    rest = [tf.nest.map_structure(lambda t: pad(t, 0), part) for part in element[1:]]
    return (x, *rest)


# -- one entry point per task --------------------------------------------------------

TASK_READERS = {
    "classification": read_classification,
    "token_classification": read_token_classification,
    "question_answering": read_squad,
    "multiple_choice": read_multiple_choice,
}


def prepare(
    task: str,
    path,
    tokenizer,
    max_length: int,
    labels=None,
    doc_stride: int = 128,
    header: str = "auto",
):
    """Read and encode a task file.

    Returns a dict with `rows` (as read), `features` ({token_ids, segment_ids}
    ragged lists), `targets` (a dict keyed by model output, or a (targets,
    sample_weights) pair), `labels` (class names, or None), `summary` (what was
    read, to show the user) and, for QA, `windows` (the maps back from windows to
    words) and `squad_v2` (whether some questions have no answer).

    `summary` is `{"path", "rows": examples read, "header": whether a header row was
    skipped, "labels": {label: count}}`; token classification counts tags, question
    answering counts questions with and without an answer and adds `windows`,
    multiple choice counts the right choice's index and adds `choices` (per question).
    `header` ("auto", "yes", "no") is for classification TSV files, see
    `read_classification`; JSON formats have none.
    """
    if task not in TASK_READERS:
        raise InputError(f"task={task!r} is not one of {list(TASK_READERS)}")
    if header not in HEADER_CHOICES:
        raise InputError(f"header={header!r} is not one of {list(HEADER_CHOICES)}")
    path = Path(path)
    skipped_header = False
    if task == "classification":
        rows, skipped_header = _read_classification(path, header, labels)
    else:
        rows = TASK_READERS[task](path)
    result = {"rows": rows, "labels": None}
    summary = {"path": str(path), "rows": len(rows), "header": skipped_header}
    if task == "classification":
        names, y = label_index([r["label"] for r in rows], labels, path)
        ids, types = encode_classification(rows, tokenizer, max_length)
        result.update(labels=names, targets={"logits": y})
        summary["labels"] = _counts(r["label"] for r in rows)
    elif task == "token_classification":
        names, tags = label_index([t for r in rows for t in r["tags"]], labels, path)
        ids, types, y, w = encode_token_classification(rows, tokenizer, max_length, tags)
        result.update(labels=names, targets=({"logits": y}, {"logits": w}))
        summary["labels"] = _counts(t for r in rows for t in r["tags"])
    elif task == "multiple_choice":
        counts = {len(r["choices"]) for r in rows}
        if len(counts) != 1:
            first = rows[0]
            odd = next(r for r in rows if len(r["choices"]) != len(first["choices"]))
            raise TaskDataError(
                f"{path}:{odd['line']}: {len(odd['choices'])} choices, but line {first['line']} "
                f"has {len(first['choices'])}: every question needs the same number"
            )
        ids, types = encode_multiple_choice(rows, tokenizer, max_length)
        result.update(targets={"logits": np.array([r["label"] for r in rows], np.int32)})
        summary.update(labels=_counts(r["label"] for r in rows), choices=counts.pop())
    else:
        windows = encode_squad(rows, tokenizer, max_length, doc_stride)
        ids, types = windows["ids"], windows["types"]
        result.update(
            windows=windows,
            squad_v2=not all(r["answers"] for r in rows),  # has unanswerable questions
            targets={
                "start_logits": np.array(windows["start"], np.int32),
                "end_logits": np.array(windows["end"], np.int32),
            },
        )
        answered = sum(1 for r in rows if r["answers"])
        summary.update(
            labels={"has_answer": answered, "no_answer": len(rows) - answered},
            windows=len(windows["ids"]),
        )
    result["features"] = {"token_ids": ids, "segment_ids": types}
    result["summary"] = summary
    return result


def _counts(values) -> dict:
    """`{value: count}`, in sorted order of the values."""
    return dict(sorted(Counter(values).items()))
