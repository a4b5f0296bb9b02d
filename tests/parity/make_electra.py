"""Generate the transformers ELECTRA reference fixtures (tests/fixtures/hf/electra_*).

Needs the ``parity`` extra (torch, transformers 5.x); the outputs are committed, so CI never
needs torch. Regenerate with::

    /work/parity-venv/bin/python tests/parity/make_electra.py

Writes three folders of tiny random-init models, each ``save_pretrained`` output with
``reference.npz`` and ``KEYS.txt``:

- ``electra_discriminator/``: ``ElectraForPreTraining``, E = 16 < H = 32 (ELECTRA-Small's
  ``embeddings_project``), ``rtd_logits`` [batch, seq];
- ``electra_generator/``: ``ElectraForMaskedLM``, E = 16 < H = 24, ``mlm_logits`` at the
  masked positions (and at every position);
- ``electra_model/``: ``ElectraModel``, E = H = 32 (ELECTRA-Base's shape: no projection).

Every 1-D parameter (biases, LayerNorm weights) gets N(0, 0.1) noise and
``initializer_range`` is 0.2, so a missing bias or a swapped norm fails the comparison. The
batch has sentence pairs (segment ids 0 and 1) and right padding. Also checked here: the
parameter counts of ``ElectraModel`` at the ELECTRA-Small and -Base sizes (13,483,008 and
108,891,648), which ``tests/test_electra.py`` holds the presets to.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import BATCH, HF_DIR, INIT_RANGE, keys_txt, make_inputs, perturb_, write_npz

SPECIALS = dict(pad=0, unk=1, cls=2, sep=3, mask=4)
COMMON = dict(vocab_size=100, max_position_embeddings=64, type_vocab_size=2,
              hidden_act="gelu", layer_norm_eps=1e-12, initializer_range=INIT_RANGE,
              pad_token_id=0)  # fmt: skip
CASES = {
    "electra_discriminator": ("ElectraForPreTraining", dict(
        embedding_size=16, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4)),
    "electra_generator": ("ElectraForMaskedLM", dict(
        embedding_size=16, hidden_size=24, intermediate_size=40, num_hidden_layers=2,
        num_attention_heads=2)),
    "electra_model": ("ElectraModel", dict(
        embedding_size=32, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=2)),
}  # fmt: skip
PUBLISHED = {  # ElectraModel at the google/electra-{small,base}-discriminator sizes
    "small": (dict(embedding_size=128, hidden_size=256, intermediate_size=1024,
                   num_attention_heads=4), 13_483_008),
    "base": (dict(embedding_size=768, hidden_size=768, intermediate_size=3072,
                  num_attention_heads=12), 108_891_648),
}  # fmt: skip


def run(model, inputs) -> dict:
    import torch

    token_ids, segment_ids, padding_mask, mask_positions = (
        torch.from_numpy(x).long() for x in inputs
    )
    kwargs = dict(input_ids=token_ids, token_type_ids=segment_ids, attention_mask=padding_mask)
    with torch.no_grad():
        base = model if not hasattr(model, "electra") else model.electra
        out = {"sequence_output": base(**kwargs).last_hidden_state}
        if model is not base:
            logits = model(**kwargs).logits
            if logits.ndim == 2:
                out["rtd_logits"] = logits
            else:
                out["mlm_logits_all"] = logits
                out["mlm_logits"] = logits[torch.arange(BATCH)[:, None], mask_positions]
    out["pooled_output"] = out["sequence_output"][:, 0]  # no pooler: the first token
    return {k: v.float().numpy() for k, v in out.items()}


def make_case(name, cls_name, sizes, inputs, versions, seed) -> None:
    import torch
    import transformers

    cls = getattr(transformers, cls_name)
    torch.manual_seed(seed)
    model = cls(transformers.ElectraConfig(**COMMON, **sizes)).float()
    perturb_(model, torch.Generator().manual_seed(seed + 1))
    folder = HF_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "model.safetensors").chmod(0o644)
    reloaded = cls.from_pretrained(folder, attn_implementation="eager").float().eval()
    ref = run(reloaded, inputs)
    token_ids, segment_ids, padding_mask, mask_positions = inputs
    arrays = dict(token_ids=token_ids, segment_ids=segment_ids, padding_mask=padding_mask,
                  mask_positions=mask_positions, **ref)  # fmt: skip
    write_npz(folder / "reference.npz", arrays)
    header = [f"{cls_name}, random init (seed {seed}), {versions}.",
              "E = embedding_size, H = hidden_size; embeddings_project (E -> H) only when E != H.",
              "Tied (not stored): generator_lm_head.weight = electra.embeddings.word_embeddings."
              "weight; pooled_output is last_hidden_state[:, 0] (ELECTRA has no pooler).",
              "", "reference.npz:"]  # fmt: skip
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
    versions = f"transformers {transformers.__version__}, torch {torch.__version__}"
    for size, (sizes, expected) in PUBLISHED.items():
        config = transformers.ElectraConfig(vocab_size=30522, num_hidden_layers=12, **sizes)
        count = sum(p.numel() for p in transformers.ElectraModel(config).parameters())
        assert count == expected, (size, count)
        print(f"ElectraModel {size}: {count:,} parameters")
    inputs = make_inputs("bert", SPECIALS, COMMON["vocab_size"], seed=5)
    for seed, (name, (cls_name, sizes)) in enumerate(CASES.items(), start=21):
        make_case(name, cls_name, sizes, inputs, versions, seed)


if __name__ == "__main__":
    main()
