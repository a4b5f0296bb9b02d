"""ELECTRA: the discriminator presets' published sizes, replaced-token detection as a peer
objective, and Hugging Face `electra` folders imported with the outputs transformers 5.24
gives (fixtures written by tests/parity/make_electra.py).

The discriminator and generator fixtures have E < H (ELECTRA-Small's `embeddings_project`),
the bare `ElectraModel` has E = H (ELECTRA-Base's shape); every bias and norm weight is
perturbed, so a missing projection, head bias or segment table fails the comparison.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam import objectives
from keras_bertfam.convert import CheckpointError
from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.models.builders import encoder_of
from keras_bertfam.models.config import ConfigError
from keras_bertfam.models.info import parameter_breakdown

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
TOL = 1e-4
# transformers 5.24 ElectraModel at the google/electra-{small,base}-discriminator sizes
# (checked by tests/parity/make_electra.py)
PUBLISHED = {"electra_small": 13_483_008, "electra_base": 108_891_648}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_counts(name):
    assert bf.build_encoder(name).count_params() == PUBLISHED[name]
    assert parameter_breakdown(bf.get_preset(name))["total encoder (no pooler)"] == PUBLISHED[name]


def test_rtd_pretrainer_heads_and_info_counts():
    config = bf.get_preset("electra_tiny")
    model = bf.build_pretrainer(config)
    assert sorted(model.input) == ["padding_mask", "segment_ids", "token_ids"]  # no positions
    assert sorted(model.output) == ["rtd_logits"]
    assert [layer.name for layer in model.layers if layer.name.endswith("_head")] == ["rtd_head"]
    rows = parameter_breakdown(config)
    assert model.count_params() == rows["total pretrainer"]
    assert bf.build_encoder(config).count_params() == rows["total encoder (no pooler)"]
    # the objectives are peers: RTD with NSP, MLM on the ELECTRA encoder
    both = bf.build_pretrainer(config.replace(sentence_objective="nsp", pooler=True))
    assert sorted(both.output) == ["nsp_logits", "rtd_logits"]
    assert both.count_params() == parameter_breakdown(both.bertfam_config)["total pretrainer"]
    mlm = bf.build_pretrainer(config.replace(token_objective="mlm"))
    assert sorted(mlm.output) == ["mlm_logits"] and "mask_positions" in mlm.input


def test_the_registry_and_the_config_agree():
    from keras_bertfam import kinds

    assert objectives.names("token") == kinds.TOKEN_OBJECTIVES
    assert objectives.names("sentence") == tuple(o for o in kinds.SENTENCE_OBJECTIVES
                                                 if o != "none")  # fmt: skip
    with pytest.raises(ConfigError, match=r"token_objective='replaced' is not one of"):
        bf.get_preset("electra_tiny", token_objective="replaced")
    with pytest.raises(InputError, match="objective='xyz' is not one of"):
        objectives.get("xyz")


def reference(case):
    return dict(np.load(FIXTURES / case / "reference.npz"))


def _assert_close(out, ref, keys):
    real = ref["padding_mask"].astype(bool)
    for key in keys:
        got, want = np.asarray(out[key]), ref[key]
        if key in ("sequence_output", "rtd_logits"):  # padded positions are not compared
            got, want = got[real], want[real]
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0, err_msg=key)


@pytest.mark.parametrize(
    "case, objective, output",
    [("electra_discriminator", "rtd", "rtd_logits"), ("electra_generator", "mlm", "mlm_logits")],
)
def test_parity_with_transformers(case, objective, output):
    ref = reference(case)
    model, report = bf.from_pretrained(FIXTURES / case, task="pretraining", return_report=True)
    assert model.bertfam_config.token_objective == objective
    assert model.bertfam_config.embedding_dim == 16 and not model.bertfam_config.pooler
    assert report["initialized_fresh"] == [] and report["absent"] == ["pooler"]
    assert sorted(model.output) == [output]
    out = model({k: ref[k] for k in model.input})
    _assert_close(out, ref, [output])
    encoder = encoder_of(model)
    _assert_close(encoder({k: ref[k] for k in encoder.input}), ref, ["sequence_output"])


@pytest.mark.parametrize("case", ["electra_model", "electra_discriminator"])
def test_encoder_import(case):
    ref = reference(case)
    encoder, report = bf.from_pretrained(FIXTURES / case, return_report=True)
    out = encoder({k: ref[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    _assert_close(out, ref, ["sequence_output", "pooled_output"])
    assert report["dropped"] == ([] if case == "electra_model" else ["rtd_head"])


def test_imported_discriminator_round_trips_through_keras_file(tmp_path):
    ref = reference("electra_discriminator")
    model = bf.from_pretrained(FIXTURES / "electra_discriminator", task="pretraining")
    model.save(tmp_path / "model.keras")
    again = bf.from_pretrained(tmp_path, task="pretraining")
    inputs = {k: ref[k] for k in model.input}
    np.testing.assert_array_equal(again(inputs)["rtd_logits"], model(inputs)["rtd_logits"])
    assert again.bertfam_config.token_objective == "rtd"


def test_a_generator_with_another_activation_is_refused(tmp_path):
    folder = tmp_path / "generator"
    shutil.copytree(FIXTURES / "electra_generator", folder)
    values = json.loads((folder / "config.json").read_text())
    values["hidden_act"] = "relu"
    (folder / "config.json").write_text(json.dumps(values))
    with pytest.raises(CheckpointError, match="hidden_act='relu' in an ELECTRA generator"):
        bf.from_pretrained(folder, task="pretraining")


def test_bertfam_info_electra_small(capsys):
    from keras_bertfam.cli import main

    assert main(["info", "electra_small"]) == 0
    out = capsys.readouterr().out
    assert "E=128" in out and "token_objective=rtd" in out
    assert "13,483,008" in out and "RTD head" in out


@pytest.mark.parametrize("case", ["electra_discriminator", "electra_generator", "electra_model"])
def test_hugging_face_export_gives_back_transformers_tensors(tmp_path, case):
    """An imported folder exported again: the tensors transformers wrote, under its names."""
    from safetensors.numpy import load_file

    from keras_bertfam.export.huggingface import export_huggingface

    task = "encoder" if case == "electra_model" else "pretraining"
    model = bf.from_pretrained(FIXTURES / case, task=task)
    folder = export_huggingface(model, None, tmp_path, case)

    def unprefixed(file):  # an ElectraModel's names may carry the base prefix or not
        return {k.removeprefix("electra."): v for k, v in load_file(file).items()}

    theirs = unprefixed(FIXTURES / case / "model.safetensors")
    ours = unprefixed(folder / "model.safetensors")
    assert sorted(ours) == sorted(theirs)
    for name, array in theirs.items():
        np.testing.assert_allclose(ours[name], array, atol=1e-7, err_msg=name)
    values = json.loads((folder / "config.json").read_text())
    assert (
        values["architectures"]
        == json.loads((FIXTURES / case / "config.json").read_text())["architectures"]
    )


def test_an_electra_pretrainer_exports_both_folders(tmp_path):
    from keras_bertfam.export.huggingface import export_huggingface
    from keras_bertfam.models.electra import build_electra_pretrainer, electra_parts

    model = build_electra_pretrainer("electra_tiny", num_layers=1, vocabulary_size=100)
    folder = export_huggingface(model, None, tmp_path, "electra")
    generator_folder = tmp_path / "electra-generator-hf"
    architectures = [json.loads((f / "config.json").read_text())["architectures"]
                     for f in (folder, generator_folder)]  # fmt: skip
    assert architectures == [["ElectraForPreTraining"], ["ElectraForMaskedLM"]]
    ref = reference("electra_discriminator")
    batch = {k: ref[k] for k in ("token_ids", "segment_ids", "padding_mask", "mask_positions")}
    for exported, part, output in zip((folder, generator_folder), electra_parts(model),
                                      ("rtd_logits", "mlm_logits"), strict=True):  # fmt: skip
        again = bf.from_pretrained(exported, task="pretraining")
        np.testing.assert_array_equal(again(batch)[output], part(batch)[output])
        assert again.bertfam_config.hidden_dim == part.bertfam_config.hidden_dim
    with pytest.raises(OutputExistsError, match="exists"):
        export_huggingface(model, None, tmp_path, "electra")
