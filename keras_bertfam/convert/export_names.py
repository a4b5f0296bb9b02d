"""The import rule table read backwards: keras_bertfam weight paths -> Hugging Face names.

`names.RULES` maps a checkpoint name (a regular expression) to our layer path (a
template). Here each rule's pattern is filled in from the path it produces: the
named groups get the layer index (ALBERT's group g and inner block j), the
query/key/value third and the PyTorch suffix; optional groups are left out. Every
name made is then read forwards with `names.map_name`, which must give back the same
path, transposition and part, so the two directions cannot drift apart.

Example:

>>> from keras_bertfam.convert.export_names import hf_names
>>> hf_names("hf_bert", "encoder/attention_3/qkv/kernel")
[('encoder.layer.3.attention.self.query.weight', True, 0), \
('encoder.layer.3.attention.self.key.weight', True, 1), \
('encoder.layer.3.attention.self.value.weight', True, 2)]
"""

from __future__ import annotations

import re

from keras_bertfam.convert import hf_heads
from keras_bertfam.convert.names import _SUFFIX_PATTERN, _SUFFIXES, QKV, RULES, Target, map_name

# Rules that only import: buffers and the MLM decoder (Hugging Face ties it to the token
# table when `tie_word_embeddings` is set; ELECTRA's generator calls it
# `generator_lm_head.weight`). The task heads' names come from `hf_heads.HEADS` itself.
_IMPORT_ONLY = re.compile(r"decoder\\\.weight|lm_head\\\.weight")
_HEAD_RULES = {rule for family in hf_heads.CLASS_PREFIX for rule in hf_heads.rules(family)}
_GROUP = re.compile(r"\(\?P<(\w+)>[^()]*\)")


def _path_regex(template: str, kind: str) -> re.Pattern:
    """Our layer path template (`encoder/attention_{i}/qkv`) as a regex over variable paths."""
    regex = re.escape(template).replace(r"\{i\}", r"(?P<i>\d+)")
    return re.compile(regex + (r"/(?P<v>\w+)" if kind in _SUFFIXES else ""))


def _suffix(kind: str, variable: str) -> str | None:
    """The checkpoint suffix (weight, bias) of our variable name (kernel, gamma, ...)."""
    return next((p for p, (v, _) in _SUFFIXES[kind].items() if v == variable), None)


def _fill(pattern: str, fields: dict) -> str | None:
    """The one name `pattern` matches with its named groups set to `fields`."""
    try:
        name = _GROUP.sub(lambda m: str(fields[m.group(1)]), pattern)
    except KeyError:
        return None
    name = re.sub(r"\([^()]*\)\?", "", name)  # optional groups: left out
    if re.search(r"[()|?*+\[\]]", name.replace("\\.", "")):
        return None  # an alternation (buffers): no single name
    return name.replace("\\.", ".")


def hf_names(source: str, path: str, inner_group_size: int = 1) -> list[tuple[str, bool, int]]:
    """The checkpoint names (without the base-model prefix) that fill our weight `path`:
    (name, transposed, part of the fused QKV kernel or None), checked against `map_name`.

    Where two rules fill the same path (ALBERT's `pooler` after the shared
    `pooler.dense`), the later one, the family's own, gives the name."""
    found = {}  # part -> name: a family's own rules follow the shared ones and win
    for pattern, template, kind in RULES[source]:
        if (
            kind == "ignore"
            or _IMPORT_ONLY.search(pattern)
            or (pattern, template, kind) in _HEAD_RULES
        ):
            continue
        match = _path_regex(template, kind).fullmatch(path)
        if match is None:
            continue
        fields = {}
        if match.groupdict().get("i") is not None:
            i = int(match["i"])
            fields.update(i=i, g=i // inner_group_size, j=i % inner_group_size)
        if kind in _SUFFIXES:
            fields["p"] = _suffix(kind, match["v"])
            if fields["p"] is None:
                continue
        full = pattern + _SUFFIX_PATTERN.get(kind, "")
        parts = list(QKV.items()) if "(?P<qkv>" in full else [(None, None)]
        for qkv, part in parts:
            name = _fill(full, {**fields, "qkv": qkv})
            if name is None:
                continue
            target = map_name(source, name, inner_group_size)
            transpose = _SUFFIXES[kind][fields["p"]][1] if kind in _SUFFIXES else False
            if target != Target(path, transpose, part):
                raise AssertionError(f"{name!r} reads back as {target}, not {path!r}")
            found[part] = (name, transpose, part)
    return list(found.values())
