"""ModernBERT: the presets' published sizes, and Hugging Face folders imported with the
outputs transformers 5.24 gives (fixtures written by tests/parity/make_modernbert.py).

The fixture model has `local_attention=4` on a 12-token batch and different rotary bases on
its global and sliding layers, so an import that attends globally, swaps the bases or adds
an attention norm on layer 0 fails the comparison.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.convert import CheckpointError

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
TOL = 1e-4


def reference(case):
    return dict(np.load(FIXTURES / case / "reference.npz"))


@pytest.mark.parametrize("case", ["modernbert", "modernbert_v4"])
def test_parity_with_transformers_in_both_config_formats(case):
    ref = reference(case)
    encoder = bf.from_pretrained(FIXTURES / case)
    assert list(encoder.input) == ["token_ids", "padding_mask"]  # no segment table
    out = encoder({k: ref[k] for k in ("token_ids", "padding_mask")})
    real = ref["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(out["sequence_output"])[real], ref["sequence_output"][real], atol=TOL, rtol=0)  # fmt: skip  # noqa: E501
    np.testing.assert_allclose(out["pooled_output"], ref["pooled_output"], atol=TOL, rtol=0)
    pretrainer = bf.from_pretrained(FIXTURES / case, task="pretraining")
    batch = {k: ref[k] for k in ("token_ids", "padding_mask", "mask_positions")}
    out = pretrainer(batch)
    assert sorted(out) == ["mlm_logits"]
    np.testing.assert_allclose(out["mlm_logits"], ref["mlm_logits"], atol=TOL, rtol=0)


def test_both_config_formats_give_one_config():
    new = bf.from_pretrained(FIXTURES / "modernbert").bertfam_config
    old = bf.from_pretrained(FIXTURES / "modernbert_v4").bertfam_config
    assert new == old
    assert (new.rotary_theta, new.rotary_theta_local, new.local_window, new.global_every) == (1000.0, 100.0, 4, 3)  # fmt: skip  # noqa: E501
    assert (new.feedforward, new.use_bias, new.first_attention_norm, new.num_segments) == ("geglu", False, False, 0)  # fmt: skip  # noqa: E501
    published = new.replace(num_layers=22, hidden_dim=768, num_heads=12, intermediate_dim=1152,
                            vocabulary_size=50368, rotary_theta=160000.0,
                            rotary_theta_local=10000.0, local_window=128,
                            max_sequence_length=8192, initializer_range=0.02,
                            attention_dropout=None)  # fmt: skip
    assert published == bf.get_preset("modernbert_base")


def _with_config(tmp_path, change) -> Path:
    folder = tmp_path / "modernbert"
    shutil.copytree(FIXTURES / "modernbert", folder)
    values = json.loads((folder / "config.json").read_text())
    change(values)
    (folder / "config.json").write_text(json.dumps(values))
    return folder


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda v: v.update(layer_types=["sliding_attention"] * 4), r"layer_types=.*only pattern"),
        (lambda v: v.update(layer_types=["full_attention"] * 3), "must list 4 entries"),
        (
            lambda v: v["rope_parameters"]["full_attention"].update(rope_type="linear"),
            "rope_type='linear'",
        ),
        (lambda v: v.update(mlp_bias=True), r"bias flags .*'mlp_bias': True"),
        (lambda v: v.update(decoder_bias=False), "decoder_bias=False"),
        (lambda v: v.update(hidden_activation="quick_gelu"), "hidden_activation='quick_gelu'"),
    ],
)
def test_configs_it_cannot_reproduce_are_refused_by_name(tmp_path, change, message):
    with pytest.raises(CheckpointError, match=message):
        bf.from_pretrained(_with_config(tmp_path, change))


def test_a_missing_layer_norm_or_an_untied_decoder_is_named(tmp_path):
    from safetensors.numpy import load_file, save_file

    folder = _with_config(tmp_path, lambda v: None)
    tensors = load_file(folder / "model.safetensors")
    save_file({k: v for k, v in tensors.items() if k != "model.layers.2.mlp_norm.weight"}, folder / "model.safetensors")  # fmt: skip  # noqa: E501
    with pytest.raises(CheckpointError, match="encoder/feedforward_2/layer_norm/gamma"):
        bf.from_pretrained(folder)
    table = tensors["model.embeddings.tok_embeddings.weight"]
    save_file({**tensors, "decoder.weight": table + 1.0}, folder / "model.safetensors")
    with pytest.raises(CheckpointError, match="untied MLM decoder"):
        bf.from_pretrained(folder, task="pretraining")


@pytest.mark.parametrize("name, params", [("modernbert_base", 149_014_272), ("modernbert_large", 394_781_696)])  # fmt: skip  # noqa: E501
def test_presets_have_the_published_parameter_counts(name, params):
    """transformers 5.24's ModernBertModel(config of the published checkpoint).num_parameters()."""
    assert bf.build_encoder(name).count_params() == params
    from keras_bertfam.models.info import parameter_breakdown

    assert parameter_breakdown(bf.get_preset(name))["total encoder (no pooler)"] == params


def test_info_counts_every_mix_as_the_built_model_and_local_flops_fall_with_the_window():
    from keras_bertfam.models.info import parameter_breakdown, training_flops_per_token

    mixes = [
        dict(),  # modernbert_tiny itself
        dict(norm="rms", feedforward="swiglu"),
        dict(use_bias=True, first_attention_norm=True, local_window=None),
        dict(embedding_dim=32, position_embedding="learned", num_segments=2, pooler=True),
        dict(num_groups=1, sharing="all", first_attention_norm=True),  # ALBERT-shared rotary
    ]
    for mix in mixes:
        config = bf.get_preset("modernbert_tiny", **mix)
        rows = parameter_breakdown(config)
        total = rows[f"total encoder ({'with' if config.pooler else 'no'} pooler)"]
        assert total == bf.build_encoder(config).count_params(), mix
        assert rows["total pretrainer"] == bf.build_pretrainer(config).count_params(), mix
    config = bf.get_preset("modernbert_tiny", num_layers=6, global_every=3)
    scores = lambda c, s: training_flops_per_token(c, s, 20)["attention scores and context"]  # noqa: E731
    small, large, off = (config.replace(local_window=w) for w in (64, 128, None))
    for s in (512, 1024):
        assert scores(small, s) < scores(large, s) < scores(off, s)
    # two global layers of six: the local layers' share falls 4x from S=512 to S=2048 per token
    assert scores(small, 2048) / scores(off, 2048) < scores(small, 512) / scores(off, 512)


def test_a_modernbert_serves_raw_text_without_the_library(tmp_path):
    """A ModernBERT-shaped model (rotary, a window of 4 on 16 tokens, no segment table) as
    a raw-text SavedModel, run in a process without keras_bertfam, equals Keras on the
    same ids."""
    from keras_bertfam.data import load_tokenizer
    from keras_bertfam.export import export_saved_model
    from tests.data_fixtures import minilm_dir
    from tests.test_export import serve

    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    config = bf.from_pretrained(FIXTURES / "modernbert").bertfam_config
    model = bf.build_encoder(config.replace(vocabulary_size=tok.vocabulary_size))
    folder = export_saved_model(model, tok, tmp_path, "modernbert", sequence_length=16)
    texts = ["a sliding window sees only its neighbours in this sentence", "short"]
    served = serve(folder, {"text": ("serving_default", {"text": texts})})["text"]
    ids = [[101, *row[:14], 102] for row in tok.tokenize(texts).to_list()]
    token_ids = np.array([row + [0] * (16 - len(row)) for row in ids], "int32")
    mask = (token_ids != 0).astype("int32")
    np.testing.assert_array_equal(served["padding_mask"], mask)
    expected = np.asarray(model({"token_ids": token_ids, "padding_mask": mask})["sequence_output"])
    real = mask.astype(bool)
    np.testing.assert_allclose(np.array(served["sequence_output"])[real], expected[real], atol=1e-5)


def test_bertfam_info_names_the_parts_and_sets_local_beside_global(capsys):
    from keras_bertfam.cli import main

    assert main(["info", "modernbert_base", "--sequence-length", "8192"]) == 0
    out = capsys.readouterr().out
    assert (
        "positions=rotary (theta 160000, local 10000) attention=window 128, global every 3" in out
    )
    assert "feedforward=geglu norm=layer, no biases (pre-norm, no first attention norm)" in out
    row = next(line for line in out.splitlines() if line.startswith("attention scores"))
    ours, theirs = (int(v.replace(",", "")) for v in row.split()[-3:-1])
    assert ours < theirs / 2  # 15 of 22 layers see 192 keys, not 8192
    assert "149,014,272" in out and "E=H, unshared, global" in out
