"""Tiny real runs for the reliability tests: a slice of the bundled corpus, MiniLM's vocab."""

from __future__ import annotations

import gzip
from pathlib import Path

from keras_bertfam.resources import PYDOCS_CORPUS
from tests.data_fixtures import minilm_dir

# A model small enough that a step takes milliseconds, on the real WordPiece vocabulary.
MODEL_FLAGS = [
    "--preset", "bert_tiny",
    "--set", "num_layers=1", "--set", "hidden_dim=32", "--set", "num_heads=2",
    "--set", "intermediate_dim=64", "--set", "max_sequence_length=32",
]  # fmt: skip


def corpus_slice(folder: Path, documents: int = 40) -> Path:
    """The first `documents` documents of the bundled corpus, as a BERT-format file."""
    with gzip.open(PYDOCS_CORPUS, "rt", encoding="utf-8") as handle:
        docs = [d for d in handle.read().split("\n\n") if d.strip()][:documents]
    path = Path(folder) / "corpus.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return path


def pretrain_args(corpus: Path, out: Path, *extra: str, steps: int = 4) -> list[str]:
    """`bertfam pretrain` arguments for a few fast steps from text."""
    return [
        "pretrain", *MODEL_FLAGS,
        "--corpus", str(corpus), "--tokenizer", str(minilm_dir() / "vocab.txt"),
        "--seq-length", "32", "--out", str(out), "--steps", str(steps), "--batch-size", "4",
        "--checkpoint-every", "2", "--warmup-steps", "0", "--no-jit", *extra,
    ]  # fmt: skip
