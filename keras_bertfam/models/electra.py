"""`ElectraPretrainer`: ELECTRA's generator and discriminator, trained jointly as one model.

ELECTRA (Clark et al. 2020, https://arxiv.org/abs/2003.10555): a small masked-LM
generator fills the masked positions with tokens sampled from its softmax
(`layers.ReplaceTokens`: temperature 1, under `stop_gradient`, seeded), and the
discriminator (the `Encoder` of the config, `pretrainer.encoder`) labels every
token original or replaced. The loss is MLM + `rtd_weight` (50) x RTD, the RTD
term a sigmoid cross-entropy averaged over the non-pad tokens; a sampled token
equal to the original counts as original. The generator is
`generator_config(config)`: the discriminator's depth and embedding size at
`config.generator_fraction` of its hidden size, heads and feed-forward size; it
shares the discriminator's token and position tables (the MLM decoder is the
token table). Fine-tuning, export and `encoder_of` take the discriminator's encoder.

Inputs: the encoder's, `mask_positions` [batch, P], `mask_ids` [batch, P] (the
original tokens) and `mask_weights` [batch, P] (float, 0 for padding slots);
`electra_batches` adds the last two to a pretraining dataset's `x`. Outputs:
`mlm_logits` [batch, P, V] (the generator's), `rtd_logits` [batch, seq],
`rtd_labels` [batch, seq] (1 = replaced) and a sentence objective's logits, if any.
Compile with losses for `mlm_logits` (and the sentence output) only
(`pretrainer.target_outputs`); the RTD loss and its metrics (AUC, precision
and recall of "replaced", the RTD loss) are the model's own.

Example:

>>> import numpy as np
>>> from keras_bertfam.models.electra import build_electra_pretrainer
>>> model = build_electra_pretrainer("electra_tiny", num_layers=1)
>>> model.generator_config.hidden_dim, model.bertfam_config.hidden_dim
(16, 64)
>>> x = {"token_ids": np.array([[2, 4, 11, 3]]), "segment_ids": np.zeros((1, 4), "int32"),
...      "padding_mask": np.ones((1, 4), "int32"), "mask_positions": np.array([[1]]),
...      "mask_ids": np.array([[10]]), "mask_weights": np.ones((1, 1), "float32")}
>>> {k: tuple(v.shape) for k, v in sorted(model(x).items())}
{'mlm_logits': (1, 1, 8000), 'rtd_labels': (1, 4), 'rtd_logits': (1, 4)}
"""

from __future__ import annotations

import keras
from keras import ops

from keras_bertfam import objectives
from keras_bertfam.layers import ReplaceTokens, masked_lm_logits
from keras_bertfam.layers.common import register
from keras_bertfam.layers.packing import token_mask
from keras_bertfam.models.config import ConfigError, EncoderConfig
from keras_bertfam.models.encoder import Encoder, _BuiltFromConfig, _config, encoder_graph

RTD_WEIGHT = 50.0  # lambda of the paper
EXTRA_INPUTS = {"mask_positions": "int32", "mask_ids": "int32", "mask_weights": "float32"}


def generator_config(config: EncoderConfig) -> EncoderConfig:
    """The generator of a discriminator `config`: the same depth and embedding size, and
    `generator_fraction` of its heads, hidden size and feed-forward size (an MLM model)."""
    fraction = config.generator_fraction
    heads = max(1, round(config.num_heads * fraction))
    hidden = heads * max(1, round(config.hidden_dim * fraction / heads))
    return config.replace(
        num_heads=heads,
        hidden_dim=hidden,
        intermediate_dim=max(1, round(config.intermediate_dim * fraction)),
        embedding_dim=config.resolved_embedding_dim,
        token_objective="mlm",
        sentence_objective="none",
        pooler=False,
    )


def rtd_loss(labels, logits, weights):
    """Sigmoid cross-entropy of `logits` against `labels`, averaged with `weights`."""
    logits = ops.cast(logits, "float32")
    weights = ops.cast(weights, "float32")
    losses = ops.binary_crossentropy(ops.cast(labels, "float32"), logits, from_logits=True)
    return ops.sum(losses * weights) / ops.maximum(ops.sum(weights), 1.0)


@register
class ElectraPretrainer(_BuiltFromConfig):
    """The generator (MLM) and the discriminator (RTD) of an `EncoderConfig`, one model.

    Args:
        config: an `EncoderConfig` (or its dict) with `token_objective="rtd"`: the
            discriminator; the generator follows from it (`generator_config`).
        dtype: a Keras dtype policy for every layer (None: the global policy).
        name: the model's name.
    """

    def __init__(self, config, dtype=None, name="electra_pretrainer", **kwargs):
        config = _config(config)
        if config.token_objective != "rtd":
            raise ConfigError(
                f"token_objective={config.token_objective!r}: an ELECTRA pretrainer trains a "
                "replaced-token detector; use token_objective='rtd'"
            )
        sentence = [o for o in objectives.of_config(config) if o.level == "sentence"]
        if config.pooler and not sentence:
            config = config.replace(pooler=False)  # no loss reaches a pooler
        encoder = Encoder(config, dtype=dtype, name="backbone")
        inputs = {n: keras.Input((None,), dtype="int32", name=n) for n in encoder.input}
        inputs.update({n: keras.Input((None,), dtype=d, name=n) for n, d in EXTRA_INPUTS.items()})
        generator = generator_config(config)
        shared = {"token_embedding": encoder.token_embedding}
        if config.position_embedding == "learned":
            shared["position_embedding"] = encoder.get_layer("position_embedding")
        encoder_inputs = {n: inputs[n] for n in encoder.input}
        _, generated, _ = encoder_graph(generator, dtype, encoder_inputs, shared, "generator_")
        mlm = masked_lm_logits(generated["sequence_output"], inputs["mask_positions"],
                               encoder.token_embedding, generator, dtype,
                               name="generator_mlm")  # fmt: skip
        corrupted, labels = ReplaceTokens(dtype=dtype, name="replace_tokens")(
            mlm, inputs["token_ids"], inputs["mask_positions"], inputs["mask_ids"],
            inputs["mask_weights"])  # fmt: skip
        encoded = encoder({**encoder_inputs, "token_ids": corrupted})
        outputs = {"mlm_logits": mlm, "rtd_labels": labels}
        for objective in [objectives.get("rtd"), *sentence]:
            outputs[objective.output] = objective.build(encoded, inputs, encoder, config, dtype)
        super().__init__(inputs, outputs, name=name, **kwargs)
        self.bertfam_config = config
        self.generator_config = generator
        self.encoder = encoder
        self._layer_dtype = dtype
        self.target_outputs = ("mlm_logits", *(o.output for o in sentence))
        self.rtd_weight = RTD_WEIGHT
        self._rtd_loss = keras.losses.BinaryCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight", name="rtd"
        )
        self.rtd_metrics = [
            keras.metrics.Mean(name="rtd_loss"),
            keras.metrics.AUC(name="rtd_auc"),
            keras.metrics.Precision(name="rtd_precision"),
            keras.metrics.Recall(name="rtd_recall"),
        ]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled losses (MLM, a sentence objective) + `rtd_weight` x the RTD loss."""
        loss = super().compute_loss(x=x, y=y, y_pred=self._targets(y_pred),
                                    sample_weight=sample_weight, training=training)  # fmt: skip
        # a Keras loss, so that under a tf.distribute strategy it is scaled per replica as
        # the compiled ones are; [..., None]: one binary prediction per token
        labels, logits = y_pred["rtd_labels"][..., None], y_pred["rtd_logits"][..., None]
        weights = ops.cast(token_mask(x), "float32")
        rtd = self._rtd_loss(ops.cast(labels, "float32"), ops.cast(logits, "float32"), weights)
        return loss + ops.cast(self.rtd_weight * rtd, loss.dtype)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """The compiled metrics and RTD's: loss, AUC, precision and recall of "replaced"
        over the non-pad tokens."""
        labels, logits = y_pred["rtd_labels"], ops.cast(y_pred["rtd_logits"], "float32")
        weights = ops.cast(token_mask(x), "float32")
        loss, auc, precision, recall = self.rtd_metrics
        loss.update_state(rtd_loss(labels, logits, weights))
        for metric in (auc, precision, recall):
            metric.update_state(labels, ops.sigmoid(logits), sample_weight=weights)
        return super().compute_metrics(x, y, self._targets(y_pred), sample_weight)

    def _targets(self, y_pred):
        """The outputs that have targets in `y` (the compiled losses' and metrics')."""
        return {k: y_pred[k] for k in self.target_outputs}


def build_electra_pretrainer(config_or_preset="electra_small", dtype=None, name=None,
                             **overrides):  # fmt: skip
    """Build an `ElectraPretrainer` of a config or preset (+ `EncoderConfig` overrides)."""
    from keras_bertfam.models.presets import resolve_config

    config = resolve_config(config_or_preset, **overrides)
    return ElectraPretrainer(config, dtype=dtype, name=name or "electra_pretrainer")


def electra_parts(model: ElectraPretrainer):
    """The discriminator and the generator of `model` as two `Pretrainer`s holding copies of
    its weights: `rtd_logits` and `mlm_logits` models of their own (what a Hugging Face
    `ElectraForPreTraining` and `ElectraForMaskedLM` hold)."""
    from keras_bertfam.models.encoder import Pretrainer

    ours = {w.path: w for w in model.weights}
    parts = (Pretrainer(model.bertfam_config, name="discriminator"),
             Pretrainer(model.generator_config, name="generator"))  # fmt: skip
    for part, prefix in zip(parts, ("", "generator_"), strict=True):
        for variable in part.weights:
            own = prefix + variable.path
            variable.assign(ours[own] if own in ours else ours[variable.path])  # shared tables
    return parts


def electra_batches(dataset):
    """A pretraining dataset of `(x, y, sample_weight)` (MLM targets under `mlm_logits`)
    with `mask_ids` and `mask_weights` added to `x`, as `ElectraPretrainer` reads them."""

    def add(x, y, sample_weight):
        extra = {"mask_ids": y["mlm_logits"], "mask_weights": sample_weight["mlm_logits"]}
        return {**x, **extra}, y, sample_weight

    return dataset.map(add)
