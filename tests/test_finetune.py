"""Fine-tuning: task heads, task files, length bucketing, the finetune/evaluate recipe."""

from __future__ import annotations

import gzip
import json

import keras
import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam.data.tasks import (
    TaskDataError,
    batches,
    best_spans,
    bucket_bounds,
    encode_squad,
    pack,
    prepare,
    read_classification,
    squad_scores,
)
from keras_bertfam.layers import SentenceHead
from keras_bertfam.models.tasks import build_task_model
from keras_bertfam.resources import FORTUNES_DEV as DEV
from keras_bertfam.resources import FORTUNES_TRAIN as TRAIN
from tests.data_fixtures import minilm_dir
from tests.helpers import make_batch

TINY = dict(num_layers=1, vocabulary_size=30522, hidden_dim=32, num_heads=2, intermediate_dim=64)


@pytest.fixture(scope="module")
def tokenizer():
    return bf.load_tokenizer(minilm_dir())


def x_of(ids, types=None):
    ids = np.array(ids, "int32")
    types = np.zeros_like(ids) if types is None else np.array(types, "int32")
    return {"token_ids": ids, "segment_ids": types, "padding_mask": (ids != 0).astype("int32")}


@pytest.mark.parametrize(
    "task,num_classes,expected",
    [
        ("classification", 3, {"logits": (2, 3)}),
        ("token_classification", 5, {"logits": (2, 6, 5)}),
        ("question_answering", None, {"start_logits": (2, 6), "end_logits": (2, 6)}),
    ],
)
def test_task_models_shapes_and_keras_round_trip(task, num_classes, expected, tmp_path):
    model = build_task_model("bert_tiny", task, num_classes, **TINY)
    x = x_of([[101, 7, 8, 102, 0, 0], [101, 9, 102, 5, 6, 102]])
    out = model(x)
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    for name, value in again(x).items():
        np.testing.assert_allclose(value, out[name], atol=1e-6)
    heads = [layer for layer in again.layers if isinstance(layer, SentenceHead)]
    assert [h.init for h in heads] == ["fan_in_uniform"]  # task heads default to torch's init
    if task == "question_answering":  # no span may start or end on padding
        assert float(np.max(np.asarray(out["start_logits"])[0, 4:])) < -1e8


def test_mean_pooling_ignores_padding_and_multiple_choice_scores_each_choice():
    model = build_task_model("bert_tiny", "classification", 2, pooling="mean", **TINY)
    short = model(x_of([[101, 7, 102]]))["logits"]
    padded = model(x_of([[101, 7, 102, 0, 0]]))["logits"]
    np.testing.assert_allclose(short, padded, atol=1e-5)
    encoder = bf.build_encoder("bert_tiny", **TINY)
    choice = build_task_model(encoder, "multiple_choice", 3, pooling="cls")
    single = build_task_model(encoder, "classification", 1, pooling="cls")
    single.get_layer("classifier").set_weights(choice.get_layer("classifier").get_weights())
    rows = [[101, 7, 102, 8, 102], [101, 7, 102, 9, 102], [101, 7, 102, 4, 102]]
    together = choice({k: v[None] for k, v in x_of(rows).items()})["logits"]
    apart = single(x_of(rows))["logits"][:, 0]
    np.testing.assert_allclose(np.asarray(together)[0], apart, atol=1e-5)
    with pytest.raises(ValueError, match="num_classes"):
        build_task_model(encoder, "classification")
    with pytest.raises(ValueError, match="task='summarize'"):
        build_task_model(encoder, "summarize", 2)


def test_pack_trims_the_longer_text_first():
    ids, types = pack([list(range(10, 20)), [5, 6]], sequence_length=8, cls=1, sep=2)
    assert ids == [1, 10, 11, 12, 2, 5, 6, 2] and types == [0] * 5 + [1] * 3
    with pytest.warns(DeprecationWarning, match=r"pack\(max_length=\.\.\.\) is deprecated"):
        assert pack([list(range(10, 20)), [5, 6]], max_length=8, cls=1, sep=2)[0] == ids
    with pytest.raises(ValueError, match="sequence_length=2"):
        pack([[5]], 2, 1, 2)


def test_task_files_bad_input(tmp_path):
    cases = {
        "columns.tsv": ("label\ttext\nonly-one-column\n", "got 1 column"),
        "empty.tsv": ("label\ttext\nart\t  \n", ":2: empty text"),
        "nothing.tsv": ("label\ttext\n", "holds no examples"),
        "latin1.tsv": (b"art\tcaf\xe9\n", ":1: not UTF-8"),
        "bad.jsonl": ('{"text": "a", "label": "x"}\n{oops\n', ":2: not valid JSON"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(TaskDataError, match=message):
            read_classification(path)
    with pytest.raises(TaskDataError, match="does not exist"):
        read_classification(tmp_path / "missing.tsv")
    dev = tmp_path / "dev.tsv"
    dev.write_text("astrology\tyour stars\n")
    with pytest.raises(TaskDataError, match=r"\['astrology'\] are not among"):
        prepare("classification", dev, bf.load_tokenizer(minilm_dir()), 32, labels=["art"])


def test_real_fortunes_read_and_bucketed_without_loss(tokenizer):
    rows = read_classification(TRAIN)
    assert len(rows) == 3580 and len({r["label"] for r in rows}) == 14
    assert any('"' in r["texts"][0] for r in rows)  # CSV quoting was undone
    data = prepare("classification", TRAIN, tokenizer, 128)
    lengths = sorted(map(len, data["features"]["token_ids"]))
    seen, padded, shapes = 0, 0, set()
    dataset = batches(data["features"], data["targets"], 32, 128, bucketing=True)
    assert int(dataset.cardinality()) == sum(1 for _ in dataset)  # counted, not guessed
    for x, _ in dataset:
        ids = x["token_ids"].numpy()
        shapes.add(ids.shape[1])
        assert ids.shape[1] in bucket_bounds(128)
        assert np.array_equal(x["padding_mask"].numpy(), (ids != 0).astype("int32"))
        seen += len(ids)
        padded += ids.size
    assert seen == len(rows) and len(shapes) <= len(bucket_bounds(128))
    # bucketing pads far less than padding every batch to 128
    assert padded < 0.5 * 128 * len(rows), (padded, sum(lengths))


def test_squad_windows_recover_the_answers(tokenizer):
    context = " ".join(f"word{i}" for i in range(120)) + " The capital is Paris , France ."
    rows = [
        {"id": "q1", "question": "What is the capital?", "context": context,
         "answers": [("Paris", context.index("Paris"))]},
        {"id": "q2", "question": "Which word?", "context": "alpha beta gamma",
         "answers": [("beta", 6)]},
    ]  # fmt: skip
    windows = encode_squad(rows, tokenizer, sequence_length=64, stride=32)
    assert windows["example"].count(0) > 1  # the long context needed several windows
    length = max(map(len, windows["ids"]))
    start = np.full((len(windows["ids"]), length), -10.0)
    end = np.full_like(start, -10.0)
    for f, (s, e) in enumerate(zip(windows["start"], windows["end"], strict=True)):
        if s:  # a window that holds the answer scores it
            start[f, s], end[f, e] = 10.0, 10.0
    predictions = best_spans(rows, windows, start, end)
    assert predictions == {"q1": "Paris", "q2": "beta"}
    assert squad_scores(rows, predictions) == {"exact_match": 100.0, "f1": 100.0}
    assert squad_scores(rows, {"q1": "paris france", "q2": "x"})["f1"] == pytest.approx(100 / 3)

    # SQuAD 2.0: q2 has no answer; its [CLS] scores decide (the lowest over its windows)
    rows[1]["answers"] = []
    windows = encode_squad(rows, tokenizer, sequence_length=64, stride=32)
    assert windows["start"][-1] == windows["end"][-1] == 0  # trains towards [CLS]
    start[-1, 0] = end[-1, 0] = 9.0  # null 18 vs the best span of q2, beta: 20
    spans = best_spans(rows, windows, start, end, null_threshold=0.0)
    assert spans == {"q1": "Paris", "q2": "beta"}
    assert best_spans(rows, windows, start, end, null_threshold=-3.0)["q2"] == ""
    start[-1, 0] = end[-1, 0] = 11.0
    predictions = best_spans(rows, windows, start, end, null_threshold=0.0)
    assert predictions == {"q1": "Paris", "q2": ""}
    assert best_spans(rows, windows, start, end) == {"q1": "Paris", "q2": "beta"}  # v1.1: always
    assert squad_scores(rows, predictions) == {
        "exact_match": 100.0, "f1": 100.0,
        "has_answer_exact_match": 100.0, "has_answer_f1": 100.0, "has_answer_total": 1,
        "no_answer_exact_match": 100.0, "no_answer_f1": 100.0, "no_answer_total": 1,
    }  # fmt: skip
    assert squad_scores(rows, spans)["no_answer_exact_match"] == 0.0
    # q1's windows: null 30 > 20 in all but one, where it is -20: the lowest counts
    q1 = [f for f, e in enumerate(windows["example"]) if e == 0]
    start[q1[1:], 0] = end[q1[1:], 0] = 15.0
    assert best_spans(rows, windows, start, end, null_threshold=0.0)["q1"] == "Paris"
    start[q1[0], 0] = end[q1[0], 0] = 15.0
    assert best_spans(rows, windows, start, end, null_threshold=0.0)["q1"] == ""


def test_finetune_then_evaluate_on_real_fortunes(tmp_path, tokenizer):
    subset = tmp_path / "train.tsv"
    subset.write_text(
        "\n".join(gzip.decompress(TRAIN.read_bytes()).decode().splitlines()[:257]) + "\n"
    )
    dev = tmp_path / "dev.tsv"
    dev.write_text("\n".join(gzip.decompress(DEV.read_bytes()).decode().splitlines()[:97]) + "\n")
    encoder = bf.build_encoder("bert_tiny", **TINY)
    out = tmp_path / "run"
    summary = bf_finetune(encoder, subset, dev, out, tokenizer)
    assert summary["history"]["loss"][-1] < summary["history"]["loss"][0]
    for name in ("model.keras", "task.json", "eval_report.json", "training_summary.json"):
        assert (out / name).exists(), name
    assert bf.load_tokenizer(out).vocabulary == tokenizer.vocabulary
    from keras_bertfam.training.finetune import evaluate

    report, predictions = evaluate(out, dev)
    assert report["accuracy"] == pytest.approx(summary["dev"]["accuracy"])
    assert report["examples"] == 96 and len(predictions) == 96
    labels = json.loads((out / "task.json").read_text())["labels"]
    assert set(predictions) <= set(labels)

    # the folder exports as it is: labels and sequence length come from task.json
    from keras_bertfam.cli import main

    root = tmp_path / "saved_models"
    assert main(["export", str(out), "--root", str(root), "--name", "topics"]) == 0
    import tensorflow as tf

    served = tf.saved_model.load(str(root / "topics" / "1")).signatures["serving_default"]
    result = served(text=tf.constant(["Linux kernel hackers", "Pasta with garlic"]))
    assert [n.decode() for n in result["label_names"].numpy()[0]] == labels
    assert result["probabilities"].shape == (2, len(labels))
    assert main(["export", str(out), "--root", str(root), "--format", "tflite", "--no-text"]) == 0
    assert (root / "run" / "run-float32.tflite").is_file()


def bf_finetune(encoder, train, dev, out, tokenizer):
    from keras_bertfam.training.finetune import finetune

    return finetune(encoder, train, dev, out=out, epochs=3, batch_size=16, learning_rate=1e-3,
                    sequence_length=64, tokenizer=tokenizer, verbose=0)  # fmt: skip


def corpus_sentences(count):
    import gzip

    from tests.data_fixtures import CORPUS

    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        lines = [line.strip() for line in f if len(line.split()) >= 6]
    return lines[:count]


@pytest.mark.parametrize("task", ["token_classification", "question_answering", "multiple_choice"])
def test_finetune_and_evaluate_every_task(task, tmp_path, tokenizer):
    """Each task trains end to end on files made from the real corpus and scores its dev file."""
    sentences = corpus_sentences(60)
    path = tmp_path / ("data.json" if task == "question_answering" else "data.jsonl")
    if task == "token_classification":
        words = [s.split() for s in sentences]
        tags = [["CAP" if t[:1].isupper() else "O" for t in w] for w in words]
        rows = [{"tokens": w, "tags": t} for w, t in zip(words, tags, strict=True)]
        path.write_text("\n".join(json.dumps(r) for r in rows))
    elif task == "multiple_choice":
        rows = [{"question": s, "choices": [sentences[(i + 1) % 60], sentences[(i + 30) % 60]],
                 "label": i % 2} for i, s in enumerate(sentences)]  # fmt: skip
        path.write_text("\n".join(json.dumps(r) for r in rows))
    else:
        qas = []
        for i, s in enumerate(sentences):
            word = s.split()[2]
            # every 5th question is unanswerable (SQuAD 2.0)
            answers = [] if i % 5 == 0 else [{"text": word, "answer_start": s.index(word)}]
            qas.append({"context": s, "qas": [{"id": f"q{i}", "question": f"Where is {word}?",
                        "answers": answers}]})  # fmt: skip
        path.write_text(json.dumps({"data": [{"paragraphs": qas}]}))
    from keras_bertfam.training.finetune import evaluate, finetune

    out = tmp_path / "run"
    encoder = bf.build_encoder("bert_tiny", **TINY)
    summary = finetune(encoder, path, path, task=task, out=out, epochs=1, batch_size=16,
                       sequence_length=48, tokenizer=tokenizer, verbose=0)  # fmt: skip
    report, predictions = evaluate(out, path)
    key = "f1" if task == "question_answering" else "accuracy"
    assert report[key] == pytest.approx(summary["dev"][key])
    assert len(predictions) == 60
    if task == "question_answering":
        assert set(predictions) == {f"q{i}" for i in range(60)}
        assert json.loads((out / "task.json").read_text())["squad_v2"] is True
        assert report["no_answer_total"] == 12 and report["has_answer_total"] == 48
        # a threshold beyond any score difference: always a span; below any: never
        _, always_spans = evaluate(out, path, null_threshold=1e9)
        assert all(always_spans.values())
        never_spans = evaluate(out, path, null_threshold=-1e9)[1]
        assert set(never_spans.values()) == {""}


@pytest.mark.parametrize("preset", ["roberta_tiny", "modernbert_tiny"])
def test_text_pairs_fine_tune_on_encoders_with_one_or_no_segment_row(preset, tmp_path, tokenizer):
    """RoBERTa (one segment row) and ModernBERT (none) fine-tune on pairs: the packed
    segment ids 0/1 read as 0, as Hugging Face's tokenizers give them."""
    from keras_bertfam.training.finetune import finetune

    sentences = corpus_sentences(40)
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{'same' if i % 2 else 'other'}\t{s}\t{sentences[(i * 7) % 40]}\n"
                            for i, s in enumerate(sentences)))  # fmt: skip
    encoder = bf.build_encoder(preset, **TINY)
    summary = finetune(encoder, path, path, out=tmp_path / "run", epochs=1, batch_size=8,
                       sequence_length=32, tokenizer=tokenizer, verbose=0)  # fmt: skip
    assert 0.0 <= summary["dev"]["accuracy"] <= 1.0
    model = build_task_model(encoder, "classification", 2)
    batch = {k: v for k, v in make_batch(TINY["vocabulary_size"], num_segments=2).items()
             if k in model.input}  # fmt: skip
    zeros = {**batch, "segment_ids": np.zeros_like(batch["segment_ids"])}
    np.testing.assert_allclose(model(batch)["logits"], model(zeros)["logits"], atol=1e-6)
