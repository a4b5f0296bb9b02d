"""The published architectures: `build_encoder(name).count_params()` exactly."""

import gc

import keras
import pytest

import keras_bertfam as bf
from keras_bertfam.models.info import parameter_breakdown

# Hugging Face reference counts (BertModel / AlbertModel / RobertaModel, with pooler).
PUBLISHED = {
    "bert_base": 109_482_240,
    "bert_large": 335_141_888,
    "albert_base": 11_683_584,
    "albert_large": 17_683_968,
    "albert_xlarge": 58_724_864,
    "albert_xxlarge": 222_595_584,
    "roberta_base": 124_645_632,
    "roberta_large": 355_359_744,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_counts(name):
    model = bf.build_encoder(name)
    assert model.count_params() == PUBLISHED[name]
    assert (
        parameter_breakdown(bf.get_preset(name))["total encoder (with pooler)"] == PUBLISHED[name]
    )
    del model
    keras.backend.clear_session()
    gc.collect()


@pytest.mark.parametrize(
    "name, overrides",
    [
        ("bert_tiny", {}),
        ("albert_tiny", {}),
        ("roberta_tiny", {}),
        ("albert_tiny", {"num_groups": 2, "sharing": "attention"}),
        ("bert_tiny", {"num_layers": 4, "num_groups": 2, "sharing": "ffn", "norm_first": True}),
        ("roberta_tiny", {"embedding_dim": 32, "sentence_objective": "sop"}),
    ],
)
def test_info_breakdown_matches_built_models(name, overrides):
    cfg = bf.get_preset(name, **overrides)
    rows = parameter_breakdown(cfg)
    assert bf.build_encoder(cfg).count_params() == rows["total encoder (with pooler)"]
    assert bf.build_pretrainer(cfg).count_params() == rows["total pretrainer"]
