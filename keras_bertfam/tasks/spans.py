"""One answer-span rule for question answering, in numpy (evaluation) and in the graph (export).

The answer is the span (start, end) that maximizes `start_logit + end_logit`
among the spans with start <= end, at most `MAX_ANSWER_TOKENS` tokens long and
wholly inside the context; every such span is considered (no top-k shortlist),
and ties go to the earliest start, then the earliest end. A window without
context gives no span (`best_span` returns None; the graph returns a score
of about -2e9). `best_span` applies it
to one window in numpy; `graph_best_spans` to a batch in TensorFlow ops, for the
SavedModel's `start`/`end`/`score` outputs. The tests check that they agree.

Example:

>>> import numpy as np
>>> from keras_bertfam.tasks.spans import best_span
>>> starts = np.array([5.0, 0.1, 2.0, 0.3, 0.0])
>>> ends = np.array([5.0, 0.0, 0.5, 1.5, 0.2])
>>> context = np.array([False, True, True, True, True])   # token 0 is [CLS]
>>> best_span(starts, ends, context)
(2, 3, 3.5)
"""

from __future__ import annotations

import numpy as np

MAX_ANSWER_TOKENS = 30
_NEGATIVE = -1e9


def best_span(start_logits, end_logits, allowed, max_answer_tokens: int = MAX_ANSWER_TOKENS):
    """(start, end, score) of the best span of one window; None when no token is allowed.

    Args:
        start_logits, end_logits: [seq] float.
        allowed: [seq] bool, True for the tokens an answer may use (the context).
    """
    allowed = np.asarray(allowed, bool)
    if not allowed.any():
        return None
    starts = np.where(allowed, np.asarray(start_logits, np.float64), _NEGATIVE)
    ends = np.where(allowed, np.asarray(end_logits, np.float64), _NEGATIVE)
    seq = len(starts)
    length = np.arange(seq)[None, :] - np.arange(seq)[:, None]  # end - start
    band = (length >= 0) & (length < max_answer_tokens) & allowed[:, None] & allowed[None, :]
    scores = np.where(band, starts[:, None] + ends[None, :], -np.inf)
    flat = int(np.argmax(scores))
    start, end = divmod(flat, seq)
    return start, end, float(scores[start, end])


def graph_best_spans(start_logits, end_logits, allowed, max_answer_tokens: int = MAX_ANSWER_TOKENS):
    """The same rule in TensorFlow ops for a batch: (start, end, score), each [batch].

    Args:
        start_logits, end_logits: [batch, seq] float32.
        allowed: [batch, seq] bool.
    """
    import tensorflow as tf

    negative = tf.constant(_NEGATIVE, tf.float32)
    start = tf.where(allowed, start_logits, negative)
    end = tf.where(allowed, end_logits, negative)
    scores = start[:, :, None] + end[:, None, :]
    seq = tf.shape(scores)[1]
    length = tf.range(seq)[None, :] - tf.range(seq)[:, None]  # end - start
    band = tf.logical_and(length >= 0, length < max_answer_tokens)
    band = tf.logical_and(band[None], tf.logical_and(allowed[:, :, None], allowed[:, None, :]))
    scores = tf.where(band, scores, 2 * negative)  # finite: serving outputs stay JSON numbers
    flat_scores = tf.reshape(scores, [tf.shape(scores)[0], -1])
    flat = tf.argmax(flat_scores, axis=-1, output_type=tf.int32)
    return flat // seq, flat % seq, tf.reduce_max(flat_scores, axis=-1)
