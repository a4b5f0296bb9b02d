"""Pretraining objectives as peers: one module per objective, one registry the models read.

| objective | level (config field) | head | output |
| --- | --- | --- | --- |
| mlm | token (`token_objective`) | gather + transform + tied decoder | `mlm_logits` [B, P, V] |
| rtd | token (`token_objective`) | Dense + activation + Dense(1) per token | `rtd_logits` [B, S] |
| nsp | sentence (`sentence_objective`) | Dense(2) on the pooled output | `nsp_logits` [B, 2] |
| sop | sentence (`sentence_objective`) | dropout + Dense(2) on pooled | `sop_logits` [B, 2] |

Each module defines an `Objective` (`keras_bertfam.objectives.base`): its head
layers (by their stable names, which the importer and `init_from` read), the
inputs it needs beyond the encoder's, and how it wires its head into the
pretrainer's graph. `Pretrainer` builds the heads of
`objectives.of_config(config)`. A new objective is one module with an
`OBJECTIVE`, its name in `_MODULES` and in `kinds` (the config's choices).

Example:

>>> from keras_bertfam import objectives
>>> objectives.names()
('mlm', 'rtd', 'nsp', 'sop')
>>> objectives.get("rtd").output, objectives.get("mlm").inputs
('rtd_logits', ('mask_positions',))
"""

from __future__ import annotations

import importlib

from keras_bertfam.errors import InputError
from keras_bertfam.objectives.base import Objective

_MODULES = ("mlm", "rtd", "nsp", "sop")
_OBJECTIVES: dict[str, Objective] = {}


def _load() -> dict[str, Objective]:
    if not _OBJECTIVES:
        for module in _MODULES:
            objective = importlib.import_module(f"keras_bertfam.objectives.{module}").OBJECTIVE
            _OBJECTIVES[objective.name] = objective
    return _OBJECTIVES


def names(level: str | None = None) -> tuple[str, ...]:
    """The objectives' names (of one `level`, "token" or "sentence", if given)."""
    return tuple(n for n, o in _load().items() if level is None or o.level == level)


def get(name: str) -> Objective:
    """The objective called `name`, or an `InputError` listing the objectives."""
    objectives = _load()
    if name not in objectives:
        raise InputError(f"objective={name!r} is not one of {list(objectives)}")
    return objectives[name]


def of_config(config) -> list[Objective]:
    """The objectives a config's pretrainer trains: its token objective, then its
    sentence objective unless that is "none"."""
    chosen = [get(config.token_objective)]
    if config.sentence_objective != "none":
        chosen.append(get(config.sentence_objective))
    return chosen


def head_layers() -> dict[str, tuple[str, ...]]:
    """Objective name -> the layer names of its head (the parts a checkpoint may lack)."""
    return {name: objective.heads for name, objective in _load().items()}


__all__ = ["Objective", "get", "head_layers", "names", "of_config"]
