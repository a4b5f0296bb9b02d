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
    first = export_saved_model(model, tok, root, "tiny", max_seq_length=16)
    second = export_saved_model(model, tok, root, "tiny", max_seq_length=16)
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


def test_bpe_tokenizers_are_refused_for_text_signatures(tmp_path):
    from keras_bertfam.data.vocab import create_vocab
    from tests.data_fixtures import CORPUS

    create_vocab("bpe", 300, [CORPUS], tmp_path / "bpe")
    with pytest.raises(ValueError, match="byte-level BPE"):
        export_saved_model(
            bf.build_encoder("roberta_tiny"), load_tokenizer(tmp_path / "bpe"), tmp_path, "r"
        )
