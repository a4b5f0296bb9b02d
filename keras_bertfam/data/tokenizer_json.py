"""What a Hugging Face `tokenizer.json` says around a byte-level BPE model, read for the graph.

`bpe_options(spec, path)` turns the pipeline parts of a parsed `tokenizer.json`
into the keyword arguments of `BytePairTokenizer`, and refuses (naming the part)
what the in-graph tokenizer cannot reproduce, rather than giving other ids:

- `normalizer`: none, or one Unicode normal form (NFC, NFD, NFKC, NFKD), alone or
  in a `Sequence` (ModernBERT's is NFC);
- `pre_tokenizer`: `ByteLevel` with its GPT-2 regex (`use_regex`), alone or in a
  `Sequence`; `add_prefix_space` is kept;
- `post_processor`: `RobertaProcessing` (`<s> a </s></s> b </s>`), `BertProcessing`
  or a `TemplateProcessing` of the form `[CLS] $A [SEP]` / `[CLS] $A [SEP]... $B [SEP]`
  (ModernBERT's) give the packing tokens and how many separators stand between the
  two texts of a pair;
- `added_tokens`: the `lstrip` / `rstrip` flags of the special tokens.

Example:

>>> spec = {"normalizer": {"type": "NFC"},
...         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
...         "post_processor": {"type": "RobertaProcessing", "cls": ["<s>", 0],
...                            "sep": ["</s>", 2]}}
>>> options = bpe_options(spec, "tokenizer.json")
>>> options["normalizer"], options["pair_separators"], options["packing_tokens"]
('NFC', 2, ('<s>', '</s>'))
"""

from __future__ import annotations

from keras_bertfam.data.tokenizers import TokenizerError

NORMAL_FORMS = ("NFC", "NFD", "NFKC", "NFKD")


def bpe_options(spec: dict, path) -> dict:
    """`BytePairTokenizer` keyword arguments from a parsed tokenizer.json (see the module)."""
    where = repr(str(path))
    return {
        "normalizer": _normalizer(spec.get("normalizer"), where),
        "add_prefix_space": _pre_tokenizer(spec.get("pre_tokenizer"), where),
        **_packing(spec.get("post_processor"), where),
        "strip": {
            token["content"]: (bool(token.get("lstrip")), bool(token.get("rstrip")))
            for token in spec.get("added_tokens") or []
            if token.get("special") and (token.get("lstrip") or token.get("rstrip"))
        },
    }


def _parts(part: dict | None, key: str) -> list[dict]:
    if not part:
        return []
    if part.get("type") == "Sequence":
        return [p for inner in part.get(key) or [] for p in _parts(inner, key)]
    return [part]


def _normalizer(part, where) -> str | None:
    forms = [p.get("type") for p in _parts(part, "normalizers")]
    if len(forms) > 1 or any(f not in NORMAL_FORMS for f in forms):
        raise TokenizerError(
            f"{where}: normalizer {forms} cannot run in the graph beside byte-level BPE "
            f"(supported: none, or one of {list(NORMAL_FORMS)})"
        )
    return forms[0] if forms else None


def _pre_tokenizer(part, where) -> bool:
    parts = _parts(part, "pretokenizers")
    if (
        len(parts) != 1
        or parts[0].get("type") != "ByteLevel"
        or not parts[0].get("use_regex", True)
    ):
        raise TokenizerError(
            f"{where}: pre_tokenizer {[p.get('type') for p in parts]} is not the byte-level "
            "one the in-graph BPE reproduces (a single ByteLevel with use_regex=true)"
        )
    return bool(parts[0].get("add_prefix_space", False))


def _packing(part, where) -> dict:
    """`pair_separators` and `packing_tokens` (the [CLS]-like and [SEP]-like tokens) of a
    post-processor; none of them when the file has no packing rule."""
    for processor in _parts(part, "processors"):
        kind = processor.get("type")
        if kind in ("RobertaProcessing", "BertProcessing"):
            tokens = (processor.get("cls") or [None])[0], (processor.get("sep") or [None])[0]
            return {"pair_separators": 2 if kind == "RobertaProcessing" else 1,
                    "packing_tokens": tokens if None not in tokens else None}  # fmt: skip
        if kind == "TemplateProcessing":
            return _template(processor, where)
    return {}


def _template(processor, where) -> dict:
    def shape(items):
        return "".join(
            item["Sequence"]["id"] if "Sequence" in item else "S" for item in items or []
        )

    single, pair = shape(processor.get("single")), shape(processor.get("pair"))
    between = pair[2:-2]
    if single != "SAS" or not (pair[:2] == "SA" and pair[-2:] == "BS" and set(between) == {"S"}):
        raise TokenizerError(
            f"{where}: post_processor template {single!r} / {pair!r} (S: a special token) is "
            "not [CLS] $A [SEP] / [CLS] $A [SEP] $B [SEP], the packing the raw-text "
            "signatures build"
        )
    items = processor["single"]
    tokens = items[0]["SpecialToken"]["id"], items[2]["SpecialToken"]["id"]
    return {"pair_separators": len(between), "packing_tokens": tokens}
