import keras
import numpy as np
import pytest

import keras_bertfam as bf
from tests.helpers import check_keras_contract, make_batch

ENCODER_KEYS = ("token_ids", "segment_ids", "padding_mask")

CASES = {
    "bert": ("bert_tiny", {}),
    "albert": ("albert_tiny", {"num_layers": 2}),
    "roberta": ("roberta_tiny", {}),
    "roberta+factorized+sop": ("roberta_tiny", {"embedding_dim": 32, "sentence_objective": "sop"}),
    "bert+attention-sharing+pre-ln": (
        "bert_tiny",
        {"num_layers": 4, "num_groups": 2, "sharing": "attention", "norm_first": True},
    ),
}


def _batch(cfg):
    return make_batch(cfg.vocabulary_size, num_segments=cfg.num_segments)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pretrainer_contract(tmp_path, case):
    preset, overrides = CASES[case]
    cfg = bf.get_preset(preset, **overrides)
    batch = _batch(cfg)
    model, out = check_keras_contract(
        lambda d: bf.build_pretrainer(cfg, dtype=d), batch, tmp_path, atol=1e-4
    )
    expected = {"mlm_logits"} | (
        set() if cfg.sentence_objective == "none" else {f"{cfg.sentence_objective}_logits"}
    )
    assert set(out) == expected
    assert out["mlm_logits"].shape == (2, 3, cfg.vocabulary_size)
    # the decoder is tied: exactly one V x E matrix in the model
    tables = [
        w
        for w in model.weights
        if tuple(w.shape) == (cfg.vocabulary_size, cfg.resolved_embedding_dim)
    ]
    assert len(tables) == 1


@pytest.mark.parametrize("case", ["bert", "albert"])
def test_encoder_contract(tmp_path, case):
    preset, overrides = CASES[case]
    cfg = bf.get_preset(preset, **overrides)
    batch = {k: v for k, v in _batch(cfg).items() if k in ENCODER_KEYS}
    model, out = check_keras_contract(lambda d: bf.build_encoder(cfg, dtype=d), batch, tmp_path)
    assert set(model.input) == set(ENCODER_KEYS)
    assert set(model.output) == {"sequence_output", "pooled_output"}
    assert out["sequence_output"].shape == (2, 8, cfg.hidden_dim)
    assert out["pooled_output"].shape == (2, cfg.hidden_dim)


def test_tied_decoder_uses_the_input_table():
    model = bf.build_pretrainer("bert_tiny", sentence_objective="none")
    batch = make_batch(30522)
    hidden = keras.Model(model.input, model.get_layer("encoder").output)(batch).numpy()
    h = model.get_layer("mlm_head")(hidden, batch["mask_positions"]).numpy()
    table = model.get_layer("token_embedding").embeddings.numpy()
    expected = h @ table.T + model.get_layer("mlm_output_bias").bias.numpy()
    np.testing.assert_allclose(model(batch)["mlm_logits"], expected, rtol=1e-4, atol=1e-4)


def test_named_inputs_and_outputs():
    model = bf.build_pretrainer("albert_tiny", num_layers=1)
    assert set(model.input) == {"token_ids", "segment_ids", "padding_mask", "mask_positions"}
    assert set(model.output) == {"mlm_logits", "sop_logits"}
    for name in (
        "token_embedding",
        "embeddings",
        "encoder",
        "pooler",
        "mlm_head",
        "mlm_output_bias",
        "sop_head",
    ):
        model.get_layer(name)


def test_any_number_of_predictions():
    model = bf.build_pretrainer("bert_tiny")
    for p in (1, 5):
        batch = make_batch(30522, predictions=p)
        assert model(batch)["mlm_logits"].shape == (2, p, 30522)


def test_runtime_errors_name_the_input_and_bound():
    model = bf.build_encoder("bert_tiny", max_sequence_length=8)
    batch = {k: v for k, v in make_batch(30522, seq=8).items() if k in ENCODER_KEYS}
    bad = dict(batch, token_ids=np.full_like(batch["token_ids"], 30522))
    with pytest.raises(
        Exception, match=r"token_ids holds values outside \[0, vocabulary_size=30522\)"
    ):
        model(bad)
    with pytest.raises(Exception, match=r"token_ids holds values outside"):
        model.predict(bad, verbose=0)
    long = {k: np.concatenate([v, v], axis=1) for k, v in batch.items()}
    with pytest.raises(Exception, match="sequence length 16 but max_sequence_length=8"):
        model(long)


def test_padding_does_not_change_real_outputs():
    model = bf.build_encoder("roberta_tiny", dropout=0.0)
    batch = {k: v for k, v in make_batch(8000, num_segments=1).items() if k in ENCODER_KEYS}
    first = model(batch)["sequence_output"].numpy()
    changed = dict(batch, token_ids=np.where(batch["padding_mask"] == 0, 7, batch["token_ids"]))
    second = model(changed)["sequence_output"].numpy()
    real = batch["padding_mask"].astype(bool)
    np.testing.assert_allclose(first[real], second[real], atol=1e-5)
