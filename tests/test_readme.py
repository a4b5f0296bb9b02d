"""The README's code blocks run as a newcomer would run them, in order, on tiny real inputs.

A block is skipped only when the line before it is `<!-- illustrative -->` (setup
commands, a Docker server). Bash blocks hold `bertfam` commands, each run through the
command's `main` and required to succeed; Python blocks are executed. Placeholders of
the README are the files of this sandbox: `corpus.txt` (documents of the bundled
corpus), `train.tsv` / `dev.tsv` (rows of the bundled fortunes topics) and
`path/to/all-MiniLM-L6-v2` (the real checkpoint).
"""

from __future__ import annotations

import gzip
import re
import shlex
from pathlib import Path

import pytest

from keras_bertfam.cli import main
from keras_bertfam.resources import FORTUNES_DEV, FORTUNES_TRAIN, PYDOCS_CORPUS
from tests.data_fixtures import minilm_dir

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"```(bash|python)\n(.*?)\n```", re.S)
ILLUSTRATIVE = "<!-- illustrative -->"


def readme_blocks() -> list[tuple[str, str, bool]]:
    """(language, code, illustrative) of every bash and python block, in order."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        blocks.append((match.group(1), match.group(2), bool(before) and before[-1] == ILLUSTRATIVE))
    return blocks


def commands(code: str) -> list[list[str]]:
    """The commands of a bash block: continuation lines joined, comments dropped."""
    joined = code.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines()
            if shlex.split(line, comments=True)]  # fmt: skip


def _sandbox(folder: Path):
    with gzip.open(PYDOCS_CORPUS, "rt", encoding="utf-8") as handle:
        documents = [d for d in handle.read().split("\n\n") if d.strip()][:60]
    (folder / "corpus.txt").write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    with gzip.open(FORTUNES_TRAIN, "rt", encoding="utf-8") as handle:
        header, *train = handle.read().splitlines()
    with gzip.open(FORTUNES_DEV, "rt", encoding="utf-8") as handle:
        dev = handle.read().splitlines()[1:]
    train = train[:96]
    labels = {row.split("\t")[0] for row in train}
    dev = [row for row in dev if row.split("\t")[0] in labels][:48]  # labels the model knows
    for name, rows in (("train.tsv", train), ("dev.tsv", dev)):
        (folder / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def test_every_block_is_runnable_or_marked_illustrative():
    blocks = readme_blocks()
    assert len([b for b in blocks if not b[2]]) >= 10
    for language, code, illustrative in blocks:
        if language == "bash" and not illustrative:
            assert all(c[0] == "bertfam" for c in commands(code)), code


def test_the_readme_runs(tmp_path, monkeypatch):
    _sandbox(tmp_path)
    monkeypatch.chdir(tmp_path)
    checkpoint = str(minilm_dir())
    for index, (language, code, illustrative) in enumerate(readme_blocks()):
        if illustrative:
            continue
        code = code.replace("path/to/all-MiniLM-L6-v2", checkpoint)
        where = f"README block {index} ({language}):\n{code}"
        if language == "python":
            exec(compile(code, f"README block {index}", "exec"), {"__name__": "readme"})
            continue
        for command in commands(code):
            code_ = main(command[1:])
            assert code_ == 0, f"{where}\nexit code {code_} for {' '.join(command)}"
    assert (tmp_path / "saved_models" / "topics" / "1" / "saved_model.pb").is_file()


@pytest.mark.parametrize("name", ["docs/architecture.md", "CHANGELOG.md", "docs/benchmarks.md"])
def test_the_documents_the_readme_links_exist(name):
    assert (README.parent / name).is_file()
    assert name.split("/")[-1] in README.read_text() or name == "docs/benchmarks.md"
