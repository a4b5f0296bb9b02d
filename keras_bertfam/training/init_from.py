"""Continued pretraining: a pretrainer that starts from the weights of a checkpoint.

`pretrain(..., init_from=PATH)` (and `bertfam pretrain --init-from PATH`) reads any
model folder of ours (a `bertfam pretrain` or `bertfam convert` output) or any
checkpoint `from_pretrained` reads (Hugging Face, Google TF1). The checkpoint's
architecture wins: the model config may be left out, and a config given may differ
from the checkpoint's only in fields that leave the weights' shapes alone (dropout,
say), else an error names the fields. The encoder's weights and the heads the
checkpoint has are loaded; heads the new objective does not use are dropped, heads
it lacks (or that the checkpoint lacked) are initialized fresh; both are logged and
reported in `training_summary.json` (`initialized_from`, `initialized_fresh`,
`dropped`). The optimizer starts fresh and warmup runs again; a run that is
resumed after a crash restores its own checkpoint over these weights.

Example:

>>> import tempfile, keras_bertfam as bf
>>> from keras_bertfam.training.init_from import initialize, load_initial
>>> folder = tempfile.mkdtemp()
>>> bf.build_pretrainer("bert_tiny", num_layers=1).save(f"{folder}/model.keras")
>>> initial = load_initial(folder)
>>> model = bf.build_pretrainer(initial["config"].replace(sentence_objective="none"))
>>> initialize(model, initial)
{'initialized_fresh': [], 'dropped': ['nsp_head', 'pooler']}
"""

from __future__ import annotations

import logging
from pathlib import Path

from keras_bertfam.errors import InputError

logger = logging.getLogger("keras_bertfam")
# the parts a new objective may add or drop; every other weight must match the checkpoint's
# (and ELECTRA's generator, whose layers are named generator_*)
HEADS = ("pooler", "mlm_head", "mlm_output_bias", "nsp_head", "sop_head", "rtd_head")
GENERATOR = "generator_"


def _require(path) -> Path:
    folder = Path(path)
    if not folder.exists() and not Path(f"{path}.index").is_file():
        raise InputError(f"init_from={str(path)!r} does not exist")
    return folder


def initial_config(path):
    """The architecture of the checkpoint in `path`, read without its weights where the
    folder has a config file (ours: config.json beside model.keras; Hugging Face's)."""
    import json

    from keras_bertfam.convert.checkpoint import config_from_hf, read_checkpoint
    from keras_bertfam.models.config import EncoderConfig

    folder = _require(path)
    config_file = folder / "config.json"
    if (folder / "model.keras").is_file() and config_file.is_file():
        return EncoderConfig.from_json_file(config_file)
    if (folder / "model.keras").is_file():
        return load_initial(path)["config"]
    if config_file.is_file() and (folder / "model.safetensors").is_file():
        try:
            return config_from_hf(json.loads(config_file.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(f"{str(config_file)!r} is not valid JSON: {err}") from None
    return read_checkpoint(path).config


def load_initial(path) -> dict:
    """`{"path", "config", "weights", "fresh"}` of a checkpoint: its architecture, its
    weights by path (numpy) and the layers `from_pretrained` had to initialize."""
    from keras_bertfam.convert.importer import from_pretrained
    from keras_bertfam.models.builders import encoder_of

    _require(path)
    model, report = from_pretrained(path, task="pretraining", return_report=True)
    config = getattr(model, "bertfam_config", None) or encoder_of(model).bertfam_config
    fresh = tuple(report["initialized_fresh"])
    weights = {v.path: v.numpy() for v in model.weights if not _under(v.path, fresh)}
    return {"path": str(path), "config": config, "weights": weights, "fresh": list(fresh)}


def _under(path: str, layers) -> bool:
    return any(path == layer or path.startswith(f"{layer}/") for layer in layers)


def _layer(path: str) -> str:
    return path.split("/")[0]


def _changed_fields(initial: dict, config) -> dict:
    ours, theirs = config.to_dict(), initial["config"].to_dict()
    return {k: (theirs.get(k), v) for k, v in ours.items() if theirs.get(k) != v}


def initialize(model, initial: dict) -> dict:
    """Assign `initial`'s weights to `model` by path; returns the layers initialized fresh
    and the checkpoint's layers dropped. Misshapen weights are an error naming the config
    fields that differ from the checkpoint's."""
    weights = initial["weights"]
    by_path = {v.path: v for v in model.weights}
    misshapen = [f"{p}: checkpoint {tuple(weights[p].shape)} vs model {tuple(v.shape)}"
                 for p, v in by_path.items()
                 if p in weights and tuple(weights[p].shape) != tuple(v.shape)]  # fmt: skip
    unmatched = sorted(p for p in set(by_path) ^ set(weights)
                       if _layer(p) not in HEADS and not p.startswith(GENERATOR))  # fmt: skip
    misshapen += [f"{p}: only in the {'model' if p in by_path else 'checkpoint'}"
                  for p in unmatched]  # fmt: skip
    if misshapen:
        fields = _changed_fields(initial, model.bertfam_config)
        changed = ", ".join(f"{k}={new!r} (checkpoint: {old!r})"
                            for k, (old, new) in fields.items())  # fmt: skip
        raise InputError(
            f"init_from={initial['path']!r}: {changed or 'the config'} changes the shapes of its "
            f"weights ({misshapen[:3]}); the checkpoint's architecture wins, only fields "
            "that leave the shapes alone (dropout, say) may change"
        )
    for path, variable in by_path.items():
        if path in weights:
            variable.assign(weights[path].astype(variable.dtype))
    fresh = {_layer(p) for p in by_path if p not in weights}
    dropped = {_layer(p) for p in weights if p not in by_path}
    result = {"initialized_fresh": sorted(fresh), "dropped": sorted(dropped)}
    if result["initialized_fresh"]:
        logger.warning("init_from %s: initialized fresh, not in the checkpoint: %s",
                       initial["path"], ", ".join(result["initialized_fresh"]))  # fmt: skip
    if result["dropped"]:
        logger.info("init_from %s: checkpoint parts not used: %s", initial["path"],
                    ", ".join(result["dropped"]))  # fmt: skip
    return result
