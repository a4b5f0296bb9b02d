"""`from_pretrained`: a checkpoint folder -> a keras_bertfam model with its weights.

Every tensor of the file must find its place (or be a known non-weight such as
`position_ids` or an optimizer slot) and every weight of the model must be
filled, with shapes checked; anything left over, missing or misshapen is a
`CheckpointError` that lists the names. Head weights of a pretraining
checkpoint are dropped, by name, when only the encoder is asked for.

Query, key and value kernels go into thirds of the fused `qkv` kernel; the
MLM decoder of the file must equal its token table (the decoder is tied here).

A folder written by keras_bertfam itself (`model.keras`, e.g. from
`bertfam pretrain` or `bertfam convert`) loads too.

Example (`bf.from_pretrained("path/to/bert-base-uncased")` for a downloaded
folder; here a folder that keras_bertfam wrote):

>>> import tempfile, keras_bertfam as bf
>>> folder = tempfile.mkdtemp()
>>> bf.build_pretrainer("albert_tiny", num_layers=2).save(f"{folder}/model.keras")
>>> encoder = bf.from_pretrained(folder, task="encoder")
>>> sorted(encoder.output)
['pooled_output', 'sequence_output']
>>> bf.from_pretrained(tempfile.mkdtemp())
Traceback (most recent call last):
...
keras_bertfam.convert.checkpoint.CheckpointError: no checkpoint in ...
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from keras_bertfam.convert.checkpoint import Checkpoint, CheckpointError, read_checkpoint
from keras_bertfam.convert.names import IGNORED, map_name
from keras_bertfam.errors import OutputExistsError

TASKS = ("encoder", "pretraining")
HEAD_LAYERS = ("mlm_head/", "mlm_output_bias/", "nsp_head/", "sop_head/")


def assemble_weights(checkpoint: Checkpoint) -> dict[str, np.ndarray]:
    """The checkpoint's tensors under our weight paths (QKV fused, tied decoder checked)."""
    config = checkpoint.config
    head = config.sentence_objective if config.sentence_objective != "none" else "nsp"
    weights, parts, unknown = {}, {}, []
    for name, array in checkpoint.tensors.items():
        target = map_name(checkpoint.source, name, config.inner_group_size, head)
        if target is None:
            unknown.append(name)
            continue
        if target == IGNORED:
            continue
        if target.transpose:
            array = array.T
        if target.part is not None:
            parts.setdefault(target.path, {})[target.part] = (name, array)
        elif target.path in weights:  # a tied or duplicated copy must be identical
            if not np.array_equal(weights[target.path][1], array):
                raise CheckpointError(
                    f"{name!r} and {weights[target.path][0]!r} both fill {target.path!r} but "
                    "differ: an untied MLM decoder is not supported (the decoder is tied to "
                    "the token embedding)"
                )
        else:
            weights[target.path] = (name, array)
    if unknown:
        raise CheckpointError(
            f"{len(unknown)} tensor(s) of {checkpoint.source} checkpoint "
            f"{str(checkpoint.folder)!r} have no place in the model: {sorted(unknown)[:20]}"
        )
    for path, thirds in parts.items():
        if sorted(thirds) != [0, 1, 2]:
            names = [n for n, _ in thirds.values()]
            raise CheckpointError(f"{path!r} needs query, key and value; found only {names}")
        weights[path] = (path, np.concatenate([thirds[k][1] for k in range(3)], axis=-1))
    return {path: array for path, (_, array) in weights.items()}


def sentence_objective_of(weights: dict, config) -> str:
    """The sentence head present in the weights ("nsp", "sop" or "none")."""
    for objective in ("nsp", "sop"):
        if f"{objective}_head/dense/kernel" in weights:
            return config.sentence_objective if config.sentence_objective != "none" else objective
    return "none"


def load_into(model, weights: dict, allow_missing=(), drop=()) -> list[str]:
    """Assign `weights` (path -> array) to `model`'s variables, strictly.

    Args:
        allow_missing: path prefixes of model weights that may stay as
            initialized (e.g. "pooler/" for RoBERTa checkpoints without one).
        drop: path prefixes of checkpoint weights the model may leave unused.

    Returns:
        The model weight paths left as initialized (only those `allow_missing` lets through).
    """
    by_path = {variable.path: variable for variable in model.weights}
    missing = [p for p in by_path if p not in weights]
    not_allowed = [p for p in missing if not p.startswith(tuple(allow_missing))]
    unused = [p for p in weights if p not in by_path and not p.startswith(tuple(drop))]
    misshapen = [
        f"{p}: checkpoint {tuple(weights[p].shape)} vs model {tuple(v.shape)}"
        for p, v in by_path.items()
        if p in weights and tuple(weights[p].shape) != tuple(v.shape)
    ]
    problems = []
    if not_allowed:
        problems.append(f"model weights missing from the checkpoint: {not_allowed}")
    if unused:
        problems.append(f"checkpoint weights the model has no place for: {unused}")
    if misshapen:
        problems.append(f"shape mismatches: {misshapen}")
    if problems:
        raise CheckpointError("; ".join(problems))
    for path, variable in by_path.items():
        if path in weights:
            variable.assign(weights[path].astype(variable.dtype))
    return missing


def from_pretrained(path, task: str = "encoder", allow_missing=(), dtype=None, **overrides):
    """A keras_bertfam model with the weights of the checkpoint in `path`.

    Args:
        path: a Hugging Face folder (config.json + model.safetensors or a
            sharded index), a Google TF1 checkpoint folder (bert_config.json /
            albert_config.json + *.ckpt.*) or prefix, or a keras_bertfam
            folder holding `model.keras`.
        task: "encoder" ({sequence_output, pooled_output}) or "pretraining"
            (the MLM head and the checkpoint's NSP/SOP head, if it has one).
        allow_missing: model weight path prefixes that may stay freshly
            initialized, e.g. `("pooler/",)` for roberta-base, which ships no
            pooler. Everything else missing is an error.
        dtype: a Keras dtype policy for the layers (e.g. "mixed_bfloat16").
        **overrides: `EncoderConfig` fields to change, e.g. `dropout=0.0` or
            `activation="gelu"` (Google's TF1 code uses the tanh GELU, which is
            what "gelu" in their config files maps to).

    Returns:
        A functional `keras.Model`; its config is at `model.bertfam_config`.
    """
    from keras_bertfam.models.builders import build_encoder, build_pretrainer

    if task not in TASKS:
        raise ValueError(f"task={task!r} is not one of {list(TASKS)}")
    folder = Path(path)
    if (folder / "model.keras").is_file():
        return _load_own(folder, task, overrides)
    checkpoint = read_checkpoint(path)
    weights = assemble_weights(checkpoint)
    config = checkpoint.config.replace(
        sentence_objective=sentence_objective_of(weights, checkpoint.config)
    )
    config = config.replace(**overrides)
    name = re.sub(r"\W", "_", checkpoint.folder.name) or "checkpoint"
    if task == "encoder":
        model = build_encoder(config, dtype=dtype, name=name)
        load_into(model, weights, allow_missing, drop=HEAD_LAYERS)
    else:
        model = build_pretrainer(config, dtype=dtype, name=name)
        load_into(model, weights, allow_missing, drop=("pooler/",))
    model.bertfam_config = config
    return model


def _load_own(folder: Path, task: str, overrides: dict):
    import keras

    from keras_bertfam.models.builders import encoder_of
    from keras_bertfam.models.config import EncoderConfig

    if overrides:
        raise ValueError(
            f"config overrides {sorted(overrides)} cannot change a saved model.keras; "
            "build a new model and load its weights instead"
        )
    model = keras.saving.load_model(folder / "model.keras")
    if task == "encoder":
        model = encoder_of(model)
    if (folder / "config.json").is_file():
        model.bertfam_config = EncoderConfig.from_json_file(folder / "config.json")
    return model


def convert_checkpoint(path, out, task: str = "pretraining", allow_missing=(), overwrite=False,
                       **overrides) -> dict:  # fmt: skip
    """Import `path` and write `out/model.keras`, `out/config.json` and `out/tokenizer/`.

    The folder then loads with `from_pretrained(out)` and fine-tunes with
    `bertfam finetune --model out`. Returns a summary (source, task, parameters).
    """
    from keras_bertfam.data.tokenizers import find_tokenizer

    out = Path(out)
    if (out / "model.keras").exists() and not overwrite:
        raise OutputExistsError(f"{str(out / 'model.keras')!r} exists; pass overwrite=True")
    model = from_pretrained(path, task=task, allow_missing=allow_missing, **overrides)
    # read before anything is written: a corrupt tokenizer file fails the convert
    tokenizer = find_tokenizer(Path(path) if Path(path).is_dir() else Path(path).parent)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    (out / "config.json").write_text(model.bertfam_config.to_json())
    if tokenizer is not None:
        tokenizer.copy_files(out / "tokenizer")
    return {
        "source": str(path),
        "task": task,
        "parameters": int(model.count_params()),
        "tokenizer": tokenizer.kind if tokenizer is not None else None,
        "out": str(out),
    }
