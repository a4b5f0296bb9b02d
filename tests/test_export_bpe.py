"""Byte-level BPE inside a SavedModel: the ids equal Hugging Face `tokenizers`' on the same files.

The reference ids are committed (tests/fixtures/bpe/, written by
tests/parity/make_bpe_fixtures.py with Hugging Face `tokenizers`): a RoBERTa-style
`vocab.json` + `merges.txt` and a ModernBERT-style `tokenizer.json`. Every SavedModel here
is loaded in a fresh process that imports only tensorflow and tensorflow_text.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.data import TokenizerError, load_tokenizer
from keras_bertfam.export import export_saved_model

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bpe"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
LENGTH = EXPECTED["sequence_length"]
KINDS = {
    "roberta": (FIXTURES / "roberta", "roberta_tiny"),
    "modernbert": (FIXTURES / "modernbert" / "tokenizer.json", "modernbert_tiny"),
}
TINY = dict(num_layers=1, dropout=0.0)
WHOLE = 256  # a length no fixture text reaches: the packer's `single` cuts nothing

RUNNER = """
import json, sys
sys.modules["keras_bertfam"] = None  # the SavedModels must need neither the library
sys.modules["keras_hub"] = None  # nor keras-hub, whose tokenizer runs inside them
import tensorflow as tf, tensorflow_text  # noqa: F401  (registers the tf.text ops)

def plain(value):  # bytes (possibly a cut multi-byte character) -> text
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

calls, loaded, out = json.loads(sys.argv[1]), {}, {}
for key, (folder, signature, kwargs) in calls.items():
    loaded.setdefault(folder, tf.saved_model.load(folder))
    f = loaded[folder].signatures[signature]
    args = {k: tf.constant(v, tf.string) for k, v in kwargs.items()}
    out[key] = {k: plain(v.numpy().tolist()) for k, v in f(**args).items()}
print(json.dumps(out))
"""


def serve_all(calls: dict) -> dict:
    """Run signature calls {key: (folder, signature, {input: texts})} in one bare process."""
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def save_packer(tok, folder: Path) -> str:
    """A SavedModel of the export's own graph packing, to read the ids: `single` at a
    length that cuts nothing, `pair` at the fixture's length."""
    import tensorflow as tf

    from keras_bertfam.data.packing import graph_packer

    module = tf.Module()
    module.tokenizer = tok._tokenizer
    single, pair = graph_packer(tok, WHOLE, 1), graph_packer(tok, LENGTH, 2)
    text = tf.TensorSpec([None], tf.string)

    def packed(token_ids, padding_mask, segment_ids):
        return {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": segment_ids}

    signatures = {
        "single": tf.function(lambda text: packed(*single(text)), [text]),
        "pair": tf.function(lambda text, text_b: packed(*pair(text, text_b)), [text, text]),
    }
    tf.saved_model.save(module, str(folder), signatures=signatures)
    return str(folder)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Everything exported once, served in one fresh process: {kind: results}."""
    from keras_bertfam.models.tasks import build_task_model

    root = tmp_path_factory.mktemp("bpe_saved_models")
    texts, pairs = EXPECTED["texts"], EXPECTED["pairs"]
    first, second = [p[0] for p in pairs], [p[1] for p in pairs]
    calls, models = {}, {}
    for kind, (path, preset) in KINDS.items():
        tok = load_tokenizer(path)
        packer = save_packer(tok, root / f"{kind}_packer")
        encoder = bf.build_encoder(preset, vocabulary_size=tok.vocabulary_size, **TINY)
        exported = export_saved_model(encoder, tok, root, kind, sequence_length=LENGTH)
        models[kind] = (tok, encoder, None)
        calls[f"{kind}/single"] = (packer, "single", {"text": texts + EXPECTED["difference_texts"]})
        calls[f"{kind}/pair"] = (packer, "pair", {"text": first, "text_b": second})
        calls[f"{kind}/encoder"] = (str(exported), "serving_default", {"text": texts})
    # the pair layout that differs from BERT's: RoBERTa's `<s> a </s></s> b </s>`
    tok, encoder, _ = models["roberta"]
    classifier = build_task_model(KINDS["roberta"][1], "classification", 3,
                                  vocabulary_size=tok.vocabulary_size, **TINY)  # fmt: skip
    pair_folder = export_saved_model(classifier, tok, root, "pairs", LENGTH, pairs=True)
    reader = build_task_model(KINDS["roberta"][1], "question_answering",
                              vocabulary_size=tok.vocabulary_size, **TINY)  # fmt: skip
    qa_folder = export_saved_model(reader, tok, root, "qa", LENGTH)
    models["roberta"] = (tok, encoder, (classifier, reader))
    calls["roberta/classifier"] = (
        str(pair_folder), "serving_default", {"text": first, "text_b": second}
    )  # fmt: skip
    calls["roberta/qa"] = (
        str(qa_folder),
        "serving_default",
        {"question": first, "context": second},
    )
    out = serve_all(calls)
    return {kind: ({k.split("/")[1]: v for k, v in out.items() if k.startswith(kind + "/")},
                   *models[kind]) for kind in KINDS}  # fmt: skip


def _rows(result):
    """The unpadded rows of a packed result."""
    ids, mask = np.array(result["token_ids"]), np.array(result["padding_mask"])
    return [row[m == 1].tolist() for row, m in zip(ids, mask, strict=True)]


def _mismatches(got, want, labels):
    return [(label, g, w) for label, g, w in zip(labels, got, want, strict=True) if g != w]


@pytest.mark.parametrize("kind", list(KINDS))
def test_ids_inside_a_reloaded_saved_model_equal_hugging_face(served, kind):
    out, tok, _, _ = served[kind]
    want = EXPECTED[kind]
    texts = EXPECTED["texts"]
    labels = [f"{c}: {t[:40]!r}" for c, t in zip(EXPECTED["classes"], texts, strict=True)]
    cls, sep = tok.special_ids["cls"], tok.special_ids["sep"]
    whole = [[cls, *ids, sep] for ids in want["tokens"]]
    assert all(s == w for s, w in zip(want["single"], whole, strict=True) if len(w) <= LENGTH)
    assert not _mismatches(_rows(out["single"])[: len(texts)], whole, labels)
    assert not _mismatches(_rows(out["pair"]), want["pair"], EXPECTED["pairs"])
    # the classes the fixture covers, longer-than-the-sequence texts among them
    assert {"ascii", "accents", "cjk", "emoji", "spaces", "newlines", "specials", "long",
            "corpus"} <= set(EXPECTED["classes"])  # fmt: skip
    assert max(len(t) for t in want["tokens"]) > LENGTH
    # segment 0 is the first text with its separators, 1 the second text and its [SEP]
    for ids, types in zip(_rows(out["pair"]), out["pair"]["segment_ids"], strict=True):
        second = len(ids) - ids[::-1].index(sep, 1)  # after the last separator before b
        assert types[: len(ids)] == [0] * second + [1] * (len(ids) - second)


@pytest.mark.parametrize("kind", list(KINDS))
def test_known_differences_from_hugging_face_are_what_the_notes_say(served, kind):
    """docs/notes/bpe-in-savedmodel.md: from a U+0000 on, the text is dropped; U+096C
    (keras-hub's internal word marker) changes the ids around it."""
    out, _, _, _ = served[kind]
    want = EXPECTED[kind]
    count = len(EXPECTED["difference_texts"])
    got = [row[1:-1] for row in _rows(out["single"])[-count:]]  # without [CLS] and [SEP]
    for cls, ours, hf, instead in zip(EXPECTED["difference_classes"], got, want["differences"],
                                      want["differences_instead"], strict=True):  # fmt: skip
        assert ours != hf, cls  # a difference that went away: update the notes and this test
        if instead is not None:
            assert ours == instead, cls


@pytest.mark.parametrize("kind", list(KINDS))
def test_exported_encoders_serve_raw_text_as_the_keras_model_reads_hf_ids(served, kind):
    out, tok, encoder, _ = served[kind]
    x = _padded(tok, EXPECTED[kind]["single"])
    mask = x["padding_mask"]
    reference = encoder(x)
    text = out["encoder"]
    np.testing.assert_array_equal(text["padding_mask"], mask)
    real = mask.astype(bool)
    np.testing.assert_allclose(
        np.array(text["sequence_output"])[real], np.asarray(reference["sequence_output"])[real],
        atol=1e-5,
    )  # fmt: skip
    np.testing.assert_allclose(text["pooled_output"], reference["pooled_output"], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(text["sentence_embedding"], axis=-1), 1, atol=1e-5)


def test_a_roberta_pair_classifier_serves_hugging_face_pairs(served):
    """RoBERTa packs `<s> a </s></s> b </s>`, and its one-row segment table gets 0s."""
    out, tok, _, (classifier, _) = served["roberta"]
    x = _padded(tok, EXPECTED["roberta"]["pair"])
    logits = np.asarray(classifier(x)["logits"])
    np.testing.assert_allclose(out["classifier"]["logits"], logits, atol=1e-5)


def test_a_roberta_reader_answers_from_the_context_after_the_separators(served):
    """Question answering keeps the question and cuts the context, after `</s></s>`; the
    span lies in the context, and its text is the bytes of its tokens."""
    from keras_bertfam.data.packing import pack

    out, tok, _, (_, reader) = served["roberta"]
    cls, sep = tok.special_ids["cls"], tok.special_ids["sep"]
    rows = []
    for question, context in EXPECTED["pairs"]:
        a, b = tok.tokenize([question, context]).to_list()
        rows.append(pack([a, b], LENGTH, cls, sep, "keep_first", separators=2)[0])
    x = _padded(tok, rows)
    reference = reader(x)
    null = np.asarray(reference["start_logits"])[:, 0] + np.asarray(reference["end_logits"])[:, 0]
    got = out["qa"]
    np.testing.assert_allclose(got["null_score"], null, atol=1e-5)
    for row, ids in enumerate(rows):
        context = len(ids) - ids[::-1].index(sep, 1)  # the first position after `</s></s>`
        start, end = got["start"][row], got["end"][row]
        assert context <= start <= end < len(ids), (row, start, end)
        answer = tok.detokenize(_ragged([ids[start : end + 1]])).numpy()[0]
        assert got["answer"][row] == answer.decode("utf-8", "replace")


def _ragged(rows):
    import tensorflow as tf

    return tf.ragged.constant(rows, dtype=tf.int32)


def _padded(tok, rows):
    """Model inputs of packed `rows`: padded with the pad id, segment ids 0."""
    pad = tok.special_ids["pad"]
    token_ids = np.array([r + [pad] * (LENGTH - len(r)) for r in rows], "int32")
    mask = np.array([[1] * len(r) + [0] * (LENGTH - len(r)) for r in rows], "int32")
    return {"token_ids": token_ids, "segment_ids": np.zeros_like(mask), "padding_mask": mask}


def test_the_tokenizer_files_give_each_family_its_packing():
    roberta = load_tokenizer(KINDS["roberta"][0])
    assert roberta.special_ids == {"cls": 0, "pad": 1, "sep": 2, "unk": 3, "mask": 4}
    assert roberta.pair_separators == 2 and roberta.normalizer is None
    modernbert = load_tokenizer(KINDS["modernbert"][0])
    size = modernbert.vocabulary_size  # the specials are added tokens after the BPE's own
    assert modernbert.special_ids == {"unk": size - 5, "cls": size - 4, "sep": size - 3,
                                      "pad": size - 2, "mask": size - 1}  # fmt: skip
    assert modernbert.pair_separators == 1 and modernbert.normalizer == "NFC"
    assert modernbert.strip == {"[MASK]": (True, False)}


def _variant(tmp_path, change) -> Path:
    spec = json.loads(KINDS["modernbert"][0].read_text(encoding="utf-8"))
    change(spec)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def test_a_prefix_space_is_added_as_hugging_face_adds_it(tmp_path):
    import tokenizers

    def prefix(spec):
        spec["pre_tokenizer"]["add_prefix_space"] = True

    path = _variant(tmp_path, prefix)
    reference = tokenizers.Tokenizer.from_file(str(path))
    texts = ["hello world", " already spaced", "", " ", "\nnewline first", "Café"]
    want = [reference.encode(t, add_special_tokens=False).ids for t in texts]
    assert load_tokenizer(path).tokenize(texts).to_list() == want


@pytest.mark.parametrize(
    ("part", "value", "message"),
    [
        ("normalizer", {"type": "Lowercase"}, r"normalizer \['Lowercase'\] cannot run"),
        ("pre_tokenizer", {"type": "Metaspace"}, r"pre_tokenizer \['Metaspace'\] is not"),
        (
            "post_processor",
            {"type": "TemplateProcessing", "single": [], "pair": []},
            "post_processor template",
        ),
    ],
)
def test_tokenizer_json_parts_the_graph_cannot_reproduce_are_refused(tmp_path, part, value,
                                                                     message):  # fmt: skip
    path = _variant(tmp_path, lambda spec: spec.update({part: value}))
    with pytest.raises(TokenizerError, match=message):
        load_tokenizer(path)
