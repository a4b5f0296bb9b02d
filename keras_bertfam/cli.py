"""The `bertfam` command line.

Example:

    bertfam info albert_base
    bertfam info my_config.json --set num_layers=6 --seq-length 512 --predictions 76
"""

from __future__ import annotations

import argparse
import json
import sys

from keras_bertfam.models.config import ConfigError
from keras_bertfam.models.presets import list_presets, resolve_config


def _parse_override(text: str):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set expects FIELD=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _info(args) -> int:
    from keras_bertfam.models.info import info_table, parameter_breakdown

    config = resolve_config(args.model, **dict(args.set))
    if args.json:
        print(json.dumps({"config": config.to_dict(), "parameters": parameter_breakdown(config)}))
        return 0
    print(
        f"{args.model}: L={config.num_layers} H={config.hidden_dim} "
        f"E={config.resolved_embedding_dim} A={config.num_heads} "
        f"I={config.intermediate_dim} V={config.vocabulary_size} "
        f"groups={config.resolved_num_groups} sharing={config.sharing} "
        f"objective={config.sentence_objective}"
    )
    print()
    print(info_table(config, args.seq_length, args.predictions))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bertfam", description="BERT, ALBERT, RoBERTa and hybrids for Keras."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser(
        "info",
        help="parameters by component and training FLOPs per token of a preset or config",
        description="Parameters by component and training FLOPs per token, beside the same "
        "model with E = H and no sharing. Presets: " + ", ".join(list_presets()),
    )
    info.add_argument("model", help="a preset name or a config .json file")
    info.add_argument(
        "--set",
        action="append",
        default=[],
        type=_parse_override,
        metavar="FIELD=VALUE",
        help="override a config field (repeatable), e.g. --set num_layers=6",
    )
    info.add_argument("--seq-length", type=int, default=128, help="tokens per sequence")
    info.add_argument("--predictions", type=int, default=20, help="masked positions per sequence")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(run=_info)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as err:
        print(f"bertfam {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
