"""`bertfam info`: parameters by component and training FLOPs per token of a config."""

from __future__ import annotations

import json

from keras_bertfam.cli.common import (
    add_sequence_length_argument,
    add_set_argument,
    defaults,
    non_negative_int,
)
from keras_bertfam.models.info import info_table, parts_line
from keras_bertfam.models.presets import list_presets, resolve_config


def add_parser(commands):
    parser = commands.add_parser(
        "info",
        help="parameters by component and training FLOPs per token of a preset or config",
        description="Parameters by component and training FLOPs per token, beside the same "
        "model with E = H, no sharing and (for sliding-window models) global attention "
        "everywhere. Presets: " + ", ".join(list_presets()),
    )
    default = defaults(info_table)
    parser.add_argument("model", help="a preset name or a config .json file")
    add_set_argument(parser)
    add_sequence_length_argument(parser, default["sequence_length"], "tokens per sequence")
    parser.add_argument(
        "--predictions",
        type=non_negative_int,
        default=default["predictions"],
        help="masked positions per sequence",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.models.info import parameter_breakdown

    config = resolve_config(args.model, **dict(args.set))
    if args.json:
        print(json.dumps({"config": config.to_dict(), "parameters": parameter_breakdown(config)}))
        return 0
    print(
        f"{args.model}: L={config.num_layers} H={config.hidden_dim} "
        f"E={config.resolved_embedding_dim} A={config.num_heads} "
        f"I={config.intermediate_dim} V={config.vocabulary_size} "
        f"groups={config.resolved_num_groups} sharing={config.sharing} "
        f"objective={config.sentence_objective} token_objective={config.token_objective}"
    )
    print(f"  {parts_line(config)}")
    print()
    print(info_table(config, args.sequence_length, args.predictions))
    return 0
