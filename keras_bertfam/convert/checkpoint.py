"""Read a checkpoint folder: its config, its tensors (as numpy) and its kind.

Two sources are understood:

- Hugging Face folders: `config.json` with `model_type` bert / albert / roberta /
  xlm-roberta / electra / modernbert and `model.safetensors` (or a sharded
  `model.safetensors.index.json`). Read with `safetensors` into numpy, without
  torch. Pickled weights
  (`pytorch_model.bin`, `*.pt`, `*.ckpt` from PyTorch) are refused, never
  unpickled.
- Google's TF1 checkpoints: `bert_config.json` or `albert_config.json` beside a
  `*.ckpt*` prefix (`.index` + `.data-*`), read with `tf.train.load_checkpoint`.

Example:

>>> import json, tempfile, pathlib
>>> from keras_bertfam.convert.checkpoint import config_from_hf
>>> config_from_hf({"model_type": "roberta", "vocab_size": 100, "hidden_size": 32,
...                 "num_hidden_layers": 2, "num_attention_heads": 2,
...                 "intermediate_size": 64, "max_position_embeddings": 66,
...                 "type_vocab_size": 1, "pad_token_id": 1}).position_offset
2
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from keras_bertfam import requires
from keras_bertfam.errors import InputError
from keras_bertfam.models.config import EncoderConfig


class CheckpointError(InputError):
    """A checkpoint is missing, corrupt, unsupported or does not fit the model."""


@dataclasses.dataclass
class Checkpoint:
    """What a checkpoint folder holds, before it meets a model.

    Attributes:
        folder: the folder (tokenizer files are looked up there).
        source: "hf_bert", "hf_albert", "hf_roberta", "hf_electra", "hf_modernbert",
            "hf_modernbert_classifier", "google_bert" or "google_albert".
        config: the architecture, from the checkpoint's own config file.
        tensors: variable name -> numpy array, as stored.
        values: the config file as read (labels and head settings of a classifier).
    """

    folder: Path
    source: str
    config: EncoderConfig
    tensors: dict
    values: dict = dataclasses.field(default_factory=dict)


PICKLE_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.ckpt")
HF_FAMILIES = {"bert": "bert", "albert": "albert", "roberta": "roberta", "xlm-roberta": "roberta",
               "electra": "electra", "modernbert": "modernbert"}  # fmt: skip
HF_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
}
# Google's modeling.py (BERT and ALBERT) defines "gelu" as the tanh approximation.
GOOGLE_ACTIVATIONS = {"gelu": "gelu_approximate", "relu": "relu", "tanh": "tanh"}


def read_checkpoint(path) -> Checkpoint:
    """Read the checkpoint in `path` (a folder, a .safetensors file or a TF1 prefix)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if not (path.exists() or Path(f"{path}.index").is_file()):
        raise CheckpointError(f"checkpoint path {str(path)!r} does not exist")
    if (folder / "config.json").is_file() and not _google_config(folder):
        return _read_hf(folder, path)
    if _google_config(folder):
        return _read_google(folder, path)
    pickles = [name for name in PICKLE_FILES if (folder / name).exists()]
    raise CheckpointError(
        f"no checkpoint in {str(folder)!r}: expected a Hugging Face folder (config.json + "
        "model.safetensors) or a Google TF1 checkpoint (bert_config.json / albert_config.json "
        "+ *.ckpt.index)" + (f"; found only pickled weights {pickles}" if pickles else "")
    )


def _read_json(path: Path) -> dict:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{str(path)!r} is not valid JSON: {err}") from None
    if not isinstance(values, dict):
        raise CheckpointError(f"{str(path)!r} holds {type(values).__name__}, not a JSON object")
    return values


# -- Hugging Face ---------------------------------------------------------------------


def _safetensors_files(folder: Path, path: Path) -> list[Path]:
    if path.suffix == ".safetensors":
        return [path]
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = _read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(f"{str(index)!r} has no 'weight_map'")
        return [folder / name for name in sorted(set(weight_map.values()))]
    if (folder / "model.safetensors").is_file():
        return [folder / "model.safetensors"]
    pickles = [name for name in PICKLE_FILES if (folder / name).exists()]
    if pickles:
        raise CheckpointError(
            f"{str(folder)!r} holds only {pickles}: PyTorch pickles, which keras_bertfam "
            "never loads (unpickling runs arbitrary code). Convert them once to safetensors "
            'where torch is installed: `python -c "from transformers import AutoModel; '
            f"AutoModel.from_pretrained('{folder}').save_pretrained('{folder}', "
            'safe_serialization=True)"`'
        )
    raise CheckpointError(
        f"no model.safetensors or model.safetensors.index.json in {str(folder)!r}"
    )


def read_safetensors(files) -> dict:
    """All tensors of some .safetensors files, as numpy (bf16/fp16 widened to float32)."""
    from safetensors import SafetensorError, safe_open

    tensors = {}
    for file in files:
        if not file.is_file():
            raise CheckpointError(f"weights file {str(file)!r} does not exist")
        try:
            with safe_open(str(file), framework="numpy") as f:
                for name in f.keys():  # noqa: SIM118 (a safe_open handle)
                    array = f.get_tensor(name)
                    if array.dtype.kind == "f" or array.dtype.name == "bfloat16":
                        array = array.astype(np.float32)
                    tensors[name] = array
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(
                f"{str(file)!r} is not a readable safetensors file: {err}"
            ) from None
    return tensors


def config_from_hf(values: dict, tensor_names=()) -> EncoderConfig:
    """An `EncoderConfig` from a Hugging Face `config.json` (bert, albert, roberta,
    xlm-roberta, electra or modernbert).

    Args:
        tensor_names: the checkpoint's tensor names, where the config alone does not
            tell the model: an ELECTRA generator (`generator_*` tensors) or not.
    """
    model_type = values.get("model_type")
    family = HF_FAMILIES.get(model_type)
    if family is None:
        raise CheckpointError(
            f"config.json model_type={model_type!r} is not one of {sorted(HF_FAMILIES)}"
        )
    if family == "modernbert":
        from keras_bertfam.convert.hf_modernbert import config_fields

        return _config(config_fields(values), "config.json")
    if values.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(
            f"position_embedding_type={values['position_embedding_type']!r} is not supported "
            "(only 'absolute' position embeddings)"
        )
    activation = values.get("hidden_act", "gelu")
    if activation not in HF_ACTIVATIONS:
        raise CheckpointError(
            f"config.json hidden_act={activation!r} is not one of {sorted(HF_ACTIVATIONS)}"
        )
    offset = values.get("pad_token_id", 1) + 1 if family == "roberta" else 0
    fields = dict(
        vocabulary_size=values.get("vocab_size"),
        num_layers=values.get("num_hidden_layers"),
        num_heads=values.get("num_attention_heads"),
        hidden_dim=values.get("hidden_size"),
        intermediate_dim=values.get("intermediate_size"),
        max_sequence_length=values.get("max_position_embeddings", 512) - offset,
        position_offset=offset,
        num_segments=values.get("type_vocab_size", 2),
        dropout=values.get("hidden_dropout_prob", 0.1),
        attention_dropout=values.get("attention_probs_dropout_prob", 0.1),
        activation=HF_ACTIVATIONS[activation],
        layer_norm_epsilon=values.get("layer_norm_eps", 1e-12),
        initializer_range=values.get("initializer_range", 0.02),
        sentence_objective={"bert": "nsp", "albert": "sop"}.get(family, "none"),
    )
    if family == "electra":
        from keras_bertfam.convert import hf_electra

        generator = hf_electra.token_objective(tensor_names) == "mlm"
        fields.update(hf_electra.config_fields(values, generator))
    if family == "albert":
        fields.update(
            embedding_dim=values.get("embedding_size", 128),
            num_groups=values.get("num_hidden_groups", 1),
            inner_group_size=values.get("inner_group_num", 1),
            sharing="all",
        )
    return _config(fields, "config.json")


def _config(fields: dict, file: str) -> EncoderConfig:
    from keras_bertfam.models.config import ConfigError

    try:
        return EncoderConfig(**fields)
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"{file} does not describe a usable encoder: {err}") from None


def _read_hf(folder: Path, path: Path) -> Checkpoint:
    values = _read_json(folder / "config.json")
    config_from_hf(values)  # a config.json that cannot be read fails before the weights load
    tensors = read_safetensors(_safetensors_files(folder, path))
    config = config_from_hf(values, list(tensors))
    source = f"hf_{HF_FAMILIES[values['model_type']]}"
    if source == "hf_modernbert" and "classifier.weight" in tensors:
        source = "hf_modernbert_classifier"  # its `head.*` is the classifier's, not the MLM's
    return Checkpoint(folder, source, config, tensors, values)


# -- Google TF1 -----------------------------------------------------------------------


def _google_config(folder: Path) -> Path | None:
    for name in ("albert_config.json", "bert_config.json"):
        if (folder / name).is_file():
            return folder / name
    return None


def config_from_google(values: dict, albert: bool) -> EncoderConfig:
    """An `EncoderConfig` from Google's `bert_config.json` / `albert_config.json`."""
    activation = values.get("hidden_act", "gelu")
    if activation not in GOOGLE_ACTIVATIONS:
        raise CheckpointError(
            f"hidden_act={activation!r} is not one of {sorted(GOOGLE_ACTIVATIONS)}"
        )
    if albert and values.get("net_structure_type", 0) != 0:
        raise CheckpointError(
            f"albert_config.json net_structure_type={values['net_structure_type']!r}: only the "
            "standard structure 0 is supported"
        )
    fields = dict(
        vocabulary_size=values.get("vocab_size"),
        num_layers=values.get("num_hidden_layers"),
        num_heads=values.get("num_attention_heads"),
        hidden_dim=values.get("hidden_size"),
        intermediate_dim=values.get("intermediate_size"),
        max_sequence_length=values.get("max_position_embeddings", 512),
        num_segments=values.get("type_vocab_size", 2),
        dropout=values.get("hidden_dropout_prob", 0.1),
        attention_dropout=values.get("attention_probs_dropout_prob", 0.1),
        activation=GOOGLE_ACTIVATIONS[activation],
        initializer_range=values.get("initializer_range", 0.02),
        sentence_objective="sop" if albert else "nsp",
    )
    if albert:
        fields.update(
            embedding_dim=values.get("embedding_size", 128),
            num_groups=values.get("num_hidden_groups", 1),
            inner_group_size=values.get("inner_group_num", 1),
            sharing="all",
        )
    return _config(fields, "albert_config.json" if albert else "bert_config.json")


def _checkpoint_prefix(folder: Path, path: Path) -> str:
    if path != folder:
        if Path(f"{path}.index").is_file():
            return str(path)
        raise CheckpointError(f"no TF1 checkpoint {str(path)!r} ({path.name}.index is missing)")
    indexes = sorted(folder.glob("*.index"))
    if len(indexes) == 1:
        return str(indexes[0].with_suffix(""))
    tf = requires.tensorflow("reading a Google TF1 checkpoint")

    latest = tf.train.latest_checkpoint(str(folder))
    if latest:
        return latest
    if not indexes:
        raise CheckpointError(f"no TF1 checkpoint (*.ckpt.index) in {str(folder)!r}")
    raise CheckpointError(
        f"several TF1 checkpoints in {str(folder)!r} ({[p.name for p in indexes]}) and no "
        "'checkpoint' file: pass the prefix, e.g. .../model.ckpt-1000"
    )


def _read_google(folder: Path, path: Path) -> Checkpoint:
    tf = requires.tensorflow("reading a Google TF1 checkpoint")

    config_file = _google_config(folder)
    albert = config_file.name.startswith("albert")
    config = config_from_google(_read_json(config_file), albert)
    prefix = _checkpoint_prefix(folder, path)
    try:
        reader = tf.train.load_checkpoint(prefix)
        names = reader.get_variable_to_shape_map()
        tensors = {name: np.asarray(reader.get_tensor(name)) for name in names}
    except (tf.errors.OpError, ValueError) as err:
        raise CheckpointError(f"TF1 checkpoint {prefix!r} cannot be read: {err}") from None
    tensors = {
        name: value.astype(np.float32) if value.dtype.kind == "f" else value
        for name, value in tensors.items()
    }
    return Checkpoint(folder, "google_albert" if albert else "google_bert", config, tensors)
