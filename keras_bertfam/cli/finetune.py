"""`bertfam finetune`: fine-tune a checkpoint on a task file, the best dev epoch kept."""

from __future__ import annotations

import argparse

from keras_bertfam.cli.common import (
    add_header_argument,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
)

TASK_NAMES = ("classification", "token_classification", "question_answering", "multiple_choice")


def add_parser(commands):
    parser = commands.add_parser(
        "finetune",
        help="fine-tune a checkpoint on classification, token classification, QA or "
        "multiple choice",
        description="Task files: classification TSV (label, text[, text_b]) or JSONL; token "
        "classification JSONL (tokens, tags); SQuAD JSON; multiple choice JSONL (question, "
        "choices, label). Batches are bucketed by length; the best dev epoch is kept.",
    )
    parser.add_argument("--model", required=True, help="checkpoint folder (HF, Google or ours)")
    parser.add_argument("--train", required=True, help="training file")
    parser.add_argument("--dev", help="dev file (early stopping, best epoch, report)")
    parser.add_argument("--task", choices=list(TASK_NAMES), default="classification")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--epochs", type=positive_int, default=3)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--learning-rate", type=positive_float, default=5e-5)
    parser.add_argument("--warmup-ratio", type=probability, default=0.1)
    parser.add_argument(
        "--clipnorm", type=positive_float, help="clip gradients to this global norm"
    )
    parser.add_argument(
        "--seq-length", type=positive_int, default=128, help="max tokens per sequence"
    )
    parser.add_argument("--pooling", choices=["pooled", "cls", "mean"], help="default: pooled")
    parser.add_argument(
        "--head-init",
        choices=["fan_in_uniform", "truncated_normal"],
        default="fan_in_uniform",
        help="the task head's initial weights: uniform +-1/sqrt(H) as torch.nn.Linear, or "
        "BERT's N(0, 0.02)",
    )
    parser.add_argument(
        "--patience",
        type=non_negative_int,
        default=2,
        help="epochs without a better dev loss",
    )
    parser.add_argument(
        "--bucketing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="batch by length (--no-bucketing pads every batch to --seq-length)",
    )
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=False)
    add_header_argument(parser)
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace what --out holds (default: refuse unless it is a finished run of the "
        "same configuration, which is reported)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.training.finetune import finetune, format_report

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
        max_sequence_length=args.seq_length,
        pooling=args.pooling,
        head_init=args.head_init,
        patience=args.patience,
        bucketing=args.bucketing,
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
