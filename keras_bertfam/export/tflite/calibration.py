"""Input data for int8 calibration and for the report: batches of the file's fixed shape.

`representative_batches` regroups the user's rows (input dicts, or `(x, y, ...)`
tuples as `load_data` yields) into int32 [batch_size, S] batches;
`sample_inputs` makes random but well-formed token batches; `SAMPLE_TEXTS` are
the report's inputs for raw-text models.

Example:

>>> import numpy as np
>>> from keras_bertfam.export.tflite import representative_batches
>>> rows = [({"token_ids": np.ones((3, 4)), "padding_mask": np.ones((3, 4))}, None)]
>>> batches = representative_batches(rows, ["token_ids", "padding_mask"], 4, batch_size=2)
>>> len(batches), batches[0]["token_ids"].shape, batches[0]["token_ids"].dtype
(1, (2, 4), dtype('int32'))
"""

from __future__ import annotations

import numpy as np

from keras_bertfam.errors import InputError
from keras_bertfam.export.tflite.model import _find_layer

# At most this many rows of representative_data are read for int8 calibration.
MAX_CALIBRATION_ROWS = 256

SAMPLE_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "TFLite runs BERT-family encoders on phones, offline.",
    "Short.",
    "A longer sentence about tokenizers, packing and padding, which keeps going so that it "
    "fills the whole sequence and is cut at the end: " + "more words follow here " * 30,
)


def representative_batches(data, input_names, sequence_length, batch_size) -> list[dict]:
    """Regroup `data` (see `export_tflite`) into int32 batches of [batch_size, S]."""
    items = data() if callable(data) else data
    rows: dict[str, list] = {name: [] for name in input_names}
    count = 0
    for item in items:
        if isinstance(item, (tuple, list)):
            item = item[0]
        if not isinstance(item, dict) or not set(input_names) <= set(item):
            got = sorted(item) if isinstance(item, dict) else type(item).__name__
            raise InputError(
                f"representative_data items must be dicts with keys {list(input_names)} "
                f"(or (x, y, ...) tuples of them); got {got}"
            )
        arrays = {name: np.asarray(item[name]).astype("int32") for name in input_names}
        for name, array in arrays.items():
            array = array[None] if array.ndim == 1 else array
            if array.ndim != 2 or array.shape[1] != sequence_length:
                raise InputError(
                    f"representative_data[{name!r}] has shape {list(np.shape(item[name]))}; "
                    f"expected [n, sequence_length={sequence_length}]"
                )
            rows[name].extend(array)
        count = len(rows[input_names[0]])
        if count >= MAX_CALIBRATION_ROWS:
            break
    usable = min(count, MAX_CALIBRATION_ROWS) // batch_size * batch_size
    if usable == 0:
        raise InputError(
            f"representative_data gave {count} rows; at least batch_size={batch_size} are needed"
        )
    return [
        {name: np.stack(rows[name][i : i + batch_size]) for name in input_names}
        for i in range(0, usable, batch_size)
    ]


def sample_inputs(model, input_names, sequence_length, batch_size, count=2, seed=0):
    """Random but well-formed token batches for `model` (varied lengths, both segments)."""
    layer = _find_layer(model, "token_embedding")
    vocabulary_size = getattr(layer, "input_dim", None) or 100
    embeddings = _find_layer(model, "embeddings")
    num_segments = getattr(embeddings, "num_segments", 1) or 1
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        lengths = rng.integers(min(4, sequence_length), sequence_length + 1, batch_size)
        lengths[0] = sequence_length
        positions = np.arange(sequence_length)[None]
        mask = (positions < lengths[:, None]).astype("int32")
        low = min(5, vocabulary_size - 1)
        ids = rng.integers(low, vocabulary_size, (batch_size, sequence_length)) * mask
        segments = (positions >= lengths[:, None] // 2).astype("int32") * mask
        if num_segments < 2:
            segments = np.zeros_like(segments)
        batch = {"token_ids": ids.astype("int32"), "segment_ids": segments, "padding_mask": mask}
        batches.append({name: batch[name] for name in input_names})
    return batches
