"""Generate the transformers ModernBERT reference fixtures (tests/fixtures/hf/modernbert*).

Needs the ``parity`` extra (torch, transformers 5.x); the outputs are committed, so CI never
needs torch. Regenerate with::

    /work/parity-venv/bin/python tests/parity/make_modernbert.py

Writes two folders of one tiny random-init ``ModernBertForMaskedLM``:

- ``modernbert/``: ``save_pretrained`` output in transformers 5.x's config format
  (``layer_types``, ``rope_parameters``), ``reference.npz`` and ``KEYS.txt``;
- ``modernbert_v4/``: the same weights, its ``config.json`` rewritten in the 4.x format the
  published checkpoints ship (``global_rope_theta``, ``local_rope_theta``,
  ``global_attn_every_n_layers``), which transformers 5.x still reads (it is checked to give
  the same outputs).

Sequence classifiers (ModernBERT's among them) are written by ``make_classifiers.py``.

The model has 4 layers (global on 0 and 3, sliding on 1 and 2) and ``local_attention=4``: a
query sees keys within 2 positions, far less than the 12-token batch, so a converter that
attends globally everywhere fails. The two rotary bases differ (1000 vs 100, not the
published 160k / 10k) so that swapping them fails too. Every 1-D parameter (the norms'
weights, the decoder bias) gets N(0, 0.1) noise, and ``initializer_range`` is 0.2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import BATCH, HF_DIR, INIT_RANGE, NOISE_STD, SEQ, keys_txt, write_npz

SPECIALS = dict(pad=0, unk=1, cls=2, sep=3, mask=4)
CONFIG = dict(
    vocab_size=100,
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=4,
    num_attention_heads=4,
    hidden_activation="gelu",
    max_position_embeddings=64,
    norm_eps=1e-5,
    local_attention=4,
    layer_types=["full_attention", "sliding_attention", "sliding_attention", "full_attention"],
    rope_parameters={
        "full_attention": {"rope_type": "default", "rope_theta": 1000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 100.0},
    },
    pad_token_id=0,
    cls_token_id=2,
    sep_token_id=3,
    bos_token_id=2,
    eos_token_id=3,
    initializer_range=INIT_RANGE,
)
V4_KEYS = dict(global_rope_theta=1000.0, local_rope_theta=100.0, global_attn_every_n_layers=3)


def make_inputs(seed=7):
    """Rows of lengths 12, 8 and 10 ([CLS] words [SEP] (words [SEP])), right padding, four
    masked ordinary tokens per row."""
    rng = np.random.default_rng(seed)
    token_ids = np.full((BATCH, SEQ), SPECIALS["pad"], np.int32)
    padding_mask = np.zeros((BATCH, SEQ), np.int32)
    mask_positions = np.zeros((BATCH, 4), np.int32)
    for row, (na, nb) in enumerate([(5, 4), (6, None), (3, 4)]):
        words = lambda n: rng.integers(5, CONFIG["vocab_size"], size=n).tolist()  # noqa: E731
        toks = [SPECIALS["cls"], *words(na), SPECIALS["sep"]]
        ordinary = list(range(1, 1 + na))
        if nb:
            ordinary += list(range(len(toks), len(toks) + nb))
            toks += [*words(nb), SPECIALS["sep"]]
        token_ids[row, : len(toks)] = toks
        padding_mask[row, : len(toks)] = 1
        mask_positions[row] = np.sort(rng.choice(ordinary, size=4, replace=False))
        token_ids[row, mask_positions[row]] = SPECIALS["mask"]
    return token_ids, padding_mask, mask_positions


def perturbed(model, seed):
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.ndim == 1:
                p.add_(torch.randn(p.shape, generator=generator) * NOISE_STD)
    return model.float().eval()


def save(model, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "model.safetensors").chmod(0o644)


def outputs(cls, folder: Path, inputs) -> dict:
    """Eval-mode outputs of `cls.from_pretrained(folder)` (eager attention), as float32."""
    import torch

    token_ids, padding_mask, mask_positions = (torch.from_numpy(x).long() for x in inputs)
    model = cls.from_pretrained(folder, attn_implementation="eager").float().eval()
    with torch.no_grad():
        base = model.model(input_ids=token_ids, attention_mask=padding_mask)
        out = {"sequence_output": base.last_hidden_state}
        out["pooled_output"] = base.last_hidden_state[:, 0]  # no pooler: the first token
        logits = model(input_ids=token_ids, attention_mask=padding_mask).logits
    if logits.ndim == 3:
        out["mlm_logits_all"] = logits
        out["mlm_logits"] = logits[torch.arange(BATCH)[:, None], mask_positions]
    else:
        out["logits"] = logits
    return {k: v.float().numpy() for k, v in out.items()}


def write_reference(folder: Path, inputs, ref: dict, header: list[str]) -> None:
    token_ids, padding_mask, mask_positions = inputs
    arrays = dict(token_ids=token_ids, padding_mask=padding_mask, mask_positions=mask_positions,
                  segment_ids=np.zeros_like(token_ids), **ref)  # fmt: skip
    write_npz(folder / "reference.npz", arrays)
    header += ["", "reference.npz:"]
    header += [f"  {k:<16} {arrays[k].dtype!s:<8} {list(arrays[k].shape)}" for k in sorted(arrays)]
    header += ["", "safetensors keys (name, dtype, shape):"]
    (folder / "KEYS.txt").write_text(keys_txt(folder / "model.safetensors", header))
    print(f"wrote {folder}")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    inputs = make_inputs()
    versions = f"transformers {transformers.__version__}, torch {torch.__version__}"

    torch.manual_seed(11)
    mlm = perturbed(transformers.ModernBertForMaskedLM(transformers.ModernBertConfig(**CONFIG)), 12)
    new, old = HF_DIR / "modernbert", HF_DIR / "modernbert_v4"
    save(mlm, new)
    ref = outputs(transformers.ModernBertForMaskedLM, new, inputs)
    header = [f"ModernBertForMaskedLM, random init (seed 11), {versions}; 5.x config format.",
              "Tied (not stored): decoder.weight = model.embeddings.tok_embeddings.weight.",
              "Layer 0 has no attn_norm; Wqkv is [3H, H] (q | k | v, heads inside each);",
              "mlp.Wi is [2I, H] (input | gate); pooled_output is last_hidden_state[:, 0]."
              ]  # fmt: skip
    write_reference(new, inputs, ref, header)

    save(mlm, old)  # the same weights; the config in the format the published files have
    values = json.loads((old / "config.json").read_text())
    for key in ("layer_types", "rope_parameters"):
        values.pop(key)
    values.update(V4_KEYS)
    (old / "config.json").write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    again = outputs(transformers.ModernBertForMaskedLM, old, inputs)
    for key in ref:
        np.testing.assert_allclose(again[key], ref[key], atol=1e-6, err_msg=key)
    write_reference(
        old, inputs, ref, [f"As modernbert/, config.json in the 4.x format; {versions}."]
    )


if __name__ == "__main__":
    main()
