"""Do transformers and AutoTokenizer read our Hugging Face exports as we wrote them?

Two steps, two environments:

    .venv/bin/python tests/parity/check_hf_export.py write /tmp/hf-export
    /path/to/parity-venv/bin/python tests/parity/check_hf_export.py check /tmp/hf-export

`write` (keras_bertfam's environment) exports a tiny random pretrainer of each
family with a real tokenizer (BERT: all-MiniLM-L6-v2's WordPiece; ALBERT: a
SentencePiece model trained on the bundled corpus; RoBERTa and ModernBERT: the
byte-level BPE fixtures), and saves our token ids and outputs on a padded batch.
It also imports the real all-MiniLM-L6-v2 and exports it again.
`check` (torch + transformers) compares that export with the original (ids and hidden
states), and loads each other folder with AutoTokenizer, AutoModel and
AutoModelForPreTraining / AutoModelForMaskedLM and prints the largest differences;
it exits 1 when ids differ or an output differs by more than 1e-4. It also writes
tests/fixtures/hf_export/<family>.json: the config.json, the transformers class,
its state_dict names and shapes, and the differences, which tests/test_export_hf.py
holds our exports to without torch.
"""

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[2]
FIXTURES = HERE / "tests" / "fixtures" / "hf_export"
TEXTS = ["Hello, worlds! Unbelievable tokenization.", "A second, longer text to pad the first."]
TINY = dict(num_layers=4, hidden_dim=32, num_heads=2, intermediate_dim=64, dropout=0.0)


def write(out: Path) -> None:
    sys.path.insert(0, str(HERE))
    import keras_bertfam as bf
    from keras_bertfam.data import load_tokenizer
    from keras_bertfam.export.huggingface import export_huggingface
    from tests.data_fixtures import minilm_dir
    from tests.test_export_tfhub import BPE, sentencepiece

    out.mkdir(parents=True, exist_ok=True)
    spm = sentencepiece(out)
    tokenizers = {"bert": load_tokenizer(minilm_dir() / "vocab.txt"), "albert": spm,
                  "roberta": load_tokenizer(BPE / "roberta"),
                  "modernbert": load_tokenizer(BPE / "modernbert" / "tokenizer.json")}  # fmt: skip
    extra = {"bert": {}, "roberta": {},
             "albert": dict(num_groups=2, inner_group_size=2, embedding_dim=16,
                            activation="gelu_approximate"),
             "modernbert": dict(local_window=4, intermediate_dim=48)}  # fmt: skip
    summary = {}
    for family, tok in tokenizers.items():
        preset = f"{family}_tiny"
        model = bf.build_pretrainer(preset, vocabulary_size=tok.vocabulary_size,
                                    **{**TINY, **extra[family]})  # fmt: skip
        folder = export_huggingface(model, tok, out, family, overwrite=True)
        from keras_bertfam.data.packing import pack

        special = tok.require_special("cls", "sep")
        rows = [pack([ids], 24, special["cls"], special["sep"])[0]
                for ids in tok.tokenize(TEXTS).to_list()]  # fmt: skip
        pad = tok.special_ids.get("pad", 0)
        ids = np.array([r + [pad] * (24 - len(r)) for r in rows], "int32")
        mask = np.array([[1] * len(r) + [0] * (24 - len(r)) for r in rows], "int32")
        positions = np.array([[1, 2, 3]] * len(rows), "int32")
        x = {"token_ids": ids, "padding_mask": mask, "segment_ids": np.zeros_like(ids),
             "mask_positions": positions}  # fmt: skip
        outputs = model({n: x[n] for n in model.input})
        encoded = model.encoder({n: x[n] for n in model.encoder.input})
        np.savez(folder.parent / f"{family}-reference.npz", ids=ids, mask=mask,
                 positions=positions, sequence_output=encoded["sequence_output"],
                 **{k: np.asarray(v) for k, v in outputs.items()})  # fmt: skip
        summary[family] = str(folder)
    # the real all-MiniLM-L6-v2, Hugging Face -> ours -> Hugging Face
    encoder = bf.from_pretrained(minilm_dir(), task="encoder")
    folder = export_huggingface(encoder, tokenizers["bert"], out, "minilm", overwrite=True)
    summary["minilm"] = str(folder)
    (out / "original.json").write_text(json.dumps({"minilm": str(minilm_dir())}))
    (out / "folders.json").write_text(json.dumps(summary, indent=2))


def check(out: Path) -> int:
    import torch
    import transformers
    from transformers import AutoModel, AutoModelForMaskedLM, AutoModelForPreTraining, AutoTokenizer

    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    folders = json.loads((out / "folders.json").read_text())
    failed = not round_trip(folders.pop("minilm"), json.loads((out / "original.json").read_text()))
    for family, folder in folders.items():
        ref = np.load(Path(folder).parent / f"{family}-reference.npz")
        tok = AutoTokenizer.from_pretrained(folder)
        hf_ids = tok(TEXTS, padding="max_length", truncation=True, max_length=24)["input_ids"]
        same_ids = np.array_equal(np.array(hf_ids), ref["ids"])
        ids, mask = torch.tensor(ref["ids"]).long(), torch.tensor(ref["mask"]).long()
        base = AutoModel.from_pretrained(folder).eval()
        head_class = AutoModelForMaskedLM if "sop_logits" not in ref and "nsp_logits" not in ref \
            else AutoModelForPreTraining  # fmt: skip
        head = head_class.from_pretrained(folder).eval()
        with torch.no_grad():
            hidden = base(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
            full = head(input_ids=ids, attention_mask=mask)
        logits = full.logits if hasattr(full, "logits") else full.prediction_logits
        picked = np.take_along_axis(logits.numpy(), ref["positions"][..., None], axis=1)
        real = ref["mask"].astype(bool)
        diffs = {"sequence_output": float(np.abs(hidden - ref["sequence_output"])[real].max()),
                 "mlm_logits": float(np.abs(picked - ref["mlm_logits"]).max())}  # fmt: skip
        for name, attr in (("nsp_logits", "seq_relationship_logits"), ("sop_logits", "sop_logits")):
            if name in ref:
                diffs[name] = float(np.abs(getattr(full, attr).numpy() - ref[name]).max())
        FIXTURES.mkdir(parents=True, exist_ok=True)
        layout = {"architecture": type(head).__name__, "diffs": diffs,
                  "config": json.loads((Path(folder) / "config.json").read_text()),
                  "tensors": {k: list(v.shape) for k, v in head.state_dict().items()}}  # fmt: skip
        (FIXTURES / f"{family}.json").write_text(json.dumps(layout, indent=1, sort_keys=True))
        ok = same_ids and max(diffs.values()) <= 1e-4
        failed |= not ok
        print(
            f"{family}: {type(head).__name__}, ids equal: {same_ids}, max |diff|: {diffs}"
            f" -> {'ok' if ok else 'FAILED'}"
        )
    return 1 if failed else 0


def round_trip(folder, original: dict) -> bool:
    """The real MiniLM exported after import: the same ids and hidden states as the original."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    texts = [*TEXTS, "Sentence embeddings, compared across two libraries."]
    models, ids = [], []
    for path in (original["minilm"], folder):
        tok = AutoTokenizer.from_pretrained(path)
        ids.append(tok(texts, padding=True, return_tensors="pt"))
        models.append(AutoModel.from_pretrained(path).eval())
    with torch.no_grad():
        hidden = [m(**x).last_hidden_state.numpy() for m, x in zip(models, ids, strict=True)]
    same_ids = torch.equal(ids[0]["input_ids"], ids[1]["input_ids"])
    real = ids[0]["attention_mask"].numpy().astype(bool)
    diff = float(np.abs(hidden[0] - hidden[1])[real].max())
    ok = same_ids and diff <= 1e-4
    print(f"all-MiniLM-L6-v2 -> keras_bertfam -> Hugging Face: ids equal: {same_ids}, "
          f"max |last_hidden_state diff|: {diff:.3g} -> {'ok' if ok else 'FAILED'}")  # fmt: skip
    return ok


if __name__ == "__main__":
    step, folder = sys.argv[1], Path(sys.argv[2])
    sys.exit(write(folder) if step == "write" else check(folder))
