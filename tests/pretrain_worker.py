"""A few steps of `pretrain` on a tiny model and corpus, in a process of its own or not.

    python tests/pretrain_worker.py DATA_DIR OUT_DIR RESULT.npz STRATEGY

Writes the weights before and after training and the training summary to RESULT.npz.
Multi-worker runs read TF_CONFIG like any worker. test_multiworker also imports
`make_data` and `run` for its one-process reference run.
"""

import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "ran", "far", "and", "then", "it"]
WORDS += ["was", "big", "small", "red", "blue", "tree", "house"]


def make_data(folder: Path) -> Path:
    """A WordPiece vocabulary of 25 tokens and a 40-document corpus in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."]
    (folder / "vocab.txt").write_text("\n".join([*specials, *WORDS]) + "\n")
    rng = random.Random(0)
    docs = [
        "\n".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))) + "." for _ in range(4)
        )
        for _ in range(40)
    ]
    (folder / "corpus.txt").write_text("\n\n".join(docs) + "\n")
    return folder


def run(data_dir: Path, out_dir: Path, strategy: str, jit: bool):
    """(weights before, weights after, summary) of 4 updates of 2 epochs, global batch 8."""
    import keras

    import keras_bertfam as bf
    from keras_bertfam.data import DataConfig
    from keras_bertfam.training import TrainConfig, pretrain

    seen = {}

    class Weights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["start"] = [w.copy() for w in self.model.get_weights()]

        def on_train_end(self, logs=None):
            seen["end"] = self.model.get_weights()

    config = bf.get_preset(
        "bert_tiny", num_layers=1, vocabulary_size=200, max_sequence_length=32, dropout=0.0
    )
    # No clipping: Keras clips each replica's gradients before the all-reduce, so clipped
    # runs differ from one process (see strategy_worker.py).
    train = TrainConfig(
        steps=4,
        batch_size=8,
        checkpoint_every=2,
        learning_rate=1e-3,
        warmup_steps=1,
        global_clipnorm=None,
        jit=jit,
        strategy=strategy,
        verbose=0,
    )
    summary = pretrain(
        config,
        [data_dir / "corpus.txt"],
        out_dir,
        train,
        DataConfig(sequence_length=32),
        tokenizer=data_dir / "vocab.txt",
        callbacks=[Weights()],
    )
    return seen["start"], seen["end"], summary


def main():
    data_dir, out_dir, result, strategy = sys.argv[1:5]
    import numpy as np

    start, end, summary = run(Path(data_dir), Path(out_dir), strategy, jit=True)
    arrays = {f"start_{i}": w for i, w in enumerate(start)}
    arrays.update({f"end_{i}": w for i, w in enumerate(end)})
    np.savez(result, summary=json.dumps(summary), **arrays)


if __name__ == "__main__":
    main()
