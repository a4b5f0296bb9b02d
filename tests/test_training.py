"""The pretraining recipe: strategies, XLA, mixed precision, accumulation, decay, resume."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bertfam as bf
from keras_bertfam.data import DataConfig
from keras_bertfam.errors import InputError
from keras_bertfam.training import (
    TrainConfig,
    build_optimizer,
    compile_pretrainer,
    fit_distributed,
    pretrain,
)
from tests.data_fixtures import minilm_dir
from tests.helpers import make_batch

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "strategy_worker.py"


def _run_worker(tmp_path, strategy, *extra, env=None):
    out = tmp_path / f"{strategy}-{len(list(tmp_path.iterdir()))}.json"
    subprocess.run(
        [sys.executable, str(WORKER), str(out), strategy, *extra],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=300,
    )
    return json.loads(out.read_text())


def test_mirrored_over_two_cpus_matches_one_device(tmp_path):
    """Same global batch, same losses (without clipping: Keras clips per replica)."""
    one = _run_worker(tmp_path, "one")
    mirrored = _run_worker(tmp_path, "mirrored", "--logical-cpus", "2")
    assert mirrored["replicas"] == 2 and one["replicas"] == 1
    assert mirrored["losses"][0] == pytest.approx(one["losses"][0], rel=1e-6)  # same start
    np.testing.assert_allclose(mirrored["losses"], one["losses"], rtol=1e-5)
    np.testing.assert_allclose(mirrored["checksum"], one["checksum"], rtol=1e-3, atol=1e-3)
    assert one["losses"][-1] < one["losses"][0]  # it did train


def test_accumulation_under_a_mirrored_strategy_equals_one_large_batch(tmp_path):
    """Keras' optimizer cannot accumulate under tf.distribute; fit_distributed can."""
    one = _run_worker(tmp_path, "one")
    accumulated = _run_worker(tmp_path, "mirrored", "--logical-cpus", "2", "--accumulate", "2")
    assert accumulated["replicas"] == 2 and accumulated["updates"] == one["updates"] == 4
    # the running mean of the loss is over micro-batches: equal here (same masked count)
    np.testing.assert_allclose(accumulated["losses"], one["losses"], rtol=1e-5)
    np.testing.assert_allclose(accumulated["checksum"], one["checksum"], rtol=1e-3, atol=1e-3)


def _fit_once(jit, accumulate=1, batch=8, precision="float32", optimizer="adamw", epsilon=1e-6,
              own_loop=False):  # fmt: skip
    """One epoch over 8 rows; own_loop: `fit_distributed` accumulates, not the optimizer."""
    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(precision)
    model = bf.build_pretrainer("bert_tiny", num_layers=1, dropout=0.0, vocabulary_size=300)
    keras.utils.set_random_seed(0)
    opt = build_optimizer(optimizer, model, 1e-3, total_steps=10,
                          accumulate=1 if own_loop else accumulate, epsilon=epsilon)  # fmt: skip
    compile_pretrainer(model, opt, jit)
    x = make_batch(300, batch=8, seq=16, predictions=3, seed=4)
    rng = np.random.default_rng(5)
    y = {"mlm_logits": rng.integers(0, 300, (8, 3)), "nsp_logits": rng.integers(0, 2, 8)}
    if own_loop:
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)
        steps = 8 // (batch * accumulate)
        history = fit_distributed(model, data, steps_per_epoch=steps, accumulate=accumulate,
                                  jit=jit, verbose=0)  # fmt: skip
    else:
        history = model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    return model, history.history["loss"][0]


def test_xla_and_non_xla_steps_agree():
    (a, loss_a), (b, loss_b) = _fit_once(jit=True), _fit_once(jit=False)
    assert loss_a == pytest.approx(loss_b, rel=1e-5)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, atol=1e-5)


def test_accumulated_micro_batches_equal_one_large_batch():
    # epsilon=1 keeps Adam's step linear in the gradient: with the default 1e-6, weights
    # whose true gradient is ~0 step by +-lr on rounding noise, in either run
    big, _ = _fit_once(jit=False, accumulate=1, batch=8, epsilon=1.0)
    accumulated, _ = _fit_once(jit=False, accumulate=2, batch=4, epsilon=1.0)
    assert int(accumulated.optimizer.iterations.numpy()) == 1 == int(big.optimizer.iterations)
    for wa, wb in zip(big.get_weights(), accumulated.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, atol=1e-7)


@pytest.mark.parametrize("jit", [False, True])
def test_fit_distributed_accumulates_like_one_large_batch(jit):
    big, big_loss = _fit_once(jit=False, accumulate=1, batch=8, epsilon=1.0)
    accumulated, loss = _fit_once(jit=jit, accumulate=2, batch=4, epsilon=1.0, own_loop=True)
    assert int(accumulated.optimizer.iterations.numpy()) == 1
    assert loss == pytest.approx(big_loss, rel=1e-5)
    for wa, wb in zip(big.get_weights(), accumulated.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, atol=1e-6 if jit else 1e-7)
    keras_accumulating, _ = _fit_once(jit=False, accumulate=2, batch=4)  # optimizer accumulates
    with pytest.raises(ValueError, match="gradient_accumulation_steps=2"):
        fit_distributed(keras_accumulating, tf.data.Dataset.range(1), steps_per_epoch=1,
                        accumulate=2)  # fmt: skip


def test_mixed_float16_uses_loss_scaling_and_float32_variables():
    model, loss = _fit_once(jit=True, precision="mixed_float16")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    assert np.isfinite(loss)


@pytest.mark.parametrize("name", ["adamw", "lamb"])
def test_no_weight_decay_on_layer_norm_and_biases(name):
    model = bf.build_pretrainer("bert_tiny", num_layers=1)
    opt = build_optimizer(name, model, 1e-2, total_steps=10, weight_decay=0.1, global_clipnorm=None)
    variables = model.trainable_variables
    before = [v.numpy().copy() for v in variables]
    opt.apply_gradients([(tf.zeros_like(v), v) for v in variables])  # only decay acts
    for v, old in zip(variables, before, strict=True):
        moved = not np.allclose(v.numpy(), old)
        if len(v.shape) < 2:  # LayerNorm gamma/beta and every bias
            assert not moved, v.path
        elif name == "adamw":  # LAMB scales its step by the trust ratio; AdamW decays directly
            assert moved, v.path
    excluded = {v.path for v in variables if not opt._use_weight_decay(v)}
    assert "encoder/attention_0/layer_norm/gamma" in excluded
    assert "mlm_output_bias/bias" in excluded
    assert "token_embedding/embeddings" not in excluded


def test_warmup_stable_decay_holds_then_falls_as_1_minus_sqrt():
    from keras_bertfam.training.schedules import WarmupStableDecay

    model = bf.build_pretrainer("bert_tiny", num_layers=1)
    opt = build_optimizer("adamw", model, 1e-3, total_steps=100, warmup_steps=10,
                          schedule="wsd", decay_steps=40, beta_2=0.98, accumulate=2)  # fmt: skip
    rate = opt._learning_rate  # the schedule (`learning_rate` is its current value)
    assert isinstance(rate, WarmupStableDecay) and float(opt.beta_2) == 0.98
    # accumulation: the schedule counts updates (two micro-batches each)
    got = [float(rate(2 * s)) for s in (0, 5, 10, 30, 60, 70, 90, 100, 200)]
    want = [0, 5e-4, 1e-3, 1e-3, 1e-3, 1e-3 * (1 - 0.25**0.5), 1e-3 * (1 - 0.75**0.5), 0, 0]
    np.testing.assert_allclose(got, want, atol=1e-9)
    again = WarmupStableDecay.from_config(rate.get_config())
    assert float(again(130)) == float(rate(130))
    linear = WarmupStableDecay(1.0, 10, 0, 4, shape="linear")
    assert [float(linear(s)) for s in (6, 7, 8)] == [1.0, 0.75, 0.5]
    with pytest.raises(InputError, match="warmup_steps=8, decay_steps=4, total_steps=10"):
        WarmupStableDecay(1.0, 10, 8, 4)
    with pytest.raises(InputError, match="decay_steps=5 needs schedule='wsd'"):
        TrainConfig(steps=10, checkpoint_every=5, decay_steps=5)
    with pytest.raises(InputError, match=r"beta_2=1\.0 must be"):
        TrainConfig(beta_2=1.0)


@pytest.mark.parametrize("accumulate", [1, 2])
def test_killed_run_resumes_from_its_checkpoint(tmp_path, accumulate):
    """Also with accumulation, which runs in fit_distributed rather than model.fit."""
    config = bf.get_preset("bert_tiny", num_layers=1, max_sequence_length=32)
    data = DataConfig(sequence_length=32)
    train = TrainConfig(steps=6, batch_size=4, accumulate=accumulate, checkpoint_every=2,
                        warmup_steps=1, jit=False, verbose=0)  # fmt: skip
    corpus = tmp_path / "c.txt"
    corpus.write_text(
        "\n\n".join(
            f"Sentence {i} of doc {d}.\nAnother one {i}." for d in range(30) for i in range(3)
        )
    )

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("simulated crash after the second checkpoint")

    tokenizer = minilm_dir() / "vocab.txt"
    with pytest.raises(RuntimeError, match="simulated crash"):
        pretrain(config, [corpus], tmp_path / "run", train, data, tokenizer, callbacks=[Crash()])
    progress = json.loads((tmp_path / "run/backup/progress.json").read_text())
    assert progress["epochs_done"] == 2 and len(progress["history"]["loss"]) == 2
    summary = pretrain(config, [corpus], tmp_path / "run", train, data, tokenizer)
    assert summary["resumed_from_epoch"] == 2
    assert summary["epochs_run_now"] == 1
    assert summary["steps"] == 6 and summary["global_batch"] == 4 * accumulate
    assert len(summary["history"]["loss"]) == 3  # the epochs before the crash included
    assert summary["training_loop"] == ("model.fit" if accumulate == 1 else "fit_distributed")
    assert (tmp_path / "run/model.keras").is_file()
    assert not (tmp_path / "run/backup").exists()
    loaded = keras.saving.load_model(tmp_path / "run/model.keras")
    assert set(loaded.output) == {"mlm_logits", "nsp_logits"}


def test_mismatched_data_and_model_are_refused(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("One sentence.\nTwo sentences.\n\nThree.\nFour.\n")
    with pytest.raises(ValueError, match="objective='sop' differs from the model's"):
        pretrain(
            bf.get_preset("bert_tiny"),
            [corpus],
            tmp_path / "o",
            TrainConfig(steps=1, checkpoint_every=1, warmup_steps=0),
            DataConfig(objective="sop"),
            minilm_dir(),
        )
    with pytest.raises(ValueError, match="checkpoint_every=3 must divide steps=10"):
        TrainConfig(steps=10, checkpoint_every=3)
