"""Masking statistics on the real corpus: rates, 80/10/10, spans, whole words, seeds."""

import numpy as np
import pytest
import tensorflow as tf

from keras_bertfam.data import DataConfig, MaskingConfig, load_tokenizer, unmasked_dataset
from keras_bertfam.data.masking import choose, mask_batch, span_lengths
from keras_bertfam.data.pipeline import mask_dataset, masker
from tests.data_fixtures import CORPUS, minilm_dir

S = 128


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(minilm_dir() / "vocab.txt")


@pytest.fixture(scope="module")
def sequences(tok):
    """The corpus as NSP sequences of 128 tokens, as one padded batch of numpy arrays."""
    ds = unmasked_dataset([CORPUS], tok, DataConfig(objective="nsp", sequence_length=S), seed=0)
    return next(iter(ds.batch(100000).as_numpy_iterator()))


def _mask(tok, sequences, seed=7, **masking):
    cfg = DataConfig(masking=MaskingConfig(**masking))
    out = masker(tok, cfg)(
        {k: tf.constant(v) for k, v in sequences.items()}, tf.constant([seed, 0], tf.int64)
    )
    return {k: v.numpy() for k, v in out.items()}


def _maskable(tok, sequences):
    special = [tok.special_ids[r] for r in ("cls", "sep", "pad")]
    return (sequences["padding_mask"] == 1) & ~np.isin(sequences["token_ids"], special)


@pytest.mark.parametrize("strategy", ["token", "whole_word", "ngram", "span"])
def test_masked_share_and_80_10_10_split(tok, sequences, strategy):
    out = _mask(tok, sequences, strategy=strategy, max_predictions_per_seq=S)  # no cap
    maskable = _maskable(tok, sequences)
    weights = out["mask_weights"] > 0
    share = weights.sum() / maskable.sum()
    assert abs(share - 0.15) <= 0.005, share
    rows = np.nonzero(weights)[0]
    positions = out["mask_positions"][weights]
    original = sequences["token_ids"][rows, positions]
    assert np.array_equal(out["mask_ids"][weights], original)
    assert maskable[rows, positions].all()  # never [CLS], [SEP] or padding
    now = out["token_ids"][rows, positions]
    to_mask = np.mean(now == tok.special_ids["mask"])
    kept = np.mean(now == original)
    assert abs(to_mask - 0.8) <= 0.015, to_mask
    # a random replacement can draw the original token (1/V): "kept" is 10% + a hair
    assert abs(kept - 0.1) <= 0.015, kept
    assert abs(1 - to_mask - kept - 0.1) <= 0.015
    # nothing outside the chosen positions changed
    changed = out["token_ids"] != sequences["token_ids"]
    chosen = np.zeros_like(changed)
    chosen[rows, positions] = True
    assert not (changed & ~chosen).any()


def test_cap_pads_with_weight_zero(tok, sequences):
    out = _mask(tok, sequences, max_predictions_per_seq=5)
    assert out["mask_positions"].shape == (len(sequences["token_ids"]), 5)
    assert (out["mask_weights"].sum(axis=1) == 5).mean() > 0.95
    short = out["mask_weights"] == 0
    assert (out["mask_positions"][short] == 0).all() and (out["mask_ids"][short] == 0).all()


def _words(tok, ids, maskable):
    starts = tok.word_starts()[ids] | ~np.roll(maskable, 1)
    return np.cumsum(starts) * maskable


@pytest.mark.parametrize("strategy", ["whole_word", "ngram", "span"])
def test_whole_words_are_never_split(tok, sequences, strategy):
    out = _mask(tok, sequences, strategy=strategy)
    maskable = _maskable(tok, sequences)
    continuation_pieces = 0
    for r in range(800):
        words = _words(tok, sequences["token_ids"][r], maskable[r])
        chosen = np.zeros(S, bool)
        w = out["mask_weights"][r] > 0
        chosen[out["mask_positions"][r][w]] = True
        for word in np.unique(words[chosen]):
            assert chosen[words == word].all()
            continuation_pieces += (words == word).sum() - 1
    assert continuation_pieces > 100  # the test did meet multi-piece words


def test_token_masking_does_split_words(tok, sequences):
    out = _mask(tok, sequences, strategy="token")
    maskable = _maskable(tok, sequences)
    split = 0
    for r in range(200):
        words = _words(tok, sequences["token_ids"][r], maskable[r])
        chosen = np.zeros(S, bool)
        chosen[out["mask_positions"][r][out["mask_weights"][r] > 0]] = True
        split += sum(not chosen[words == w].all() for w in np.unique(words[chosen]))
    assert split > 0


def test_ngram_span_lengths_follow_one_over_n():
    """Spans of n words are drawn with p(n) = (1/n) / (1 + 1/2 + 1/3), fewer near the end."""
    n = span_lengths(tf.constant([100] * 400), 100, 3, tf.constant([3, 4], tf.int64)).numpy()
    inner = np.bincount(n[:, :98].ravel(), minlength=4)[1:] / n[:, :98].size
    np.testing.assert_allclose(inner, np.array([1, 1 / 2, 1 / 3]) / (11 / 6), atol=0.01)
    before_last = np.bincount(n[:, 98], minlength=4)[1:] / len(n)
    np.testing.assert_allclose(before_last, [2 / 3, 1 / 3, 0], atol=0.05)
    assert (n[:, 99] == 1).all()


def test_ngram_masking_masks_runs_of_words(tok, sequences):
    """End to end: masked runs of whole words are mostly 1, then 2, then 3 words long."""
    out = _mask(tok, sequences, strategy="ngram", max_predictions_per_seq=S, rate=0.05)
    maskable = _maskable(tok, sequences)
    runs = []
    for r in range(800):
        words = _words(tok, sequences["token_ids"][r], maskable[r])
        chosen = np.zeros(S, bool)
        chosen[out["mask_positions"][r][out["mask_weights"][r] > 0]] = True
        masked_words = np.zeros(words.max() + 2, bool)
        masked_words[words[chosen]] = True
        edges = np.diff(np.concatenate([[0], masked_words[1:].astype(int), [0]]))
        runs += list(np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0])
    share = np.bincount(runs, minlength=4)[1:4] / len(runs)
    assert share[0] > share[1] > share[2] > 0.05, share


def test_same_seed_same_masks_and_other_seed_other_masks(tok, sequences):
    a, b = _mask(tok, sequences, seed=5), _mask(tok, sequences, seed=5)
    c = _mask(tok, sequences, seed=6)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["mask_positions"], c["mask_positions"])


def test_dynamic_masking_changes_between_epochs_and_repeats_with_the_seed(tok, sequences):
    base = tf.data.Dataset.from_tensor_slices({k: v[:64] for k, v in sequences.items()})
    cfg = DataConfig()

    def epochs(seed):
        ds = mask_dataset(base, tok, cfg, batch_size=32, seed=seed)
        return [[x["mask_positions"].numpy() for x, _, _ in ds] for _ in range(2)]

    first, again = epochs(11), epochs(11)
    assert not np.array_equal(first[0][0], first[1][0])  # new masks each epoch
    assert all(
        np.array_equal(a, b)
        for e, f in zip(first, again, strict=True)
        for a, b in zip(e, f, strict=True)
    )


def test_masking_config_validates():
    with pytest.raises(ValueError, match="rate=0"):
        MaskingConfig(rate=0)
    with pytest.raises(ValueError, match="strategy='spans'"):
        MaskingConfig(strategy="spans")
    with pytest.raises(ValueError, match="span_p=0"):
        MaskingConfig(strategy="span", span_p=0)
    with pytest.raises(ValueError, match="max_span=0"):
        MaskingConfig(max_span=0)
    with pytest.raises(ValueError, match="max_predictions_per_seq=0"):
        MaskingConfig(max_predictions_per_seq=0)
    with pytest.raises(ValueError, match="exceeds 1"):
        MaskingConfig(mask_token_rate=0.8, random_token_rate=0.3)


GEOMETRIC = 0.2 * 0.8 ** np.arange(10)  # SpanBERT's p(n), n = 1..10, before renormalising


def test_span_lengths_follow_the_truncated_geometric_of_spanbert():
    """p(n) ∝ 0.2 * 0.8^(n-1) for n <= 10, renormalised: mean 3.80 words."""
    cfg = MaskingConfig(strategy="span")
    weights = cfg.span_weights()
    n = span_lengths(tf.constant([200] * 300), 200, 10, tf.constant([5, 6], tf.int64), weights)
    inner = n.numpy()[:, :190]
    expected = GEOMETRIC / GEOMETRIC.sum()
    np.testing.assert_allclose(np.bincount(inner.ravel(), minlength=11)[1:] / inner.size,
                               expected, atol=0.01)  # fmt: skip
    mean = (np.arange(1, 11) * expected).sum()
    assert abs(mean - 3.8) < 0.01 and abs(inner.mean() - mean) < 0.03 * mean


def test_span_masking_masks_spans_of_3_8_words_on_average():
    """End to end, where neither the budget nor the row's end cuts spans short (rows of
    4,094 one-token words, 5% masked: ~55 spans a row): words per span within 5% of 3.8,
    far from n-gram masking's 1/n spans."""
    ids = np.full((32, 4096), 5, np.int32)
    ids[:, 0], ids[:, -1] = 1, 2
    seed = tf.constant([3, 1], tf.int64)

    def words_per_span(**masking):
        chosen, spans = choose(ids, np.ones_like(ids), [True] * 8, [0, 1, 2],
                               MaskingConfig(rate=0.05, **masking), seed)  # fmt: skip
        share = chosen.numpy().sum() / (32 * 4094)
        assert abs(share - 0.05) < 0.001 and spans.numpy().min() > 30
        return chosen.numpy().sum() / spans.numpy().sum()

    assert abs(words_per_span(strategy="span") - 3.8) <= 0.05 * 3.8
    assert abs(words_per_span(strategy="ngram") - 18 / 11) <= 0.05 * 18 / 11  # E[n], 1/n, n<=3


def test_choose_picks_what_mask_batch_masks(tok, sequences):
    cfg = MaskingConfig(strategy="span", rate=0.3)
    special = [tok.special_ids[r] for r in ("cls", "sep", "pad")]
    ids, pad = sequences["token_ids"][:64], sequences["padding_mask"][:64]
    seed = tf.constant([9, 9], tf.int64)
    chosen, _ = choose(ids, pad, tok.word_starts(), special, cfg, seed)
    out = mask_batch(ids, pad, tok.word_starts(), special, tok.special_ids["mask"],
                     tok.vocabulary_size, cfg, seed)  # fmt: skip
    weights = out["mask_weights"].numpy() > 0
    rows = np.nonzero(weights)[0]
    picked = np.zeros_like(chosen.numpy())
    picked[rows, out["mask_positions"].numpy()[weights]] = True
    assert np.array_equal(picked, chosen.numpy()) and picked.sum() > 0


@pytest.mark.parametrize("rate", [0.15, 0.4])
def test_predictions_follow_the_rate_unless_capped(tok, sequences, rate):
    """P = ceil(rate * S) when `max_predictions_per_seq` is None: 20 at 15% of 128
    tokens, 52 at 40% (Wettig et al. 2023), and the cap never binds."""
    cfg = MaskingConfig(rate=rate)
    assert cfg.predictions_for(S) == {0.15: 20, 0.4: 52}[rate]
    out = _mask(tok, sequences, rate=rate)
    assert out["mask_positions"].shape[1] == cfg.predictions_for(S)
    maskable = _maskable(tok, sequences).sum(axis=1)
    expected = np.maximum(1, np.round(maskable * rate))
    np.testing.assert_array_equal(out["mask_weights"].sum(axis=1), expected)
    capped = _mask(tok, sequences, rate=rate, max_predictions_per_seq=10)
    assert capped["mask_positions"].shape[1] == 10
