import numpy as np
import pytest

import keras_bertfam as bf
from tests.helpers import TINY, Weights, check_keras_contract, encoder_weights, make_batch

ENCODER_KEYS = ("token_ids", "segment_ids", "padding_mask")

# case: (preset, overrides, distinct attention and feed-forward sublayers)
CASES = {
    "bert": ("bert_tiny", {"num_layers": 1}, 1, 1),
    # E=8 != H=16, 4 layers in 2 groups sharing whole blocks, SOP
    "albert": ("albert_tiny", {"embedding_dim": 8, "num_layers": 4, "num_groups": 2}, 2, 2),
    # no sentence head, positions from 2, one segment
    "roberta": ("roberta_tiny", {"num_layers": 1}, 1, 1),
    "roberta+factorized+sop": (
        "roberta_tiny",
        {"embedding_dim": 8, "sentence_objective": "sop", "num_layers": 1},
        1,
        1,
    ),
    "bert+attention-sharing+pre-ln": (
        "bert_tiny",
        {"num_layers": 2, "num_groups": 1, "sharing": "attention", "norm_first": True},
        1,
        2,
    ),
}
ENCODER_CASES = {
    "bert": CASES["bert"],
    "albert": ("albert_tiny", {"embedding_dim": 8, "num_layers": 2}, 1, 1),  # one shared block
    "roberta+no-pooler": ("roberta_tiny", {"num_layers": 1, "pooler": False}, 1, 1),
}


def _config(case, cases=CASES):
    preset, overrides, attention, feedforward = cases[case]
    return bf.get_preset(preset, **TINY, **overrides), attention, feedforward


def _batch(cfg):
    return make_batch(cfg.vocabulary_size, num_segments=cfg.num_segments)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pretrainer_contract(tmp_path, case):
    cfg, attention, feedforward = _config(case)
    V, E, H = cfg.vocabulary_size, cfg.resolved_embedding_dim, cfg.hidden_dim
    objective = cfg.sentence_objective
    shapes = {"mlm_logits": (2, 3, V)}
    if objective != "none":
        shapes[f"{objective}_logits"] = (2, 2)
    # a pretrainer without a sentence head leaves the pooler out of its graph
    encoder = encoder_weights(cfg, attention, feedforward, pooler=objective != "none")
    mlm = Weights(5, 0, H * E + E + 2 * E + V)  # transform Dense, LayerNorm, output bias
    sentence = Weights(2, 0, 2 * H + 2) if objective != "none" else Weights(0, 0, 0)
    weights = Weights(*(sum(w) for w in zip(encoder, mlm, sentence, strict=True)))
    model, _ = check_keras_contract(
        lambda d: bf.build_pretrainer(cfg, dtype=d),
        _batch(cfg),
        tmp_path,
        expected_shapes=shapes,
        expected_weights=weights,
        atol=1e-4,
    )
    # the decoder is tied: exactly one V x E matrix in the model
    tables = [w for w in model.weights if tuple(w.shape) == (V, E)]
    assert len(tables) == 1


@pytest.mark.parametrize("case", sorted(ENCODER_CASES))
def test_encoder_contract(tmp_path, case):
    cfg, attention, feedforward = _config(case, ENCODER_CASES)
    batch = {k: v for k, v in _batch(cfg).items() if k in ENCODER_KEYS}
    model, _ = check_keras_contract(
        lambda d: bf.build_encoder(cfg, dtype=d),
        batch,
        tmp_path,
        expected_shapes={
            "sequence_output": (2, 8, cfg.hidden_dim),
            "pooled_output": (2, cfg.hidden_dim),
        },
        expected_weights=encoder_weights(cfg, attention, feedforward, pooler=cfg.pooler),
    )
    assert set(model.input) == set(ENCODER_KEYS)


# Modern parts, counted by hand: (preset, overrides, encoder Weights, MLM + sentence heads)
MODERN_CASES = {
    # 4 layers (global on 0 and 3, a window of 4 on 1 and 2), rotary, GeGLU, bias-free
    # LayerNorms, no attention norm on layer 0, a final norm, no pooler, no segments
    "modernbert": ("modernbert_tiny", {"num_layers": 4, "local_window": 4},
                   Weights(1 + 1 + 11 + 12 + 1, 0, 1024 + 16 + 4144 + 6208 + 16),
                   Weights(3, 0, 256 + 16 + 64)),
    # ALBERT's factorized, fully shared post-norm block with rotary positions, SwiGLU and
    # RMSNorm (with biases in the Dense layers), SOP
    "albert+rotary+swiglu+rms": (
        "albert_tiny", {"embedding_dim": 8, "num_layers": 2, "position_embedding": "rotary",
                        "feedforward": "swiglu", "norm": "rms"},
        Weights(17, 0, 512 + 16 + 8 + 144 + 1104 + 1632 + 272), Weights(6, 0, 136 + 8 + 64 + 34)),
    # BERT with ModernBERT's local/global attention pattern, nothing else changed
    "bert+local-global": ("bert_tiny", {"num_layers": 3, "local_window": 2, "global_every": 2},
                          encoder_weights(bf.get_preset("bert_tiny", **TINY), 3, 3),
                          Weights(7, 0, 16 * 16 + 16 + 2 * 16 + 64 + 2 * 16 + 2)),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MODERN_CASES))
def test_modern_pretrainer_contract(tmp_path, case):
    preset, overrides, encoder, heads = MODERN_CASES[case]
    cfg = bf.get_preset(preset, **TINY, **overrides)
    shapes = {"mlm_logits": (2, 3, cfg.vocabulary_size)}
    if cfg.sentence_objective != "none":
        shapes[f"{cfg.sentence_objective}_logits"] = (2, 2)
    weights = Weights(*(a + b for a, b in zip(encoder, heads, strict=True)))
    (tmp_path / "encoder").mkdir()
    check_keras_contract(lambda d: bf.build_pretrainer(cfg, dtype=d), _batch(cfg), tmp_path,
                         expected_shapes=shapes, expected_weights=weights, atol=1e-4)  # fmt: skip
    check_keras_contract(lambda d: bf.build_encoder(cfg, dtype=d),
                         {k: v for k, v in _batch(cfg).items() if k in ENCODER_KEYS},
                         tmp_path / "encoder", expected_shapes={
                             "sequence_output": (2, 8, cfg.hidden_dim),
                             "pooled_output": (2, cfg.hidden_dim)},
                         expected_weights=encoder)  # fmt: skip


def test_tied_decoder_uses_the_input_table():
    model = bf.build_pretrainer("bert_tiny", sentence_objective="none")
    batch = make_batch(30522)
    hidden = model.encoder(batch)["sequence_output"].numpy()
    h = model.get_layer("mlm_head")(hidden, batch["mask_positions"]).numpy()
    table = model.get_layer("token_embedding").embeddings.numpy()
    expected = h @ table.T + model.get_layer("mlm_output_bias").bias.numpy()
    np.testing.assert_allclose(model(batch)["mlm_logits"], expected, rtol=1e-4, atol=1e-4)


def test_named_inputs_and_outputs():
    model = bf.build_pretrainer("albert_tiny", num_layers=1)
    assert set(model.input) == {"token_ids", "segment_ids", "padding_mask", "mask_positions"}
    assert set(model.output) == {"mlm_logits", "sop_logits"}
    for name in ("token_embedding", "mlm_head", "mlm_output_bias", "sop_head"):
        model.get_layer(name)
    for name in ("token_embedding", "position_embedding", "embeddings", "encoder", "pooler"):
        model.encoder.get_layer(name)
    assert model.get_layer("token_embedding") is model.encoder.get_layer("token_embedding")


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
