"""`bertfam pretrain`: pretrain a model with model.fit from a recipe, a preset and data."""

from __future__ import annotations

import argparse
import dataclasses

from keras_bertfam.cli.common import (
    add_pack_argument,
    add_sequence_length_argument,
    add_set_argument,
    field_defaults,
    non_negative_int,
    positive_float,
    positive_int,
)
from keras_bertfam.cli.masking import add_masking_arguments, masking_config, masking_options
from keras_bertfam.kinds import OPTIMIZERS, PRECISIONS, SCHEDULES, STRATEGIES
from keras_bertfam.recipes import list_recipes
from keras_bertfam.training.config import TrainConfig

ON_JAX = (
    "; with KERAS_BACKEND=jax: auto is keras.distribution.DataParallel over jax.devices() when "
    "there are several, one is one device (the other names are tf.distribute's)"
)


def add_parser(commands):
    train = field_defaults(TrainConfig)

    def default(name):
        return f"default: the recipe's, else {train[name]}"

    parser = commands.add_parser(
        "pretrain",
        help="pretrain a model with model.fit (tf.distribute, or keras.distribution on JAX; XLA, "
        "mixed precision, LAMB/AdamW)",
        description="Pretrain from a create-data folder (--data) or text with dynamic masking "
        "(--corpus + --tokenizer). Run again, the same command resumes an unfinished run in "
        "--out (--steps may grow) or reports a finished one; --out holding anything else is "
        "refused without --overwrite. Recipes: " + ", ".join(list_recipes()) + " "
        "(keras_bertfam/recipes/*.json; pass a path for your own copy).",
    )
    parser.add_argument("--recipe", help=" | ".join(list_recipes()) + " | a recipe .json")
    parser.add_argument("--preset", help="model preset (overrides the recipe's)")
    _add_start_options(parser)
    parser.add_argument("--config", help="model config .json (overrides preset)")
    add_set_argument(parser)
    parser.add_argument("--data", help="a folder written by create-data")
    parser.add_argument("--corpus", nargs="+", help="text files (dynamic masking)")
    parser.add_argument("--tokenizer", help="tokenizer file or folder (with --corpus)")
    add_sequence_length_argument(
        parser,
        None,
        "tokens per sequence with --corpus (default: the recipe's, else min(128, the model's "
        "max_sequence_length))",
    )
    add_masking_arguments(parser)
    add_pack_argument(parser, "with --corpus: pack several short sequences into each row")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--steps", type=positive_int, help=default("steps"))
    parser.add_argument(
        "--budget",
        type=duration,
        help="train for this wall time (600s, 10m, 1h30m): the schedule runs on the time "
        "spent, --steps becomes an upper bound",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        help="global batch of one micro-step; " + default("batch_size"),
    )
    parser.add_argument(
        "--accumulate", type=positive_int, help="micro-batches per update; " + default("accumulate")
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help=default("optimizer"))
    parser.add_argument("--learning-rate", type=positive_float, help=default("learning_rate"))
    parser.add_argument("--warmup-steps", type=non_negative_int, help=default("warmup_steps"))
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help="after warmup: polynomial decay (BERT) or warmup-stable-decay (wsd); "
        + default("schedule"),
    )
    parser.add_argument(
        "--decay-steps",
        type=non_negative_int,
        help="updates of wsd's final decay; default: the recipe's, else a tenth of --steps",
    )
    parser.add_argument("--precision", choices=PRECISIONS, help=default("precision"))
    parser.add_argument(
        "--jit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="XLA-compile the train step; " + default("jit"),
    )
    parser.add_argument("--strategy", choices=STRATEGIES, help=default("strategy") + ON_JAX)
    parser.add_argument("--tpu", help="TPU address (with --strategy tpu or auto)")
    parser.add_argument(
        "--checkpoint-every",
        type=positive_int,
        help="updates between checkpoints; " + default("checkpoint_every"),
    )
    parser.add_argument("--seed", type=int, help=default("seed"))
    parser.set_defaults(run=run)


def duration(text: str) -> float:
    """`--budget`'s type: seconds of a duration (an argparse error names a bad one)."""
    from keras_bertfam.errors import InputError
    from keras_bertfam.training.budget import parse_budget

    try:
        return parse_budget(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def run(args) -> int:
    from keras_bertfam.data import DataConfig
    from keras_bertfam.errors import InputError
    from keras_bertfam.models.presets import resolve_config
    from keras_bertfam.recipes import load_recipe
    from keras_bertfam.training.recipe import pretrain

    recipe = load_recipe(args.recipe) if args.recipe else {}
    model_spec = dict(recipe.get("model", {}))
    recipe_preset = model_spec.pop("preset", None)
    source = args.config or args.preset or recipe_preset
    if args.init_from:
        model_config = _initial_config(args)
    elif source is None:
        raise InputError("pretrain needs --preset, --config, --recipe or --init-from")
    else:
        model_config = resolve_config(source, **{**model_spec, **dict(args.set)})
    data_config = DataConfig.from_dict(recipe["data"]) if "data" in recipe else None
    if args.sequence_length is not None:
        if args.data:
            raise InputError(
                "--sequence-length applies to --corpus; a create-data folder has its own"
            )
        data_config = dataclasses.replace(
            data_config or DataConfig(objective=model_config.sentence_objective),
            sequence_length=args.sequence_length,
        )
    if masking_options(args):
        if args.data:
            raise InputError(
                f"{', '.join(sorted(masking_options(args)))}: masking options apply to "
                "--corpus; a create-data folder was masked (or is masked) as it was written"
            )
        data_config = data_config or DataConfig(objective=model_config.sentence_objective)
        data_config = dataclasses.replace(
            data_config, masking=masking_config(args, data_config.masking)
        )
    if args.pack:
        if args.data:
            raise InputError("--pack applies to --corpus; pack a create-data folder with "
                             "create-data --pack")  # fmt: skip
        data_config = data_config or DataConfig(objective=model_config.sentence_objective)
        data_config = dataclasses.replace(data_config, pack=args.pack)
    train_values = dict(recipe.get("train", {}))
    flags = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "accumulate": args.accumulate,
        "optimizer": args.optimizer,
        "learning_rate": args.learning_rate,
        "warmup_steps": args.warmup_steps,
        "schedule": args.schedule,
        "decay_steps": args.decay_steps,
        "precision": args.precision,
        "jit": args.jit,
        "strategy": args.strategy,
        "tpu_address": args.tpu,
        "checkpoint_every": args.checkpoint_every,
        "seed": args.seed,
        "budget_seconds": args.budget,
    }
    train_values.update({k: v for k, v in flags.items() if v is not None})
    train = TrainConfig(**train_values)
    data = args.data if args.data else args.corpus
    if not data:
        raise InputError("pretrain needs --data (a create-data folder) or --corpus files")
    summary = pretrain(model_config, data, args.out, train, data_config, args.tokenizer,
                       overwrite=args.overwrite, init_from=args.init_from)  # fmt: skip
    if summary.get("already_complete"):
        print(f"{args.out} holds a finished run of this configuration ({summary['steps']} steps)")
        return 0
    final = ", ".join(f"{k}={v:.4g}" for k, v in summary["final"].items())
    print(f"trained {summary['steps']} steps in {summary['seconds']:.0f}s: {final}")
    if "budget_seconds" in summary:
        print(f"stopped by the {summary['stopped_by']} after {summary['elapsed_seconds']:.0f}s "
              f"of a {summary['budget_seconds']:.0f}s budget")  # fmt: skip
    print(f"wrote {args.out}/model.keras, config.json, tokenizer/, training_summary.json")
    return 0


def _add_start_options(parser):
    """Where training starts: from a checkpoint's weights, and over another run."""
    parser.add_argument(
        "--init-from",
        help="continue pretraining from this checkpoint: a model folder of ours or a Hugging "
        "Face / Google checkpoint; its architecture is the model's (no --preset/--config; "
        "--set may change fields that keep the weights' shapes, such as dropout)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start again in an --out that holds another run (default: refuse)",
    )


def _initial_config(args):
    """The model config of `--init-from`: the checkpoint's, with `--set`'s changes."""
    from keras_bertfam.errors import InputError
    from keras_bertfam.models.config import ConfigError
    from keras_bertfam.training.init_from import initial_config

    if args.preset or args.config:
        raise InputError(
            "--init-from takes the checkpoint's architecture: drop --preset/--config (change "
            "dropout and other fields that keep the weights' shapes with --set)"
        )
    try:
        return initial_config(args.init_from).replace(**dict(args.set))
    except (ConfigError, TypeError) as err:
        raise InputError(f"--set {dict(args.set)}: {err}") from None
