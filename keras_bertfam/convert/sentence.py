"""sentence-transformers folders: how an encoder's tokens become one sentence vector.

A sentence-transformers folder (all-MiniLM-L6-v2) is a Hugging Face folder plus
`modules.json` (Transformer -> Pooling -> Normalize), `1_Pooling/config.json`
(which pooling) and `sentence_bert_config.json` (`max_seq_length`). `read_layout`
reads them as a small dict, `{"pooling": "mean", "normalize": True,
"max_seq_length": 256, "do_lower_case": False}`, which `from_pretrained` records
on the encoder (`model.bertfam_sentence`, and the import report's `sentence`);
`write_layout` writes the same files again (the Hugging Face export does, so
`SentenceTransformer(folder)` loads it). Both read `POOLING_KEYS`. Pipelines
with modules other than these (a Dense projection, max pooling) are not read:
`read_layout` gives None, with the reason in the log.

Example:

>>> import json, tempfile
>>> from pathlib import Path
>>> from keras_bertfam.convert.sentence import read_layout, write_layout
>>> folder = Path(tempfile.mkdtemp())
>>> layout = {"pooling": "mean", "normalize": True, "max_seq_length": 128}
>>> write_layout(folder, layout, hidden_dim=384)
>>> read_layout(folder) == {**layout, "do_lower_case": False}
True
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from keras_bertfam.convert.checkpoint import CheckpointError

LOG = logging.getLogger("keras_bertfam")
MODULES = "sentence_transformers.models."
# our pooling (`SequencePooling` modes) -> the Pooling module's config key
POOLING_KEYS = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens"}
OTHER_POOLING = ("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                 "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")  # fmt: skip


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{str(path)!r} is not readable JSON: {err}") from None


def read_layout(folder) -> dict | None:
    """The sentence layout of a sentence-transformers folder (None when it is not one, or
    when its pipeline has modules that keras_bertfam's pooling does not compute)."""
    folder = Path(folder)
    if not (folder / "modules.json").is_file():
        return None
    kinds = [(m.get("type", "").removeprefix(MODULES), m.get("path", ""))
             for m in _json(folder / "modules.json")]  # fmt: skip
    names = [kind for kind, _ in kinds]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        LOG.info("%s: the sentence-transformers modules %s are not read (only Transformer, "
                 "Pooling and Normalize are)", folder, names)  # fmt: skip
        return None
    pooling = _json(folder / kinds[1][1] / "config.json")
    modes = [ours for ours, key in POOLING_KEYS.items() if pooling.get(key)]
    if len(modes) != 1 or any(pooling.get(key) for key in OTHER_POOLING):
        LOG.info("%s: sentence-transformers pooling %s is not read (one of %s only)", folder,
                 {k: v for k, v in pooling.items() if v is True}, list(POOLING_KEYS))  # fmt: skip
        return None
    settings = {}
    if (folder / "sentence_bert_config.json").is_file():
        settings = _json(folder / "sentence_bert_config.json")
    return {"pooling": modes[0], "normalize": names[-1] == "Normalize",
            "max_seq_length": settings.get("max_seq_length"),
            "do_lower_case": bool(settings.get("do_lower_case", False))}  # fmt: skip


def write_layout(folder, layout: dict, hidden_dim: int) -> None:
    """modules.json, 1_Pooling/config.json and sentence_bert_config.json of `layout`
    (with "normalize", a Normalize module, which has no files of its own)."""
    folder = Path(folder)
    pooling = layout.get("pooling")
    if pooling not in POOLING_KEYS:
        raise CheckpointError(f"sentence pooling={pooling!r} is not one of {list(POOLING_KEYS)}")
    modules = [("Transformer", ""), ("Pooling", "1_Pooling")]
    if layout.get("normalize"):
        modules.append(("Normalize", "2_Normalize"))
    entries = [{"idx": i, "name": str(i), "path": path, "type": MODULES + kind}
               for i, (kind, path) in enumerate(modules)]  # fmt: skip
    (folder / "modules.json").write_text(json.dumps(entries, indent=2))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    values = {"word_embedding_dimension": int(hidden_dim),
              **{key: mode == pooling for mode, key in POOLING_KEYS.items()},
              **{key: False for key in OTHER_POOLING[:2]}}  # fmt: skip
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(values, indent=2))
    settings = {"max_seq_length": layout.get("max_seq_length"),
                "do_lower_case": bool(layout.get("do_lower_case", False))}  # fmt: skip
    (folder / "sentence_bert_config.json").write_text(json.dumps(settings, indent=2))
