"""Load the `.keras` files another backend wrote (families.write_models) under TensorFlow.

    KERAS_BACKEND=tensorflow python tests/backends/tensorflow_side.py FOLDER

For each file: its outputs on TensorFlow beside the recorded ones (largest absolute
difference), then the first model's encoder exported as a SavedModel and reloaded
with `tf.saved_model.load`. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(folder: Path) -> dict:
    import keras
    import tensorflow as tf

    import keras_bertfam as bf
    from keras_bertfam.export import export_saved_model

    recorded = dict(np.load(folder / "outputs.npz"))
    result = {"backend": keras.backend.backend(), "differences": {}}
    first = None  # (name, model, inputs) of the first file
    for path in sorted(folder.glob("*.keras")):
        name = path.stem
        model = bf.load_model(path)
        x = {k.split("/")[-1]: v for k, v in recorded.items() if k.startswith(f"{name}/input/")}
        for key, value in model(x, training=False).items():
            want = recorded[f"{name}/output/{key}"]
            result["differences"][f"{name}/{key}"] = float(np.abs(np.asarray(value) - want).max())
        first = first or (name, model, x)
    name, model, x = first
    exported = export_saved_model(model, None, root=folder / "saved", name=name)
    served = tf.saved_model.load(str(exported)).signatures["encode"]
    names = {"token_ids": "input_word_ids", "padding_mask": "input_mask",
             "segment_ids": "input_type_ids"}  # fmt: skip
    out = served(**{names[k]: tf.constant(v) for k, v in x.items() if k in names})
    want = np.asarray(model.encoder(x)["sequence_output"])
    difference = np.abs(out["sequence_output"].numpy() - want).max()
    result["saved_model"] = {"model": name, "difference": float(difference)}
    return result


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
