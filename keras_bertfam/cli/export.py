"""`bertfam export`: a model folder -> a TF Serving SavedModel and/or a TFLite file."""

from __future__ import annotations

import argparse

from keras_bertfam.cli.common import positive_int


def add_parser(commands):
    parser = commands.add_parser(
        "export",
        help="export a model folder as a TF Serving SavedModel or a TFLite file",
        description="MODEL: a finetune, pretrain or convert output folder, or a Hugging Face / "
        "Google checkpoint. SavedModels go to ROOT/NAME/<new version>/ with serving_default "
        "on raw text (tokenizer inside) and encode on TF-Hub token ids; TFLite files go to "
        "ROOT/NAME/NAME-[text-]QUANTIZATION.tflite with a report (size, latency, agreement).",
    )
    parser.add_argument("model", help="model folder")
    parser.add_argument(
        "--format", choices=["saved_model", "tflite", "both"], default="saved_model"
    )
    parser.add_argument("--root", default="saved_models", help="output root")
    parser.add_argument("--name", help="model name (default: the folder's name)")
    parser.add_argument("--seq-length", type=positive_int, help="default: the task's, else 128")
    parser.add_argument(
        "--text",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tokenizer inside (raw-text inputs); --no-text exports token ids only",
    )
    parser.add_argument(
        "--quantization",
        choices=["float32", "float16", "dynamic_int8", "int8"],
        default="float32",
        help="TFLite weights/activations (int8 needs --representative)",
    )
    parser.add_argument(
        "--representative", help="create-data folder or task file to calibrate int8 on"
    )
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.export.folder import describe, export_folder

    formats = ["saved_model", "tflite"] if args.format == "both" else [args.format]
    for fmt in formats:
        result = export_folder(
            args.model,
            fmt,
            root=args.root,
            name=args.name,
            max_seq_length=args.seq_length,
            text=args.text,
            overwrite=args.overwrite,
            quantization=args.quantization,
            representative=args.representative,
        )
        print(describe(result))
    return 0
