"""`load_model`: a `.keras` file written by keras_bertfam (or a folder holding one) -> a model.

Every `.keras` file keras_bertfam writes (`bertfam pretrain`, `finetune`,
`convert`, or `model.save` of a built model, compiled with the recipe's
optimizer and schedule or not) loads with `keras.saving.load_model` once
`keras_bertfam` is imported; `load_model` adds clear errors, naming the path,
for what can go wrong with a file: missing, a folder without `model.keras`,
truncated or corrupt. Keras' safe mode stays on (no Python lambdas are loaded).

Example:

>>> import tempfile, keras_bertfam as bf
>>> folder = tempfile.mkdtemp()
>>> bf.build_encoder("bert_tiny", num_layers=1).save(f"{folder}/model.keras")
>>> sorted(bf.load_model(folder).output)
['pooled_output', 'sequence_output']
>>> bf.load_model(f"{folder}/nothing.keras")
Traceback (most recent call last):
...
keras_bertfam.errors.MissingInputError: model file '.../nothing.keras' does not exist
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from keras_bertfam.errors import MissingInputError

MODEL_FILE = "model.keras"


def model_file(path) -> Path:
    """The `.keras` file that `path` names: the file itself, or `path/model.keras`."""
    path = Path(path)
    if path.is_dir():
        file = path / MODEL_FILE
        if not file.is_file():
            raise MissingInputError(
                f"folder {str(path)!r} holds no {MODEL_FILE}: not a keras_bertfam model "
                "folder (pretrain, finetune and convert write one)"
            )
        return file
    if not path.exists():
        raise MissingInputError(f"model file {str(path)!r} does not exist")
    if path.suffix != ".keras":
        from keras_bertfam.convert.checkpoint import CheckpointError

        raise CheckpointError(
            f"{str(path)!r} is not a .keras file; pass a .keras file or a folder "
            f"holding {MODEL_FILE}"
        )
    return path


def load_model(path, compile: bool = True):
    """Load a keras_bertfam model saved as `.keras`.

    Args:
        path: a `.keras` file, or a folder holding `model.keras` (what
            `bertfam pretrain`, `finetune` and `convert` write).
        compile: restore the optimizer, losses and metrics a compiled model
            was saved with (`keras.saving.load_model`'s argument).

    Returns:
        The model (a `keras_bertfam.BertfamModel`, or a plain functional
        `keras.Model` for files written by earlier releases).

    Raises:
        MissingInputError: the path does not exist, or the folder holds no
            `model.keras`.
        CheckpointError: the file is not a readable `.keras` archive
            (truncated, corrupt) or does not describe a model Keras can build.
    """
    import keras

    import keras_bertfam
    from keras_bertfam.convert.checkpoint import CheckpointError

    keras_bertfam.register_keras_objects(keras)
    file = model_file(path)
    if not zipfile.is_zipfile(file):
        raise CheckpointError(
            f"{str(file)!r} is not a .keras archive (a zip file): it is truncated or corrupt"
        )
    try:
        return keras.saving.load_model(file, compile=compile, safe_mode=True)
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(
            f"{str(file)!r} cannot be read as a .keras model (truncated or corrupt?): {err}"
        ) from err
    except (ValueError, TypeError) as err:
        backend = compiled_on_another_backend(err)
        if compile and backend:
            import warnings

            warnings.warn(
                f"{file}: its optimizer was saved by Keras' {backend} backend, which this "
                f"backend ({keras.backend.backend()}) cannot rebuild; the model is loaded "
                "without its compile state (weights and outputs unchanged): compile it again",
                stacklevel=2,
            )
            return keras.saving.load_model(file, compile=False, safe_mode=True)
        raise CheckpointError(f"{str(file)!r} does not load as a Keras model: {err}") from err


def compiled_on_another_backend(err: BaseException) -> str | None:
    """The backend whose own optimizer class a file's compile config names, if `err` (or
    its cause) is Keras failing to import it: PyTorch's Adam is
    `keras.src.backend.torch.optimizers.torch_adam.Adam`, which only PyTorch can rebuild."""
    while err is not None:
        match = re.search(r"keras\.src\.backend\.(\w+)\.optimizers", str(err))
        if match:
            return match.group(1)
        err = err.__cause__ or err.__context__
    return None
