"""`bertfam export`: a model folder -> a TF Serving SavedModel and/or a TFLite file."""

from __future__ import annotations

import argparse

from keras_bertfam.cli.common import add_sequence_length_argument, defaults
from keras_bertfam.export.folder import export_folder
from keras_bertfam.kinds import EXPORT_FORMATS, QUANTIZATIONS

BOTH = "both"  # the TF Serving SavedModel and the TFLite file
BOTH_FORMATS = ("saved_model", "tflite")
ALL = "all"  # every format of EXPORT_FORMATS
ALIASES = {"hf": "huggingface"}


def add_parser(commands):
    api = defaults(export_folder)
    parser = commands.add_parser(
        "export",
        help="export a model folder as a TF Serving SavedModel, a TFLite file, TF-Hub "
        "SavedModels or a Hugging Face folder",
        description="MODEL: a finetune, pretrain or convert output folder, or a Hugging Face / "
        "Google checkpoint. SavedModels go to ROOT/NAME/<new version>/ with serving_default "
        "on raw text (tokenizer inside) and encode on TF-Hub token ids; TFLite files go to "
        "ROOT/NAME/NAME-[text-]QUANTIZATION.tflite with a report (size, latency, agreement); "
        "tfhub writes ROOT/NAME-tfhub/preprocess/ and encoder/, the reusable SavedModels that "
        "hub.KerasLayer loads and fine-tunes (refused over an existing folder without "
        "--overwrite); huggingface (or hf) writes ROOT/NAME-hf/ with config.json, "
        "model.safetensors and the tokenizer files that transformers loads. both: saved_model "
        "and tflite; all: every format.",
    )
    parser.add_argument("model", help="model folder")
    parser.add_argument(
        "--format", choices=[*EXPORT_FORMATS, *ALIASES, BOTH, ALL], default=api["fmt"]
    )
    parser.add_argument("--root", default=api["root"], help="output root")
    parser.add_argument("--name", help="model name (default: the folder's name)")
    add_sequence_length_argument(
        parser,
        None,
        "tokens per sequence (default: what the model was trained or fine-tuned at, else "
        "min(128, its max_sequence_length))",
    )
    parser.add_argument(
        "--text",
        action=argparse.BooleanOptionalAction,
        default=api["text"],
        help="tokenizer inside (raw-text inputs); --no-text exports token ids only",
    )
    parser.add_argument(
        "--quantization",
        choices=QUANTIZATIONS,
        default=api["quantization"],
        help="TFLite weights/activations (int8 needs --representative)",
    )
    parser.add_argument(
        "--representative",
        help="create-data folder, or a file of the model's task, to calibrate int8 on",
    )
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.export.folder import describe
    from keras_bertfam.export.hf_config import UnexpressibleError

    fmt = ALIASES.get(args.format, args.format)
    formats = {BOTH: BOTH_FORMATS, ALL: EXPORT_FORMATS}.get(fmt, [fmt])
    for fmt in formats:
        try:
            result = export_folder(
                args.model,
                fmt,
                root=args.root,
                name=args.name,
                sequence_length=args.sequence_length,
                text=args.text,
                overwrite=args.overwrite,
                quantization=args.quantization,
                representative=args.representative,
            )
        except UnexpressibleError as err:
            if len(formats) == 1:
                raise
            print(f"skipped {fmt}: {err}")  # `all`: the formats that can hold the model
            continue
        print(describe(result))
    return 0
