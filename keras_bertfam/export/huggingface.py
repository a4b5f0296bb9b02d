"""Hugging Face folders: `config.json`, `model.safetensors` and the tokenizer files.

`export_huggingface(model, tokenizer, "saved_models", name)` writes
`saved_models/<name>-hf/`, which `transformers.AutoModel` (an encoder),
`AutoModelForPreTraining` / `AutoModelForMaskedLM` (a pretrainer) and
`AutoTokenizer` load, for BERT (with its NSP head), ALBERT (groups, E != H, SOP
head), RoBERTa, ModernBERT and ELECTRA (an `ElectraPretrainer` writes two folders:
`<name>-hf/`, the discriminator as `ElectraForPreTraining`, and
`<name>-generator-hf/`, the generator as `ElectraForMaskedLM`). The weight names come
from the importer's rule table read backwards (`keras_bertfam.convert.export_names`);
the config.json is checked by reading it back with the importer
(`keras_bertfam.export.hf_config`). A
model with parts Hugging Face cannot express (attention-only sharing, a hybrid, a
sentence head its family lacks) is refused with a message naming the part.
Classifiers of BERT, ALBERT and RoBERTa whose head reads the pooler export as
`*ForSequenceClassification` with their labels (`keras_bertfam.export.hf_classifier`);
other task models are refused: export their encoder.

An existing folder is never replaced without `overwrite=True`; the new folder is
written beside it first.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from keras_bertfam import tasks
from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.export.hf_config import UnexpressibleError, family_of, hf_config
from keras_bertfam.models.electra import ElectraPretrainer, electra_parts

SUFFIX = "-hf"
BASE_PREFIX = {"bert": "bert.", "albert": "albert.", "roberta": "roberta.",
               "electra": "electra.", "modernbert": "model."}  # fmt: skip
BASE_NAMES = ("embeddings.", "embeddings_project.", "encoder.", "pooler.", "layers.",
              "final_norm.")  # fmt: skip
TOKENIZER_CLASSES = {"wordpiece": "BertTokenizer", "sentencepiece": "AlbertTokenizer",
                     "bpe": "RobertaTokenizer"}  # fmt: skip
ROLES = {"cls": "cls_token", "sep": "sep_token", "pad": "pad_token", "unk": "unk_token",
         "mask": "mask_token"}  # fmt: skip


def _head(model, config) -> str | None:
    if "rtd_logits" in model.output:
        return "rtd"
    if "mlm_logits" not in model.output:
        return None
    return config.sentence_objective if config.sentence_objective != "none" else "mlm"


def hf_tensors(model, family: str) -> dict:
    """Our weights under their Hugging Face names (numpy float32, PyTorch layouts)."""
    import numpy as np

    from keras_bertfam.convert.export_names import hf_names

    config = model.bertfam_config
    source, prefix = f"hf_{family}", BASE_PREFIX[family]
    tensors, homeless = {}, []
    for variable in model.weights:
        names = hf_names(source, variable.path, config.inner_group_size)
        if not names:
            homeless.append(variable.path)
        array = np.asarray(variable.numpy(), np.float32)
        for name, transpose, part in names:
            value = np.split(array, 3, axis=-1)[part] if part is not None else array
            value = value.T if transpose else value
            name = prefix + name if name.startswith(BASE_NAMES) else name
            tensors[name] = np.ascontiguousarray(value)
    if homeless:
        raise UnexpressibleError(
            f"Hugging Face {family} models have no place for these weights: {homeless}"
        )
    return tensors


def tokenizer_files(tokenizer, folder: Path) -> None:
    """The tokenizer's files and a tokenizer_config.json that AutoTokenizer reads."""
    tokenizer.copy_files(folder)
    special = {ROLES[r]: tokenizer.vocabulary[i] for r, i in tokenizer.special_ids.items()}
    values = {**special, "model_max_length": 512}
    if any(Path(f).name == "tokenizer.json" for f in tokenizer.files):
        values["tokenizer_class"] = "PreTrainedTokenizerFast"
    else:
        values["tokenizer_class"] = TOKENIZER_CLASSES[tokenizer.kind]
    if tokenizer.kind == "wordpiece":
        values["do_lower_case"] = bool(tokenizer.lower_case)
    if tokenizer.kind == "sentencepiece":  # our SentencePiece keeps case and accents
        values.update(do_lower_case=False, keep_accents=True, remove_space=True)
    (folder / "tokenizer_config.json").write_text(json.dumps(values, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2))


def export_huggingface(model, tokenizer, root="saved_models", name: str = "model",
                       overwrite: bool = False, labels=None) -> Path:  # fmt: skip
    """Write `root/<name>-hf/` (config.json, model.safetensors, tokenizer files).

    Args:
        model: an encoder, a pretrainer or a classifier of keras_bertfam.
        tokenizer: its `Tokenizer`, or None for the weights alone.
        labels: a classifier's class names, in id order (default LABEL_0, ...).
    """
    from keras_bertfam.models.builders import encoder_of

    target = Path(root) / f"{name}{SUFFIX}"
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{str(target)!r} exists; pass overwrite=True to replace it")
    task = tasks.task_of(model)
    if task is not None and task.hf_head:  # a head with a Hugging Face class (classifiers)
        from keras_bertfam.export.hf_classifier import check_classifier

        encoder = check_classifier(model)
        config = encoder.bertfam_config
        _write(encoder, config, family_of(config), tokenizer, target, (model, labels))
        return target
    if task is not None:
        raise UnexpressibleError(
            f"{task.name} models are not exported to Hugging Face; "
            "export their encoder (`encoder_of(model)`)"
        )
    config = getattr(model, "bertfam_config", None) or encoder_of(model).bertfam_config
    if config is None:
        raise InputError("the model has no bertfam_config: build it with keras_bertfam")
    parts = [(model, config, family_of(config), target)]
    if isinstance(model, ElectraPretrainer):  # both folders: discriminator and generator
        generator_target = Path(root) / f"{name}-generator{SUFFIX}"
        if generator_target.exists() and not overwrite:
            raise OutputExistsError(
                f"{str(generator_target)!r} exists; pass overwrite=True to replace it"
            )
        discriminator, generator = electra_parts(model)
        parts = [(discriminator, discriminator.bertfam_config, "electra", target),
                 (generator, generator.bertfam_config, "electra", generator_target)]  # fmt: skip
    for part, part_config, family, folder in parts:
        _write(part, part_config, family, tokenizer, folder)
    return target


def _write(model, config, family: str, tokenizer, target: Path, classifier=None) -> None:
    """One folder: config.json, model.safetensors and the tokenizer files; with
    `classifier` (the classification model and its labels), its head too."""
    from safetensors.numpy import save_file

    special = tokenizer.special_ids if tokenizer is not None else {}
    values = hf_config(config, _head(model, config), special, family)
    if "pooler" not in {w.path.split("/")[0] for w in model.weights}:
        values["add_pooling_layer"] = False
    tensors = hf_tensors(model, family)
    if classifier is not None:
        from keras_bertfam.export.hf_classifier import classifier_parts, move_pooler

        head_values, head_tensors = classifier_parts(classifier[0], family, classifier[1])
        values.update(head_values)
        values.pop("add_pooling_layer", None)
        tensors = {**move_pooler(tensors, family), **head_tensors}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        (staging / "config.json").write_text(json.dumps(values, indent=2, sort_keys=True))
        save_file(tensors, str(staging / "model.safetensors"), metadata={"format": "pt"})
        if tokenizer is not None:
            tokenizer_files(tokenizer, staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
