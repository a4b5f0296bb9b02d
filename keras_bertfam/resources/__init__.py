"""Data shipped inside the package (see NOTICE.md for sources and licences)."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
PYDOCS_CORPUS = RESOURCES / "pydocs-corpus.txt.gz"
