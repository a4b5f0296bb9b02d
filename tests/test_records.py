"""create-data / load_data: TFRecords + manifest, static and dynamic, into `fit`."""

import json

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.data import DataConfig, MaskingConfig, load_tokenizer
from keras_bertfam.data.records import create_data, load_data
from tests.data_fixtures import CORPUS, minilm_dir


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """The first 60 documents of the real corpus (keeps the test fast)."""
    import gzip

    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        text = handle.read().split("\n\n")[:60]
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text("\n\n".join(text) + "\n")
    return path


def test_static_data_is_fixed_dupe_factor_times_and_fits(tmp_path, small_corpus):
    cfg = DataConfig(
        objective="sop",
        sequence_length=64,
        masking=MaskingConfig(strategy="ngram", max_predictions_per_seq=10),
    )
    manifest = create_data(
        [small_corpus],
        minilm_dir() / "vocab.txt",
        tmp_path / "d",
        cfg,
        dupe_factor=2,
        examples_per_shard=100,
        progress=False,
    )
    on_disk = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["dupe_factor"] == 2 and len(manifest["shards"]) >= 2
    assert manifest["tokenizer"]["vocabulary_size"] == 30522
    assert len(manifest["tokenizer"]["sha256"]) == 64
    counts = manifest["counts"]
    assert counts["label_0"] + counts["label_1"] == counts["sequences"]
    assert manifest["corpus"]["documents"] == 60

    ds = load_data(tmp_path / "d", batch_size=8, shuffle_buffer=0)
    first = [x["token_ids"].numpy() for x, _, _ in ds.take(3)]
    again = [x["token_ids"].numpy() for x, _, _ in ds.take(3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))  # static
    x, y, sw = next(iter(ds))
    assert set(sw) == {"mlm_logits", "sop_logits"}
    assert set(y) == {"mlm_logits", "sop_logits"} and x["mask_positions"].shape == (8, 10)
    total = sum(int(s["mlm_logits"].numpy().sum()) for _, _, s in ds)
    assert total == counts["masked_tokens"] - _remainder_masked(tmp_path / "d", 8)

    model = bf.build_pretrainer("bert_tiny", max_sequence_length=64, sentence_objective="sop")
    model.compile(
        optimizer="adam",
        loss={
            k: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            for k in ("mlm_logits", "sop_logits")
        },
        weighted_metrics={"mlm_logits": ["sparse_categorical_accuracy"]},
    )
    history = model.fit(ds.take(2), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def _remainder_masked(folder, batch):
    """Masked tokens in the sequences that drop_remainder leaves out."""
    ds = load_data(folder, batch_size=1, shuffle_buffer=0)
    weights = [float(s["mlm_logits"].numpy().sum()) for _, _, s in ds]
    return int(sum(weights[len(weights) - len(weights) % batch :]))


def test_dynamic_data_masks_on_read(tmp_path, small_corpus):
    cfg = DataConfig(objective="none", sequence_length=64)
    manifest = create_data(
        [small_corpus], minilm_dir(), tmp_path / "d", cfg, masking="dynamic", progress=False
    )
    assert "masked_tokens" not in manifest["counts"]
    ds = load_data(tmp_path / "d", batch_size=4, shuffle_buffer=0, seed=3)
    one = [x["mask_positions"].numpy() for x, _, _ in ds.take(2)]
    two = [x["mask_positions"].numpy() for x, _, _ in ds.take(2)]
    assert not np.array_equal(one[0], two[0])  # a new mask on every read
    x, y, _ = next(iter(ds))
    assert set(y) == {"mlm_logits"} and set(x["segment_ids"].numpy().ravel()) == {0}


def test_existing_output_is_not_overwritten(tmp_path, small_corpus):
    create_data(
        [small_corpus], minilm_dir(), tmp_path, DataConfig(sequence_length=32), progress=False
    )
    with pytest.raises(FileExistsError, match="already holds a data set"):
        create_data([small_corpus], minilm_dir(), tmp_path, DataConfig(), progress=False)


def test_cli_create_vocab_and_data(tmp_path, small_corpus, capsys):
    assert (
        main(
            [
                "create-vocab",
                "--kind",
                "wordpiece",
                "--size",
                "500",
                "--out",
                str(tmp_path / "v"),
                str(small_corpus),
            ]
        )
        == 0
    )
    tok = load_tokenizer(tmp_path / "v")
    assert tok.vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert 300 < tok.vocabulary_size <= 600
    assert (
        main(
            [
                "create-data",
                str(small_corpus),
                "--tokenizer",
                str(tmp_path / "v"),
                "--out",
                str(tmp_path / "d"),
                "--seq-length",
                "64",
                "--dupe-factor",
                "1",
                "--strategy",
                "whole_word",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "sequences" in out and "documents=60" in out
    assert (
        main(
            [
                "create-data",
                str(tmp_path / "missing.txt"),
                "--tokenizer",
                str(tmp_path / "v"),
                "--out",
                str(tmp_path / "e"),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err


def test_worker_processes_write_the_same_data(tmp_path, small_corpus):
    cfg = DataConfig(objective="nsp", sequence_length=64, documents_per_group=15)
    one = create_data(
        [small_corpus], minilm_dir(), tmp_path / "one", cfg, dupe_factor=1, progress=False
    )
    two = create_data(
        [small_corpus],
        minilm_dir(),
        tmp_path / "two",
        cfg,
        dupe_factor=1,
        progress=False,
        workers=2,
    )
    assert one["counts"] == two["counts"] and one["corpus"] == two["corpus"]
    for shard in one["shards"]:
        assert (tmp_path / "one" / shard).read_bytes() == (tmp_path / "two" / shard).read_bytes()
