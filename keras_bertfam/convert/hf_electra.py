"""Hugging Face ELECTRA folders: their `config.json` as an `EncoderConfig`, and the
names of their tensors.

ELECTRA (Clark et al. 2020) is BERT's encoder without a pooler; with
`embedding_size` < `hidden_size` (ELECTRA-Small) an `embeddings_project` Linear
E -> H follows the embedding LayerNorm, as ALBERT's projection. One `model_type`
("electra") names three kinds of folder, told apart by their tensors:

- `ElectraForPreTraining` (a discriminator): `discriminator_predictions.*`, the
  replaced-token head -> `token_objective="rtd"`, `rtd_logits` [batch, seq];
- `ElectraForMaskedLM` (a generator): `generator_predictions.*` and
  `generator_lm_head.*` (its weight tied to the token table) -> `token_objective="mlm"`;
- `ElectraModel`: the encoder alone (imports as `token_objective="rtd"`, ELECTRA's).

Example:

>>> from keras_bertfam.convert.hf_electra import token_objective
>>> token_objective(["electra.embeddings.word_embeddings.weight",
...                  "generator_lm_head.bias"])
'mlm'
"""

from __future__ import annotations

from keras_bertfam.convert.checkpoint import CheckpointError

RULES_HEAD = [
    (r"embeddings_project", "embeddings/projection", "torch"),
    (r"discriminator_predictions\.dense", "rtd_head/dense", "torch"),
    (r"discriminator_predictions\.dense_prediction", "rtd_head/prediction", "torch"),
    (r"generator_predictions\.dense", "mlm_head/dense", "torch"),
    (r"generator_predictions\.LayerNorm", "mlm_head/layer_norm", "torch_norm"),
    (r"generator_lm_head\.bias", "mlm_output_bias/bias", "table"),
    (r"generator_lm_head\.weight", "token_embedding/embeddings", "table"),  # tied: = the table
]


def token_objective(names) -> str:
    """The token objective of a folder's tensor `names`: "mlm" for a generator, else "rtd"."""
    return "mlm" if any(n.startswith("generator_") for n in names) else "rtd"


def config_fields(values: dict, generator: bool) -> dict:
    """The ELECTRA-specific `EncoderConfig` fields of a `config.json` (the rest is BERT's).

    Args:
        generator: the folder holds a generator (`ElectraForMaskedLM`), whose MLM
            transform applies the exact GELU whatever `hidden_act` says.
    """
    if generator and values.get("hidden_act", "gelu") != "gelu":
        raise CheckpointError(
            f"config.json hidden_act={values['hidden_act']!r} in an ELECTRA generator: its MLM "
            "transform uses 'gelu' whatever hidden_act is, and the model has one activation"
        )
    embedding = values.get("embedding_size", 128)
    return dict(
        embedding_dim=None if embedding == values.get("hidden_size") else embedding,
        sentence_objective="none",
        token_objective="mlm" if generator else "rtd",
        pooler=False,
    )
