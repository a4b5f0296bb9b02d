"""Masked-LM masking as TensorFlow ops on a batch: token, whole-word, n-gram and span.

One mechanism serves every strategy. Tokens are grouped into *units*: single
tokens ("token"), or whole words ("whole_word", "ngram", "span": a word is a token
that begins one plus the continuation pieces after it). Each unit gets a random
priority and a span length n in words: 1 for "token" and "whole_word"; for
"ngram", n <= `max_ngram` with p(n) ∝ 1/n (ALBERT, Lan et al. 2020); for "span",
n <= `max_span` from a geometric distribution, p(n) ∝ (1 - `span_p`)^(n - 1),
truncated by renormalising (SpanBERT, Joshi et al. 2020: p = 0.2, at most 10
words, mean 3.8). A span starting k units before the end of the sequence draws
among n <= k, renormalised. Spans are visited in priority order, as the original
scripts visit their shuffled candidates: a span is shortened to the longest n
that fits the remaining budget, skipped if it overlaps a chosen span or nothing
fits, and chosen otherwise, until `min(P, max(1, round(rate * maskable)))` tokens
are chosen, P being `max_predictions_per_seq` or, when that is None, the most the
rate can ask for: `ceil(rate * sequence_length)`. [CLS], [SEP] and padding are
never chosen.

A chosen token becomes [MASK] with probability `mask_token_rate`, a random
vocabulary token with `random_token_rate`, and stays itself otherwise (BERT's
80/10/10). Everything is batched and stateless-random: the same seed gives the
same masks.

Example:

>>> import tensorflow as tf
>>> from keras_bertfam.data.masking import MaskingConfig, mask_batch
>>> ids = tf.constant([[2, 10, 11, 12, 13, 14, 15, 16, 17, 3, 0, 0]])
>>> out = mask_batch(ids, tf.cast(ids > 0, tf.int32), word_start_table=[True] * 20,
...                  special_ids=[0, 2, 3], mask_id=4, vocabulary_size=20,
...                  config=MaskingConfig(rate=0.3, max_predictions_per_seq=4),
...                  seed=tf.constant([1, 2], tf.int64))
>>> int(tf.reduce_sum(out["mask_weights"]))     # round(0.3 * 8 maskable tokens)
2
>>> sorted(out)
['mask_ids', 'mask_positions', 'mask_weights', 'token_ids']
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from keras_bertfam.errors import InputError
from keras_bertfam.kinds import MASKING_STRATEGIES as STRATEGIES


@dataclasses.dataclass(frozen=True)
class MaskingConfig:
    """How many tokens to mask and how.

    Args:
        rate: share of maskable tokens to predict (BERT: 0.15).
        mask_token_rate / random_token_rate: of the chosen tokens, the share set
            to [MASK] and the share set to a random token (the rest are kept).
        max_predictions_per_seq: cap P; outputs are padded to P with weight 0.
            None (the default): P follows the rate, `ceil(rate * sequence_length)`
            (20 at 15% of 128 tokens, 154 at 30% of 512), so the cap never binds.
        strategy: "token", "whole_word", "ngram" or "span".
        max_ngram: longest span in words for "ngram" (ALBERT: 3).
        max_span / span_p: longest span in words and the geometric parameter for
            "span" (SpanBERT: 10 and 0.2).
    """

    rate: float = 0.15
    mask_token_rate: float = 0.8
    random_token_rate: float = 0.1
    max_predictions_per_seq: int | None = None
    strategy: str = "token"
    max_ngram: int = 3
    max_span: int = 10
    span_p: float = 0.2

    def __post_init__(self):
        if not 0 < self.rate <= 1:
            raise InputError(f"rate={self.rate!r} must be in (0, 1]")
        for name in ("mask_token_rate", "random_token_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"{name}={getattr(self, name)!r} must be in [0, 1]")
        if self.mask_token_rate + self.random_token_rate > 1:
            raise InputError(
                f"mask_token_rate + random_token_rate = "
                f"{self.mask_token_rate + self.random_token_rate} exceeds 1"
            )
        if self.max_predictions_per_seq is not None and self.max_predictions_per_seq < 1:
            raise InputError(
                f"max_predictions_per_seq={self.max_predictions_per_seq!r} must be >= 1"
            )
        if self.strategy not in STRATEGIES:
            raise InputError(f"strategy={self.strategy!r} is not one of {list(STRATEGIES)}")
        for name in ("max_ngram", "max_span"):
            if isinstance(getattr(self, name), bool) or getattr(self, name) < 1:
                raise InputError(f"{name}={getattr(self, name)!r} must be an integer >= 1")
        if not 0 < self.span_p <= 1:
            raise InputError(f"span_p={self.span_p!r} must be in (0, 1]")

    @property
    def span_words(self) -> int:
        """The longest span in words (1 for "token" and "whole_word")."""
        return {"ngram": self.max_ngram, "span": self.max_span}.get(self.strategy, 1)

    def span_weights(self) -> np.ndarray:
        """Unnormalised p(n) for n = 1 .. `span_words`."""
        n = np.arange(1, self.span_words + 1, dtype=np.float64)
        if self.strategy == "span":
            return (1.0 - self.span_p) ** (n - 1)
        return 1.0 / n

    def predictions_for(self, sequence_length: int) -> int:
        """P at `sequence_length` tokens: `max_predictions_per_seq`, or ceil(rate * S)."""
        if self.max_predictions_per_seq is not None:
            return self.max_predictions_per_seq
        return max(1, math.ceil(round(self.rate * sequence_length, 6)))


def span_lengths(num_units, seq, max_n: int, seed, weights=None):
    """Span length in units for a span starting at each unit: p(n) ∝ weights[n - 1].

    A span starting k units before the end draws among n <= k (renormalized), as
    ALBERT draws among the n-grams that exist.

    Args:
        num_units: int32 [batch], units per row; seq: the padded row length.
        max_n: the longest span; weights: unnormalised p(1 .. max_n), default 1/n.

    Returns:
        int32 [batch, seq] in [1, max_n].
    """
    import tensorflow as tf

    batch = tf.shape(num_units)[0]
    ns = tf.range(1, max_n + 1)
    available = num_units[:, None] - tf.range(seq)[None, :]  # units from here to the end
    if weights is None:
        weights = 1.0 / np.arange(1, max_n + 1)
    logits = tf.constant(np.log(np.asarray(weights, np.float64)), tf.float32)[None, None, :]
    logits = tf.where(ns[None, None, :] <= available[..., None], logits, -1e9)
    draws = tf.random.stateless_categorical(
        tf.reshape(logits, [-1, max_n]), 1, seed, dtype=tf.int32
    )
    return tf.reshape(draws, [batch, seq]) + 1


def mask_batch(
    token_ids,
    padding_mask,
    word_start_table,
    special_ids,
    mask_id: int,
    vocabulary_size: int,
    config: MaskingConfig,
    seed,
):
    """Mask a batch of sequences.

    Args:
        token_ids: int32 [batch, seq] ([CLS] ... [SEP] ..., padded).
        padding_mask: int32 [batch, seq], 1 for real tokens.
        word_start_table: bool [V], True for tokens that begin a word.
        special_ids: ids never masked (at least [CLS], [SEP], [PAD]).
        mask_id: the [MASK] id; vocabulary_size: V for random replacements.
        config: the `MaskingConfig`.
        seed: int64 [2], a stateless seed.

    Returns:
        dict with `token_ids` (masked input), `mask_positions` int32 [batch, P],
        `mask_ids` int32 [batch, P] (the original ids) and `mask_weights`
        float32 [batch, P] (1 for real predictions, 0 for padding).
    """
    import tensorflow as tf

    token_ids = tf.convert_to_tensor(token_ids, tf.int32)
    seeds = _seeds(seed)
    predictions = _predictions(token_ids, config)
    maskable, unit, num_units = _units(token_ids, padding_mask, word_start_table, special_ids,
                                       config.strategy)  # fmt: skip
    chosen, _ = _choose(maskable, unit, num_units, config, predictions, seeds)
    masked = _replace(token_ids, chosen, mask_id, vocabulary_size, config, seeds)
    return {"token_ids": masked, **_targets(token_ids, chosen, predictions)}


def choose(token_ids, padding_mask, word_start_table, special_ids, config: MaskingConfig, seed,
           predictions: int | None = None):  # fmt: skip
    """The tokens to predict, bool [batch, seq], and the spans they form, int32 [batch].

    Exactly the tokens `mask_batch` chooses with the same arguments and seed, before
    it replaces them (`predictions` is P, by default the config's for the row
    length). The span count gives the spans' mean length even where neighbouring
    spans touch.
    """
    import tensorflow as tf

    token_ids = tf.convert_to_tensor(token_ids, tf.int32)
    if predictions is None:
        predictions = _predictions(token_ids, config)
    seeds = _seeds(seed)
    maskable, unit, num_units = _units(token_ids, padding_mask, word_start_table, special_ids,
                                       config.strategy)  # fmt: skip
    return _choose(maskable, unit, num_units, config, predictions, seeds)


def _seeds(seed):
    import tensorflow as tf

    # 0: span lengths, 1: priorities, 2-3: replacements
    return tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=5)


def _predictions(token_ids, config: MaskingConfig) -> int:
    if config.max_predictions_per_seq is not None:
        return config.max_predictions_per_seq
    length = token_ids.shape[1]
    if length is None:
        raise InputError(
            "max_predictions_per_seq=None follows the rate at the sequence length, but these "
            "rows have no static length: set max_predictions_per_seq"
        )
    return config.predictions_for(int(length))


def _units(token_ids, padding_mask, word_start_table, special_ids, strategy: str):
    """(maskable [B, S], the unit of every token [B, S] or -1, units per row [B]): units are
    tokens, or whole words (a word-start token and the pieces after it)."""
    import tensorflow as tf

    specials = tf.constant(np.asarray(special_ids, np.int32))
    is_special = tf.reduce_any(token_ids[..., None] == specials, axis=-1)
    maskable = tf.logical_and(tf.cast(padding_mask, tf.bool), tf.logical_not(is_special))
    if strategy == "token":
        starts = maskable
    else:
        table = tf.constant(np.asarray(word_start_table, bool))
        begins = tf.gather(table, tf.clip_by_value(token_ids, 0, len(word_start_table) - 1))
        previous = tf.pad(maskable[:, :-1], [[0, 0], [1, 0]])
        starts = maskable & (begins | tf.logical_not(previous))
    unit = tf.where(maskable, tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1, -1)
    return maskable, unit, tf.reduce_sum(tf.cast(starts, tf.int32), axis=1)


def _choose(maskable, unit, num_units, config: MaskingConfig, predictions: int, seeds):
    """The tokens to predict [B, S] and the spans chosen per row [B]: spans of units
    visited in a random order, each kept when it fits the row's budget and overlaps no
    span chosen before."""
    import tensorflow as tf

    batch, seq = tf.shape(unit)[0], tf.shape(unit)[1]
    # tokens per unit: [B, S] (units are indexed by their rank, at most S of them)
    flat = tf.where(unit >= 0, unit + tf.range(batch)[:, None] * seq, batch * seq)
    unit_len = tf.reshape(
        tf.math.unsorted_segment_sum(tf.ones_like(flat), flat, batch * seq + 1)[:-1], [batch, seq]
    )
    # exclusive prefix sums give the token length of any span of units
    prefix = tf.pad(tf.cumsum(unit_len, axis=1), [[0, 0], [1, config.span_words]])
    positions = tf.range(seq)[None, :]
    ns = tf.range(1, config.span_words + 1)
    span_n = span_lengths(num_units, seq, config.span_words, seeds[0], config.span_weights())
    priority = tf.random.stateless_uniform([batch, seq], seeds[1])
    priority = tf.where(positions < num_units[:, None], priority, -1.0)
    order = tf.argsort(priority, axis=1, direction="DESCENDING", stable=True)
    maskable_count = tf.reduce_sum(tf.cast(maskable, tf.float32), axis=1)
    budget = tf.minimum(
        predictions,
        tf.maximum(1, tf.cast(tf.round(maskable_count * config.rate), tf.int32)),
    )
    budget = tf.where(num_units > 0, budget, 0)
    rows = tf.range(batch)

    def visit(r, budget, chosen, spans):
        start = tf.gather(order, tf.fill([batch], r), axis=1, batch_dims=1)  # [B]
        n = tf.gather(span_n, start[:, None], axis=1, batch_dims=1)[:, 0]
        # token length of the spans start..start+k-1 for k = 1..max_n
        lo = tf.gather_nd(prefix, tf.stack([rows, start], -1))[:, None]
        hi = tf.gather(prefix, start[:, None] + ns[None, :], batch_dims=1)
        lengths = hi - lo  # [B, max_n]
        fits = (ns[None, :] <= n[:, None]) & (lengths <= budget[:, None])
        k = tf.reduce_max(tf.where(fits, ns[None, :], 0), axis=1)  # longest that fits
        in_span = (positions >= start[:, None]) & (positions < (start + k)[:, None])
        overlap = tf.reduce_any(in_span & chosen, axis=1)
        ok = (k > 0) & tf.logical_not(overlap) & (r < num_units) & (budget > 0)
        chosen = chosen | (in_span & ok[:, None])
        taken = tf.gather(lengths, tf.maximum(k - 1, 0), batch_dims=1)
        spans = spans + tf.cast(ok, tf.int32)
        return r + 1, budget - tf.where(ok, taken, 0), chosen, spans

    def more(r, budget, chosen, spans):
        return (r < seq) & tf.reduce_any((budget > 0) & (r < num_units))

    start = (tf.constant(0), budget, tf.zeros([batch, seq], tf.bool), tf.zeros([batch], tf.int32))
    _, _, chosen_units, spans = tf.while_loop(more, visit, start)
    return tf.gather(chosen_units, tf.maximum(unit, 0), batch_dims=1) & maskable, spans


def _replace(token_ids, chosen, mask_id: int, vocabulary_size: int, config, seeds):
    """BERT's 80/10/10: a chosen token becomes [MASK], a random token, or stays."""
    import tensorflow as tf

    shape = tf.shape(token_ids)
    draw = tf.random.stateless_uniform(shape, seeds[2])
    random_ids = tf.random.stateless_uniform(
        shape, seeds[3], minval=0, maxval=vocabulary_size, dtype=tf.int32
    )
    to_mask = chosen & (draw < config.mask_token_rate)
    to_random = (
        chosen
        & (draw >= config.mask_token_rate)
        & (draw < config.mask_token_rate + config.random_token_rate)
    )
    return tf.where(to_mask, mask_id, tf.where(to_random, random_ids, token_ids))


def _targets(token_ids, chosen, predictions: int) -> dict:
    """The chosen positions (in order), their original ids and weights, padded to P."""
    import tensorflow as tf

    seq = tf.shape(token_ids)[1]
    positions = tf.range(seq)[None, :]
    key = tf.where(chosen, positions, positions + seq)
    first = tf.argsort(key, axis=1, stable=True)[:, :predictions]
    first = tf.pad(first, [[0, 0], [0, tf.maximum(predictions - tf.shape(first)[1], 0)]])
    count = tf.reduce_sum(tf.cast(chosen, tf.int32), axis=1)
    weights = tf.range(predictions)[None, :] < count[:, None]
    mask_positions = tf.where(weights, first, 0)
    return {
        "mask_positions": tf.cast(mask_positions, tf.int32),
        "mask_ids": tf.where(weights, tf.gather(token_ids, mask_positions, batch_dims=1), 0),
        "mask_weights": tf.cast(weights, tf.float32),
    }
