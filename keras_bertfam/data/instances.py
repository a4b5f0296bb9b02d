"""Training sequences from tokenized documents, the way each paper made them.

- `nsp` (BERT, Devlin et al. 2019): segment A is a run of sentences; segment B
  is the true continuation half of the time, otherwise a run from another
  document (label 1 = random, 0 = continuation). The unused sentences of the
  current document are put back, as in `create_pretraining_data.py`. Where a
  chunk holds a single sentence, the original forces a random B; here it takes
  the next sentence as the true B when the coin says "continuation"; with
  `BalancedCoin` this keeps labels at 50/50 (the original gives ~56% random
  pairs on the bundled corpus, whose sentences are long).
- `sop` (ALBERT, Lan et al. 2020): A and B are two consecutive runs of one
  document, swapped half of the time (label 1 = swapped, 0 = in order).
- `none` (RoBERTa's FULL-SENTENCES, Liu et al. 2019): sentences are packed up
  to the length, crossing document boundaries with an extra separator.

With probability `short_seq_prob` the target length is drawn from
[2, max_length] (shorter sequences seen in pretraining, to match fine-tuning);
a pair longer than the target is truncated one token at a time from the longer
segment, at its front or back at random.

Every sequence is `[CLS] A [SEP] B [SEP]` (or `[CLS] tokens [SEP]`), returned as
`Instance(token_ids, segment_ids, label)` with `label = -1` when there is none.

Example:

>>> import random
>>> from keras_bertfam.data.instances import make_instances
>>> docs = [[[5, 6], [7], [8, 9]], [[10, 11], [12]]]
>>> special = {"cls": 2, "sep": 3}
>>> inst = next(make_instances(docs, "sop", 16, special, random.Random(0), short_seq_prob=0))
>>> inst.token_ids[0], inst.token_ids.count(3), inst.label in (0, 1)
(2, 2, True)
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Iterator, Sequence

from keras_bertfam.data.packing import concatenate
from keras_bertfam.deprecation import renamed_keywords
from keras_bertfam.errors import InputError
from keras_bertfam.kinds import SENTENCE_OBJECTIVES as OBJECTIVES


@dataclasses.dataclass
class Instance:
    token_ids: list[int]
    segment_ids: list[int]
    label: int  # 1 = random next (NSP) / swapped (SOP), 0 = in order, -1 = no sentence task


def _truncate_pair(a: list[int], b: list[int], max_tokens: int, rng: random.Random):
    """Trim `a` and `b` in place to `max_tokens` together, a token at a time from the
    longer one, at its front or back at random.

    One random number is drawn per removed token, in order, but the tokens are cut
    with one slice per end, so the work is linear in the lengths.
    """
    remaining = [len(a), len(b)]
    front, back = [0, 0], [0, 0]
    while remaining[0] + remaining[1] > max_tokens:
        side = 0 if remaining[0] > remaining[1] else 1
        if rng.random() < 0.5:
            front[side] += 1
        else:
            back[side] += 1
        remaining[side] -= 1
    for side, segment in enumerate((a, b)):
        if back[side]:
            del segment[len(segment) - back[side] :]
        if front[side]:
            del segment[: front[side]]


class BalancedCoin:
    """Efron's biased-coin design: 50/50, leaning 2:1 toward the rarer side so far.

    NSP's "put back the unused sentences" makes a random-next pair consume less
    text than a true pair, so a fair coin per pair yields ~53% random pairs on
    the bundled corpus; this coin keeps the realized share at 50% while each
    label stays random.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.balance = 0  # ones minus zeros so far

    def __call__(self) -> int:
        p_one = 0.5 if self.balance == 0 else (1 / 3 if self.balance > 0 else 2 / 3)
        return int(self.rng.random() < p_one)

    def record(self, label: int) -> None:
        self.balance += 1 if label else -1


def _pair_instances(
    docs, index, objective, max_length, special, rng, short_seq_prob, skipped, coin
):
    """Instances of one document (a list of tokenized sentences) for NSP or SOP."""
    document = docs[index]
    max_tokens = max_length - 3
    target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
    chunk: list[list[int]] = []
    length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        length += len(document[i])
        if i == len(document) - 1 or length >= target:
            random_next = objective == "nsp" and coin() == 1
            if len(chunk) == 1 and not random_next:
                if i + 1 < len(document):  # take the next sentence as the true B
                    i += 1
                    chunk.append(document[i])
                elif objective == "nsp":
                    random_next = True
            split = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            a = [t for sentence in chunk[:split] for t in sentence]
            b: list[int] = []
            label = 0
            if random_next:
                other = next(
                    (o for o in (rng.randrange(len(docs)) for _ in range(10)) if o != index), None
                )
                if other is None:
                    skipped["pairs without another document for a random B"] += 1
                else:
                    label = 1
                    random_doc = docs[other]
                    for sentence in random_doc[rng.randrange(len(random_doc)) :]:
                        b.extend(sentence)
                        if len(b) >= target - len(a):
                            break
                    i -= len(chunk) - split  # put back the sentences not used
            else:
                b = [t for sentence in chunk[split:] for t in sentence]
                if objective == "sop" and coin() == 1:
                    a, b, label = b, a, 1
            if a and b:
                coin.record(label)
                _truncate_pair(a, b, max_tokens, rng)
                tokens, segments = concatenate([a, b], special["cls"], special["sep"])
                yield Instance(tokens, segments, label)
            elif not random_next:
                skipped["one-sentence documents (no segment B)"] += 1
            chunk, length = [], 0
        i += 1


def _full_sentence_instances(docs, max_length, special):
    """RoBERTa's FULL-SENTENCES: pack sentences across documents up to the length."""
    max_tokens = max_length - 2
    sep = special["sep"]

    def emit(tokens):
        if tokens and tokens[-1] == sep:  # a document boundary needs no second [SEP]
            tokens = tokens[:-1]
        packed, segments = concatenate([tokens], special["cls"], special["sep"])
        return Instance(packed, segments, -1)

    buffer: list[int] = []
    boundary = False  # the buffer ends with a document-boundary [SEP]
    for d, document in enumerate(docs):
        if d and buffer and not boundary:
            buffer.append(sep)  # document boundary (one, even across empty documents)
            boundary = True
        for sentence in document:
            boundary = boundary and not sentence
            if len(buffer) + len(sentence) > max_tokens and buffer:
                yield emit(buffer)
                buffer = []
            if len(buffer) + len(sentence) <= max_tokens:
                buffer.extend(sentence)
                continue
            # one sentence longer than the sequence (the buffer is empty here): cut it
            # into whole sequences by index, keeping the rest, so each token is copied once
            start = 0
            while len(sentence) - start > max_tokens:
                yield emit(sentence[start : start + max_tokens])
                start += max_tokens
            buffer = list(sentence[start:])
    if buffer:
        yield emit(buffer)


@renamed_keywords(max_length="sequence_length")
def make_instances(
    docs: Sequence[list[list[int]]],
    objective: str,
    sequence_length: int,
    special: dict,
    rng: random.Random,
    short_seq_prob: float = 0.1,
    skipped: Counter | None = None,
) -> Iterator[Instance]:
    """Yield the instances of a group of tokenized documents.

    Args:
        docs: documents, each a list of sentences, each a list of token ids;
            NSP draws its random segments from other documents of this group.
        objective: "nsp", "sop" or "none".
        sequence_length: sequence length including [CLS] and [SEP]s.
        special: ids with keys "cls" and "sep".
        rng: the random source (seeded by the caller).
        short_seq_prob: probability of a shorter target length (NSP/SOP).
        skipped: a `Counter` that receives what could not become a sequence.
    """
    if objective not in OBJECTIVES:
        raise InputError(f"objective={objective!r} is not one of {list(OBJECTIVES)}")
    if sequence_length < 5:
        raise InputError(
            f"sequence_length={sequence_length} is too short for [CLS] A [SEP] B [SEP]"
        )
    if objective == "none":
        yield from _full_sentence_instances(docs, sequence_length, special)
        return
    skipped = skipped if skipped is not None else Counter()
    coin = BalancedCoin(rng)
    for index in range(len(docs)):
        yield from _pair_instances(
            docs, index, objective, sequence_length, special, rng, short_seq_prob, skipped, coin
        )
