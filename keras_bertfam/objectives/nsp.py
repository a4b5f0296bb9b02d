"""Next-sentence prediction (BERT, Devlin et al. 2019): is segment B the one that
followed segment A? A two-way `SentenceHead` on the pooled output, `nsp_logits` [batch, 2].

Example:

>>> from keras_bertfam import objectives
>>> objectives.get("nsp").output, objectives.get("nsp").uses_pooler
('nsp_logits', True)
"""

from __future__ import annotations

from keras_bertfam.layers import SentenceHead
from keras_bertfam.objectives.base import Objective


def sentence_head(name, dropout):
    """The `build` of a two-way sentence objective called `name` (NSP, SOP)."""

    def build(encoded, inputs, encoder, config, dtype=None):
        head = SentenceHead(2, dropout=config.dropout if dropout else 0.0,
                            initializer_range=config.initializer_range, dtype=dtype,
                            name=f"{name}_head")  # fmt: skip
        return head(encoded["pooled_output"])

    return build


OBJECTIVE = Objective(
    name="nsp",
    level="sentence",
    output="nsp_logits",
    heads=("nsp_head",),
    build=sentence_head("nsp", dropout=False),
    uses_pooler=True,
)
