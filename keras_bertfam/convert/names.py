"""Checkpoint variable names -> keras_bertfam weight paths, one rule table per source.

A rule is a regular expression over a checkpoint name, the layer path it fills
in our models (a template such as `encoder/attention_{i}/output`) and the kind
of variable: "torch" (a PyTorch `Linear`, stored [out, in], or a LayerNorm
weight/bias), "tf" (already [in, out]; LayerNorm gamma/beta), "table" (an
embedding table, copied) or "ignore". A `query`/`key`/`value` group in the
pattern sends the array into its third of our fused QKV kernel (`part`).
Names that carry no weights (buffers such as `position_ids`, optimizer slots,
`global_step`) map to `IGNORED`.

Sources: Hugging Face BERT / RoBERTa / ALBERT / ELECTRA / ModernBERT (`hf_*`, with
or without the `bert.` / `roberta.` / `albert.` / `electra.` / `model.` prefix,
LayerNorm as weight/bias or the old gamma/beta; ELECTRA's heads and ModernBERT's
rules live in `hf_electra` and `hf_modernbert`)
and Google's TF1 checkpoints of BERT and ALBERT (`google_*`).

Example:

>>> from keras_bertfam.convert.names import map_name
>>> map_name("hf_bert", "bert.encoder.layer.3.attention.self.key.weight")
Target(path='encoder/attention_3/qkv/kernel', transpose=True, part=1)
>>> map_name("google_albert",
...          "bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/dense/kernel")
Target(path='encoder/feedforward_0/intermediate/kernel', transpose=False, part=None)
"""

from __future__ import annotations

import re
from typing import NamedTuple

from keras_bertfam.convert import hf_electra, hf_heads, hf_modernbert


class Target(NamedTuple):
    path: str
    transpose: bool = False
    part: int | None = None


IGNORED = Target("")
QKV = {"query": 0, "key": 1, "value": 2}

# Suffix of a variable -> (our variable name, transpose?), per kind of layer.
_SUFFIXES = {
    "torch": {"weight": ("kernel", True), "bias": ("bias", False)},
    "torch_norm": {n: (v, False) for n, v in
                   (("weight", "gamma"), ("bias", "beta"), ("gamma", "gamma"), ("beta", "beta"))},
    "tf": {"kernel": ("kernel", False), "bias": ("bias", False),
           "gamma": ("gamma", False), "beta": ("beta", False)},
}  # fmt: skip
_SUFFIX_PATTERN = {
    "torch": r"\.(?P<p>weight|bias)",
    "torch_norm": r"\.(?P<p>weight|bias|gamma|beta)",
    "tf": r"/(?P<p>kernel|bias|gamma|beta)",
}
_QKV = r"(?P<qkv>query|key|value)"
_ATT, _FFN = "encoder/attention_{i}", "encoder/feedforward_{i}"

# (pattern without the variable suffix, our layer path, kind). Kinds "torch",
# "torch_norm" and "tf" add the suffix; "table" is copied as it is; "ignore" skips.
_HF_EMBEDDINGS = [
    (r"embeddings\.word_embeddings\.weight", "token_embedding/embeddings", "table"),
    (r"embeddings\.position_embeddings\.weight", "position_embedding/embeddings", "table"),
    (r"embeddings\.token_type_embeddings\.weight", "embeddings/segment_embedding", "table"),
    (r"embeddings\.LayerNorm", "embeddings/layer_norm", "torch_norm"),
    (r"embeddings\.(position_ids|token_type_ids)", "", "ignore"),
    (r"pooler\.dense", "pooler/dense", "torch"),
]
_L = r"encoder\.layer\.(?P<i>\d+)\."
_HF_LAYERS = [
    (_L + r"attention\.self\." + _QKV, _ATT + "/qkv", "torch"),
    (_L + r"attention\.output\.dense", _ATT + "/output", "torch"),
    (_L + r"attention\.output\.LayerNorm", _ATT + "/layer_norm", "torch_norm"),
    (_L + r"intermediate\.dense", _FFN + "/intermediate", "torch"),
    (_L + r"output\.dense", _FFN + "/output", "torch"),
    (_L + r"output\.LayerNorm", _FFN + "/layer_norm", "torch_norm"),
]


def _mlm_head(transform, norm_name, output):
    """The MLM head: transform dense + LayerNorm, output bias, and the decoder
    (tied to the token table: the importer checks that it equals the table)."""
    t, o = re.escape(transform), re.escape(output)
    return [
        (t + "dense", "mlm_head/dense", "torch"),
        (t + norm_name, "mlm_head/layer_norm", "torch_norm"),
        (o + r"(decoder\.)?bias", "mlm_output_bias/bias", "table"),
        (o + r"decoder\.weight", "token_embedding/embeddings", "table"),
    ]


_A = r"encoder\.albert_layer_groups\.(?P<g>\d+)\.albert_layers\.(?P<j>\d+)\."
RULES: dict[str, list] = {
    "hf_bert": [
        *_HF_EMBEDDINGS,
        *_HF_LAYERS,
        *_mlm_head("cls.predictions.transform.", "LayerNorm", "cls.predictions."),
        (r"cls\.seq_relationship", "nsp_head/dense", "torch"),
    ],
    "hf_roberta": [*_HF_EMBEDDINGS, *_HF_LAYERS, *_mlm_head("lm_head.", "layer_norm", "lm_head.")],
    "hf_albert": [
        *_HF_EMBEDDINGS,
        *_mlm_head("predictions.", "LayerNorm", "predictions."),
        (r"encoder\.embedding_hidden_mapping_in", "embeddings/projection", "torch"),
        (r"pooler", "pooler/dense", "torch"),
        (_A + r"attention\." + _QKV, _ATT + "/qkv", "torch"),
        (_A + r"attention\.dense", _ATT + "/output", "torch"),
        (_A + r"attention\.LayerNorm", _ATT + "/layer_norm", "torch_norm"),
        (_A + r"ffn", _FFN + "/intermediate", "torch"),
        (_A + r"ffn_output", _FFN + "/output", "torch"),
        (_A + r"full_layer_layer_norm", _FFN + "/layer_norm", "torch_norm"),
        (r"sop_classifier\.classifier", "sop_head/dense", "torch"),
    ],
}

RULES["hf_electra"] = [*_HF_EMBEDDINGS, *_HF_LAYERS, *hf_electra.RULES_HEAD]
# Google's TF1 names: kernels are already [in, out]; LayerNorm is gamma/beta.
RULES["hf_modernbert"] = hf_modernbert.RULES
RULES["hf_modernbert_classifier"] = hf_modernbert.CLASSIFIER_RULES
# The task classes' heads (`hf_heads.HEADS`, which the exporter reads too): BERT and
# ALBERT classify the pooler's output; RoBERTa's sequence head is dense + tanh on <s> (a
# pooler, as ours) and then `out_proj`; token classifiers and span heads read every token.
for _family in ("bert", "albert", "roberta", "electra"):
    RULES[f"hf_{_family}"] += hf_heads.rules(_family)

_GOOGLE_COMMON = [
    (r"bert/embeddings/word_embeddings", "token_embedding/embeddings", "table"),
    (r"bert/embeddings/position_embeddings", "position_embedding/embeddings", "table"),
    (r"bert/embeddings/token_type_embeddings", "embeddings/segment_embedding", "table"),
    (r"bert/embeddings/LayerNorm", "embeddings/layer_norm", "tf"),
    (r"bert/pooler/dense", "pooler/dense", "tf"),
    (r"cls/predictions/transform/dense", "mlm_head/dense", "tf"),
    (r"cls/predictions/transform/LayerNorm", "mlm_head/layer_norm", "tf"),
    (r"cls/predictions/output_bias", "mlm_output_bias/bias", "table"),
    (r"cls/seq_relationship/output_bias", "{head}/dense/bias", "table"),
    (r"cls/seq_relationship/output_weights", "{head}/dense/kernel", "transposed"),
    # Training state saved beside the weights.
    (r"global_step|good_steps|(current_)?loss_scale|.*/(adam|lamb)_[mv]", "", "ignore"),
]
_G = r"bert/encoder/layer_(?P<i>\d+)/"
RULES["google_bert"] = [
    *_GOOGLE_COMMON,
    (_G + r"attention/self/" + _QKV, _ATT + "/qkv", "tf"),
    (_G + r"attention/output/dense", _ATT + "/output", "tf"),
    (_G + r"attention/output/LayerNorm", _ATT + "/layer_norm", "tf"),
    (_G + r"intermediate/dense", _FFN + "/intermediate", "tf"),
    (_G + r"output/dense", _FFN + "/output", "tf"),
    (_G + r"output/LayerNorm", _FFN + "/layer_norm", "tf"),
]
_GA = r"bert/encoder/transformer/group_(?P<g>\d+)/inner_group_(?P<j>\d+)/"
RULES["google_albert"] = [
    *_GOOGLE_COMMON,
    (r"bert/encoder/embedding_hidden_mapping_in", "embeddings/projection", "tf"),
    (_GA + r"attention_1/self/" + _QKV, _ATT + "/qkv", "tf"),
    (_GA + r"attention_1/output/dense", _ATT + "/output", "tf"),
    (_GA + r"LayerNorm", _ATT + "/layer_norm", "tf"),
    (_GA + r"ffn_1/intermediate/dense", _FFN + "/intermediate", "tf"),
    (_GA + r"ffn_1/intermediate/output/dense", _FFN + "/output", "tf"),
    (_GA + r"LayerNorm_1", _FFN + "/layer_norm", "tf"),
]


def _compile(pattern, kind):
    return re.compile(pattern + _SUFFIX_PATTERN.get(kind, ""))


_COMPILED = {
    source: [(_compile(pattern, kind), path, kind) for pattern, path, kind in rules]
    for source, rules in RULES.items()
}
PREFIXES = ("bert.", "roberta.", "albert.", "electra.", "model.")


def map_name(source: str, name: str, inner_group_size: int = 1, sentence_head: str = "nsp"):
    """The `Target` of checkpoint variable `name`, `IGNORED`, or None if no rule knows it.

    Args:
        source: a key of `RULES`.
        inner_group_size: ALBERT's `inner_group_num` K: group g's inner block j
            is our block g * K + j.
        sentence_head: "nsp" or "sop": which head Google's `cls/seq_relationship`
            fills (ALBERT reuses BERT's name for SOP).
    """
    key = name
    if source.startswith("hf_"):
        key = next((key[len(p) :] for p in PREFIXES if key.startswith(p)), key)
    for pattern, path, kind in _COMPILED[source]:
        match = pattern.fullmatch(key)
        if match is None:
            continue
        if kind == "ignore":
            return IGNORED
        fields = match.groupdict()
        if fields.get("g") is not None:
            fields["i"] = int(fields["g"]) * inner_group_size + int(fields["j"])
        path = path.format(i=fields.get("i"), head=f"{sentence_head}_head")
        part = QKV[fields["qkv"]] if fields.get("qkv") else None
        if kind in _SUFFIXES:
            variable, transpose = _SUFFIXES[kind][fields["p"]]
            return Target(f"{path}/{variable}", transpose, part)
        return Target(path, kind == "transposed", part)
    return None
