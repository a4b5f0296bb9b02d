"""Packed rows from data: first-fit decreasing, pretraining data, records, fine-tuning."""

from __future__ import annotations

import gzip
import itertools
import json

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam import tasks
from keras_bertfam.data.batching import pack_examples, packed_batches
from keras_bertfam.data.pipeline import DataConfig, iter_instances, pretraining_dataset
from keras_bertfam.data.records import create_data, load_data
from keras_bertfam.data.row_packing import first_fit_decreasing, pack_rows, padding_fraction
from keras_bertfam.data.rows import rows_of
from keras_bertfam.errors import InputError
from keras_bertfam.resources import FORTUNES_DEV as DEV
from keras_bertfam.resources import FORTUNES_TRAIN as TRAIN
from keras_bertfam.training.finetune import evaluate, finetune
from tests.data_fixtures import CORPUS, minilm_dir


@pytest.fixture(scope="module")
def tokenizer():
    return bf.load_tokenizer(minilm_dir())


def test_first_fit_decreasing_places_every_sequence_once_within_the_bounds():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, 500).tolist()
    rows = first_fit_decreasing(lengths, capacity=128, max_items=4)
    assert sorted(i for row in rows for i in row) == list(range(500))
    assert all(sum(lengths[i] for i in row) <= 128 and len(row) <= 4 for row in rows)
    # within 20% of the lower bound (the rows the tokens need, or the K cap)
    assert len(rows) <= 1.2 * max(-(-sum(lengths) // 128), -(-500 // 4))
    assert rows == first_fit_decreasing(lengths, capacity=128, max_items=4)  # deterministic
    with pytest.raises(InputError, match="does not fit a row of 128"):
        first_fit_decreasing([129], capacity=128, max_items=2)


def test_packing_removes_the_padding_of_nsp_pairs_at_512(tokenizer):
    """BERT's pairs (short_seq_prob 0.1, documents ending) pad S=512 rows heavily; packed,
    the same sequences fill fewer rows, with the same tokens in the same order per row."""
    counts = {}
    for pack in (0, 8):
        config = DataConfig(objective="nsp", sequence_length=512, pack=pack)
        instances = itertools.islice(iter_instances([CORPUS], tokenizer, config, 0), 600)
        rows = list(rows_of(instances, 512, pack, 0))
        tokens = sum(int(np.count_nonzero(r.get("padding_mask", r.get("sequence_ids"))))
                     for r in rows)  # fmt: skip
        counts[pack] = (len(rows), padding_fraction(rows), tokens)
    (plain_rows, plain_pad, plain_tokens), (packed_rows, packed_pad, packed_tokens) = (
        counts[0], counts[8])  # fmt: skip
    assert plain_rows == 600 and plain_pad > 0.25
    assert packed_pad < 0.05 and packed_rows < 0.8 * plain_rows
    assert packed_tokens == plain_tokens


def test_packed_pretraining_batches_mask_only_real_tokens_and_weigh_present_slots(tokenizer):
    config = DataConfig(objective="sop", sequence_length=128, short_seq_prob=0.5, pack=4)
    batches = pretraining_dataset([CORPUS], tokenizer, config, batch_size=8).take(40)
    special = {tokenizer.special_ids["cls"], tokenizer.special_ids["sep"]}
    most = 0
    for x, y, sw in batches:  # a buffer's longest rows come first, its packed ones later
        assert sorted(x) == ["mask_positions", "segment_ids", "sequence_ids", "token_ids"]
        assert sw["sop_logits"].shape == (8, 4) and y["sop_logits"].shape == (8, 4)
        ids, positions = x["sequence_ids"].numpy(), x["mask_positions"].numpy()
        weights = sw["mlm_logits"].numpy()
        for row in range(8):
            chosen = positions[row][weights[row] > 0]
            assert (ids[row][chosen] > 0).all()  # never padding
            assert not set(y["mlm_logits"].numpy()[row][weights[row] > 0]) & special
            present = [k + 1 in ids[row] for k in range(4)]
            np.testing.assert_array_equal(sw["sop_logits"].numpy()[row], present)
        most = max(most, int(ids.max()))
    assert most >= 3  # short pairs share rows


def test_packed_records_round_trip(tmp_path, tokenizer):
    config = DataConfig(objective="nsp", sequence_length=64, short_seq_prob=0.5, pack=3)
    text = tmp_path / "corpus.txt"
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        lines = list(itertools.islice(f, 400))
    text.write_text("".join(lines), encoding="utf-8")
    manifest = create_data([text], minilm_dir(), tmp_path / "data", config, dupe_factor=1,
                           progress=False)  # fmt: skip
    assert manifest["counts"]["packed_sequences"] > manifest["counts"]["sequences"]
    x, y, sw = next(iter(load_data(tmp_path / "data", batch_size=4)))
    assert sorted(x) == ["mask_positions", "segment_ids", "sequence_ids", "token_ids"]
    assert y["nsp_logits"].shape == (4, 3)
    present = (x["sequence_ids"].numpy()[:, None, :] == np.arange(1, 4)[None, :, None]).any(-1)
    np.testing.assert_array_equal(sw["nsp_logits"].numpy(), present)
    assert json.loads((tmp_path / "data" / "manifest.json").read_text())["data_config"]["pack"] == 3


def test_fine_tuning_examples_pack_with_their_labels_and_come_back(tokenizer):
    spec = tasks.get("classification")
    data = spec.prepare(TRAIN, tokenizer, 128)
    rows, slot_fields = pack_examples(data["features"], data["targets"], 128, 8, 0, seed=3)
    assert slot_fields == ("logits",)
    n = len(data["features"]["token_ids"])
    assert sorted(rows["slot_index"][rows["slot_index"] >= 0].tolist()) == list(range(n))
    assert padding_fraction(rows_as_list(rows)) < 0.05  # bucketing leaves 27% on this data
    assert (rows["slot_index"] >= 0).sum(axis=1).max() > 2  # rows hold several texts
    for r, k in np.argwhere(rows["slot_index"] >= 0)[::97]:
        example = rows["slot_index"][r, k]
        tokens = rows["token_ids"][r][rows["sequence_ids"][r] == k + 1]
        assert tokens.tolist() == data["features"]["token_ids"][example]
        assert rows["logits"][r, k] == data["targets"]["logits"][example]
    _, y, sw = next(iter(packed_batches(data["features"], data["targets"], 16, 128, 8)))
    assert y["logits"].shape == (16, 8) and sw["logits"].shape == (16, 8)


def rows_as_list(rows):
    return [{"sequence_ids": s} for s in rows["sequence_ids"]]


def test_pack_rows_keeps_per_token_targets_beside_their_tokens():
    sequences = [{"token_ids": [2, 5, 3], "segment_ids": [0, 0, 0], "tags": [0, 4, 0],
                  "weights": [0.0, 1.0, 0.0]},
                 {"token_ids": [2, 6, 7, 3], "segment_ids": [0] * 4, "tags": [0, 1, 2, 0],
                  "weights": [0.0, 1.0, 0.5, 0.0]}]  # fmt: skip
    (row,) = pack_rows(sequences, 8, 2, slot_fields=())
    assert row["sequence_ids"].tolist() == [1, 1, 1, 2, 2, 2, 2, 0]
    assert row["tags"].tolist() == [0, 4, 0, 0, 1, 2, 0, 0]
    assert row["weights"].tolist() == [0.0, 1.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0]


@pytest.mark.parametrize("task", ["classification", "token_classification"])
def test_finetune_on_packed_rows_writes_the_plain_model(task, tmp_path, tokenizer):
    """`batching="pack"` trains the packed twin; the folder holds the plain model, which
    evaluate scores on its own (unpacked) batches."""
    from tests.test_finetune import TINY, corpus_sentences

    if task == "classification":
        train, dev = TRAIN, DEV
    else:
        train = tmp_path / "train.jsonl"
        rows = [{"tokens": s.split()[:12], "tags": ["X" if len(w) > 4 else "O"
                                                    for w in s.split()[:12]]}
                for s in corpus_sentences(64)]  # fmt: skip
        train.write_text("\n".join(json.dumps(r) for r in rows))
        dev = train
    encoder = bf.build_encoder("bert_tiny", **TINY)
    summary = finetune(encoder, train, dev, task=task, out=tmp_path / "run", epochs=1,
                          batch_size=16, learning_rate=1e-3, tokenizer=minilm_dir(),
                          batching="pack", verbose=0)  # fmt: skip
    model = bf.load_model(tmp_path / "run" / "model.keras")
    assert "padding_mask" in model.input and "sequence_ids" not in model.input
    report, _ = evaluate(tmp_path / "run", dev)
    assert report == summary["dev"]
    assert np.isfinite(summary["history"]["loss"][0])


def test_packing_a_task_without_a_packed_form_is_refused(tmp_path):
    with pytest.raises(InputError, match="batching='pack' is for the tasks"):
        finetune("unused", TRAIN, task="question_answering", out=tmp_path / "o",
                    batching="pack")  # fmt: skip
    with pytest.raises(InputError, match="batching='stack' is not one of"):
        finetune("unused", TRAIN, out=tmp_path / "o", batching="stack")


def test_pretrain_on_packed_rows_writes_the_plain_pretrainer(tmp_path):
    from keras_bertfam.training import TrainConfig, pretrain

    config = bf.get_preset("bert_tiny", num_layers=1, hidden_dim=32, num_heads=2,
                           intermediate_dim=64, vocabulary_size=30522)  # fmt: skip
    data = DataConfig(objective="nsp", sequence_length=64, short_seq_prob=0.5, pack=4)
    train = TrainConfig(steps=4, batch_size=4, warmup_steps=1, checkpoint_every=2,
                        learning_rate=1e-3, verbose=0)  # fmt: skip
    summary = pretrain(config, [CORPUS], tmp_path / "run", train, data, tokenizer=minilm_dir())
    assert summary["steps"] == 4 and np.isfinite(summary["final"]["nsp_logits_loss"])
    model = bf.load_model(tmp_path / "run" / "model.keras")
    assert "padding_mask" in model.input and model.bertfam_config.packed_sequences == 0
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["configuration"]["model"]["packed_sequences"] == 4
