"""Argument types shared by the `bertfam` sub-commands.

Numeric options are checked where they enter: a value outside its range is an
argparse error that names the option and the value (exit code 2), before any
work starts.

Example:

>>> from keras_bertfam.cli.common import positive_int, parse_override
>>> positive_int("8")
8
>>> positive_int("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 0 is not an integer >= 1
>>> parse_override("num_layers=6")
('num_layers', 6)
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math


def parse_override(text: str):
    """`FIELD=VALUE` -> (field, JSON value, or the raw string when it is not JSON)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set expects FIELD=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_set_argument(parser, what: str = "a model config field"):
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=parse_override,
        metavar="FIELD=VALUE",
        help=f"override {what} (repeatable), e.g. --set num_layers=6",
    )


def defaults(function) -> dict:
    """The default of every keyword of `function` (through a `renamed_keywords` wrapper),
    so that options show and use the API's own defaults."""
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def field_defaults(dataclass) -> dict:
    """The default of every field of a dataclass."""
    return {
        f.name: f.default
        for f in dataclasses.fields(dataclass)
        if f.default is not dataclasses.MISSING
    }


def add_sequence_length_argument(parser, default, help: str):
    """`--sequence-length N` (also `--seq-length`): tokens per sequence."""
    parser.add_argument(
        "--sequence-length",
        "--seq-length",
        dest="sequence_length",
        type=positive_int,
        default=default,
        help=help,
    )


def add_pack_argument(parser, help: str):
    """`--pack [K]`: up to K sequences per row (K defaults to the library's; absent: 0)."""
    from keras_bertfam.data.row_packing import DEFAULT_MAX_SEQUENCES

    parser.add_argument("--pack", nargs="?", type=positive_int, const=DEFAULT_MAX_SEQUENCES,
                        default=None, metavar="K",
                        help=f"{help} (K: up to K sequences per row, default "
                        f"{DEFAULT_MAX_SEQUENCES})")  # fmt: skip


def add_header_argument(parser, default="auto"):
    from keras_bertfam.kinds import TSV_HEADERS

    parser.add_argument(
        "--header",
        choices=TSV_HEADERS,
        default=default,
        help="classification TSV: is the first row a header? auto: when its label occurs "
        "nowhere else in the file (or it is 'label')",
    )


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not an integer >= {minimum}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)


def _float_in(low: float, high: float, low_open: bool, high_open: bool, what: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    parse.__name__ = what
    return parse


positive_float = _float_in(0.0, math.inf, True, True, "a finite number > 0")
probability = _float_in(0.0, 1.0, False, False, "a number in [0, 1]")
fraction_below_one = _float_in(0.0, 1.0, False, True, "a number in [0, 1)")
finite_float = _float_in(-math.inf, math.inf, True, True, "a finite number")
