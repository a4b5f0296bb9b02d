"""Generate the sequence-classification fixtures (tests/fixtures/hf/classifier_*).

Needs the ``parity`` extra (torch, transformers 5.x); the outputs are committed, so CI never
needs torch. Regenerate with::

    /work/parity-venv/bin/python tests/parity/make_classifiers.py [NAME_PREFIX ...]

(with prefixes, e.g. ``token_ qa_``, only the folders whose names start with one).

One tiny random-init ``*ForSequenceClassification`` per head layout transformers has:

- ``classifier_bert``: BERT, pooler (dense + tanh on [CLS]) -> dropout -> ``classifier``;
- ``classifier_albert``: the same layout on ALBERT (factorized, shared blocks);
- ``classifier_roberta``: RoBERTa, no pooler; ``classifier.dense`` + tanh on <s> ->
  ``classifier.out_proj``;
- ``classifier_modernbert_mean`` / ``classifier_modernbert_cls``: ModernBERT,
  ``classifier_pooling`` mean / cls -> ``head`` (dense, GELU, norm) -> ``classifier``.

And one ``*ForTokenClassification`` (``token_<family>``: the base model without a pooler,
``classifier`` on every token) and one ``*ForQuestionAnswering`` (``qa_<family>``:
``qa_outputs``, start and end, on every token) of BERT, ALBERT, RoBERTa and ELECTRA.

Each folder holds the ``save_pretrained`` output (config.json with ``id2label``,
model.safetensors), ``reference.npz`` (inputs and eval-mode ``logits``, or
``start_logits`` and ``end_logits``, of the reloaded folder, eager attention) and
``KEYS.txt``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_electra as electra
import make_fixtures as base
import make_modernbert as modern

LABELS = {
    "classifier_bert": ["negative", "neutral", "positive"],
    "classifier_albert": ["entailment", "neutral", "contradiction"],
    "classifier_roberta": ["ham", "spam"],
    "classifier_modernbert_mean": ["a", "b", "c", "d"],
    "classifier_modernbert_cls": ["no", "yes"],
    "token_bert": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
    "token_albert": ["O", "B-ORG", "I-ORG"],
    "token_roberta": ["NOUN", "VERB", "ADJ", "OTHER"],
    "token_electra": ["O", "B-MISC", "I-MISC"],
}
OUTPUTS = {"ForQuestionAnswering": ("start_logits", "end_logits")}  # else ("logits",)


def labelled(labels) -> dict:
    return dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                label2id={name: i for i, name in enumerate(labels)})  # fmt: skip


def make(name: str, model_class: str, config_class: str, config: dict, inputs, seed: int):
    if sys.argv[1:] and not name.startswith(tuple(sys.argv[1:])):
        return
    import torch
    import transformers

    torch.manual_seed(seed)
    model_cls = getattr(transformers, model_class)
    labels = labelled(LABELS[name]) if name in LABELS else {}
    model = model_cls(getattr(transformers, config_class)(**config, **labels))
    model = modern.perturbed(model, 1000 + seed)
    folder = base.HF_DIR / name
    modern.save(model, folder)
    token_ids, segment_ids, padding_mask = inputs
    loaded = model_cls.from_pretrained(folder, attn_implementation="eager").float().eval()
    kwargs = dict(input_ids=torch.from_numpy(token_ids).long(),
                  attention_mask=torch.from_numpy(padding_mask).long())  # fmt: skip
    if "modernbert" not in name:
        kwargs["token_type_ids"] = torch.from_numpy(segment_ids).long()
    names = next((v for k, v in OUTPUTS.items() if model_class.endswith(k)), ("logits",))
    with torch.no_grad():
        result = loaded(**kwargs)
    arrays = dict(token_ids=token_ids, segment_ids=segment_ids, padding_mask=padding_mask,
                  **{n: getattr(result, n).float().numpy() for n in names})  # fmt: skip
    base.write_npz(folder / "reference.npz", arrays)
    header = [
        f"{model_class}, random init (seed {seed}), labels {LABELS.get(name)}, transformers "
        f"{transformers.__version__}, torch {torch.__version__}.",
        "",
        "reference.npz:",
    ]
    header += [f"  {k:<16} {v.dtype!s:<8} {list(v.shape)}" for k, v in sorted(arrays.items())]
    header += ["", "safetensors keys (name, dtype, shape):"]
    (folder / "KEYS.txt").write_text(base.keys_txt(folder / "model.safetensors", header))
    print(f"wrote {folder}")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for name, family, model_class, config_class, seed in [
        ("classifier_bert", "bert", "BertForSequenceClassification", "BertConfig", 21),
        ("classifier_albert", "albert", "AlbertForSequenceClassification", "AlbertConfig", 22),
        ("classifier_roberta", "roberta", "RobertaForSequenceClassification", "RobertaConfig", 23),
    ]:  # fmt: skip
        spec = base.CASES[family]
        cfg = spec["config"]
        token_ids, segment_ids, padding_mask, _ = base.make_inputs(
            spec["style"], spec["specials"], cfg["vocab_size"], spec["seed"]
        )
        make(name, model_class, config_class, cfg, (token_ids, segment_ids, padding_mask), seed)
    electra_config = {**electra.COMMON, **electra.CASES["electra_discriminator"][1]}
    electra_inputs = base.make_inputs("bert", electra.SPECIALS, 100, seed=5)[:3]
    for seed, family in enumerate(("bert", "albert", "roberta", "electra"), start=31):
        prefix = {"bert": "Bert", "albert": "Albert", "roberta": "Roberta"}.get(family, "Electra")
        if family == "electra":
            cfg, inputs = electra_config, electra_inputs
        else:
            spec = base.CASES[family]
            cfg, inputs = (
                spec["config"],
                base.make_inputs(
                    spec["style"], spec["specials"], spec["config"]["vocab_size"], spec["seed"]
                )[:3],
            )
        for kind, suffix in (("token", "ForTokenClassification"), ("qa", "ForQuestionAnswering")):
            make(f"{kind}_{family}", prefix + suffix, f"{prefix}Config", cfg, inputs,
                 seed + (10 if kind == "qa" else 0))  # fmt: skip
    token_ids, padding_mask, _ = modern.make_inputs()
    inputs = (token_ids, np.zeros_like(token_ids), padding_mask)
    for pooling, seed in (("mean", 24), ("cls", 25)):
        config = {**modern.CONFIG, "classifier_pooling": pooling}
        make(f"classifier_modernbert_{pooling}", "ModernBertForSequenceClassification",
             "ModernBertConfig", config, inputs, seed)  # fmt: skip


if __name__ == "__main__":
    main()
