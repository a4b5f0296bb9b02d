"""`bertfam export`: one entry point from a model folder to a SavedModel, a TFLite file,
the two TF-Hub SavedModels (`keras_bertfam.export.tfhub`) or a Hugging Face folder
(`keras_bertfam.export.huggingface`).

The folder may be anything the library writes or reads: a `bertfam finetune`
output (its `task.json` gives the task, label names, text pairs and sequence
length), a `bertfam pretrain` or `bertfam convert` output (`model.keras` +
`tokenizer/`), or a Hugging Face / Google checkpoint folder (imported with
`from_pretrained`). The tokenizer found beside the model goes into the
raw-text signature (or raw-text TFLite model) unless `text=False`.

Example:

>>> import tempfile, keras_bertfam as bf
>>> from keras_bertfam.export.folder import load_for_export
>>> folder = tempfile.mkdtemp()
>>> bf.build_pretrainer("bert_tiny", num_layers=1).save(f"{folder}/model.keras")
>>> model, tokenizer, info = load_for_export(folder)
>>> sorted(model.output), tokenizer, info["task"]
(['pooled_output', 'sequence_output'], None, 'encoder')
"""

from __future__ import annotations

import logging
from pathlib import Path

from keras_bertfam.deprecation import renamed_keywords
from keras_bertfam.errors import InputError, MissingInputError
from keras_bertfam.kinds import EXPORT_FORMATS
from keras_bertfam.training.finetune import model_limits
from keras_bertfam.validate import require_choice, require_int

FORMATS = EXPORT_FORMATS
LOG = logging.getLogger("keras_bertfam")


def load_for_export(folder, heads: bool = False):
    """(model, tokenizer or None, info) of a model folder; info has task, labels, pairs, length.

    A keras_bertfam folder's pretrainer keeps its heads with `heads=True`; otherwise,
    and for checkpoints of other sources, the encoder is loaded.

    `info["sequence_length"]` is the length the model was trained or fine-tuned
    at when the folder says (`task.json`, or a pretrain run's `data_config.json`).
    """
    from keras_bertfam.convert.importer import from_pretrained
    from keras_bertfam.data.pipeline import read_data_config
    from keras_bertfam.data.tokenizers import find_tokenizer
    from keras_bertfam.export.saved_model import task_of
    from keras_bertfam.training.evaluate import TASK_FILE

    folder = Path(folder)
    if (folder / TASK_FILE).is_file():
        return _task_folder(folder)
    whole = heads and (folder / "model.keras").is_file()
    model = from_pretrained(folder, task="pretraining" if whole else "encoder")
    info = {"task": task_of(model), "labels": None, "pairs": False}
    if (folder / "model.keras").is_file() and (folder / "data_config.json").is_file():
        # a pretrain output (a Hugging Face folder may hold a data_config.json of its own)
        info["sequence_length"] = read_data_config(folder / "data_config.json").sequence_length
    return model, find_tokenizer(folder), info


def _task_folder(folder: Path):
    """(task model, tokenizer or None, info) of a `finetune` or `convert --task` output:
    the tokenizer is optional here (`--no-text` exports and Hugging Face folders go
    without one)."""
    from keras_bertfam.data.tokenizers import find_tokenizer
    from keras_bertfam.models.config import EncoderConfig
    from keras_bertfam.models.saving import load_model
    from keras_bertfam.training.evaluate import TASK_FILE, read_task_info

    if not (folder / "model.keras").is_file():
        raise MissingInputError(f"{str(folder / 'model.keras')!r} is missing beside {TASK_FILE}")
    model = load_model(folder / "model.keras")
    if (folder / "config.json").is_file():  # as `convert` writes it: the encoder's config
        model.bertfam_config = EncoderConfig.from_json_file(folder / "config.json")
    tokenizer = find_tokenizer(folder / "tokenizer") if (folder / "tokenizer").is_dir() else None
    return model, tokenizer or find_tokenizer(folder), read_task_info(folder / TASK_FILE)


def sequence_length_for(model, info: dict, requested: int | None) -> int:
    """The export's sequence length: `requested`, else what the folder was trained at,
    else min(128, the model's); never more than the model's position table serves."""
    limit = model_limits(model)["max_sequence_length"]
    length = requested or info.get("sequence_length") or min(128, limit or 128)
    require_int("sequence_length", length, minimum=3)
    if limit is not None and length > limit:
        raise InputError(
            f"sequence_length={length} exceeds the model's max_sequence_length={limit}"
        )
    return length


def representative_inputs(path, tokenizer, sequence_length: int, task: str, rows: int = 200):
    """Input dicts for int8 calibration from a create-data folder or a task file.

    A task file is read as the model's task reads its files (`task`, a task name
    or "encoder"); an encoder takes the default task's files (texts and labels,
    the labels unused).
    """
    from keras_bertfam import tasks
    from keras_bertfam.data.batching import batches
    from keras_bertfam.data.records import MANIFEST, load_data

    path = Path(path)
    if (path / MANIFEST).is_file():
        return [x for x, *_ in load_data(path, batch_size=8).take(rows // 8)]
    if tokenizer is None:
        raise InputError("calibrating on a task file needs the model folder's tokenizer")
    spec = tasks.get(task if task in tasks.names() else tasks.DEFAULT)
    data = spec.prepare(path, tokenizer, sequence_length)
    dataset = batches(data["features"], data["targets"], 8, sequence_length, bucketing=False)
    return [x for x, *_ in dataset.take(rows // 8)]


@renamed_keywords(max_seq_length="sequence_length")
def export_folder(
    folder,
    fmt: str = "saved_model",
    root="saved_models",
    name: str | None = None,
    sequence_length: int | None = None,
    text: bool = True,
    overwrite: bool = False,
    quantization: str = "float32",
    representative=None,
) -> dict:
    """Export the model in `folder`; returns what was written (and the TFLite report)."""
    from keras_bertfam.export.saved_model import export_saved_model
    from keras_bertfam.export.tfhub import export_tfhub
    from keras_bertfam.export.tflite import export_tflite

    require_choice("format", fmt, FORMATS)
    model, tokenizer, info = load_for_export(folder, heads=fmt in ("huggingface", "tfhub"))
    name = name or Path(folder).resolve().name
    length = sequence_length_for(model, info, sequence_length)
    vocabulary = model_limits(model)["vocabulary_size"]
    if text and tokenizer is not None and vocabulary and tokenizer.vocabulary_size > vocabulary:
        raise InputError(
            f"the tokenizer beside the model has {tokenizer.vocabulary_size} tokens but the "
            f"model's vocabulary_size={vocabulary}: ids above it would fail at serving time"
        )
    if text and tokenizer is None and fmt == "huggingface":
        LOG.info("no tokenizer beside the model in %s: the Hugging Face folder gets no "
                 "tokenizer files", folder)  # fmt: skip
    elif text and tokenizer is None:
        raise InputError(
            f"no tokenizer beside the model in {str(folder)!r}: a raw-text signature needs one "
            "(put its files in the folder or tokenizer/), or export token ids only (--no-text)"
        )
    if fmt == "saved_model":
        target = export_saved_model(
            model,
            tokenizer if text else None,
            root,
            name,
            sequence_length=length,
            overwrite=overwrite,
            labels=info.get("labels"),
            pairs=bool(info.get("pairs")),
        )
        return {"format": fmt, "path": str(target), "task": info["task"]}
    if fmt == "tfhub":
        tokenizer = tokenizer if text else None
        target = export_tfhub(model, tokenizer, root, name, length, overwrite=overwrite)
        return {"format": fmt, "path": str(target), "task": info["task"]}
    if fmt == "huggingface":
        from keras_bertfam.export.huggingface import export_huggingface

        target = export_huggingface(model, tokenizer if text else None, root, name, overwrite,
                                    labels=info.get("labels"))  # fmt: skip
        return {"format": fmt, "path": str(target), "task": info["task"]}
    suffix = "text-" if text else ""
    path = Path(root) / name / f"{name}-{suffix}{quantization}.tflite"
    samples = None
    if representative is not None:
        samples = representative_inputs(representative, tokenizer, length, info["task"])
    report = export_tflite(
        model,
        path,
        quantization=quantization,
        representative_data=samples,
        sequence_length=length,
        tokenizer=tokenizer if text else None,
        overwrite=overwrite,
    )
    return {"format": fmt, "path": str(path), "task": info["task"], "report": report}


def describe(result: dict) -> str:
    """A short printable summary of `export_folder`'s result."""
    lines = [f"exported {result['task']} -> {result['path']}"]
    if "report" in result:
        from keras_bertfam.export.tflite import format_report

        lines.append(format_report(result["report"]))
    return "\n".join(lines)
