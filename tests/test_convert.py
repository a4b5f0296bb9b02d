# ruff: noqa: E501  (tables of checkpoint names read better one per line)
"""Checkpoint import: parity with Hugging Face reference outputs, Google TF1 twins, the real
all-MiniLM-L6-v2, and every way a checkpoint can be wrong.

The fixtures in tests/fixtures/hf/ were written by tests/parity/make_fixtures.py with torch +
transformers (extra `parity`); they are committed so this test needs no torch.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import load_file, save_file

import keras_bertfam as bf
from keras_bertfam.convert import CheckpointError
from tests.data_fixtures import minilm_dir

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
CASES = ("bert", "albert", "albert_inner", "roberta")
TOL = 1e-4


def reference(case):
    return dict(np.load(FIXTURES / case / "reference.npz"))


def inputs_of(ref, with_positions=False):
    names = ["token_ids", "segment_ids", "padding_mask"] + ["mask_positions"] * with_positions
    return {name: ref[name] for name in names}


def assert_matches_reference(folder, ref, **kwargs):
    encoder = bf.from_pretrained(folder, **kwargs)
    out = encoder(inputs_of(ref))
    real = ref["padding_mask"].astype(bool)
    seq = np.asarray(out["sequence_output"])
    np.testing.assert_allclose(seq[real], ref["sequence_output"][real], atol=TOL, rtol=0)
    np.testing.assert_allclose(out["pooled_output"], ref["pooled_output"], atol=TOL, rtol=0)
    pretrainer = bf.from_pretrained(folder, task="pretraining", **kwargs)
    out = pretrainer(inputs_of(ref, with_positions=True))
    np.testing.assert_allclose(out["mlm_logits"], ref["mlm_logits"], atol=TOL, rtol=0)
    for head in ("nsp_logits", "sop_logits"):
        assert (head in out) == (head in ref), head
        if head in ref:
            np.testing.assert_allclose(out[head], ref[head], atol=TOL, rtol=0)


@pytest.mark.parametrize("case", CASES)
def test_hugging_face_parity(case):
    assert_matches_reference(FIXTURES / case, reference(case))


def test_imported_config_follows_the_checkpoint():
    albert = bf.from_pretrained(FIXTURES / "albert_inner").bertfam_config
    assert (albert.sharing, albert.num_groups, albert.inner_group_size) == ("all", 1, 2)
    assert albert.embedding_dim != albert.hidden_dim and albert.activation == "gelu_approximate"
    roberta = bf.from_pretrained(FIXTURES / "roberta").bertfam_config
    assert (roberta.position_offset, roberta.max_sequence_length) == (2, 64)
    assert roberta.sentence_objective == "none" and roberta.num_segments == 1


def copy_case(case, tmp_path) -> Path:
    folder = tmp_path / case
    shutil.copytree(FIXTURES / case, folder)
    return folder


def rewrite(folder, change):
    tensors = load_file(folder / "model.safetensors")
    save_file(change(tensors), folder / "model.safetensors")


def test_sharded_index_and_old_layer_norm_names(tmp_path):
    folder = copy_case("bert", tmp_path)
    tensors = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    # old checkpoints call LayerNorm parameters gamma/beta
    renamed = {
        re.sub(r"LayerNorm\.weight$", "LayerNorm.gamma", re.sub(r"LayerNorm\.bias$", "LayerNorm.beta", k)): v
        for k, v in tensors.items()
    }  # fmt: skip
    assert sum(k.endswith(".gamma") for k in renamed) > 0
    names = sorted(renamed)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}  # fmt: skip
    for file, keys in shards.items():
        save_file({k: renamed[k] for k in keys}, folder / file)
    index = {"weight_map": {k: file for file, keys in shards.items() for k in keys}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    assert_matches_reference(folder, reference("bert"))


def test_tied_decoder_copy_must_equal_the_token_table(tmp_path):
    folder = copy_case("bert", tmp_path)
    table = "bert.embeddings.word_embeddings.weight"
    rewrite(folder, lambda t: {**t, "cls.predictions.decoder.weight": t[table].copy()})
    bf.from_pretrained(folder, task="pretraining")  # an identical stored copy is fine
    rewrite(folder, lambda t: {**t, "cls.predictions.decoder.weight": t[table] + 1.0})
    with pytest.raises(CheckpointError, match="untied MLM decoder"):
        bf.from_pretrained(folder, task="pretraining")


def test_leftover_missing_and_misshapen_weights_are_listed(tmp_path):
    folder = copy_case("bert", tmp_path)
    rewrite(folder, lambda t: {**t, "bert.encoder.layer.9.attention.self.query.weight": t["bert.pooler.dense.weight"]})  # fmt: skip
    with pytest.raises(CheckpointError, match=r"layer\.9.*query"):
        bf.from_pretrained(folder)
    folder = copy_case("roberta", tmp_path)
    bias = "roberta.encoder.layer.0.output.dense.bias"
    rewrite(folder, lambda t: {k: v for k, v in t.items() if k != bias})
    with pytest.raises(CheckpointError, match=r"missing.*encoder/feedforward_0/output/bias"):
        bf.from_pretrained(folder)
    encoder = bf.from_pretrained(folder, allow_missing=("encoder/feedforward_0/output/bias",))
    assert "pooled_output" in encoder.output
    folder = copy_case("albert", tmp_path)
    rewrite(folder, lambda t: {k: v for k, v in t.items() if ".value." not in k})
    with pytest.raises(CheckpointError, match="needs query, key and value"):
        bf.from_pretrained(folder)
    folder = copy_case("bert", tmp_path / "shape")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "intermediate_size": 48}))
    with pytest.raises(CheckpointError, match=r"shape mismatches.*intermediate/kernel"):
        bf.from_pretrained(folder)


def test_bad_folders_get_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        bf.from_pretrained(tmp_path / "nowhere")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(FIXTURES / "bert" / "config.json", pickled)
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(CheckpointError, match=r"never loads.*safe_serialization=True"):
        bf.from_pretrained(pickled)
    corrupt = copy_case("bert", tmp_path)
    data = (corrupt / "model.safetensors").read_bytes()
    (corrupt / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        bf.from_pretrained(corrupt)
    other = copy_case("bert", tmp_path / "gpt")
    (other / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(CheckpointError, match="model_type='gpt2'"):
        bf.from_pretrained(other)
    with pytest.raises(ValueError, match="task='ner'"):
        bf.from_pretrained(FIXTURES / "bert", task="ner")


# -- Google TF1 checkpoints -----------------------------------------------------------

# Hugging Face name -> Google name (inverse of the importer's rules; test-only).
GOOGLE_NAMES = [
    (r"(bert|albert)\.embeddings\.LayerNorm\.weight", "bert/embeddings/LayerNorm/gamma"),
    (r"(bert|albert)\.embeddings\.LayerNorm\.bias", "bert/embeddings/LayerNorm/beta"),
    (r"(bert|albert)\.embeddings\.(\w+)_embeddings\.weight", r"bert/embeddings/\2_embeddings"),
    (r"bert\.encoder\.layer\.(\d+)\.attention\.self\.(\w+)\.", r"bert/encoder/layer_\1/attention/self/\2/"),
    (r"bert\.encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"bert/encoder/layer_\1/attention/output/dense/"),
    (r"bert\.encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.", r"bert/encoder/layer_\1/attention/output/LayerNorm/"),
    (r"bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.", r"bert/encoder/layer_\1/intermediate/dense/"),
    (r"bert\.encoder\.layer\.(\d+)\.output\.dense\.", r"bert/encoder/layer_\1/output/dense/"),
    (r"bert\.encoder\.layer\.(\d+)\.output\.LayerNorm\.", r"bert/encoder/layer_\1/output/LayerNorm/"),
    (r"bert\.pooler\.dense\.", "bert/pooler/dense/"),
    (r"albert\.pooler\.", "bert/pooler/dense/"),
    (r"albert\.encoder\.embedding_hidden_mapping_in\.", "bert/encoder/embedding_hidden_mapping_in/"),
    (r"albert\.encoder\.albert_layer_groups\.(\d+)\.albert_layers\.(\d+)\.", r"bert/encoder/transformer/group_\1/inner_group_\2/"),
    (r"(inner_group_\d+/)attention\.(query|key|value)\.", r"\1attention_1/self/\2/"),
    (r"(inner_group_\d+/)attention\.dense\.", r"\1attention_1/output/dense/"),
    (r"(inner_group_\d+/)attention\.LayerNorm\.", r"\1LayerNorm/"),
    (r"(inner_group_\d+/)ffn\.", r"\1ffn_1/intermediate/dense/"),
    (r"(inner_group_\d+/)ffn_output\.", r"\1ffn_1/intermediate/output/dense/"),
    (r"(inner_group_\d+/)full_layer_layer_norm\.", r"\1LayerNorm_1/"),
    (r"(cls\.)?predictions\.transform\.dense\.|^predictions\.dense\.", "cls/predictions/transform/dense/"),
    (r"(cls\.)?predictions\.(transform\.)?LayerNorm\.", "cls/predictions/transform/LayerNorm/"),
    (r"(cls\.)?predictions\.bias", "cls/predictions/output_bias"),
    (r"cls\.seq_relationship\.weight|sop_classifier\.classifier\.weight", "cls/seq_relationship/output_weights"),
    (r"cls\.seq_relationship\.bias|sop_classifier\.classifier\.bias", "cls/seq_relationship/output_bias"),
]  # fmt: skip


def google_twin(case, folder: Path) -> Path:
    """Write the HF fixture `case` as a Google TF1 checkpoint (tf.compat.v1 Saver)."""
    hf = load_file(FIXTURES / case / "model.safetensors")
    variables = {}
    for name, value in hf.items():
        google = name
        for pattern, replacement in GOOGLE_NAMES:
            google = re.sub(pattern, replacement, google)
        is_norm = "LayerNorm" in google
        google = re.sub(r"/weight$", "/gamma" if is_norm else "/kernel", google)
        google = re.sub(r"/bias$", "/beta" if is_norm else "/bias", google)
        if google.endswith("/kernel"):
            value = value.T  # torch Linear [out, in] -> TF [in, out]
        variables[google] = value
    assert all("." not in name for name in variables), sorted(variables)
    config = json.loads((FIXTURES / case / "config.json").read_text())
    keys = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
            "intermediate_size", "max_position_embeddings", "type_vocab_size",
            "hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range",
            "embedding_size", "num_hidden_groups", "inner_group_num"]  # fmt: skip
    google_config = {k: config[k] for k in keys if k in config}
    google_config["hidden_act"] = "gelu"  # Google's modeling.py: "gelu" is the tanh form
    folder.mkdir(parents=True)
    name = "albert_config.json" if case.startswith("albert") else "bert_config.json"
    (folder / name).write_text(json.dumps(google_config))
    with tf.Graph().as_default():
        tf_vars = [tf.compat.v1.Variable(v, name=k) for k, v in variables.items()]
        tf_vars.append(tf.compat.v1.Variable(7, name="global_step", dtype=tf.int64))
        tf_vars.append(tf.compat.v1.Variable(np.zeros(2, "float32"), name="bert/pooler/dense/bias/adam_m"))  # fmt: skip
        saver = tf.compat.v1.train.Saver(tf_vars)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(folder / "model.ckpt"))
    return folder


@pytest.mark.parametrize("case", ["bert", "albert", "albert_inner"])
def test_google_tf1_checkpoint_equals_its_hugging_face_twin(case, tmp_path):
    folder = google_twin(case, tmp_path / case)
    config = json.loads((FIXTURES / case / "config.json").read_text())
    # HF's "gelu" is exact erf; Google's is tanh: say which one the twin was trained with.
    exact = {"activation": "gelu"} if config["hidden_act"] == "gelu" else {}
    assert_matches_reference(folder, reference(case), **exact)
    # Without an override, Google's "gelu" is read as their code computes it.
    assert bf.from_pretrained(folder).bertfam_config.activation == "gelu_approximate"


# -- the real checkpoint ----------------------------------------------------------------


def test_real_minilm_matches_sentence_transformers():
    ref = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())
    folder = minilm_dir()
    encoder = bf.from_pretrained(folder)
    tokenizer = bf.load_tokenizer(folder)
    special = tokenizer.special_ids
    max_length = ref["max_seq_length"]
    texts = [s["text"] for s in ref["sentences"]]
    pieces = tokenizer.tokenize(texts).to_list()
    for sentence, ids in zip(ref["sentences"], pieces, strict=True):
        ours = [special["cls"], *ids[: max_length - 2], special["sep"]]
        assert ours == sentence["input_ids"], sentence["text"][:40]
    from keras_bertfam.layers import SequencePooling

    for sentence in ref["sentences"]:
        ids = np.array([sentence["input_ids"]], "int32")
        out = encoder({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)})  # fmt: skip
        pooled = SequencePooling("mean")(out["sequence_output"], np.ones_like(ids)).numpy()[0]
        pooled /= np.linalg.norm(pooled)
        cosine = float(pooled @ np.array(sentence["embedding"]))
        assert cosine >= 0.9999, (sentence["text"][:40], cosine)


def test_bertfam_convert_writes_a_folder_that_loads_back(tmp_path):
    from keras_bertfam.cli import main

    out = tmp_path / "converted"
    assert main(["convert", str(FIXTURES / "albert"), "--out", str(out)]) == 0
    assert main(["convert", str(FIXTURES / "albert"), "--out", str(out)]) == 2  # no overwrite
    ref = reference("albert")
    again = bf.from_pretrained(out, task="pretraining")
    out_again = again(inputs_of(ref, with_positions=True))
    np.testing.assert_allclose(out_again["sop_logits"], ref["sop_logits"], atol=TOL, rtol=0)
    assert again.bertfam_config == bf.from_pretrained(FIXTURES / "albert").bertfam_config


def test_convert_refuses_a_corrupt_tokenizer_before_writing(tmp_path):
    import shutil

    from keras_bertfam.convert.importer import convert_checkpoint
    from keras_bertfam.data import TokenizerError

    source = tmp_path / "albert"
    shutil.copytree(FIXTURES / "albert", source)
    assert convert_checkpoint(source, tmp_path / "plain")["tokenizer"] is None  # none there
    (source / "spiece.model").write_bytes(b"truncated download")
    with pytest.raises(TokenizerError, match=r"spiece\.model"):
        convert_checkpoint(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()
