"""The `bertfam` command line: one module per sub-command (`add_parser`, `run`).

Example:

    bertfam info albert_base
    bertfam info my_config.json --set num_layers=6 --seq-length 512 --predictions 76
    bertfam create-vocab --kind wordpiece --size 8000 --out vocab/ corpus.txt
    bertfam create-data corpus.txt --tokenizer vocab/ --out data/ --objective nsp
    bertfam convert path/to/hf_or_google_checkpoint --out converted/
    bertfam finetune --model converted/ --train train.tsv --dev dev.tsv --out runs/topics
    bertfam evaluate runs/topics dev.tsv

Exit codes: 0 success, 2 a user error (its message is printed; see
`keras_bertfam.errors`), 3 training diverged, 1 a bug (with its traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys

from keras_bertfam.cli import (
    bench,
    convert,
    create_data,
    create_vocab,
    evaluate,
    export,
    finetune,
    info,
    pretrain,
)
from keras_bertfam.errors import BertfamError

COMMANDS = (info, create_vocab, create_data, pretrain, convert, finetune, evaluate, export, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bertfam", description="BERT, ALBERT, RoBERTa and hybrids for Keras."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


class _Stderr(logging.StreamHandler):
    """A handler that writes to whatever `sys.stderr` is when a message comes."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _show_library_messages():
    """Print keras_bertfam's log messages (what was read, what was initialized) to stderr."""
    logger = logging.getLogger("keras_bertfam")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # not twice where TensorFlow (absl) has a root handler


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _show_library_messages()
    try:
        return args.run(args)
    except BertfamError as err:
        print(f"bertfam {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
