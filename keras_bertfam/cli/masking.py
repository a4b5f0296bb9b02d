"""The masking options `create-data` and `pretrain` share: rate, strategy, spans, P.

Each option maps onto a `MaskingConfig` field. `create-data` shows `MaskingConfig`'s
defaults; `pretrain`'s options default to None, keeping the recipe's values.

Example:

>>> import argparse
>>> from keras_bertfam.cli.masking import add_masking_arguments, masking_config
>>> parser = argparse.ArgumentParser()
>>> add_masking_arguments(parser)  # no defaults: keep what masking_config is given
>>> args = parser.parse_args(["--mask-rate", "0.3", "--mask-strategy", "span"])
>>> config = masking_config(args)
>>> (config.rate, config.strategy, config.max_span, config.predictions_for(128))
(0.3, 'span', 10, 39)
"""

from __future__ import annotations

import dataclasses

from keras_bertfam.cli.common import positive_int, probability
from keras_bertfam.data.masking import MaskingConfig
from keras_bertfam.kinds import MASKING_STRATEGIES

# option dest -> MaskingConfig field
FIELDS = {
    "mask_rate": "rate",
    "mask_strategy": "strategy",
    "max_ngram": "max_ngram",
    "max_span": "max_span",
    "span_p": "span_p",
    "max_predictions": "max_predictions_per_seq",
}


def add_masking_arguments(parser, strategy_aliases=(), defaults: MaskingConfig | None = None):
    """Adds `--mask-rate`, `--mask-strategy`, `--max-ngram`, `--max-span`, `--span-p` and
    `--max-predictions`, defaulting to the fields of `defaults` (None: keep the values
    `masking_config` is given)."""

    def default(dest):
        return None if defaults is None else getattr(defaults, FIELDS[dest])

    group = parser.add_argument_group("masking")
    group.add_argument("--mask-rate", type=probability, default=default("mask_rate"),
                       help="share of tokens to predict (BERT 0.15, ModernBERT 0.3)")  # fmt: skip
    group.add_argument("--mask-strategy", *strategy_aliases, dest="mask_strategy",
                       choices=MASKING_STRATEGIES, default=default("mask_strategy"),
                       help="what a masked unit is")  # fmt: skip
    group.add_argument("--max-ngram", type=positive_int, default=default("max_ngram"),
                       help='longest "ngram" span, words')  # fmt: skip
    group.add_argument("--max-span", type=positive_int, default=default("max_span"),
                       help='longest "span" span, words')  # fmt: skip
    group.add_argument("--span-p", type=probability, default=default("span_p"),
                       help='geometric p of "span" lengths')  # fmt: skip
    group.add_argument("--max-predictions", type=positive_int,
                       default=default("max_predictions"),
                       help="predictions per sequence P (default: ceil(rate x S))")  # fmt: skip


def masking_options(args) -> dict:
    """The `MaskingConfig` fields the command line set."""
    values = {field: getattr(args, dest, None) for dest, field in FIELDS.items()}
    return {k: v for k, v in values.items() if v is not None}


def masking_config(args, base: MaskingConfig | None = None) -> MaskingConfig:
    """`base` (default `MaskingConfig()`) with the options the command line set."""
    base = base or MaskingConfig()
    options = masking_options(args)
    if "rate" in options and "max_predictions_per_seq" not in options:
        # a new rate brings its own P unless a cap is given
        options["max_predictions_per_seq"] = None
    return dataclasses.replace(base, **options)
