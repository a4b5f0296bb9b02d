"""`from_pretrained`: a checkpoint folder -> a keras_bertfam model with its weights.

Every tensor of the file must find its place (or be a known non-weight such as
`position_ids` or an optimizer slot) and every weight of the model must be
filled, with shapes checked; anything left over, missing or misshapen is a
`CheckpointError` that lists the names.

Optional parts follow the checkpoint, by one rule:

- the pooler: a file without one (`RobertaForMaskedLM`, most MLM checkpoints)
  builds the encoder with `pooler=False` (`pooled_output` is then the first
  token's final hidden state); reported as "absent";
- the heads, for `task="pretraining"`: an MLM head or sentence head the file
  lacks is initialized fresh (reported, with a warning in the log); the
  sentence objective stays the family's (BERT nsp, ALBERT sop, RoBERTa none)
  or the one given as an override, whatever heads the file has;
- for `task="encoder"`, head tensors are dropped (reported as "dropped"), as is
  a sentence head the chosen objective has no place for.

`from_pretrained(..., return_report=True)` returns the report with the model:
`{"source", "format", "task", "objective", "pooler", "initialized_fresh",
"absent", "dropped"}` (and for an encoder, `sentence`: the pooling of a
sentence-transformers folder, `keras_bertfam.convert.sentence`, also kept as
`model.bertfam_sentence` for the Hugging Face export); `convert_checkpoint` writes
it to `import_report.json`.
The same lines go to the `keras_bertfam` logger (a warning for freshly
initialized weights, info for the rest).

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

import importlib
import json
import logging
import re
from pathlib import Path

import numpy as np

from keras_bertfam import objectives, tasks
from keras_bertfam.convert import hf_heads
from keras_bertfam.convert.checkpoint import Checkpoint, CheckpointError, read_checkpoint
from keras_bertfam.convert.names import IGNORED, map_name
from keras_bertfam.convert.sentence import read_layout
from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.kinds import IMPORT_TASKS


def import_tasks() -> tuple[str, ...]:
    """What `from_pretrained(task=...)` builds: the model parts, and the tasks whose
    heads import from checkpoints (`tasks.importable()`)."""
    return (*IMPORT_TASKS, *tasks.importable())


REPORT_FILE = "import_report.json"
logger = logging.getLogger("keras_bertfam")

# The optional parts of a model: name -> the layers (weight path prefixes) it is made of.
# A part is loaded, initialized fresh, dropped or absent as a whole.
OPTIONAL_PARTS = {
    "pooler": ("pooler",),
    **objectives.head_layers(),  # mlm, rtd, nsp, sop
    # the task heads of `hf_heads.HEADS`: classifier, span_classifier
    **{layer: (layer,) for layer in hf_heads.head_layers()},
}


def assemble_weights(checkpoint: Checkpoint, sentence_head: str | None = None) -> dict:
    """The checkpoint's tensors under our weight paths (QKV fused, tied decoder checked).

    Args:
        sentence_head: "nsp" or "sop": the head that Google's shared
            `cls/seq_relationship` name fills (default: the family's).
    """
    config = checkpoint.config
    head = sentence_head or (
        config.sentence_objective if config.sentence_objective != "none" else "nsp"
    )
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


def _without_identity_projection(weights: dict, config) -> dict:
    """ALBERT with E = H: Hugging Face's projection E -> H is there even then; an identity
    one (as the export writes) is left out, as the model has none."""
    kernel, bias = (
        weights.get("embeddings/projection/kernel"),
        weights.get("embeddings/projection/bias"),
    )
    if kernel is None or config.resolved_embedding_dim != config.hidden_dim:
        return weights
    if np.array_equal(kernel, np.eye(len(kernel))) and not np.any(bias):
        return {k: v for k, v in weights.items() if not k.startswith("embeddings/projection/")}
    return weights


def _has_layer(paths, layer: str) -> bool:
    return any(p.startswith(f"{layer}/") for p in paths)


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


def from_pretrained(
    path,
    task: str = "encoder",
    allow_missing=(),
    dtype=None,
    return_report: bool = False,
    **overrides,
):
    """A keras_bertfam model with the weights of the checkpoint in `path`.

    Args:
        path: a Hugging Face folder (config.json + model.safetensors or a
            sharded index), a Google TF1 checkpoint folder (bert_config.json /
            albert_config.json + *.ckpt.*) or prefix, or a keras_bertfam
            folder holding `model.keras`.
        task: "encoder" ({sequence_output, pooled_output}), "pretraining"
            (the MLM head and the sentence head of the objective; heads the
            checkpoint lacks are initialized fresh and reported) or
            a task whose head imports (`tasks.importable()`): classification
            (a Hugging Face `*ForSequenceClassification`, `convert.classifier`),
            token classification (`*ForTokenClassification`) or question answering
            (`*ForQuestionAnswering`), see `convert.hf_heads`; the report lists
            the `labels`.
        allow_missing: model weight path prefixes that may stay freshly
            initialized besides the optional parts (see the module
            docstring), e.g. `("encoder/attention_0/",)`. Everything else
            missing is an error.
        dtype: a Keras dtype policy for the layers (e.g. "mixed_bfloat16").
        return_report: also return the import report (a dict: what was
            initialized fresh, absent or dropped).
        **overrides: `EncoderConfig` fields to change, e.g. `dropout=0.0` or
            `activation="gelu"` (Google's TF1 code uses the tanh GELU, which is
            what "gelu" in their config files maps to). `pooler=True` on a
            checkpoint without one initializes a pooler fresh;
            `sentence_objective` chooses the pretrainer's sentence head.

    Returns:
        A `BertfamModel` (its config at `model.bertfam_config`), or
        `(model, report)` with `return_report=True`.
    """
    from keras_bertfam.models.builders import build_encoder, build_pretrainer

    if task not in import_tasks():
        raise InputError(f"task={task!r} is not one of {list(import_tasks())}")
    folder = Path(path)
    if (folder / "model.keras").is_file():
        model, report = _load_own(folder, task, overrides)
        return (model, report) if return_report else model
    checkpoint = read_checkpoint(path)
    family = checkpoint.config
    config = family.replace(**overrides)
    heads = [o for o in (config.sentence_objective, family.sentence_objective) if o != "none"]
    weights = assemble_weights(checkpoint, sentence_head=(heads or ["nsp"])[0])
    weights = _without_identity_projection(weights, config)
    if "pooler" not in overrides:
        config = config.replace(pooler=_has_layer(weights, "pooler"))
    name = re.sub(r"\W", "_", checkpoint.folder.name) or "checkpoint"
    labels = None
    if task not in IMPORT_TASKS:  # a task's head, imported by the task's `hf_head` module
        from keras_bertfam.models.tasks import build_task_model

        head = importlib.import_module(tasks.get(task).hf_head).task_head(checkpoint)
        labels = head.pop("labels", None)
        model = build_task_model(build_encoder(config, dtype=dtype, name=f"{name}_encoder"),
                                 task, name=name, **head)  # fmt: skip
    elif task == "encoder":
        model = build_encoder(config, dtype=dtype, name=name)
    else:
        model = build_pretrainer(config, dtype=dtype, name=name)
    report = _load_parts(model, weights, config, checkpoint.source, str(path), task,
                         allow_missing)  # fmt: skip
    if labels is not None:
        report["labels"] = labels
    _log_report(report)
    model.bertfam_config = config
    if task == "encoder":  # a sentence-transformers folder: its pooling, for the export
        report["sentence"] = model.bertfam_sentence = read_layout(checkpoint.folder)
    return (model, report) if return_report else model


def _load_parts(model, weights, config, source_format, source, task, allow_missing) -> dict:
    """Load `weights` into `model` strictly, the optional parts following the checkpoint;
    returns the import report (what was initialized fresh, absent or dropped)."""
    model_paths = [variable.path for variable in model.weights]
    report = {
        "source": source,
        "format": source_format,
        "task": task,
        "objective": config.sentence_objective,
        "pooler": config.pooler,
        "initialized_fresh": [],
        "absent": [],
        "dropped": [],
    }
    fresh_prefixes, drop_prefixes = [], []
    for part, layers in OPTIONAL_PARTS.items():
        in_file = [layer for layer in layers if _has_layer(weights, layer)]
        in_model = [layer for layer in layers if _has_layer(model_paths, layer)]
        if in_file and not in_model:
            report["dropped"] += in_file
            drop_prefixes += [f"{layer}/" for layer in in_file]
        elif in_model and not in_file:
            report["initialized_fresh"] += in_model
            fresh_prefixes += [f"{layer}/" for layer in in_model]
        elif part == "pooler" and not in_file and not config.pooler:
            report["absent"].append("pooler")
    left = load_into(model, weights, (*allow_missing, *fresh_prefixes), drop=tuple(drop_prefixes))
    report["initialized_fresh"] += [p for p in left if not p.startswith(tuple(fresh_prefixes))]
    return report


def _log_report(report: dict) -> None:
    where = f"{report['source']} ({report['format']}, task={report['task']})"
    if report["initialized_fresh"]:
        logger.warning(
            "%s: initialized fresh, not in the checkpoint: %s",
            where,
            ", ".join(report["initialized_fresh"]),
        )
    if report["absent"]:
        logger.info(
            "%s: built without what the checkpoint lacks: %s", where, ", ".join(report["absent"])
        )
    if report["dropped"]:
        logger.info("%s: checkpoint parts not used: %s", where, ", ".join(report["dropped"]))


def _load_own(folder: Path, task: str, overrides: dict):
    from keras_bertfam.models.builders import encoder_of
    from keras_bertfam.models.config import EncoderConfig
    from keras_bertfam.models.saving import load_model

    if overrides:
        raise InputError(
            f"config overrides {sorted(overrides)} cannot change a saved model.keras; "
            "build a new model and load its weights instead"
        )
    model = load_model(folder)
    inputs = {t.name for t in model.inputs}
    layers = [layer.name for layer in model.layers if layer.name not in inputs]
    dropped = []
    if task == "encoder":
        model = encoder_of(model)
        kept = {layer.name for layer in model.layers}
        dropped = [name for name in layers if name not in kept]
    config = None
    if (folder / "config.json").is_file():
        config = EncoderConfig.from_json_file(folder / "config.json")
        model.bertfam_config = config
    if "sequence_output" in model.output and (folder / REPORT_FILE).is_file():  # as converted
        model.bertfam_sentence = json.loads((folder / REPORT_FILE).read_text()).get("sentence")
    report = {
        "source": str(folder),
        "format": "keras_bertfam",
        "task": task,
        "objective": config.sentence_objective if config else None,
        "pooler": config.pooler if config else "pooler" in layers,
        "initialized_fresh": [],
        "absent": [],
        "dropped": dropped,
    }
    return model, report


def convert_checkpoint(path, out, task: str = "pretraining", allow_missing=(), overwrite=False,
                       pairs: bool = False, **overrides) -> dict:  # fmt: skip
    """Import `path` and write `out/model.keras`, `out/config.json`, `out/import_report.json`
    and `out/tokenizer/` (and with task "classification", `out/task.json`: the label
    names, and whether the classifier reads text pairs, `pairs`).

    The folder then loads with `from_pretrained(out)` and fine-tunes with
    `bertfam finetune --model out`; a classifier exports with `bertfam export`.
    Returns a summary (source, task, parameters, tokenizer, out, and the import
    `report`).
    """
    from keras_bertfam.data.tokenizers import find_tokenizer

    out = Path(out)
    if (out / "model.keras").exists() and not overwrite:
        raise OutputExistsError(f"{str(out / 'model.keras')!r} exists; pass overwrite=True")
    model, report = from_pretrained(
        path, task=task, allow_missing=allow_missing, return_report=True, **overrides
    )
    # read before anything is written: a corrupt tokenizer file fails the convert
    tokenizer = find_tokenizer(Path(path) if Path(path).is_dir() else Path(path).parent)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    (out / "config.json").write_text(model.bertfam_config.to_json())
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2))
    if tokenizer is not None:
        tokenizer.copy_files(out / "tokenizer")
    if task not in IMPORT_TASKS:  # a task model: task.json, as `finetune` writes it
        from keras_bertfam.training.evaluate import TASK_FILE

        info = {"task": task, "labels": report.get("labels"), "pairs": bool(pairs),
                "source": str(path)}  # fmt: skip
        (out / TASK_FILE).write_text(json.dumps(info, indent=2))
    return {
        "source": str(path),
        "task": task,
        "parameters": int(model.count_params()),
        "tokenizer": tokenizer.kind if tokenizer is not None else None,
        "out": str(out),
        "report": report,
    }
