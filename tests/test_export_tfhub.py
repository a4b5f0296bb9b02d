"""TF-Hub export: the client code of TensorFlow's BERT tutorials runs on our SavedModels.

Every SavedModel here is loaded in a fresh process that imports tensorflow,
tensorflow_text, tensorflow_hub and tf_keras, never keras_bertfam or keras-hub,
after the source files are gone; the expected values come from the Keras model.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.cli import main
from keras_bertfam.data import load_tokenizer
from keras_bertfam.data.packing import concatenate
from keras_bertfam.errors import OutputExistsError
from keras_bertfam.export import encoder_of, export_tfhub
from tests.data_fixtures import CORPUS, minilm_dir

BPE = Path(__file__).resolve().parent / "fixtures" / "bpe"
LENGTH, SHORT = 16, 11
TEXTS = ["Hello, worlds! Unbelievable tokenization.", "", "A longer sentence " * 8]
PAIRS = ["Reboot it.", "an answer " * 8, "short"]
TINY = dict(num_layers=2, hidden_dim=32, num_heads=2, intermediate_dim=64)

CLIENT = """
import json, shutil, sys
sys.modules["keras_bertfam"] = None  # the SavedModels must need neither the library
sys.modules["keras_hub"] = None  # nor keras-hub, whose BPE tokenizer runs inside them
import numpy as np
import tensorflow as tf, tensorflow_hub as hub, tensorflow_text, tf_keras  # noqa: F401

def plain(x):
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x.to_list() if isinstance(x, tf.RaggedTensor) else np.asarray(x).tolist()

def classifier(folder):  # "Classify text with BERT", with tf_keras's Adam for AdamW
    text_input = tf_keras.layers.Input(shape=(), dtype=tf.string, name="text")
    preprocessing_layer = hub.KerasLayer(folder + "/preprocess", name="preprocessing")
    encoder_inputs = preprocessing_layer(text_input)
    encoder = hub.KerasLayer(folder + "/encoder", trainable=True, name="BERT_encoder")
    outputs = encoder(encoder_inputs)
    net = tf_keras.layers.Dropout(0.1)(outputs["pooled_output"])
    net = tf_keras.layers.Dense(1, activation=None, name="classifier")(net)
    model = tf_keras.Model(text_input, net)
    model.compile(optimizer=tf_keras.optimizers.Adam(3e-3),
                  loss=tf_keras.losses.BinaryCrossentropy(from_logits=True))
    return model, encoder

def fit(folder, texts):
    model, encoder = classifier(folder)
    before = [v.numpy().copy() for v in encoder.trainable_variables]
    model.fit(tf.constant(texts), tf.constant([1.0, 0.0] * (len(texts) // 2)), batch_size=2,
              epochs=1, verbose=0)
    moved = [not np.allclose(a, v.numpy()) for a, v in zip(before, encoder.trainable_variables)]
    return {"variables": len(before), "moved": sum(moved)}

calls, out = json.loads(sys.argv[1]), {}
for key, (folder, texts, pairs, short) in calls.items():
    local = folder + "-copy"  # the export is moved: nothing may point back at the source
    shutil.copytree(folder, local)
    shutil.rmtree(folder)
    pre, enc = hub.load(local + "/preprocess"), hub.load(local + "/encoder")
    words, b = pre.tokenize(tf.constant(texts)), pre.tokenize(tf.constant(pairs))
    inputs = pre(tf.constant(texts))
    result = {
        "special": plain(pre.tokenize.get_special_tokens_dict()),
        "tokens": plain(words), "rank": words.ragged_rank,
        "inputs": plain(inputs), "shape": inputs["input_word_ids"].shape.as_list(),
        "one": plain(pre.bert_pack_inputs([words], seq_length=short)),
        "two": plain(pre.bert_pack_inputs([words, b], seq_length=short)),
        "default_length": plain(pre.bert_pack_inputs([words, b]))["input_mask"],
        "encoded": plain(enc(inputs, training=False)),
        "dropout_changes": not np.allclose(enc(inputs, training=True)["pooled_output"],
                                           enc(inputs, training=False)["pooled_output"]),
        "legacy": {k: hasattr(pre, k) and hasattr(enc, k)
                   for k in ("vocab_file", "do_lower_case", "sp_model_file")},
    }
    if hasattr(pre, "vocab_file"):
        result["vocab_lines"] = len(open(pre.vocab_file.asset_path.numpy()).read().splitlines())
        result["do_lower_case"] = bool(pre.do_lower_case.numpy())
    if hasattr(enc, "mlm"):
        mlm_inputs = dict(inputs, masked_lm_positions=tf.constant([[1, 2]] * len(texts)))
        result["mlm_logits"] = plain(enc.mlm(mlm_inputs)["mlm_logits"])
    if key in ("bert", "minilm"):
        result["fit"] = fit(local, texts + pairs + texts[:2])
    if key == "bert":
        with tf.distribute.MirroredStrategy().scope():  # "Solve GLUE tasks ... on TPU"
            result["fit_in_strategy"] = fit(local, texts + pairs + texts[:2])
    out[key] = result
print(json.dumps(out))
"""


def run_client(calls: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", CLIENT, json.dumps(calls)], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sentencepiece(folder):
    import gzip

    from keras_bertfam.data.vocab import create_vocab

    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line][:2000]
    (folder / "corpus.txt").write_text("\n".join(lines), encoding="utf-8")
    create_vocab("sentencepiece", 300, [folder / "corpus.txt"], folder / "sp")
    return load_tokenizer(folder / "sp")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfhub")
    wordpiece = load_tokenizer(minilm_dir() / "vocab.txt")
    spm = sentencepiece(root)
    roberta = load_tokenizer(BPE / "roberta")
    modern = load_tokenizer(BPE / "modernbert" / "tokenizer.json")
    models = {
        "bert": (bf.build_pretrainer("bert_tiny", **TINY), wordpiece),
        "albert": (bf.build_encoder("albert_tiny", vocabulary_size=spm.vocabulary_size,
                                    **TINY, embedding_dim=16), spm),
        "roberta": (bf.build_encoder("roberta_tiny", vocabulary_size=roberta.vocabulary_size,
                                     **TINY), roberta),
        "modernbert": (bf.build_encoder("modernbert_tiny", vocabulary_size=modern.vocabulary_size,
                                        **TINY, local_window=4), modern),
        "minilm": (bf.from_pretrained(minilm_dir()), wordpiece),  # the real checkpoint
    }  # fmt: skip
    calls = {}
    for key, (model, tok) in models.items():
        folder = export_tfhub(model, tok, root, key, sequence_length=LENGTH)
        assert sorted(p.name for p in folder.iterdir()) == ["encoder", "preprocess"]
        calls[key] = (str(folder), TEXTS, PAIRS, SHORT)
    return models, run_client(calls)


def round_robin(a, b, budget):
    """tf.text's RoundRobinTrimmer: one token to each segment in turn."""
    if len(a) + len(b) <= budget:
        return a, b
    kept_a = min(len(a), max((budget + 1) // 2, budget - len(b)))
    return a[:kept_a], b[: budget - kept_a]


def expected_pack(tok, texts, pairs, length, type_ids):
    separators = getattr(tok, "pair_separators", 1)
    special = tok.require_special("cls", "sep")
    rows = {"input_word_ids": [], "input_mask": [], "input_type_ids": []}
    for a, b in zip(tok.tokenize(texts).to_list(), tok.tokenize(pairs).to_list(), strict=True):
        if pairs is texts:  # one segment
            segments = [a[: length - 2]]
        else:
            segments = list(round_robin(a, b, length - 3 - (separators - 1)))
        ids, types = concatenate(segments, special["cls"], special["sep"], separators)
        pad = length - len(ids)
        rows["input_word_ids"].append(ids + [tok.special_ids.get("pad", 0)] * pad)
        rows["input_mask"].append([1] * len(ids) + [0] * pad)
        rows["input_type_ids"].append((types if type_ids else [0] * len(types)) + [0] * pad)
    return rows


@pytest.mark.parametrize("key", ["bert", "albert", "roberta", "modernbert", "minilm"])
def test_preprocess_follows_the_tfhub_text_api(served, key):
    models, out = served
    _, tok = models[key]
    got = out[key]
    special = tok.require_special("cls", "sep")
    assert got["special"]["vocab_size"] == tok.vocabulary_size
    assert (got["special"]["start_of_sequence_id"], got["special"]["end_of_segment_id"]) == (
        special["cls"],
        special["sep"],
    )
    assert got["special"]["padding_id"] == tok.special_ids.get("pad", 0)
    assert got["special"].get("mask_id") == tok.special_ids.get("mask")
    flat = tok.tokenize(TEXTS).to_list()
    if key in ("bert", "minilm"):  # WordPiece: [batch, (words), (pieces)]
        assert got["rank"] == 2
        assert [[p for w in words for p in w] for words in got["tokens"]] == flat
        assert got["tokens"][0][2] == tok.tokenize(["worlds"]).to_list()[0]  # one word's pieces
    else:
        assert (got["rank"], got["tokens"]) == (1, flat)
    two_types = key in ("bert", "albert", "minilm")
    assert got["shape"] == [len(TEXTS), LENGTH]
    assert got["inputs"] == expected_pack(tok, TEXTS, TEXTS, LENGTH, two_types)
    assert got["one"] == expected_pack(tok, TEXTS, TEXTS, SHORT, two_types)
    assert got["two"] == expected_pack(tok, TEXTS, PAIRS, SHORT, two_types)
    assert np.array(got["default_length"]).shape == (len(TEXTS), LENGTH)
    if key == "roberta":  # <s> a </s></s> b </s>, one type
        assert got["two"]["input_word_ids"][2][:3] == [special["cls"], *flat[2][:2]]
        assert not np.any(got["two"]["input_type_ids"])
    wordpiece = {"vocab_file", "do_lower_case"}
    legacy = {"bert": wordpiece, "minilm": wordpiece, "albert": {"sp_model_file"}}
    assert {k for k, v in got["legacy"].items() if v} == legacy.get(key, set())
    if key == "bert":
        assert (got["vocab_lines"], got["do_lower_case"]) == (tok.vocabulary_size, True)


@pytest.mark.parametrize("key", ["bert", "albert", "roberta", "modernbert", "minilm"])
def test_encoder_outputs_equal_the_keras_model(served, key):
    models, out = served
    model, _ = models[key]
    got = out[key]["encoded"]
    inputs = {k: np.array(v, "int32") for k, v in out[key]["inputs"].items()}
    x = {"token_ids": inputs["input_word_ids"], "padding_mask": inputs["input_mask"],
         "segment_ids": inputs["input_type_ids"]}  # fmt: skip
    encoder = encoder_of(model)
    reference = encoder({n: x[n] for n in encoder.input})
    np.testing.assert_allclose(got["pooled_output"], reference["pooled_output"], atol=1e-5)
    np.testing.assert_allclose(
        got["sequence_output"], reference["sequence_output"], atol=1e-5, rtol=1e-5
    )  # MiniLM's hidden states reach |3.4|: 1.2e-5 off there
    assert got["default"] == got["pooled_output"]
    layers = encoder.bertfam_config.num_layers
    assert len(got["encoder_outputs"]) == layers
    last = np.array(got["encoder_outputs"][-1])
    if encoder.bertfam_config.norm_first:  # pre-norm: sequence_output adds the final norm
        assert not np.allclose(last, got["sequence_output"], atol=1e-3)
    else:
        np.testing.assert_allclose(last, got["sequence_output"], atol=1e-6)
    if key == "bert":
        x["mask_positions"] = np.array([[1, 2]] * len(TEXTS), "int32")
        mlm = model(x)["mlm_logits"]
        np.testing.assert_allclose(out[key]["mlm_logits"], mlm, atol=1e-4)
        assert out[key]["dropout_changes"]


def test_the_tutorial_fine_tunes_the_encoder(served):
    """A tiny BERT (also under MirroredStrategy) and the real all-MiniLM-L6-v2: one epoch
    of the tutorial's classifier moves every encoder variable."""
    _, out = served
    for key, run in (("bert", "fit"), ("bert", "fit_in_strategy"), ("minilm", "fit")):
        fitted = out[key][run]
        assert fitted["variables"] > 20 and fitted["moved"] == fitted["variables"], fitted


def test_cli_export_and_refusal_without_overwrite(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    bf.build_pretrainer("bert_tiny", num_layers=1, hidden_dim=16, num_heads=2,
                        intermediate_dim=32).save(folder / "model.keras")  # fmt: skip
    root = tmp_path / "out"
    # the encoder alone (--no-text): the preprocessors are tested above
    args = ["export", str(folder), "--format", "tfhub", "--root", str(root), "--name", "m",
            "--no-text"]  # fmt: skip
    assert main(args) == 0
    target = root / "m-tfhub"
    (target / "keep.txt").write_text("old")
    assert main(args) == 2  # refused: the old folder stays whole
    assert (target / "keep.txt").read_text() == "old"
    with pytest.raises(OutputExistsError, match="m-tfhub' exists; pass overwrite=True"):
        export_tfhub(bf.build_encoder("bert_tiny", num_layers=1), None, root, "m")
    assert main([*args, "--overwrite"]) == 0
    assert not (target / "keep.txt").exists()
    assert sorted(p.name for p in target.iterdir()) == ["encoder"]
    assert b"masked_lm_positions" in (target / "encoder" / "saved_model.pb").read_bytes()
    assert [p.name for p in root.iterdir()] == ["m-tfhub"]  # no staging folder left
