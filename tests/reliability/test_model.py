"""Reliability of the model side: configs, saving and loading, checkpoint import, model inputs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import keras_bertfam as bf
from keras_bertfam import ConfigError, EncoderConfig

# -- EncoderConfig values -------------------------------------------------------------


def test_from_json_of_bad_json_is_a_config_error():
    with pytest.raises(ConfigError, match=r"needs JSON text, got '\{num_layers: 2'"):
        EncoderConfig.from_json("{num_layers: 2")


def test_numpy_numbers_are_stored_as_python_numbers():
    cfg = EncoderConfig(
        num_layers=np.int64(4),
        hidden_dim=np.int32(64),
        num_heads=np.int64(2),
        dropout=np.float32(0.25),
        layer_norm_epsilon=np.float64(1e-6),
        norm_first=np.bool_(True),
    )
    assert type(cfg.num_layers) is int and cfg.num_layers == 4
    assert type(cfg.hidden_dim) is int and type(cfg.dropout) is float
    assert type(cfg.norm_first) is bool and cfg.norm_first
    assert EncoderConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize(
    "field, value",
    [
        ("layer_norm_epsilon", True),
        ("initializer_range", True),
        ("dropout", False),
        ("layer_norm_epsilon", math.inf),
        ("initializer_range", math.inf),
        ("dropout", math.nan),
        ("pooler", 1),
    ],
)
def test_booleans_and_non_finite_numbers_are_refused(field, value):
    with pytest.raises(ConfigError, match=f"^{field}={value!r} must be"):
        EncoderConfig(**{field: value})
    if not isinstance(value, np.generic):  # as `--set FIELD=VALUE` passes it (parsed as JSON)
        with pytest.raises(ConfigError, match=f"^{field}="):
            bf.get_preset("bert_tiny").replace(**{field: json.loads(json.dumps(value))})


# -- .keras files load after `import keras_bertfam`, in a fresh process -----------------

REPO = Path(__file__).resolve().parents[2]
ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")
ENV = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _popen(code: str):
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_fresh(*codes: str) -> list[str]:
    """Run each snippet in its own new Python process (two at a time); their stdout."""
    outputs, pending = [], list(codes)
    while pending:
        running = [(code, _popen(code)) for code in pending[:2]]
        pending = pending[2:]
        for code, process in running:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, f"{code}\n--- stderr:\n{err[-3000:]}"
            outputs.append(out)
    return outputs


def _batch(vocabulary_size=50, seq=6, batch=2):
    from tests.helpers import make_batch

    return make_batch(vocabulary_size, batch=batch, seq=seq, predictions=2)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """A trained-one-step pretrainer (compiled as `pretrain` compiles it, with the
    WarmupPolynomialDecay schedule) in a run folder, an encoder and a task model."""
    import keras

    from keras_bertfam.models.tasks import build_task_model
    from keras_bertfam.training.optimizers import build_optimizer
    from keras_bertfam.training.recipe import compile_pretrainer

    root = tmp_path_factory.mktemp("saved")
    cfg = bf.get_preset("bert_tiny", num_layers=1, vocabulary_size=50, max_sequence_length=16)
    batch = _batch()
    pretrainer = bf.build_pretrainer(cfg)
    compile_pretrainer(pretrainer, build_optimizer("adamw", pretrainer, 1e-3, 10, 2), jit=False)
    y = {"mlm_logits": np.ones((2, 2), "int32"), "nsp_logits": np.ones((2,), "int32")}
    pretrainer.fit(batch, y, batch_size=2, verbose=0)
    run = root / "run"
    run.mkdir()
    pretrainer.save(run / "model.keras")
    (run / "config.json").write_text(cfg.to_json())
    encoder = bf.build_encoder(cfg)
    encoder.save(root / "encoder.keras")
    task = build_task_model(encoder, "classification", num_classes=3)
    task.save(root / "task.keras")
    inputs = {k: batch[k] for k in ENCODER_INPUTS}
    expected = {
        "pretrainer": pretrainer(batch)["mlm_logits"],
        "encoder": encoder(inputs)["sequence_output"],
        "task": task(inputs)["logits"],
    }
    np.savez(
        root / "expected.npz", **{k: keras.ops.convert_to_numpy(v) for k, v in expected.items()}
    )
    np.savez(root / "batch.npz", **batch)
    return root


LOAD_AND_COMPARE = """
    import numpy as np
    root = {root!r}
    batch = dict(np.load(root + "/batch.npz"))
    expected = np.load(root + "/expected.npz")
    def same(model, key, output):
        names = [t.name for t in model.inputs]
        out = model({{k: batch[k] for k in names}})[output]
        np.testing.assert_allclose(out, expected[key], atol=1e-5)
    for file, key, output in (("/run/model.keras", "pretrainer", "mlm_logits"),
                              ("/encoder.keras", "encoder", "sequence_output"),
                              ("/task.keras", "task", "logits")):
        model = LOAD(root + file)
        same(model, key, output)
        print(type(model).__name__, getattr(model, "optimizer", None) is not None)
"""


def test_saved_models_load_in_a_fresh_process_in_any_import_order(saved_models):
    root = str(saved_models)
    body = LOAD_AND_COMPARE.format(root=root)
    bertfam_first = """
        import sys
        import keras_bertfam as bf
        assert "keras" not in sys.modules and "tensorflow" not in sys.modules
        import keras
        LOAD = keras.saving.load_model
    """
    keras_first = """
        import keras
        import keras_bertfam as bf
        LOAD = keras.saving.load_model
    """
    with_load_model = """
        import keras_bertfam as bf
        LOAD = bf.load_model
        assert type(bf.load_model(ROOT + "/run")).__name__ == "Pretrainer"
        encoder = bf.from_pretrained(ROOT + "/run")
        assert sorted(encoder.output) == ["pooled_output", "sequence_output"]
        assert encoder.bertfam_config.num_layers == 1
        from keras_bertfam.cli import main  # `bertfam convert` of a pretrain output
        assert main(["convert", ROOT + "/run", "--out", ROOT + "/converted"]) == 0
    """.replace("ROOT", repr(root))
    # Keras first imported inside a module of keras_bertfam, or by TensorFlow
    layers_first = """
        import keras_bertfam.layers
        import keras
        LOAD = keras.saving.load_model
    """
    builder_first = """
        import keras_bertfam as bf
        bf.build_encoder("bert_tiny", num_layers=1)
        import keras
        LOAD = keras.saving.load_model
    """
    tensorflow_text_first = """
        import keras_bertfam
        import tensorflow_text
        import keras
        LOAD = keras.saving.load_model
    """
    outputs = run_fresh(
        *(
            textwrap.dedent(head) + textwrap.dedent(body)
            for head in (
                bertfam_first,
                keras_first,
                with_load_model,
                layers_first,
                builder_first,
                tensorflow_text_first,
            )
        )
    )
    for out in outputs:
        # the pretrainer comes back compiled with its optimizer (and schedule)
        loaded = out.splitlines()[-3:]
        assert loaded == ["Pretrainer True", "Encoder False", "BertfamModel False"], out


def test_every_registered_class_has_a_registry_entry():
    """Each `@register` class of the package is listed (with its module) in KERAS_OBJECTS,
    which `import keras_bertfam` registers when Keras is imported."""
    import ast

    found = {}
    for file in sorted((REPO / "keras_bertfam").rglob("*.py")):
        module = ".".join(file.relative_to(REPO).with_suffix("").parts)
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ClassDef):
                names = [ast.unparse(d) for d in node.decorator_list]
                if any(n == "register" or "register_keras_serializable" in n for n in names):
                    found[node.name] = module
    assert "TokenEmbedding" in found and "WarmupPolynomialDecay" in found
    assert found == bf.KERAS_OBJECTS


def test_load_model_errors_name_the_path(saved_models, tmp_path):
    from keras_bertfam.convert import CheckpointError
    from keras_bertfam.errors import MissingInputError

    with pytest.raises(MissingInputError, match=r"model file '.*nowhere\.keras' does not exist"):
        bf.load_model(tmp_path / "nowhere.keras")
    with pytest.raises(MissingInputError, match=r"folder '.*empty' holds no model\.keras"):
        (tmp_path / "empty").mkdir()
        bf.load_model(tmp_path / "empty")
    data = (saved_models / "encoder.keras").read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"'.*truncated\.keras' is not a \.keras archive"):
        bf.load_model(truncated)
    # an intact zip directory over damaged contents
    import zipfile

    corrupt = tmp_path / "corrupt.keras"
    with (
        zipfile.ZipFile(saved_models / "encoder.keras") as source,
        zipfile.ZipFile(corrupt, "w") as target,
    ):
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "config.json":
                body = body[: len(body) // 2]
            target.writestr(item, body)
    with pytest.raises(CheckpointError, match=r"'.*corrupt\.keras'"):
        bf.load_model(corrupt)


# -- optional parts follow the checkpoint ------------------------------------------------

FIXTURES = REPO / "tests" / "fixtures" / "hf"


def without(case: str, tmp_path, prefixes) -> Path:
    """A copy of parity fixture `case` whose safetensors lack the tensors named `prefixes*`."""
    import shutil

    from safetensors.numpy import load_file, save_file

    folder = tmp_path / case
    shutil.copytree(FIXTURES / case, folder)
    tensors = load_file(folder / "model.safetensors")
    kept = {k: v for k, v in tensors.items() if not k.startswith(tuple(prefixes))}
    assert len(kept) < len(tensors)
    save_file(kept, folder / "model.safetensors")
    return folder


def reference(case):
    return dict(np.load(FIXTURES / case / "reference.npz"))


def test_pooler_less_roberta_imports_without_a_pooler(tmp_path):
    from keras_bertfam.models.tasks import build_task_model

    folder = without("roberta", tmp_path, ["roberta.pooler."])
    ref = reference("roberta")
    inputs = {k: ref[k] for k in ENCODER_INPUTS}
    encoder, report = bf.from_pretrained(folder, return_report=True)
    assert encoder.bertfam_config.pooler is False
    assert not [w.path for w in encoder.weights if w.path.startswith("pooler/")]
    assert report["absent"] == ["pooler"] and report["initialized_fresh"] == []
    assert report["dropped"] == ["mlm_head", "mlm_output_bias"]
    out = encoder(inputs)
    real = ref["padding_mask"].astype(bool)
    sequence = np.asarray(out["sequence_output"])
    np.testing.assert_allclose(sequence[real], ref["sequence_output"][real], atol=1e-4, rtol=0)
    np.testing.assert_array_equal(np.asarray(out["pooled_output"]), sequence[:, 0])
    pretrainer, report = bf.from_pretrained(folder, task="pretraining", return_report=True)
    assert (report["objective"], report["initialized_fresh"]) == ("none", [])
    mlm = pretrainer({**inputs, "mask_positions": ref["mask_positions"]})["mlm_logits"]
    np.testing.assert_allclose(mlm, ref["mlm_logits"], atol=1e-4, rtol=0)
    # consumers of pooled_output keep working, and the encoder round-trips .keras
    task = build_task_model(encoder, "classification", num_classes=2, pooling="pooled")
    assert task(inputs)["logits"].shape == (3, 2)
    encoder.save(tmp_path / "encoder.keras")
    loaded = bf.load_model(tmp_path / "encoder.keras")
    assert loaded.get_layer("pooler").get_config()["use_dense"] is False
    np.testing.assert_array_equal(loaded(inputs)["pooled_output"], out["pooled_output"])
    # asking for a pooler anyway initializes one, and says so
    with_pooler, report = bf.from_pretrained(folder, pooler=True, return_report=True)
    assert report["initialized_fresh"] == ["pooler"] and report["absent"] == []
    assert with_pooler.get_layer("pooler").dense is not None


def test_headless_bert_pretrains_with_fresh_heads_and_keeps_nsp(tmp_path, caplog):
    folder = without("bert", tmp_path, ["cls."])
    ref = reference("bert")
    with caplog.at_level("WARNING", logger="keras_bertfam"):
        pretrainer, report = bf.from_pretrained(folder, task="pretraining", return_report=True)
    assert pretrainer.bertfam_config.sentence_objective == "nsp"
    assert "nsp_logits" in pretrainer.output
    assert report["objective"] == "nsp" and report["pooler"] is True
    assert report["initialized_fresh"] == ["mlm_head", "mlm_output_bias", "nsp_head"]
    assert report["absent"] == [] and report["dropped"] == []
    assert "initialized fresh" in caplog.text and "nsp_head" in caplog.text
    # the encoder part still carries the checkpoint's weights
    from keras_bertfam.models.builders import encoder_of

    out = encoder_of(pretrainer)({k: ref[k] for k in ENCODER_INPUTS})
    np.testing.assert_allclose(out["pooled_output"], ref["pooled_output"], atol=1e-4, rtol=0)
    # the user's objective is kept too: sop gets a fresh head
    _, report = bf.from_pretrained(
        folder, task="pretraining", sentence_objective="sop", return_report=True
    )
    assert report["objective"] == "sop" and "sop_head" in report["initialized_fresh"]
    # a head that is only partly there is still an error (strict)
    partial = without("bert", tmp_path / "partial", ["cls.predictions.transform.dense."])
    from keras_bertfam.convert import CheckpointError

    with pytest.raises(CheckpointError, match=r"missing.*mlm_head/dense/kernel"):
        bf.from_pretrained(partial, task="pretraining")


def test_real_minilm_imports_for_pretraining():
    from tests.data_fixtures import minilm_dir

    model, report = bf.from_pretrained(minilm_dir(), task="pretraining", return_report=True)
    assert report["format"] == "hf_bert" and report["objective"] == "nsp"
    assert report["initialized_fresh"] == ["mlm_head", "mlm_output_bias", "nsp_head"]
    assert report["pooler"] is True and report["absent"] == []
    ids = np.array([[101, 7592, 2088, 103, 102]], "int32")
    out = model(
        {
            "token_ids": ids,
            "segment_ids": np.zeros_like(ids),
            "padding_mask": np.ones_like(ids),
            "mask_positions": np.array([[3]], "int32"),
        }
    )
    assert out["mlm_logits"].shape == (1, 1, 30522) and out["nsp_logits"].shape == (1, 2)
    assert np.isfinite(np.asarray(out["mlm_logits"])).all()


def test_convert_writes_the_import_report(tmp_path, capsys):
    from keras_bertfam.cli import main

    folder = without("roberta", tmp_path, ["roberta.pooler."])
    out = tmp_path / "converted"
    assert main(["convert", str(folder), "--out", str(out)]) == 0
    report = json.loads((out / "import_report.json").read_text())
    assert report["absent"] == ["pooler"] and report["task"] == "pretraining"
    assert f"import report -> {out}/import_report.json" in capsys.readouterr().out
    encoder = bf.from_pretrained(out)
    assert encoder.get_layer("pooler").dense is None
    assert bf.EncoderConfig.from_json_file(out / "config.json").pooler is False


# -- what the models are called with ----------------------------------------------------

from keras_bertfam.errors import InputError  # noqa: E402


def tiny(kind="encoder"):
    cfg = bf.get_preset("bert_tiny", num_layers=1, vocabulary_size=50, max_sequence_length=16)
    if kind == "encoder":
        return bf.build_encoder(cfg)
    if kind == "pretrainer":
        return bf.build_pretrainer(cfg)
    from keras_bertfam.models.tasks import build_task_model

    return build_task_model(bf.build_encoder(cfg), kind, num_classes=3)


def encoder_batch(**changes):
    batch = {k: v for k, v in _batch().items() if k in ENCODER_INPUTS}
    return {**batch, **changes}


@pytest.mark.parametrize("name", ["token_ids", "segment_ids", "padding_mask", "mask_positions"])
def test_float_ids_are_refused_not_truncated(name):
    model = tiny("pretrainer")
    batch = _batch()
    bad = dict(batch, **{name: batch[name].astype("float32") + 0.9})
    with pytest.raises(InputError, match=f"^{name} has dtype float32: it must hold integers"):
        model(bad)
    with pytest.raises(InputError, match=f"^{name} has dtype float32"):
        model.predict(bad, verbose=0)


def test_shapes_that_keras_would_broadcast_or_squeeze_are_refused():
    model = tiny()
    batch = encoder_batch()
    for name in ("padding_mask", "segment_ids"):
        with pytest.raises(
            InputError, match=rf"^{name} has shape \(1, 6\) but token_ids has shape \(2, 6\)"
        ):
            model(dict(batch, **{name: batch[name][:1]}))
    with pytest.raises(InputError, match=r"^token_ids has shape \(6,\); the model expects \[batch, seq\]"):  # fmt: skip  # noqa: E501
        model(dict(batch, token_ids=batch["token_ids"][0]))
    with pytest.raises(InputError, match=r"^token_ids has shape \(2, 6, 1\); the model expects \[batch, seq\]"):  # fmt: skip  # noqa: E501
        model(dict(batch, token_ids=batch["token_ids"][..., None]))
    pretrainer = tiny("pretrainer")
    full = _batch()
    with pytest.raises(InputError, match=r"^mask_positions has shape \(1, 2\) but token_ids"):
        pretrainer(dict(full, mask_positions=full["mask_positions"][:1]))
    # shapes known when tracing (fixed-shape batches under XLA) are checked then
    import tensorflow as tf

    step = tf.function(lambda x: model(x), jit_compile=True, autograph=False)
    with pytest.raises(InputError, match=r"^padding_mask has shape \(1, 6\)"):
        step(dict(batch, padding_mask=batch["padding_mask"][:1]))


def test_shapes_known_only_at_run_time_are_checked_or_poisoned():
    import tensorflow as tf

    model = tiny()
    batch = encoder_batch()
    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in ENCODER_INPUTS}
    bad = dict(batch, padding_mask=batch["padding_mask"][:1])
    graph = tf.function(lambda x: model(x), input_signature=[spec], autograph=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input shapes differ.*token_ids:\] \[2 6\] \[padding_mask:\] \[1 6\]"):  # fmt: skip  # noqa: E501
        graph(bad)
    xla = tf.function(lambda x: model(x), input_signature=[spec], jit_compile=True, autograph=False)
    assert np.isnan(xla(bad)["sequence_output"].numpy()).all()
    assert np.isfinite(xla(batch)["sequence_output"].numpy()).all()


def test_invalid_mask_positions_raise_eagerly_and_are_nan_under_xla():
    import tensorflow as tf

    model = tiny("pretrainer")
    batch = _batch()
    for position in (-1, 6):
        bad = dict(batch, mask_positions=np.array([[1, position], [2, 3]], "int32"))
        with pytest.raises(InputError, match=r"mask_positions holds values outside \[0, seq_length=6\)"):  # fmt: skip  # noqa: E501
            model(bad)
        logits = tf.function(lambda x: model(x), jit_compile=True, autograph=False)(bad)[
            "mlm_logits"
        ].numpy()
        assert np.isnan(logits[0, 1]).all(), position
        assert np.isfinite(logits[0, 0]).all() and np.isfinite(logits[1]).all()


def test_too_long_sequences_under_xla():
    import tensorflow as tf

    model = tiny()  # max_sequence_length=16
    long = {k: np.tile(v, (1, 3)) for k, v in encoder_batch().items()}  # 18 tokens
    static = tf.function(lambda x: model(x), jit_compile=True, autograph=False)
    with pytest.raises(InputError, match="sequence length 18 but max_sequence_length=16"):
        static(long)
    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in ENCODER_INPUTS}
    dynamic = tf.function(
        lambda x: model(x), input_signature=[spec], jit_compile=True, autograph=False
    )
    assert np.isnan(dynamic(long)["sequence_output"].numpy()).all()
    fits = {k: v[:, :16] for k, v in long.items()}
    assert np.isfinite(dynamic(fits)["sequence_output"].numpy()).all()
    graph = tf.function(lambda x: model(x), input_signature=[spec], autograph=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="token_ids is longer than that but max_sequence_length=16"):  # fmt: skip  # noqa: E501
        graph(long)


@pytest.mark.parametrize("kind", ["encoder", "pretrainer", "classification", "question_answering"])
def test_predict_on_an_empty_batch_gives_empty_outputs(kind):
    import tensorflow as tf

    model = tiny(kind)
    names = [t.name for t in model.inputs]
    empty = {k: v[:0] for k, v in _batch().items() if k in names}
    full = {k: v for k, v in _batch().items() if k in names}
    expected = {k: (0, *np.asarray(v).shape[1:]) for k, v in model(full).items()}
    got = model.predict(empty, verbose=0)
    assert {k: v.shape for k, v in got.items()} == expected
    assert all(isinstance(v, np.ndarray) for v in got.values())
    dataset = tf.data.Dataset.from_tensor_slices(empty).batch(4)
    assert set(model.predict(dataset, verbose=0)) == set(expected)


def test_inputs_are_matched_by_name():
    encoder = tiny()
    pretraining_batch = _batch()  # has mask_positions too
    out = encoder(pretraining_batch)["sequence_output"]
    np.testing.assert_array_equal(out, encoder(encoder_batch())["sequence_output"])
    with pytest.raises(InputError, match=r"needs the inputs .*; missing: \['segment_ids'\]"):
        encoder({k: v for k, v in encoder_batch().items() if k != "segment_ids"})


def test_model_class_round_trips_and_old_functional_files_load(tmp_path):
    import keras

    from keras_bertfam.models.model import BertfamModel

    model = tiny("pretrainer")
    rebuilt = type(model).from_config(model.get_config())  # a Pretrainer, from its config
    assert type(rebuilt) is type(model) and rebuilt.get_config() == model.get_config()
    plain = BertfamModel(model.input, model.output)  # a functional BertfamModel
    again = BertfamModel.from_config(plain.get_config())
    assert type(again) is BertfamModel and again.get_config() == plain.get_config()
    # a file written as a plain functional model (class "Functional") still loads
    encoder = model.encoder
    old = keras.Model(encoder.input, encoder.output)
    assert type(old).__name__ == "Functional"
    old.save(tmp_path / "old.keras")
    loaded = bf.load_model(tmp_path / "old.keras")
    batch = {k: v for k, v in _batch().items() if k in ENCODER_INPUTS}
    np.testing.assert_allclose(
        loaded(batch)["sequence_output"], encoder(batch)["sequence_output"], atol=1e-6
    )


def test_info_counts_the_pooler_only_when_present():
    from keras_bertfam.models.info import parameter_breakdown

    cfg = bf.get_preset("bert_tiny", num_layers=1, vocabulary_size=50, pooler=False)
    rows = parameter_breakdown(cfg)
    assert "pooler" not in rows
    assert bf.build_encoder(cfg).count_params() == rows["total encoder (no pooler)"]
    assert bf.build_pretrainer(cfg).count_params() == rows["total pretrainer"]
    with_pooler = parameter_breakdown(cfg.replace(pooler=True))
    assert with_pooler["total encoder (with pooler)"] - rows["total encoder (no pooler)"] == (
        128 * 128 + 128
    )
