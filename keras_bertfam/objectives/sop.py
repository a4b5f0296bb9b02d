"""Sentence-order prediction (ALBERT, Lan et al. 2020): are two consecutive segments in
their order or swapped? Dropout and a two-way `SentenceHead` on the pooled output,
`sop_logits` [batch, 2].

Example:

>>> from keras_bertfam import objectives
>>> objectives.get("sop").heads
('sop_head',)
"""

from __future__ import annotations

from keras_bertfam.objectives.base import Objective
from keras_bertfam.objectives.nsp import sentence_head

OBJECTIVE = Objective(
    name="sop",
    level="sentence",
    output="sop_logits",
    heads=("sop_head",),
    build=sentence_head("sop", dropout=True),
    uses_pooler=True,
)
