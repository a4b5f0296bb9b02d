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
Task models whose task has a Hugging Face head (its `hf_head` module) export as
that class (`keras_bertfam.export.hf_classifier`): classifiers of BERT, ALBERT and
RoBERTa whose head reads the pooler as `*ForSequenceClassification`, token
classifiers as `*ForTokenClassification` (with their labels) and question answering
models as `*ForQuestionAnswering` (BERT, ALBERT, RoBERTa, ELECTRA); other task models
(multiple choice, ModernBERT's heads) are refused: export their encoder. An encoder
imported from a sentence-transformers folder (all-MiniLM-L6-v2) gets its
modules.json, 1_Pooling/ and sentence_bert_config.json again
(`keras_bertfam.convert.sentence`), so `SentenceTransformer(folder)` loads it.

An existing folder is never replaced without `overwrite=True`; the new folder is
written beside it first.
"""

from __future__ import annotations

import importlib
import json
import shutil
import tempfile
from pathlib import Path

from keras_bertfam import tasks
from keras_bertfam.errors import InputError, OutputExistsError
from keras_bertfam.export.hf_config import UnexpressibleError, family_of, hf_config
from keras_bertfam.models.electra import ElectraPretrainer, electra_parts
from keras_bertfam.models.packed import plain_for_export

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


def hf_tensors(model, family: str, heads: dict | None = None, config=None) -> dict:
    """Our weights under their Hugging Face names (numpy float32, PyTorch layouts);
    `heads` maps a task head's layers to their modules (`hf_classifier.head_names`);
    `config` defaults to the model's `bertfam_config`."""
    import numpy as np

    from keras_bertfam.convert.export_names import hf_names

    config = config or model.bertfam_config
    source, prefix = f"hf_{family}", BASE_PREFIX[family]
    tensors, homeless = {}, []
    weights = [(v.path, np.asarray(v.numpy(), np.float32)) for v in model.weights]
    if family == "albert" and not any(p.startswith("embeddings/projection/") for p, _ in weights):
        # E = H: no projection here, but Hugging Face's ALBERT always has one; the identity
        # computes the same (and the import drops it again)
        hidden = config.hidden_dim
        weights += [("embeddings/projection/kernel", np.eye(hidden, dtype=np.float32)),
                    ("embeddings/projection/bias", np.zeros(hidden, np.float32))]  # fmt: skip
    for path, array in weights:
        layer, kind = path.rsplit("/", 1)
        if heads and layer in heads:  # no base prefix: the head sits beside the base model
            names = [(f"{heads[layer]}.{'weight' if kind == 'kernel' else kind}",
                      kind == "kernel", None)]  # fmt: skip
        else:
            names = hf_names(source, path, config.inner_group_size)
        if not names:
            homeless.append(path)
        for name, transpose, part in names:
            value = np.split(array, 3, axis=-1)[part] if part is not None else array
            value = value.T if transpose else value
            name = prefix + name if name.startswith(BASE_NAMES) and layer not in (heads or {}) \
                else name  # fmt: skip
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
                       overwrite: bool = False, labels=None, sentence=None) -> Path:  # fmt: skip
    """Write `root/<name>-hf/` (config.json, model.safetensors, tokenizer files).

    Args:
        model: an encoder, a pretrainer or a task model of keras_bertfam (a sequence or
            token classifier, a question answering model).
        tokenizer: its `Tokenizer`, or None for the weights alone.
        labels: a classifier's class names, in id order (default LABEL_0, ...).
        sentence: an encoder's sentence-transformers layout (`{"pooling": "mean",
            "normalize": True, "max_seq_length": 256}`, see
            `keras_bertfam.convert.sentence`), which adds modules.json,
            1_Pooling/ and sentence_bert_config.json; default: the one
            `from_pretrained` read from a sentence-transformers folder
            (`model.bertfam_sentence`); False: none.
    """
    from keras_bertfam.models.builders import encoder_of

    target = Path(root) / f"{name}{SUFFIX}"
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{str(target)!r} exists; pass overwrite=True to replace it")
    model = plain_for_export(model, "the Hugging Face export")
    task = tasks.task_of(model)
    if sentence and (task is not None or "sequence_output" not in model.output):
        raise InputError("a sentence-transformers layout (sentence=...) is for an encoder")
    if task is not None and task.hf_head:  # a head with a Hugging Face class
        from keras_bertfam.export.hf_classifier import check_task_model

        kind = importlib.import_module(task.hf_head).HEAD
        config, family = check_task_model(model, kind)
        _write(model, config, family, tokenizer, target, (kind, labels))
        return target
    if task is not None:
        raise UnexpressibleError(
            f"{task.name} models are not exported to Hugging Face (no head of theirs is "
            "mapped to a transformers class); export their encoder (`encoder_of(model)`)"
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
    if sentence is None and "sequence_output" in model.output:
        sentence = getattr(model, "bertfam_sentence", None)
    for part, part_config, family, folder in parts:
        _write(part, part_config, family, tokenizer, folder, sentence=sentence or None)
    return target


def _write(model, config, family: str, tokenizer, target: Path, task=None,
           sentence=None) -> None:  # fmt: skip
    """One folder: config.json, model.safetensors and the tokenizer files; with `task`
    (the kind of a task model's head and its labels), the head too; with `sentence`, the
    sentence-transformers files."""
    from safetensors.numpy import save_file

    special = tokenizer.special_ids if tokenizer is not None else {}
    values = hf_config(config, _head(model, config), special, family)
    if "pooler" not in {w.path.split("/")[0] for w in model.weights}:
        values["add_pooling_layer"] = False
    heads = None
    if task is not None:
        from keras_bertfam.export.hf_classifier import head_config, head_names

        values.update(head_config(model, task[0], family, task[1]))
        values.pop("add_pooling_layer", None)  # the task classes choose it themselves
        heads = head_names(task[0], family)
    tensors = hf_tensors(model, family, heads, config)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        (staging / "config.json").write_text(json.dumps(values, indent=2, sort_keys=True))
        save_file(tensors, str(staging / "model.safetensors"), metadata={"format": "pt"})
        if tokenizer is not None:
            tokenizer_files(tokenizer, staging)
        if sentence:
            from keras_bertfam.convert.sentence import write_layout

            length = sentence.get("max_seq_length") or config.max_sequence_length
            write_layout(staging, {**sentence, "max_seq_length": length}, config.hidden_dim)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
