"""Packed sequences in the model: no cross-contamination, per-slot heads, twins, losses."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.errors import InputError
from keras_bertfam.layers import PackedSequences
from keras_bertfam.models.electra import ElectraPretrainer
from keras_bertfam.models.encoder import Encoder, Pretrainer
from keras_bertfam.models.packed import unpacked, with_packing
from keras_bertfam.training.recipe import compile_pretrainer

LENGTHS = (6, 9, 4)  # three sequences, packed into one row of 24 with padding after them
ROW = 24


def _sequences(vocabulary_size, seed=0, segments=2):
    rng = np.random.default_rng(seed)
    out = []
    for n in LENGTHS:
        ids = rng.integers(5, vocabulary_size, n).astype("int32")
        types = np.zeros(n, "int32")
        types[n // 2 :] = segments - 1
        out.append((ids, types))
    return out


def _packed_row(sequences, with_segments=True):
    token_ids, segment_ids, sequence_ids = (np.zeros((1, ROW), "int32") for _ in range(3))
    at = 0
    for k, (ids, types) in enumerate(sequences):
        token_ids[0, at : at + len(ids)] = ids
        segment_ids[0, at : at + len(ids)] = types
        sequence_ids[0, at : at + len(ids)] = k + 1
        at += len(ids)
    x = {"token_ids": token_ids, "sequence_ids": sequence_ids}
    if with_segments:
        x["segment_ids"] = segment_ids
    return x


def _alone(ids, types, with_segments=True):
    x = {"token_ids": ids[None], "padding_mask": np.ones((1, len(ids)), "int32")}
    if with_segments:
        x["segment_ids"] = types[None]
    return x


CONFIGS = {
    "bert": dict(preset="bert_tiny"),
    "albert_groups": dict(preset="albert_tiny", num_layers=4, num_groups=2, sharing="all"),
    "roberta": dict(preset="roberta_tiny"),
    "modernbert_window": dict(preset="modernbert_tiny", local_window=4, global_every=2),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_packed_row_gives_each_sequence_its_outputs_alone(name):
    """Block-diagonal attention and restarting positions (learned and rotary, global
    and sliding-window): every token and every slot's pooled output equal those of
    the sequence alone in a row."""
    fields = dict(CONFIGS[name])
    config = bf.get_preset(fields.pop("preset")).replace(dropout=0.0, attention_dropout=0.0,
                                                         **fields)  # fmt: skip
    plain = Encoder(config)
    packed = with_packing(plain, 3)
    segments = bool(config.num_segments)
    sequences = _sequences(config.vocabulary_size, segments=max(config.num_segments, 1))
    out = packed(_packed_row(sequences, segments))
    assert tuple(out["pooled_output"].shape) == (1, 3, config.hidden_dim)
    at = 0
    for k, (ids, types) in enumerate(sequences):
        alone = plain(_alone(ids, types, segments))
        got = np.asarray(out["sequence_output"])[0, at : at + len(ids)]
        np.testing.assert_allclose(got, np.asarray(alone["sequence_output"])[0], atol=1e-5)
        np.testing.assert_allclose(np.asarray(out["pooled_output"])[0, k],
                                   np.asarray(alone["pooled_output"])[0], atol=1e-5)  # fmt: skip
        at += len(ids)


def test_without_the_block_mask_the_sequences_would_mix():
    """The test above can fail: the same row read as one sequence differs."""
    config = bf.get_preset("bert_tiny").replace(dropout=0.0, attention_dropout=0.0)
    plain = Encoder(config)
    sequences = _sequences(config.vocabulary_size)
    row = _packed_row(sequences)
    one = {**row, "padding_mask": (row.pop("sequence_ids") > 0).astype("int32")}
    first = np.asarray(plain(one)["sequence_output"])[0, : LENGTHS[0]]
    alone = np.asarray(plain(_alone(*sequences[0]))["sequence_output"])[0]
    assert np.abs(first - alone).max() > 1e-2


def test_packed_pretrainer_losses_equal_the_unpacked_ones():
    """MLM at the same tokens and NSP per slot (weighted, empty slots weigh 0): the
    compiled losses of one packed row equal those of its sequences in rows alone."""
    config = bf.get_preset("bert_tiny").replace(dropout=0.0, attention_dropout=0.0)
    plain = Pretrainer(config)
    packed = with_packing(plain, 4)  # one slot stays empty
    for model in (plain, packed):
        compile_pretrainer(model, keras.optimizers.SGD(), jit=False)
    sequences = _sequences(config.vocabulary_size)
    labels = np.array([1, 0, 1], "int32")
    picks = [np.array([1, 3]), np.array([2, 5]), np.array([1, 2])]  # positions in each
    x = _packed_row(sequences)
    offsets = np.cumsum([0, *LENGTHS[:-1]])
    x["mask_positions"] = np.concatenate([p + o for p, o in zip(picks, offsets, strict=True)])[None]
    mask_ids = np.concatenate([s[0][p] for s, p in zip(sequences, picks, strict=True)])[None]
    y = {"mlm_logits": mask_ids, "nsp_logits": np.array([[*labels, 0]], "int32")}
    sw = {"mlm_logits": np.ones_like(mask_ids, "float32"),
          "nsp_logits": np.array([[1, 1, 1, 0]], "float32")}  # fmt: skip
    packed_loss = packed.compute_loss(x, y, packed(x), sw)
    rows = [_alone(*s) for s in sequences]
    width = max(LENGTHS)
    x_plain = {k: np.stack([np.pad(r[k][0], (0, width - r[k].shape[1])) for r in rows])
               for k in ("token_ids", "segment_ids", "padding_mask")}  # fmt: skip
    x_plain["mask_positions"] = np.stack(picks).astype("int32")
    y_plain = {"mlm_logits": mask_ids.reshape(3, 2), "nsp_logits": labels}
    sw_plain = {"mlm_logits": np.ones((3, 2), "float32"), "nsp_logits": np.ones(3, "float32")}
    plain_loss = plain.compute_loss(x_plain, y_plain, plain(x_plain), sw_plain)
    np.testing.assert_allclose(float(packed_loss), float(plain_loss), rtol=1e-5)


def test_twins_share_weights_and_the_packed_model_saves(tmp_path):
    model = with_packing(bf.build_pretrainer("albert_tiny", num_layers=2), 3)
    assert sorted(model.input) == ["mask_positions", "segment_ids", "sequence_ids", "token_ids"]
    model.save(tmp_path / "packed.keras")
    loaded = keras.saving.load_model(tmp_path / "packed.keras")
    assert loaded.bertfam_config.packed_sequences == 3
    back = unpacked(loaded)
    assert "padding_mask" in back.input and back.bertfam_config.packed_sequences == 0
    for a, b in zip(model.weights, back.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_an_electra_pretrainer_packs_its_generator_and_discriminator():
    model = with_packing(ElectraPretrainer(bf.get_preset("electra_tiny")), 2)
    x = _packed_row(_sequences(100)[:2])
    x["mask_positions"] = np.array([[1, 7]], "int32")
    x.update(mask_ids=np.array([[5, 6]], "int32"), mask_weights=np.ones((1, 2), "float32"))
    out = model(x)
    assert tuple(out["rtd_logits"].shape) == (1, ROW)
    assert tuple(out["mlm_logits"].shape)[:2] == (1, 2)


def test_sequence_ids_beyond_the_slots_are_refused_by_name():
    with pytest.raises(InputError, match=r"sequence_ids holds values outside \[0, packed"):
        PackedSequences(max_sequences=2)(np.array([[1, 2, 3]]))
    config = bf.get_preset("bert_tiny").replace(packed_sequences=2)
    with pytest.raises(InputError, match="sequence_ids"):
        Encoder(config)({"token_ids": np.ones((1, 3), "int32"),
                         "segment_ids": np.zeros((1, 3), "int32"),
                         "sequence_ids": np.array([[1, 1, 5]], "int32")})  # fmt: skip
    with pytest.raises(InputError, match="packed_sequences=-1"):
        bf.get_preset("bert_tiny").replace(packed_sequences=-1)


def test_exports_take_the_plain_twin_of_a_packed_model(tmp_path):
    """A packed pretrainer exports as its unpacked twin (the same tensors); a packed
    task model, which no config rebuilds, is refused with what to do instead."""
    from safetensors.numpy import load_file

    from keras_bertfam.export.huggingface import export_huggingface
    from keras_bertfam.models.tasks import build_task_model

    plain = bf.build_pretrainer("bert_tiny", num_layers=1)
    export_huggingface(plain, None, tmp_path, "plain")
    export_huggingface(with_packing(plain, 4), None, tmp_path, "packed")
    a = load_file(tmp_path / "plain-hf" / "model.safetensors")
    b = load_file(tmp_path / "packed-hf" / "model.safetensors")
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
    tagger = build_task_model(with_packing(plain.encoder, 4), "classification", num_classes=2)
    with pytest.raises(InputError, match="reads packed rows"):
        export_huggingface(tagger, None, tmp_path, "tagger")
