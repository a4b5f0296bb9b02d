"""Reading task files: bytes (gzip too), UTF-8 text, lines, JSON Lines, TSV cells, labels.

Every task's reader builds on these, so every task file gets the same checks and
the same messages: a missing file, a directory, a truncated gzip, text that is
not UTF-8 (with its line), a line that is not a JSON object, a label the model
does not know.

Example:

>>> import tempfile, os
>>> from keras_bertfam.tasks.files import cells, label_index, lines
>>> path = os.path.join(tempfile.mkdtemp(), "t.tsv")
>>> _ = open(path, "w").write('pos\\t"a ""b"" c"\\nneg\\tplain "text\\n')
>>> [cells(line) for line in lines(path)]
[['pos', 'a "b" c'], ['neg', 'plain "text']]
>>> label_index(["b", "a", "b"])
(['a', 'b'], array([1, 0, 1], dtype=int32))
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from keras_bertfam.errors import InputError


class TaskDataError(InputError):
    """A fine-tuning file is missing, malformed, or holds a label the model does not know."""


_QUOTED_CELL = re.compile(r'"(?:[^"]|"")*"')


def read_bytes(path) -> bytes:
    """The bytes of a task file (gunzipped for `.gz`), or a `TaskDataError` saying why not."""
    path = Path(path)
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
        lines_read = out.count(b"\n")
        raise TaskDataError(
            f"data file {str(path)!r} is a truncated or corrupt gzip file "
            f"(after line {lines_read}): {err or type(err).__name__}"
        ) from None
    return bytes(out)


def text(path) -> str:
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise TaskDataError(f"{path}:{line}: not UTF-8 ({err.reason})") from None


def lines(path) -> list[str]:
    """The lines of a task file, split at newlines only (a U+2028 inside a text stays)."""
    found = text(Path(path)).split("\n")
    if found and found[-1] == "":
        found.pop()
    return [line[:-1] if line.endswith("\r") else line for line in found]


def kind(path) -> str:
    """The file's format suffix, looking through a `.gz`: `.tsv.gz` -> `.tsv`."""
    path = Path(path)
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def cells(line: str) -> list[str]:
    """A TSV line's cells: split at every tab, no quoting; a cell that is one whole
    CSV-quoted field (`"..."`, inner quotes doubled, as spreadsheets and pandas write
    them) is unquoted."""
    return [
        cell[1:-1].replace('""', '"') if _QUOTED_CELL.fullmatch(cell) else cell
        for cell in line.split("\t")
    ]


def json_lines(path):
    """(line number, object) for every non-empty line of a JSON Lines file."""
    for n, line in enumerate(lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise TaskDataError(f"{path}:{n}: not valid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise TaskDataError(f"{path}:{n}: expected a JSON object")
        yield n, record


def nonempty(path, rows):
    if not rows:
        raise TaskDataError(f"data file {str(path)!r} holds no examples")
    return rows


def label_index(labels: list[str], known=None, path="data") -> tuple[list[str], np.ndarray]:
    """Label names (sorted, or `known`) and the int32 index of each label."""
    names = list(known) if known is not None else sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise TaskDataError(f"{path}: label(s) {unknown} are not among the model's {names}")
    return names, np.array([index[label] for label in labels], np.int32)


def counts(values) -> dict:
    """`{value: count}`, in sorted order of the values."""
    return dict(sorted(Counter(values).items()))


def tokenize_texts(tokenizer, texts: list[str], chunk: int = 2048) -> list[list[int]]:
    """Token ids of many texts, tokenized in batches in the graph."""
    ids = []
    for start in range(0, len(texts), chunk):
        ids += tokenizer.tokenize(texts[start : start + chunk]).to_list()
    return ids
