"""`bertfam evaluate`: score a finetune output folder on a task file."""

from __future__ import annotations

import json

from keras_bertfam.cli.common import add_header_argument, defaults, finite_float, positive_int
from keras_bertfam.training.evaluate import evaluate


def add_parser(commands):
    api = defaults(evaluate)
    parser = commands.add_parser("evaluate", help="score a finetune output folder on a task file")
    parser.add_argument("model", help="a folder written by bertfam finetune")
    parser.add_argument("data", help="task file in the format the model was trained on")
    parser.add_argument("--batch-size", type=positive_int, default=api["batch_size"])
    parser.add_argument("--predictions", help="write predictions (JSON) here")
    parser.add_argument(
        "--null-threshold",
        type=finite_float,
        help="question answering: answer nothing when the no-answer score beats the best span "
        "by more than this (default 0 for models trained on SQuAD 2.0, never for SQuAD 1.1)",
    )
    add_header_argument(parser, api["header"])
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.tasks.metrics import format_report

    report, predictions = evaluate(
        args.model,
        args.data,
        batch_size=args.batch_size,
        null_threshold=args.null_threshold,
        header=args.header,
    )
    print(format_report(report))
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as f:
            json.dump(predictions, f, indent=2)
        print(f"wrote {args.predictions}")
    return 0
