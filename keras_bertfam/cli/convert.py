"""`bertfam convert`: a Hugging Face or Google TF1 checkpoint -> a keras_bertfam model folder."""

from __future__ import annotations

from keras_bertfam.cli.common import add_set_argument

CONVERT_TASK = "pretraining"  # keep the heads the checkpoint has


def add_parser(commands):
    from keras_bertfam.convert.importer import import_tasks

    parser = commands.add_parser(
        "convert",
        help="import a Hugging Face (safetensors) or Google TF1 checkpoint into a .keras model",
        description="Reads a Hugging Face folder (config.json + model.safetensors or a sharded "
        "index) of BERT/ALBERT/RoBERTa/ModernBERT, or a Google TF1 checkpoint (bert_config.json / "
        "albert_config.json + *.ckpt), checks that every weight finds its place, and writes "
        "model.keras, config.json, import_report.json and tokenizer/ to --out. Optional parts "
        "follow the checkpoint: no pooler in the file builds the encoder without one; MLM or "
        "sentence heads the file lacks are initialized fresh (--task pretraining); the report "
        "lists them. --task classification / token_classification / question_answering "
        "imports a Hugging Face *ForSequenceClassification / *ForTokenClassification / "
        "*ForQuestionAnswering with its head and label names (task.json), ready for `bertfam "
        "export`. PyTorch pickles are refused.",
    )
    parser.add_argument("path", help="checkpoint folder (or .safetensors file / TF1 prefix)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--task", choices=import_tasks(), default=CONVERT_TASK)
    parser.add_argument(
        "--allow-missing",
        action="append",
        default=[],
        metavar="PREFIX",
        help="model weights that may stay initialized",
    )
    parser.add_argument(
        "--pairs",
        action="store_true",
        help="with --task classification: the classifier reads text pairs (export serves "
        "text and text_b)",
    )
    add_set_argument(parser)
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.convert.importer import convert_checkpoint

    summary = convert_checkpoint(
        args.path,
        args.out,
        task=args.task,
        allow_missing=tuple(args.allow_missing),
        overwrite=args.overwrite,
        pairs=args.pairs,
        **dict(args.set),
    )
    print(
        f"converted {summary['source']} ({summary['parameters']:,} parameters, "
        f"tokenizer: {summary['tokenizer'] or 'none found'}) -> {summary['out']}/model.keras"
    )
    report = summary["report"]
    parts = [
        f"{what}: {', '.join(report[key]) if report[key] else 'none'}"
        for what, key in (
            ("initialized fresh", "initialized_fresh"),
            ("absent", "absent"),
            ("dropped", "dropped"),
        )
    ]
    print(f"import report -> {summary['out']}/import_report.json ({'; '.join(parts)})")
    return 0
