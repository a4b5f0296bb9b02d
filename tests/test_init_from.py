"""Continued pretraining (`pretrain --init-from`): the checkpoint's weights are where training
starts, its architecture is the model's, and what could not be loaded is reported."""

import gzip
import json

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.data import DataConfig
from keras_bertfam.data.vocab import create_vocab
from keras_bertfam.errors import InputError
from keras_bertfam.training import TrainConfig, pretrain
from tests.data_fixtures import CORPUS, minilm_dir

STEPS = ["--batch-size", "16", "--sequence-length", "32", "--warmup-steps", "2",
         "--learning-rate", "5e-4", "--no-jit"]  # fmt: skip


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    root = tmp_path_factory.mktemp("init_from")
    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    first, second = root / "first.txt", root / "second.txt"
    first.write_text("\n".join(lines[:4000]), encoding="utf-8")
    second.write_text("\n".join(lines[4000:8000]), encoding="utf-8")
    create_vocab("wordpiece", 400, [first], root / "vocab")
    vocab = root / "vocab" / "vocab.txt"
    config = bf.get_preset("bert_tiny", num_layers=2, hidden_dim=64, num_heads=2,
                           intermediate_dim=128, max_sequence_length=64,
                           vocabulary_size=len(vocab.read_text().splitlines()))  # fmt: skip
    train = TrainConfig(steps=150, batch_size=16, checkpoint_every=150, warmup_steps=10,
                        learning_rate=2e-3, jit=False, verbose=0)  # fmt: skip
    pretrain(config, [first], root / "first_run", train, DataConfig(sequence_length=32), vocab)
    return root, config, vocab, second


def first_interval_mlm_loss(folder):
    history = json.loads((folder / "training_summary.json").read_text())["history"]
    return history["mlm_logits_loss"][0]


def test_continued_pretraining_starts_from_the_checkpoint(texts):
    root, _, vocab, second = texts
    args = ["--corpus", str(second), "--tokenizer", str(vocab), "--steps", "6",
            "--checkpoint-every", "3", *STEPS]  # fmt: skip
    # no --preset: the checkpoint's architecture; --set changes what keeps the shapes
    assert main(["pretrain", "--init-from", str(root / "first_run"), "--set", "dropout=0.0",
                 "--out", str(root / "continued"), *args]) == 0  # fmt: skip
    assert main(["pretrain", "--config", str(root / "first_run" / "config.json"),
                 "--out", str(root / "scratch"), *args]) == 0  # fmt: skip
    continued, scratch = (first_interval_mlm_loss(root / n) for n in ("continued", "scratch"))
    assert continued <= scratch - 0.5, (continued, scratch)
    summary = json.loads((root / "continued" / "training_summary.json").read_text())
    assert summary["initialized_from"] == str(root / "first_run")
    assert (summary["initialized_fresh"], summary["dropped"]) == ([], [])
    built = json.loads((root / "continued" / "config.json").read_text())
    assert (built["num_layers"], built["hidden_dim"], built["dropout"]) == (2, 64, 0.0)


def test_continuing_from_a_hugging_face_checkpoint_reports_the_fresh_heads(tmp_path):
    corpus = tmp_path / "text.txt"
    corpus.write_text("The cat sat on the mat.\nIt was warm.\n\nDogs bark.\nCats do not.\n")
    summary = pretrain(None, [corpus], tmp_path / "out",
                       TrainConfig(steps=1, batch_size=2, checkpoint_every=1, warmup_steps=0,
                                   jit=False, verbose=0),
                       DataConfig(sequence_length=16), minilm_dir() / "vocab.txt",
                       init_from=minilm_dir())  # fmt: skip
    assert summary["initialized_from"] == str(minilm_dir())
    assert summary["initialized_fresh"] == ["mlm_head", "mlm_output_bias", "nsp_head"]
    assert summary["dropped"] == []


def test_bad_init_from_is_refused_by_name(texts, tmp_path, capsys):
    root, _, vocab, second = texts
    args = ["--corpus", str(second), "--tokenizer", str(vocab), "--steps", "2",
            "--checkpoint-every", "2", *STEPS]  # fmt: skip
    first = str(root / "first_run")
    cases = [
        (["--init-from", str(tmp_path / "missing")], "does not exist"),
        (["--init-from", first, "--set", "num_layers=3"], "num_layers=3 (checkpoint: 2)"),
        (["--init-from", first, "--preset", "bert_tiny"], "drop --preset/--config"),
        (["--init-from", first, "--tokenizer", str(minilm_dir() / "vocab.txt")],
         "the tokenizer has 30522 tokens but the model's vocabulary_size="),
    ]  # fmt: skip
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "config.json").write_text("{not json")
    cases.append((["--init-from", str(tmp_path / "corrupt")], "is not valid JSON"))
    for index, (extra, message) in enumerate(cases):
        out = ["--out", str(tmp_path / f"out{index}")]
        assert main(["pretrain", *args, *extra, *out]) == 2, extra
        assert message in capsys.readouterr().err, extra
    with pytest.raises(InputError, match="needs a model config, or init_from"):
        pretrain(None, [second], tmp_path / "none", tokenizer=vocab)


class _Table(keras.callbacks.Callback):
    """The token table when the first epoch ends (then dies, if `crash`) or when the first
    batch begins."""

    def __init__(self, at: str, crash: bool = False):
        super().__init__()
        self.at, self.crash, self.table = at, crash, None

    def _take(self):
        if self.table is None:
            self.table = np.array(self.model.get_layer("token_embedding").embeddings.numpy())

    def on_epoch_end(self, epoch, logs=None):
        if self.at == "epoch_end":
            self._take()
            if self.crash:
                raise RuntimeError("simulated crash after the first checkpoint")

    def on_train_batch_begin(self, batch, logs=None):
        if self.at == "batch_begin":
            self._take()


def test_a_resumed_run_restores_its_own_checkpoint_not_init_from(texts, tmp_path):
    root, _, vocab, second = texts
    train = TrainConfig(steps=6, batch_size=16, checkpoint_every=3, warmup_steps=0,
                        learning_rate=5e-3, jit=False, verbose=0)  # fmt: skip
    data = DataConfig(sequence_length=32)
    out = tmp_path / "run"
    crashed = _Table("epoch_end", crash=True)
    with pytest.raises(RuntimeError, match="simulated crash"):
        pretrain(None, [second], out, train, data, vocab, callbacks=[crashed],
                 init_from=root / "first_run")  # fmt: skip
    resumed = _Table("batch_begin")
    summary = pretrain(None, [second], out, train, data, vocab, callbacks=[resumed],
                       init_from=root / "first_run")  # fmt: skip
    assert summary["resumed_from_epoch"] == 1
    start = bf.load_model(root / "first_run").get_layer("token_embedding").embeddings.numpy()
    np.testing.assert_allclose(resumed.table, crashed.table, atol=1e-7)  # the checkpoint's
    assert np.abs(resumed.table - start).max() > 1e-4  # not the init_from weights again
