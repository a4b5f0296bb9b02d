"""Checks of argument values at the API boundary, with messages that name field and value.

Booleans are not numbers here, numpy scalars count as Python numbers, and
non-finite floats (inf, nan) are refused wherever a number is expected.

Example:

>>> from keras_bertfam.validate import require_int, require_number
>>> require_int("batch_size", 32, minimum=1)
32
>>> require_number("learning_rate", -1.0, above=0)
Traceback (most recent call last):
...
keras_bertfam.errors.InputError: learning_rate=-1.0 must be a finite number > 0
>>> require_int("steps", True, minimum=1)
Traceback (most recent call last):
...
keras_bertfam.errors.InputError: steps=True must be an integer >= 1
"""

from __future__ import annotations

import math
import numbers

from keras_bertfam.errors import InputError


def require_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as an `int`, or an `InputError` naming `name` and the value."""
    bounds = " ".join(
        part
        for part in (
            f">= {minimum}" if minimum is not None else "",
            f"<= {maximum}" if maximum is not None else "",
        )
        if part
    )
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    too_small = ok and minimum is not None and value < minimum
    too_large = ok and maximum is not None and value > maximum
    if too_small or too_large:
        ok = False
    if not ok:
        raise InputError(f"{name}={value!r} must be an integer{' ' + bounds if bounds else ''}")
    return int(value)


def require_number(
    name: str,
    value,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> float:
    """`value` as a finite `float` within the bounds, or an `InputError`."""
    parts = []
    if minimum is not None:
        parts.append(f">= {minimum}")
    if above is not None:
        parts.append(f"> {above}")
    if maximum is not None:
        parts.append(f"<= {maximum}")
    if below is not None:
        parts.append(f"< {below}")
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and math.isfinite(value)
    if ok:
        ok = not (
            (minimum is not None and value < minimum)
            or (above is not None and value <= above)
            or (maximum is not None and value > maximum)
            or (below is not None and value >= below)
        )
    if not ok:
        bounds = (" " + " and ".join(parts)) if parts else ""
        raise InputError(f"{name}={value!r} must be a finite number{bounds}")
    return float(value)


def require_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise InputError(f"{name}={value!r} is not one of {list(choices)}")
    return value
