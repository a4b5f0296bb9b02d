"""Every public layer documents itself: Args (each argument, its default), shapes, an example.

The examples run as doctests (`--doctest-modules` over `keras_bertfam/layers`).
"""

import inspect
import re

import pytest

import keras_bertfam.layers as layers

CLASSES = [
    getattr(layers, name) for name in layers.__all__ if inspect.isclass(getattr(layers, name))
]


def _arguments(cls):
    """Constructor parameters of `cls` and of its keras_bertfam base classes."""
    params = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("keras_bertfam") and "__init__" in vars(klass):
            params.update(inspect.signature(klass.__init__).parameters)
    params.pop("self", None)
    return params


def _args_section(doc):
    """The entries of the Args section, by name (`**kwargs` included)."""
    section = doc.split("\nArgs:\n", 1)[1]
    section = re.split(r"\n(?=\S)", section, maxsplit=1)[0]  # up to the next unindented line
    parts = re.split(r"^    (\*{0,2}\w+): ", section, flags=re.MULTILINE)[1:]
    return dict(zip(parts[::2], parts[1::2], strict=True))


def _default(value):
    return f'"{value}"' if isinstance(value, str) else repr(value)


def test_every_public_class_is_checked():
    assert len(CLASSES) >= 14


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_class_docstring_has_args_shapes_and_an_example(cls):
    doc = inspect.cleandoc(vars(cls).get("__doc__") or "")
    assert "Args:" in doc and ">>>" in doc, cls.__name__
    assert "Call arguments:" in doc or "Input shape" in doc, cls.__name__
    assert "Returns:" in doc or "Output shape" in doc, cls.__name__
    entries = _args_section(doc)
    for name, param in _arguments(cls).items():
        key = f"**{name}" if param.kind is param.VAR_KEYWORD else name
        assert key in entries, f"{cls.__name__}: argument {key} is not in Args"
        if param.default is not param.empty:
            assert f"default {_default(param.default)}" in entries[key], (cls.__name__, name)
