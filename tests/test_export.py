"""SavedModel export: versioned folders, raw-text and TF-Hub signatures, a bare process."""

import json
import subprocess
import sys

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.data import load_tokenizer
from keras_bertfam.export import encoder_of, export_saved_model
from tests.data_fixtures import minilm_dir

TEXTS = ["Hello, world!", "", "A longer sentence that will be trimmed " * 10]

LOADER = """
import json, sys
sys.modules["keras_bertfam"] = None  # the SavedModel must not need the library
sys.modules["keras_hub"] = None
import tensorflow as tf, tensorflow_text  # noqa: F401  (registers the tf.text ops)
model = tf.saved_model.load(sys.argv[1])
texts = json.loads(sys.argv[2])
out = model.signatures["serving_default"](text=tf.constant(texts))
ids = model.signatures["encode"](input_word_ids=tf.constant([[101, 7592, 102]]),
                                 input_mask=tf.ones([1, 3], tf.int32),
                                 input_type_ids=tf.zeros([1, 3], tf.int32))
print(json.dumps({"text": {k: v.numpy().tolist() for k, v in out.items()},
                  "ids": {k: v.numpy().tolist() for k, v in ids.items()}}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved_models")
    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    model = bf.build_pretrainer("bert_tiny", dropout=0.0)
    first = export_saved_model(model, tok, root, "tiny", sequence_length=16)
    second = export_saved_model(model, tok, root, "tiny", sequence_length=16)
    return model, tok, root, first, second


def test_versions_are_new_folders_and_never_overwritten(exported):
    _, tok, root, first, second = exported
    assert (first.name, second.name) == ("1", "2")
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        export_saved_model(bf.build_encoder("bert_tiny"), tok, root, "tiny", version=1)


def test_saved_model_runs_without_the_library_and_matches_keras(exported):
    model, tok, _, first, _ = exported
    proc = subprocess.run(
        [sys.executable, "-c", LOADER, str(first), json.dumps(TEXTS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    # the same packing by hand: [CLS] ids[:14] [SEP], padded to 16
    rows = []
    for ids in tok.tokenize(TEXTS).to_list():
        row = [101, *ids[:14], 102]
        rows.append(row + [0] * (16 - len(row)))
    token_ids = np.array(rows, "int32")
    mask = (
        np.arange(16)[None]
        < np.array([min(len(i), 14) + 2 for i in tok.tokenize(TEXTS).to_list()])[:, None]
    )
    np.testing.assert_array_equal(served["text"]["padding_mask"], mask.astype("int32"))
    encoder_inputs = {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": mask.astype("int32"),
    }
    reference = encoder_of(model)(encoder_inputs)
    np.testing.assert_allclose(
        served["text"]["pooled_output"], reference["pooled_output"], atol=1e-5
    )
    real = mask.astype(bool)
    np.testing.assert_allclose(
        np.array(served["text"]["sequence_output"])[real],
        np.asarray(reference["sequence_output"])[real],
        atol=1e-5,
    )
    assert np.array(served["ids"]["sequence_output"]).shape == (1, 3, 128)


RUNNER = """
import json, sys
sys.modules["keras_bertfam"] = None  # the SavedModel must not need the library
sys.modules["keras_hub"] = None
import tensorflow as tf, tensorflow_text  # noqa: F401  (registers the tf.text ops)
model = tf.saved_model.load(sys.argv[1])
calls = json.loads(sys.argv[2])
out = {}
for key, (signature, kwargs) in calls.items():
    f = model.signatures[signature]
    spec = f.structured_input_signature[1]
    args = {k: tf.constant(v, dtype=spec[k].dtype) for k, v in kwargs.items()}
    out[key] = {k: (v.numpy().astype(str) if v.dtype == tf.string else v.numpy()).tolist()
                for k, v in f(**args).items()}
print(json.dumps(out))
"""


def serve(folder, calls: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(folder), json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def packed(tok, texts_a, texts_b=None, length=24):
    rows, types = [], []
    for i, a in enumerate(tok.tokenize(texts_a).to_list()):
        b = tok.tokenize([texts_b[i]]).to_list()[0] if texts_b else None
        from keras_bertfam.data.tasks import pack

        ids, seg = pack([a] if b is None else [a, b], length, 101, 102)
        rows.append(ids + [0] * (length - len(ids)))
        types.append(seg + [0] * (length - len(seg)))
    ids = np.array(rows, "int32")
    return {"token_ids": ids, "segment_ids": np.array(types, "int32"),
            "padding_mask": (ids != 0).astype("int32")}  # fmt: skip


def test_task_models_serve_what_the_task_means(tmp_path):
    from keras_bertfam.models.tasks import build_task_model

    tok = load_tokenizer(minilm_dir() / "vocab.txt")
    tiny = dict(num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64, dropout=0.0)
    labels = ["art", "food", "linux"]
    classifier = build_task_model("bert_tiny", "classification", 3, **tiny)
    folder = export_saved_model(classifier, tok, tmp_path, "clf", 24, labels=labels, pairs=True)
    a = ["The kernel panicked again.", "", "A very long text " * 30]
    b = ["Reboot it.", "empty first", ""]
    qa = build_task_model("bert_tiny", "question_answering", **tiny)
    qa_folder = export_saved_model(qa, tok, tmp_path, "qa", 24)
    served = serve(folder, {"pair": ("serving_default", {"text": a, "text_b": b}),
                            "none": ("serving_default", {"text": [], "text_b": []})})  # fmt: skip
    qa_served = serve(
        qa_folder, {"qa": ("serving_default", {"question": ["who?"] * 3, "context": b})}
    )
    expected = np.asarray(keras_softmax(classifier(packed(tok, a, b))["logits"]))
    np.testing.assert_allclose(served["pair"]["probabilities"], expected, atol=1e-5)
    assert served["pair"]["label"] == [labels[k] for k in expected.argmax(-1)]
    assert served["pair"]["label_names"] == [labels] * 3
    assert served["none"]["probabilities"] == [] and served["none"]["label"] == []  # zero rows

    x = packed(tok, ["who?"] * 3, b)
    out = qa(x)
    start, end = np.asarray(out["start_logits"]), np.asarray(out["end_logits"])
    np.testing.assert_allclose(qa_served["qa"]["null_score"], start[:, 0] + end[:, 0], atol=1e-5)
    for row in range(3):
        context = np.flatnonzero((x["segment_ids"][row] == 1) & (x["padding_mask"][row] == 1))
        spans = [(i, j) for i in context for j in context if 0 <= j - i < 30]
        best = max(((start[row, i] + end[row, j], i, j) for i, j in spans), default=None)
        got = qa_served["qa"]
        if best is not None:
            assert (got["start"][row], got["end"][row]) == (best[1], best[2])
            words = tok.id_to_token(x["token_ids"][row, best[1] : best[2] + 1])
            assert got["answer"][row] == " ".join(words).replace(" ##", "")


def keras_softmax(x):
    x = np.asarray(x)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_export_without_tokenizer_and_refusals(tmp_path):
    from keras_bertfam.models.tasks import build_task_model

    encoder = bf.build_encoder("bert_tiny", num_layers=1)
    folder = export_saved_model(encoder, None, tmp_path, "ids_only")
    out = serve(folder, {"ids": ("serving_default", {"input_word_ids": [[101, 7, 102]],
                                                      "input_mask": [[1, 1, 1]],
                                                      "input_type_ids": [[0, 0, 0]]})})  # fmt: skip
    embedding = np.array(out["ids"]["sentence_embedding"])
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=-1), 1.0, atol=1e-5)
    choice = build_task_model("bert_tiny", "multiple_choice", 2, num_layers=1)
    with pytest.raises(ValueError, match="multiple_choice models are not exportable"):
        export_saved_model(choice, None, tmp_path, "mc")
    classifier = build_task_model("bert_tiny", "classification", 2, num_layers=1)
    with pytest.raises(ValueError, match="labels has 3 names"):
        export_saved_model(classifier, None, tmp_path, "c", labels=["a", "b", "c"])
