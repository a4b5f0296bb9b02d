"""Renamed keyword arguments keep working, with a `DeprecationWarning` naming the new one.

Example:

>>> import warnings
>>> from keras_bertfam.deprecation import renamed_keywords
>>> @renamed_keywords(max_seq_length="sequence_length")
... def export(model, sequence_length=128):
...     return sequence_length
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     export("m", max_seq_length=64), caught[0].category.__name__
(64, 'DeprecationWarning')
"""

from __future__ import annotations

import functools
import warnings

from keras_bertfam.errors import InputError


def renamed_keywords(**renames: str):
    """Decorator: accept each old keyword (`old="new"`) as the new one, with a warning."""

    def decorate(function):
        name = function.__qualname__.removesuffix(".__init__")

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InputError(
                            f"{name}() got both {old}= and {new}=; {old} is the "
                            f"old name of {new}: pass only {new}="
                        )
                    warnings.warn(
                        f"{name}({old}=...) is deprecated; use {new}=",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        wrapper.renamed_keywords = dict(renames)
        return wrapper

    return decorate
