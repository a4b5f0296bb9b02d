"""TFLite export: agreement with Keras per quantization, builtin ops only, raw text, errors.

Every model here is run through ai-edge-litert's interpreter, built in the test
itself (not through the module's helpers), so the checks do not lean on the
code they check.
"""

import gzip
import json
import unicodedata

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, InterpreterWithCustomOps

import keras_bertfam as bf
from keras_bertfam.data import load_tokenizer
from keras_bertfam.data.tokenizers import WordPieceTokenizer
from keras_bertfam.export import (
    TFLiteConversionError,
    encoder_of,
    export_tflite,
    format_report,
    tflite_ops,
)
from keras_bertfam.export.tflite import report_path
from tests.data_fixtures import CORPUS, minilm_dir
from tests.helpers import make_batch
from tests.test_tokenizers import TEXTS

SEQ = 32
VOCAB = 1000
CONFIGS = {
    "bert": ("bert_tiny", {}),
    # E=32 != H=128, one block shared by both layers
    "albert": ("albert_tiny", {}),
    # positions offset by 2, one segment, no token types
    "roberta": ("roberta_tiny", {}),
    # rotary positions, a sliding window of 8 on layer 1 (of 32 tokens), GeGLU, no biases,
    # no segment table and no pooler
    "modernbert": ("modernbert_tiny", {"local_window": 8}),
}


def encoder(name, **overrides):
    preset, extra = CONFIGS[name]
    return bf.build_encoder(preset, num_layers=2, vocabulary_size=VOCAB, **{**extra, **overrides})


def batches(model, count=3, batch=1, seq=SEQ, seed=0):
    """Padded token batches in the encoder's input format (no mask_positions; segment_ids
    only where the encoder has a segment table)."""
    encoder = encoder_of(model)
    segments = encoder.get_layer("embeddings").num_segments
    out = []
    for i in range(count):
        x = make_batch(VOCAB, batch=batch, seq=seq, num_segments=segments, seed=seed + i)
        x = {k: v for k, v in x.items() if k in encoder.input}
        out.append(x)
    return out


def run_tflite(path, inputs: dict) -> dict:
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return runner(**inputs)


def keras_outputs(model, inputs):
    return {k: np.asarray(v) for k, v in model(inputs, training=False).items()}


def max_diff(a: dict, b: dict) -> dict:
    return {k: float(np.max(np.abs(a[k] - b[k]))) for k in b}


def sentence_cosine(a, b, mask):
    """Smallest per-row cosine of mean-pooled sequence outputs."""
    m = mask[..., None].astype("float32")
    ea, eb = (a * m).sum(1) / m.sum(1), (b * m).sum(1) / m.sum(1)
    cos = (ea * eb).sum(1) / (np.linalg.norm(ea, axis=1) * np.linalg.norm(eb, axis=1))
    return float(cos.min())


def compat_free(text):
    """No character that NFKC or case folding changes (see the module docstring)."""
    return unicodedata.normalize("NFKC", text) == text and text.casefold() == text.lower()


# ------------------------------------------------------------------- token-id models


@pytest.fixture(scope="module")
def exported_float32(tmp_path_factory):
    """One float32 export per family config, with the model and fresh inputs."""
    folder = tmp_path_factory.mktemp("tflite")
    out = {}
    for name in CONFIGS:
        keras.utils.set_random_seed(1)
        model = encoder(name)
        report = export_tflite(model, folder / f"{name}.tflite", sequence_length=SEQ, runs=3)
        out[name] = (model, report)
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_float32_matches_keras_for_each_family(exported_float32, name):
    model, report = exported_float32[name]
    for x in batches(model, seed=10):
        diff = max_diff(run_tflite(report["path"], x), keras_outputs(model, x))
        assert set(diff) == {"sequence_output", "pooled_output"}
        assert max(diff.values()) < 1e-5, diff
    assert max(report["max_abs_diff"].values()) < 1e-5
    # weights are inside the file (a file without them is ~40 KB and gives NaN)
    assert report["size_bytes"] > 4 * model.count_params() * 0.9


def test_family_differences_reach_the_file(exported_float32):
    albert = exported_float32["albert"][0]
    roberta = exported_float32["roberta"][0]
    assert albert.get_layer("embeddings").projection is not None  # E != H
    assert len(albert.get_layer("encoder").weights) < len(
        exported_float32["bert"][0].get_layer("encoder").weights
    )  # one shared block
    assert roberta.get_layer("position_embedding").offset == 2
    sizes = {name: report["size_bytes"] for name, (_, report) in exported_float32.items()}
    assert sizes["albert"] < 0.6 * sizes["bert"], sizes  # factorized, shared: a smaller file


@pytest.mark.parametrize("name", list(CONFIGS))
def test_only_builtin_ops_and_gelu_is_one_op(exported_float32, name):
    _, report = exported_float32[name]
    ops = tflite_ops(report["path"])
    assert report["ops"] == ops and report["flex_ops"] == []
    assert all(op.isupper() for op in ops), ops  # builtin names only, no custom codes
    assert not {"VAR_HANDLE", "READ_VARIABLE"} & set(ops)
    # exact (erf) GELU for BERT and RoBERTa, the tanh form for ALBERT: both one builtin op
    assert "GELU" in ops
    # the interpreter resolves every op without any custom registerer
    interpreter = Interpreter(model_path=report["path"])
    assert "GELU" in {op["op_name"] for op in interpreter._get_ops_details()}


def test_op_listing_sees_flex_ops(tmp_path):
    """`tflite_ops` would show a Flex op: convert one on purpose, with SELECT_TF_OPS."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([4], tf.float32)])
    def erf(x):
        return tf.math.erf(x)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([erf.get_concrete_function()])
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    assert tflite_ops(converter.convert()) == ["FlexErf"]


def test_float16_within_1e_2(tmp_path, exported_float32):
    model, float32 = exported_float32["bert"]
    report = export_tflite(
        model, tmp_path / "f16.tflite", quantization="float16", runs=3, sequence_length=SEQ
    )
    for x in batches(model, seed=20):
        diff = max_diff(run_tflite(report["path"], x), keras_outputs(model, x))
        assert max(diff.values()) < 1e-2, diff
    assert report["size_bytes"] < 0.55 * float32["size_bytes"]
    assert report["quantization"] == "float16"


def test_dynamic_int8_keeps_the_sentence_embedding_and_shrinks_the_file(tmp_path):
    # V=8000, H=128: the weights are ~98% of the float32 file
    model = bf.build_encoder("bert_tiny", num_layers=2, vocabulary_size=8000)
    float32 = export_tflite(model, tmp_path / "f32.tflite", sequence_length=SEQ, report=False)
    report = export_tflite(
        model, tmp_path / "dyn.tflite", quantization="dynamic_int8", sequence_length=SEQ, runs=3
    )
    assert report["size_bytes"] <= 0.30 * float32["size_bytes"], (report, float32)
    for x in batches(model, seed=30, batch=1):
        lite, ref = run_tflite(report["path"], x), keras_outputs(model, x)
        assert (
            sentence_cosine(lite["sequence_output"], ref["sequence_output"], x["padding_mask"])
            >= 0.99
        )
    assert report["cosine"]["mean_pooled"] >= 0.99 and report["cosine"]["pooled_output"] >= 0.99


def test_full_int8_with_representative_data(tmp_path):
    model = encoder("bert")
    data = batches(model, count=4, batch=8, seed=40)  # rows regrouped into batches of 1
    # as a callable returning (x, y, sample_weight) tuples, as load_data yields batches
    report = export_tflite(
        model,
        tmp_path / "int8.tflite",
        quantization="int8",
        representative_data=lambda: ((x, None, None) for x in data),
        sequence_length=SEQ,
        runs=3,
    )
    interpreter = Interpreter(model_path=report["path"])
    tensors = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    matmuls = [op for op in interpreter._get_ops_details() if op["op_name"] == "FULLY_CONNECTED"]
    assert matmuls and all(tensors[op["inputs"][1]] == np.int8 for op in matmuls)
    x = batches(model, count=1, seed=50)[0]
    lite, ref = run_tflite(report["path"], x), keras_outputs(model, x)
    assert all(np.isfinite(v).all() for v in lite.values())
    assert (
        sentence_cosine(lite["sequence_output"], ref["sequence_output"], x["padding_mask"]) > 0.98
    )
    assert report["flex_ops"] == []


def test_pretrainer_exports_its_encoder(tmp_path):
    model = bf.build_pretrainer("bert_tiny", num_layers=2, vocabulary_size=VOCAB)
    report = export_tflite(model, tmp_path / "p.tflite", sequence_length=SEQ, batch_size=2, runs=3)
    x = batches(model, count=1, batch=2)[0]
    diff = max_diff(run_tflite(report["path"], x), keras_outputs(encoder_of(model), x))
    assert report["outputs"] == ["pooled_output", "sequence_output"] and max(diff.values()) < 1e-4
    assert report["batch_size"] == 2


def test_mixed_precision_model_is_exported_in_float32(tmp_path):
    # bfloat16 has no TFLite kernels (the erf GELU becomes a non-builtin Erfc there)
    mixed = encoder("bert", dtype="mixed_bfloat16")
    report = export_tflite(mixed, tmp_path / "m.tflite", sequence_length=SEQ, runs=3)
    same = encoder("bert")
    same.set_weights(mixed.get_weights())
    x = batches(same, count=1)[0]
    assert max(max_diff(run_tflite(report["path"], x), keras_outputs(same, x)).values()) < 1e-4
    assert mixed.get_layer("encoder").dtype_policy.name == "mixed_bfloat16"  # left as it was


def test_a_non_builtin_op_fails_loudly_with_its_name(tmp_path):
    base = encoder("bert")
    erf = keras.layers.Lambda(keras.ops.erf, name="erf")(base.output["sequence_output"])
    model = keras.Model(base.input, {"erf": erf})
    with pytest.raises(TFLiteConversionError, match=r"no TFLite builtin kernel: \['Erf'\]"):
        export_tflite(model, tmp_path / "erf.tflite", sequence_length=SEQ)
    assert not (tmp_path / "erf.tflite").exists()


def test_bad_ids_in_tflite(exported_float32):
    """TFLite's GATHER rejects ids >= V; for -1 it does not, and the library's NaN
    poisoning (kept in the graph) makes the float outputs NaN instead of a plausible
    embedding."""
    model, report = exported_float32["bert"]
    x = batches(model, count=1)[0]
    x["token_ids"][0, 3] = VOCAB
    with pytest.raises(RuntimeError, match="gather"):
        run_tflite(report["path"], x)
    x["token_ids"][0, 3] = -1
    assert np.isnan(run_tflite(report["path"], x)["sequence_output"]).any()


def test_report_json_and_table(exported_float32):
    _, report = exported_float32["roberta"]
    saved = json.loads(report_path(report["path"]).read_text())
    assert saved == json.loads(json.dumps(report))
    assert report["latency_ms"]["runs"] == 3 and 0 < report["latency_ms"]["median"] < 1000
    assert report["sequence_length"] == SEQ and report["batch_size"] == 1
    assert report["inputs"] == ["padding_mask", "segment_ids", "token_ids"]
    table = format_report(report)
    assert f"{report['size_bytes']:,} bytes" in table
    assert "latency, batch 1 x 32 tokens" in table and "flex ops" in table


# ----------------------------------------------------------------------- bad input


def test_unknown_quantization(tmp_path):
    with pytest.raises(ValueError, match=r"quantization='int4' is not one of \['float32'"):
        export_tflite(encoder("bert"), tmp_path / "x.tflite", quantization="int4")


def test_int8_needs_representative_data(tmp_path):
    with pytest.raises(ValueError, match=r"quantization='int8' needs representative_data.*=None"):
        export_tflite(encoder("bert"), tmp_path / "x.tflite", quantization="int8")


def test_representative_data_of_the_wrong_length(tmp_path):
    model = encoder("bert")
    data = batches(model, count=1, seq=16)
    with pytest.raises(ValueError, match=r"representative_data\['token_ids'\] has shape \[1, 16\]"):
        export_tflite(
            model,
            tmp_path / "x.tflite",
            quantization="int8",
            representative_data=data,
            sequence_length=SEQ,
        )


def test_existing_file_needs_overwrite(exported_float32):
    model, report = exported_float32["bert"]
    with pytest.raises(FileExistsError, match=r"bert.tflite' exists; pass overwrite=True"):
        export_tflite(model, report["path"], sequence_length=SEQ)
    again = export_tflite(model, report["path"], sequence_length=SEQ, overwrite=True, report=False)
    assert again["size_bytes"] == report["size_bytes"]


def test_sequence_length_beyond_the_position_table(tmp_path):
    model = bf.build_encoder(
        "bert_tiny", num_layers=1, vocabulary_size=VOCAB, max_sequence_length=64
    )
    with pytest.raises(ValueError, match="sequence length 65 but max_sequence_length=64"):
        export_tflite(model, tmp_path / "x.tflite", sequence_length=65)


def test_model_without_contract_inputs(tmp_path):
    inputs = keras.Input((SEQ,), dtype="int32", name="input_ids")
    model = keras.Model(inputs, keras.layers.Embedding(10, 4)(inputs))
    with pytest.raises(ValueError, match=r"model inputs \['input_ids'\] are not among"):
        export_tflite(model, tmp_path / "x.tflite")


# ------------------------------------------------------------------------ raw text


def text_batches(texts, batch_size):
    texts = list(texts) + [""] * ((-len(texts)) % batch_size)
    return [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]


def packed(tok, texts, seq):
    """[CLS] ids[:seq-2] [SEP], padded: the Keras-side packing, written out here."""
    cls, sep = tok.special_ids["cls"], tok.special_ids["sep"]
    pad = tok.special_ids.get("pad", 0)
    rows = [[cls, *ids[: seq - 2], sep] for ids in tok.tokenize(texts).to_list()]
    token_ids = np.array([r + [pad] * (seq - len(r)) for r in rows], "int32")
    mask = np.array([[1] * len(r) + [0] * (seq - len(r)) for r in rows], "int32")
    return {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids), "padding_mask": mask}


def text_runner(path):
    """How an app runs a raw-text model: register tf.text's TFLite kernels."""
    from tensorflow_text.core.pybinds import tflite_registrar

    interpreter = InterpreterWithCustomOps(
        model_path=str(path), custom_op_registerers=tflite_registrar.SELECT_TFTEXT_OPS
    )
    return interpreter.get_signature_runner()


def corpus_lines(count):
    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        return [line for line in handle.read().splitlines() if line][:count]


def check_text_model(path, model, tok, texts, batch_size, seq, outputs=True):
    runner = text_runner(path)
    for batch in text_batches(texts, batch_size):
        lite = runner(text=np.array(batch, dtype=object))
        ref = packed(tok, batch, seq)
        np.testing.assert_array_equal(lite["token_ids"], ref["token_ids"], err_msg=str(batch))
        np.testing.assert_array_equal(lite["padding_mask"], ref["padding_mask"])
        if outputs:
            diff = max_diff(lite, keras_outputs(model, ref))
            assert max(diff.values()) < 1e-4, (batch, diff)


@pytest.fixture(scope="module")
def minilm_text_model(tmp_path_factory):
    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    model = bf.build_encoder("bert_tiny", num_layers=2, vocabulary_size=tok.vocabulary_size)
    path = tmp_path_factory.mktemp("text") / "minilm_text.tflite"
    report = export_tflite(model, path, tokenizer=tok, sequence_length=SEQ, batch_size=4, runs=3)
    return model, tok, report


def test_wordpiece_text_model_equals_tokenizer_plus_keras(minilm_text_model):
    model, tok, report = minilm_text_model
    texts = [t for t in TEXTS if compat_free(t)]
    assert len(texts) == len(TEXTS) - 2  # the CJK line (full-width comma) and the ™ line
    check_text_model(report["path"], model, tok, [*texts, "", "Short."], 4, SEQ)
    check_text_model(report["path"], model, tok, corpus_lines(400), 4, SEQ, outputs=False)
    assert report["token_ids_equal"] and report["max_abs_diff"]["sequence_output"] < 1e-4
    assert report["inputs"] == ["text"]
    assert set(report["outputs"]) == {
        "sequence_output",
        "pooled_output",
        "token_ids",
        "padding_mask",
    }
    assert report["custom_ops"] == ["FastBertNormalize", "FastWordpieceTokenizeWithOffsets"]
    assert report["flex_ops"] == []


def test_wordpiece_text_model_normalizes_compatibility_characters(minilm_text_model):
    """The documented difference: tf.text's fast normalizer folds with NFKC ("ß" -> "ss",
    "ＡＢＣ" -> "abc", "™" -> "tm"), BERT's lower() + NFD does not."""
    _, tok, report = minilm_text_model
    runner = text_runner(report["path"])
    lite = runner(text=np.array(["straße", "ＡＢＣ", "™", "fine"], dtype=object))["token_ids"]
    folded = packed(tok, ["strasse", "abc", "tm", "fine"], SEQ)["token_ids"]
    keras_path = packed(tok, ["straße", "ＡＢＣ", "™", "fine"], SEQ)["token_ids"]
    np.testing.assert_array_equal(lite, folded)
    assert [np.array_equal(a, b) for a, b in zip(lite, keras_path, strict=True)] == [
        False,
        False,
        False,
        True,
    ]


def test_plain_interpreter_needs_the_tftext_registerer(minilm_text_model):
    _, _, report = minilm_text_model
    with pytest.raises((RuntimeError, ValueError), match="FastBertNormalize"):
        interpreter = Interpreter(model_path=report["path"])
        interpreter.allocate_tensors()


def test_cased_wordpiece_text_model(tmp_path):
    tok = WordPieceTokenizer(
        load_tokenizer(minilm_dir() / "vocab.txt").vocabulary, lower_case=False
    )
    model = bf.build_encoder("bert_tiny", num_layers=1, vocabulary_size=tok.vocabulary_size)
    report = export_tflite(
        model, tmp_path / "cased.tflite", tokenizer=tok, sequence_length=SEQ, runs=3
    )
    texts = [t for t in TEXTS if compat_free(t)] + ["Mixed CASE Words", "Ünïcödé"]
    check_text_model(report["path"], model, tok, texts, 1, SEQ)


def test_sentencepiece_text_model(tmp_path):
    from keras_bertfam.data.vocab import create_vocab

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(corpus_lines(3000)))
    create_vocab("sentencepiece", 400, [corpus], tmp_path / "sp")
    tok = load_tokenizer(tmp_path / "sp")
    assert tok.kind == "sentencepiece"
    model = bf.build_encoder("albert_tiny", num_layers=2, vocabulary_size=tok.vocabulary_size)
    report = export_tflite(
        model,
        tmp_path / "sp.tflite",
        tokenizer=tok,
        sequence_length=SEQ,
        batch_size=2,
        quantization="dynamic_int8",
        runs=3,
    )
    assert report["custom_ops"] == ["TFText>FastSentencepieceTokenize"]
    assert report["token_ids_equal"] and report["cosine"]["mean_pooled"] >= 0.99
    f32 = export_tflite(
        model, tmp_path / "sp32.tflite", tokenizer=tok, sequence_length=SEQ, batch_size=2, runs=3
    )
    check_text_model(f32["path"], model, tok, TEXTS + corpus_lines(100)[50:], 2, SEQ)


def test_bpe_tokenizer_is_refused(tmp_path):
    from keras_bertfam.data.vocab import create_vocab

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(corpus_lines(500)))
    create_vocab("bpe", 300, [corpus], tmp_path / "bpe")
    with pytest.raises(ValueError, match=r"tokenizer: byte-level BPE .* has no TFLite kernel"):
        export_tflite(
            encoder("roberta"), tmp_path / "r.tflite", tokenizer=load_tokenizer(tmp_path / "bpe")
        )
    assert not (tmp_path / "r.tflite").exists()


def test_text_model_refuses_full_int8(tmp_path):
    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    with pytest.raises(ValueError, match="quantization='int8' is not available for a raw-text"):
        export_tflite(encoder("bert"), tmp_path / "t.tflite", tokenizer=tok, quantization="int8")


# ------------------------------------------------------------ real weights (MiniLM)


def minilm_encoder(num_layers):
    """The first `num_layers` blocks of the real all-MiniLM-L6-v2 checkpoint."""
    from safetensors.numpy import load_file

    w = load_file(str(minilm_dir() / "model.safetensors"))
    model = bf.build_encoder(
        "bert_base", num_layers=num_layers, hidden_dim=384, num_heads=12, intermediate_dim=1536
    )
    values = {
        "token_embedding/embeddings": w["embeddings.word_embeddings.weight"],
        "position_embedding/embeddings": w["embeddings.position_embeddings.weight"],
        "embeddings/segment_embedding": w["embeddings.token_type_embeddings.weight"],
        "embeddings/layer_norm/gamma": w["embeddings.LayerNorm.weight"],
        "embeddings/layer_norm/beta": w["embeddings.LayerNorm.bias"],
        "pooler/dense/kernel": w["pooler.dense.weight"].T,
        "pooler/dense/bias": w["pooler.dense.bias"],
    }
    for i in range(num_layers):
        hf = f"encoder.layer.{i}."
        qkv = [hf + f"attention.self.{n}" for n in ("query", "key", "value")]
        ours = {
            f"attention_{i}/qkv/kernel": np.concatenate([w[n + ".weight"].T for n in qkv], 1),
            f"attention_{i}/qkv/bias": np.concatenate([w[n + ".bias"] for n in qkv]),
            f"attention_{i}/output/kernel": w[hf + "attention.output.dense.weight"].T,
            f"attention_{i}/output/bias": w[hf + "attention.output.dense.bias"],
            f"attention_{i}/layer_norm/gamma": w[hf + "attention.output.LayerNorm.weight"],
            f"attention_{i}/layer_norm/beta": w[hf + "attention.output.LayerNorm.bias"],
            f"feedforward_{i}/intermediate/kernel": w[hf + "intermediate.dense.weight"].T,
            f"feedforward_{i}/intermediate/bias": w[hf + "intermediate.dense.bias"],
            f"feedforward_{i}/output/kernel": w[hf + "output.dense.weight"].T,
            f"feedforward_{i}/output/bias": w[hf + "output.dense.bias"],
            f"feedforward_{i}/layer_norm/gamma": w[hf + "output.LayerNorm.weight"],
            f"feedforward_{i}/layer_norm/beta": w[hf + "output.LayerNorm.bias"],
        }
        values.update({f"encoder/{k}": v for k, v in ours.items()})
    for variable in model.weights:
        variable.assign(values.pop(variable.path))
    assert not values
    return model


def test_real_weights_dynamic_int8_holds_full_int8_does_not(tmp_path):
    """On trained weights dynamic int8 keeps the sentence embedding; full int8 does not
    (the limitation the module docstring explains), and the export says so."""
    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    model = minilm_encoder(num_layers=2)
    lines = corpus_lines(120)
    data = [packed(tok, lines[i : i + 4], SEQ) for i in range(0, 64, 4)]
    held_out = [packed(tok, [line], SEQ) for line in lines[100:110]]

    def cosine(path):
        runner = Interpreter(model_path=str(path)).get_signature_runner()
        return min(
            sentence_cosine(
                runner(**x)["sequence_output"],
                keras_outputs(model, x)["sequence_output"],
                x["padding_mask"],
            )
            for x in held_out
        )

    dynamic = export_tflite(
        model, tmp_path / "dyn.tflite", quantization="dynamic_int8", sequence_length=SEQ, runs=3
    )
    assert cosine(dynamic["path"]) >= 0.99
    with pytest.warns(UserWarning, match=r"quantization='int8' moved the sentence embedding"):
        full = export_tflite(
            model,
            tmp_path / "int8.tflite",
            quantization="int8",
            representative_data=data,
            sequence_length=SEQ,
            runs=3,
        )
    assert cosine(full["path"]) < 0.9 and full["cosine"]["mean_pooled"] < 0.99
