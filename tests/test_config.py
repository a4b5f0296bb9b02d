import json

import pytest

import keras_bertfam as bf
from keras_bertfam import ConfigError, EncoderConfig


@pytest.mark.parametrize(
    "fields, fragment",
    [
        ({"hidden_dim": 100, "num_heads": 3}, "hidden_dim=100 is not divisible by num_heads=3"),
        ({"num_layers": 12, "num_groups": 5, "sharing": "all"}, "num_layers=12 is not a multiple"),
        ({"embedding_dim": 0}, "embedding_dim=0 must be an integer >= 1"),
        ({"embedding_dim": -4}, "embedding_dim=-4"),
        ({"sharing": "layers"}, "sharing='layers' is not one of"),
        ({"sentence_objective": "mlm"}, "sentence_objective='mlm' is not one of"),
        ({"activation": "swish2"}, "activation='swish2'"),
        ({"vocabulary_size": 0}, "vocabulary_size=0"),
        ({"num_layers": 2.5}, "num_layers=2.5"),
        ({"dropout": 1.5}, "dropout=1.5"),
        ({"layer_norm_epsilon": 0}, "layer_norm_epsilon=0"),
        ({"num_groups": 2, "sharing": "none"}, "num_groups=2 with sharing='none'"),
        ({"position_offset": -1}, "position_offset=-1"),
    ],
)
def test_invalid_fields_are_named_with_their_value(fields, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        EncoderConfig(**fields)


def test_unknown_override_lists_known_fields():
    with pytest.raises(ConfigError, match=r"unknown EncoderConfig field\(s\) \['hidden_size'\]"):
        bf.get_preset("bert_base", hidden_size=512)


def test_unknown_preset_lists_presets():
    with pytest.raises(ConfigError, match=r"unknown preset 'bert_huge'.*bert_base"):
        bf.get_preset("bert_huge")


def test_json_round_trip_and_file(tmp_path):
    cfg = bf.get_preset("albert_base", num_layers=6, num_groups=3, sharing="ffn")
    assert EncoderConfig.from_json(cfg.to_json()) == cfg
    path = tmp_path / "config.json"
    path.write_text(cfg.to_json())
    assert bf.resolve_config(str(path)) == cfg
    assert bf.resolve_config(str(path), num_layers=3).num_layers == 3


def test_config_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        EncoderConfig.from_json_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"{\xff")
    with pytest.raises(ConfigError, match=r"bad\.json.*not valid JSON"):
        EncoderConfig.from_json_file(bad)
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError, match="JSON object, got list"):
        EncoderConfig.from_json_file(bad)


def test_derived_fields():
    bert = bf.get_preset("bert_base")
    assert (bert.resolved_embedding_dim, bert.resolved_num_groups) == (768, 12)
    albert = bf.get_preset("albert_base")
    assert (albert.resolved_embedding_dim, albert.resolved_num_groups) == (128, 1)
    roberta = bf.get_preset("roberta_base")
    assert roberta.position_table_size == 514
    assert roberta.sentence_objective == "none"
    hybrid = roberta.replace(embedding_dim=128, sentence_objective="sop")
    assert hybrid.resolved_embedding_dim == 128 and hybrid.position_offset == 2


def test_presets_listed():
    names = bf.list_presets()
    for name in (
        "bert_tiny",
        "bert_mini",
        "bert_small",
        "bert_medium",
        "bert_base",
        "bert_large",
        "albert_tiny",
        "albert_base",
        "albert_large",
        "albert_xlarge",
        "albert_xxlarge",
        "roberta_tiny",
        "roberta_base",
        "roberta_large",
    ):
        assert name in names
