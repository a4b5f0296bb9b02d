"""Data shipped inside the package (see NOTICE.md for sources and licences)."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
PYDOCS_CORPUS = RESOURCES / "pydocs-corpus.txt.gz"
FORTUNES_TRAIN = RESOURCES / "fortunes-topics-train.tsv.gz"
FORTUNES_DEV = RESOURCES / "fortunes-topics-dev.tsv.gz"
