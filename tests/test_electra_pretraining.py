"""ELECTRA's joint pretraining on tiny configs: the generator's samples are what the
discriminator reads, labels follow the rule "replaced = differs from the original", no
gradient reaches the generator through the sampling, embeddings are shared, and training
lowers the loss, saves and loads."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bertfam.layers import ReplaceTokens
from keras_bertfam.models.builders import encoder_of
from keras_bertfam.models.config import ConfigError
from keras_bertfam.models.electra import build_electra_pretrainer, generator_config, rtd_loss
from keras_bertfam.models.presets import get_preset

B, S, P, V = 4, 12, 3, 200
TINY = dict(num_layers=1, vocabulary_size=V, max_sequence_length=32)


def batch(seed=0):
    rng = np.random.default_rng(seed)
    original = rng.integers(5, V, (B, S)).astype("int32")
    original[:, 0] = 2
    padding = np.ones((B, S), "int32")
    padding[1, 9:] = 0
    original[1, 9:] = 0
    positions = np.array([[1, 4, 7], [2, 3, 8], [5, 6, 10], [3, 9, 11]], "int32")
    weights = np.ones((B, P), "float32")
    weights[1, 2] = 0.0  # a padding slot: its position (8) keeps its token
    mask_ids = np.take_along_axis(original, positions, 1) * (weights > 0)
    masked = original.copy()
    np.put_along_axis(masked, positions, 4, 1)
    masked[1, 8] = original[1, 8]
    x = {"token_ids": masked, "segment_ids": np.zeros((B, S), "int32"), "padding_mask": padding,
         "mask_positions": positions, "mask_ids": mask_ids, "mask_weights": weights}  # fmt: skip
    return x, original


def test_generator_size_follows_the_fraction_and_shares_the_tables():
    small, base = get_preset("electra_small"), get_preset("electra_base")
    g = generator_config(small)
    assert (g.hidden_dim, g.num_heads, g.intermediate_dim, g.embedding_dim, g.num_layers) == (64, 1, 256, 128, 12)  # fmt: skip  # noqa: E501
    g = generator_config(base)
    assert (g.hidden_dim, g.num_heads, g.intermediate_dim, g.embedding_dim) == (256, 4, 1024, 768)
    model = build_electra_pretrainer("electra_tiny", **TINY)
    paths = [w.path for w in model.weights]
    assert not [p for p in paths if "generator_token" in p or "generator_position" in p]
    assert encoder_of(model) is model.encoder and model.encoder.bertfam_config.hidden_dim == 64
    generator_only = sum(int(np.prod(w.shape)) for w in model.trainable_weights
                         if w.path.startswith("generator_"))  # fmt: skip
    assert model.count_params() == model.encoder.count_params() + generator_only + 64 * 64 + 64 + 65
    with pytest.raises(ConfigError, match="token_objective='mlm'"):
        build_electra_pretrainer("bert_tiny")
    with pytest.raises(ConfigError, match="generator_fraction=0"):
        get_preset("electra_tiny", generator_fraction=0)


def test_the_discriminator_reads_the_generators_samples():
    """A generator forced to token 7 (its output bias): every real masked slot becomes 7,
    labelled replaced unless the original was 7; the discriminator's logits are those of
    the corrupted sequence."""
    model = build_electra_pretrainer("electra_tiny", **TINY)
    bias = np.zeros(V, "float32")
    bias[7] = 1e4
    model.get_layer("generator_mlm_output_bias").bias.assign(bias)
    x, original = batch()
    x["mask_ids"][0, 1] = original[0, 4] = 7  # sampled 7 where 7 was: original
    out = model(x)
    corrupted = original.copy()
    for row, col in zip(*np.nonzero(x["mask_weights"]), strict=True):
        corrupted[row, x["mask_positions"][row, col]] = 7
    labels = (corrupted != original).astype("float32")
    np.testing.assert_array_equal(out["rtd_labels"], labels)
    assert labels.sum() == 10 and labels[0, 4] == 0 and labels[1, 8] == 0
    inputs = {k: x[k] for k in ("segment_ids", "padding_mask")}
    hidden = model.encoder({**inputs, "token_ids": corrupted})["sequence_output"]
    expected = model.get_layer("rtd_head")(hidden)
    np.testing.assert_allclose(out["rtd_logits"], expected, atol=1e-5)


def test_samples_follow_the_generators_distribution():
    logits = np.log(np.array([0.7, 0.2, 0.1], "float32"))[None, None].repeat(4000, axis=1)
    ids, _ = ReplaceTokens(seed=0)(logits, np.zeros((1, 4000), "int32"),
                                   np.arange(4000, dtype="int32")[None],
                                   np.full((1, 4000), 9, "int32"), np.ones((1, 4000), "float32"))  # fmt: skip  # noqa: E501
    freq = np.bincount(np.asarray(ids)[0], minlength=3)[:3] / 4000
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.03)  # 4000 draws: sd <= 0.008


def test_no_gradient_from_the_discriminator_reaches_the_generator():
    model = build_electra_pretrainer("electra_tiny", **TINY)
    x, _ = batch()
    generator = [w for w in model.trainable_weights if w.path.startswith("generator_")]
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = rtd_loss(out["rtd_labels"], out["rtd_logits"], x["padding_mask"])
    grads = tape.gradient(loss, generator)
    assert generator and all(g is None or not np.any(np.asarray(g)) for g in grads)


def test_training_lowers_the_loss_reports_rtd_metrics_and_round_trips(tmp_path):
    model = build_electra_pretrainer("electra_tiny", **TINY, dropout=0.0)
    x, _ = batch()
    y, weights = {"mlm_logits": x["mask_ids"]}, {"mlm_logits": x["mask_weights"]}
    loss = {n: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            for n in model.target_outputs}  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss, jit_compile=True)
    history = model.fit(x, y, sample_weight=weights, epochs=6, batch_size=B, verbose=0).history
    assert {"rtd_auc", "rtd_precision", "rtd_recall", "rtd_loss"} <= set(history)
    losses = history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0] - 1.0, losses
    model.save(tmp_path / "electra.keras")
    again = keras.saving.load_model(tmp_path / "electra.keras")
    assert type(again).__name__ == "ElectraPretrainer"
    assert again.bertfam_config == model.bertfam_config
    for a, b in zip(model.weights, again.weights, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=a.path)
    # the same sampler state: the same samples, the same outputs
    ours, theirs = model(x), again(x)
    np.testing.assert_array_equal(ours["rtd_labels"], theirs["rtd_labels"])
    np.testing.assert_allclose(ours["rtd_logits"], theirs["rtd_logits"], atol=1e-6)


def _corpus(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n\n".join(f"Sentence {i} of doc {d}.\nAnother one {i} here."
                                  for d in range(20) for i in range(3)))  # fmt: skip
    return corpus


def test_bertfam_pretrain_recipe_electra(tmp_path):
    """The recipe's model and data with a tiny discriminator: the saved model is the whole
    pretrainer and the discriminator's encoder is what `from_pretrained(task="encoder")`
    gives."""
    import json

    import keras_bertfam as bf
    from keras_bertfam.cli import main
    from tests.data_fixtures import minilm_dir

    out = tmp_path / "run"
    assert main(["pretrain", "--recipe", "electra", "--preset", "electra_tiny", "--set",
                 "num_layers=1", "--set", "vocabulary_size=30522", "--corpus",
                 str(_corpus(tmp_path)), "--tokenizer", str(minilm_dir() / "vocab.txt"),
                 "--sequence-length", "32", "--max-predictions", "5", "--batch-size", "4",
                 "--warmup-steps", "1", "--checkpoint-every", "2", "--steps", "2", "--no-jit",
                 "--out", str(out)]) == 0  # fmt: skip
    history = json.loads((out / "training_summary.json").read_text())["history"]
    assert {"rtd_auc", "rtd_precision", "rtd_recall", "rtd_loss"} <= set(history)
    assert np.all(np.isfinite(history["loss"]))
    model = keras.saving.load_model(out / "model.keras")
    assert type(model).__name__ == "ElectraPretrainer"
    assert json.loads((out / "config.json").read_text())["token_objective"] == "rtd"
    encoder = bf.from_pretrained(out, task="encoder")
    assert encoder.count_params() == model.encoder.count_params()
    assert sorted(encoder.output) == ["pooled_output", "sequence_output"]


def test_a_killed_electra_run_resumes_from_its_checkpoint(tmp_path):
    from keras_bertfam.data import DataConfig
    from keras_bertfam.training import TrainConfig, pretrain
    from tests.data_fixtures import minilm_dir

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("simulated crash after the first checkpoint")

    config = get_preset("electra_tiny", num_layers=1, vocabulary_size=30522)
    train = TrainConfig(steps=4, batch_size=4, checkpoint_every=2, warmup_steps=1, jit=False,
                        verbose=0)  # fmt: skip
    data = DataConfig(objective="none", sequence_length=32)
    args = (config, [_corpus(tmp_path)], tmp_path / "run", train, data, minilm_dir() / "vocab.txt")
    with pytest.raises(RuntimeError, match="simulated crash"):
        pretrain(*args, callbacks=[Crash()])
    summary = pretrain(*args)
    assert summary["resumed_from_epoch"] == 1 and summary["steps"] == 4
    assert len(summary["history"]["rtd_auc"]) == 2


def test_an_electra_pretrainer_starts_from_a_hugging_face_discriminator():
    """init_from a discriminator folder: its encoder and RTD head are loaded, the generator
    starts fresh (reported), and the outputs are the checkpoint's."""
    from pathlib import Path

    from keras_bertfam.models.electra import ElectraPretrainer
    from keras_bertfam.training.init_from import initialize, load_initial

    folder = Path(__file__).parent / "fixtures" / "hf" / "electra_discriminator"
    initial = load_initial(folder)
    model = ElectraPretrainer(initial["config"])
    report = initialize(model, initial)
    assert report["dropped"] == [] and "rtd_head" not in report["initialized_fresh"]
    assert report["initialized_fresh"] == sorted(
        {w.path.split("/")[0] for w in model.weights if w.path.startswith("generator_")}
    )
    ref = dict(np.load(folder / "reference.npz"))
    out = model.encoder({k: ref[k] for k in model.encoder.input})
    real = ref["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(out["sequence_output"])[real],
                               ref["sequence_output"][real], atol=1e-4)  # fmt: skip
