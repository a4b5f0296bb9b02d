"""Read a text corpus as documents of sentences, counting everything skipped.

Two input formats:

- "bert": the format of BERT's `create_pretraining_data.py`: one sentence per
  line, a blank line between documents;
- "plain": ordinary text; a document is a whole file (`documents="file"`) or a
  blank-line separated block (`documents="block"`); it is split into sentences
  after ". ", "! " and "? ".

Files ending in `.gz` are read through gzip; a truncated or corrupt one raises
`CorpusError` naming the file and the line reached.

Nothing is dropped silently: lines that are not valid UTF-8 are skipped (as the
original script's `decode("utf-8", "ignore")` would have mangled them) and,
with empty documents, counted in `CorpusStats`.

Example:

>>> import tempfile, os
>>> from keras_bertfam.data.corpus import read_documents, CorpusStats
>>> path = os.path.join(tempfile.mkdtemp(), "c.txt")
>>> _ = open(path, "wb").write(b"First one.\\nSecond one.\\n\\n\\nOther doc.\\nbad \\xff line\\n")
>>> stats = CorpusStats()
>>> list(read_documents([path], stats=stats))
[['First one.', 'Second one.'], ['Other doc.']]
>>> stats.documents, stats.sentences, stats.invalid_utf8_lines
(2, 3, 1)
"""

from __future__ import annotations

import dataclasses
import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from keras_bertfam.errors import InputError
from keras_bertfam.kinds import CORPUS_FORMATS, DOCUMENT_MODES

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


class CorpusError(InputError):
    """The corpus is missing or holds no usable text."""


@dataclasses.dataclass
class CorpusStats:
    """What reading a corpus found and what it skipped."""

    files: int = 0
    documents: int = 0
    sentences: int = 0
    empty_documents: int = 0
    invalid_utf8_lines: int = 0

    def report(self) -> str:
        return (
            f"{self.files} file(s), {self.documents} documents, {self.sentences} sentences; "
            f"skipped: {self.invalid_utf8_lines} non-UTF-8 line(s), "
            f"{self.empty_documents} empty document(s)"
        )


def check_files(paths: Iterable[str | Path], what: str = "corpus file") -> list[Path]:
    """`paths` as `Path`s, or a `CorpusError` naming the first that is missing or a folder."""
    checked = []
    for path in map(Path, paths):
        if path.is_dir():
            raise CorpusError(f"{what} {str(path)!r} is a directory, not a file")
        if not path.is_file():
            raise CorpusError(f"{what} {str(path)!r} does not exist")
        checked.append(path)
    return checked


def _lines(path: Path, stats: CorpusStats) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    line = 0
    try:
        with opener(path, "rb") as handle:
            for raw in handle:
                line += 1
                try:
                    yield raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    stats.invalid_utf8_lines += 1
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        where = f"after line {line}" if line else "before its first line"
        raise CorpusError(
            f"corpus file {str(path)!r} is a truncated or corrupt gzip file ({where}): "
            f"{err or type(err).__name__}"
        ) from None
    except OSError as err:
        raise CorpusError(f"cannot read corpus file {str(path)!r}: {err}") from None


def _split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]


def read_documents(
    paths: Iterable[str | Path],
    format: str = "bert",
    documents: str = "block",
    stats: CorpusStats | None = None,
) -> Iterator[list[str]]:
    """Yield documents (lists of sentences) from `paths`, streaming line by line.

    Args:
        paths: text files.
        format: "bert" (a sentence per line) or "plain" (free text, split into sentences).
        documents: for "plain": "block" (blank-line separated) or "file".
        stats: a `CorpusStats` to update with counts of what was read and skipped.
    """
    if format not in CORPUS_FORMATS:
        raise CorpusError(f"format={format!r} is not one of ['bert', 'plain']")
    if documents not in DOCUMENT_MODES:
        raise CorpusError(f"documents={documents!r} is not one of ['block', 'file']")
    stats = stats if stats is not None else CorpusStats()
    if isinstance(paths, (str, Path)):
        paths = [paths]
    for path in check_files(list(paths)):  # all checked before the first is read
        stats.files += 1
        current: list[str] = []

        def finish(doc):
            sentences = doc if format == "bert" else _split_sentences(" ".join(doc))
            if not sentences:
                stats.empty_documents += 1
                return None
            stats.documents += 1
            stats.sentences += len(sentences)
            return sentences

        for line in _lines(path, stats):
            if line:
                current.append(line)
            elif current and not (format == "plain" and documents == "file"):
                done = finish(current)
                current = []
                if done:
                    yield done
        if current:
            done = finish(current)
            if done:
                yield done
