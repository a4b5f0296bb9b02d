"""`bertfam finetune`: fine-tune a checkpoint on a task file, the best dev epoch kept."""

from __future__ import annotations

import argparse

from keras_bertfam import tasks
from keras_bertfam.cli.common import (
    add_header_argument,
    add_sequence_length_argument,
    defaults,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
)
from keras_bertfam.kinds import BATCHINGS, HEAD_INITS, POOLINGS
from keras_bertfam.training.finetune import finetune


def add_parser(commands):
    api = defaults(finetune)
    parser = commands.add_parser(
        "finetune",
        help="fine-tune a checkpoint on " + ", ".join(tasks.names()),
        description="Task files: "
        + "; ".join(f"{name}: {tasks.get(name).files}" for name in tasks.names())
        + ". Batches are bucketed by length; the best dev epoch is kept.",
    )
    parser.add_argument("--model", required=True, help="checkpoint folder (HF, Google or ours)")
    parser.add_argument("--train", required=True, help="training file")
    parser.add_argument("--dev", help="dev file (early stopping, best epoch, report)")
    parser.add_argument("--task", choices=tasks.names(), default=api["task"])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--epochs", type=positive_int, default=api["epochs"])
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=api["batch_size"],
        help="examples per batch; with --batching pack, rows of up to 8 examples each (a "
        "batch then holds several times as many examples: fewer rows, or a --learning-rate "
        "scaled with the examples per update, keep the accuracy of unpacked batches)",
    )
    parser.add_argument("--learning-rate", type=positive_float, default=api["learning_rate"])
    parser.add_argument("--warmup-ratio", type=probability, default=api["warmup_ratio"])
    parser.add_argument(
        "--clipnorm", type=positive_float, help="clip gradients to this global norm"
    )
    add_sequence_length_argument(parser, api["sequence_length"], "max tokens per sequence")
    parser.add_argument(
        "--pooling", choices=POOLINGS, help="default: pooled when the encoder has a pooler"
    )
    parser.add_argument(
        "--head-init",
        choices=HEAD_INITS,
        default=api["head_init"],
        help="the task head's initial weights: uniform +-1/sqrt(H) as torch.nn.Linear, or "
        "BERT's N(0, 0.02)",
    )
    parser.add_argument(
        "--patience",
        type=non_negative_int,
        default=api["patience"],
        help="epochs without a better dev loss",
    )
    parser.add_argument(
        "--batching",
        choices=BATCHINGS,
        default=api["batching"],
        help="buckets: batch by length; pad: pad every batch to --sequence-length; pack: "
        "several examples per row (classification, token classification)",
    )
    parser.add_argument("--no-bucketing", dest="batching", action="store_const", const="pad",
                        help="the same as --batching pad")  # fmt: skip
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=api["jit"])
    parser.add_argument("--seed", type=int, default=api["seed"])
    add_header_argument(parser, api["header"])
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace what --out holds (default: refuse unless it is a finished run of the "
        "same configuration, which is reported)",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.tasks.metrics import format_report

    summary = finetune(
        args.model,
        args.train,
        args.dev,
        task=args.task,
        out=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_ratio=args.warmup_ratio,
        clipnorm=args.clipnorm,
        sequence_length=args.sequence_length,
        pooling=args.pooling,
        head_init=args.head_init,
        patience=args.patience,
        batching=args.batching,
        jit=args.jit,
        seed=args.seed,
        header=args.header,
        overwrite=args.overwrite,
    )
    if summary.get("already_complete"):
        print(f"{args.out} holds a finished fine-tune of this configuration")
    if "dev" in summary:
        print(format_report(summary["dev"]))
    rate = summary["useful_tokens_per_s"][-1]
    print(f"{summary['epochs_run']} epoch(s), {rate:,.0f} useful tokens/s; wrote {args.out}/")
    return 0
