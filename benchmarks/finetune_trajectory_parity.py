"""Does keras_bertfam's fine-tuning step do what a PyTorch one does? Same start, same batches.

Dropout and the shuffle are the only random parts of a fine-tune; with both
removed (dropout 0, a fixed batch order) and the same classifier head weights,
keras_bertfam (`finetune`'s model, loss and AdamW schedule, through Keras'
`train_on_batch`) and Hugging Face transformers + `torch.optim.AdamW` (the recipe
of `peers_finetune_fortunes.py`) should follow the same loss curve on the real
all-MiniLM-L6-v2 and the fortunes topics. Any recipe difference (loss, schedule,
weight decay set, epsilon, pooling, masking) shows up as a divergence here.

Two processes, two venvs (the repo's, and one with the `parity` extra):

    .venv/bin/python benchmarks/finetune_trajectory_parity.py ours /tmp/traj
    /path/to/parity-venv/bin/python benchmarks/finetune_trajectory_parity.py torch /tmp/traj
    .venv/bin/python benchmarks/finetune_trajectory_parity.py compare /tmp/traj

`ours` writes the batches (token ids from keras_bertfam's tokenizer, which match
Hugging Face's: tests/test_convert.py), the initial head weights and its losses;
`torch` reads the batches and head and writes its losses; `compare` prints both
curves and the largest relative difference, and the dev-set logits after the
last step.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

if not __package__:  # run as a file: import the benchmarks package from the checkout's root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

RESOURCES = Path(__file__).resolve().parents[1] / "keras_bertfam" / "resources"
STEPS_PER_EPOCH = math.ceil(3580 / 32)  # the schedule of a whole epoch, as in the fine-tune
STEPS = 40  # the steps actually run: warmup (11) and the start of the decay
BATCH = 32
EVAL_ROWS = 96
MAX_LEN = 128
LR, WEIGHT_DECAY = 1e-4, 0.01
WARMUP = int(0.1 * STEPS_PER_EPOCH)


def padded(rows):
    import numpy as np

    width = max(map(len, rows))
    ids = np.zeros((len(rows), width), "int32")
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    return ids


def ours(folder: Path):
    import keras
    import numpy as np

    import keras_bertfam as bf

    # the PyTorch peer's data reader and checkpoint lookup
    from benchmarks.peers_finetune_fortunes import default_model_dir, read_tsv
    from keras_bertfam.data.tasks import encode_classification
    from keras_bertfam.layers.heads import SentenceHead
    from keras_bertfam.models.tasks import build_task_model
    from keras_bertfam.training.optimizers import build_optimizer
    from keras_bertfam.training.recipe import compile_pretrainer

    path = default_model_dir()
    tok = bf.load_tokenizer(path)
    train_labels, train_texts = read_tsv(RESOURCES / "fortunes-topics-train.tsv.gz")
    _, dev_texts = read_tsv(RESOURCES / "fortunes-topics-dev.tsv.gz")
    names = sorted(set(train_labels))
    order = np.random.default_rng(0).permutation(len(train_texts))[: STEPS * BATCH]
    rows = [{"texts": [train_texts[i]]} for i in order]
    ids, _ = encode_classification(rows, tok, MAX_LEN)
    labels = [names.index(train_labels[i]) for i in order]
    dev_ids, _ = encode_classification(
        [{"texts": [t]} for t in dev_texts[:EVAL_ROWS]], tok, MAX_LEN
    )

    keras.utils.set_random_seed(0)
    encoder = bf.from_pretrained(path, dropout=0.0, attention_dropout=0.0)
    model = build_task_model(encoder, "classification", len(names), pooling="mean", dropout=0.0)
    head = next(layer for layer in model._flatten_layers() if isinstance(layer, SentenceHead))
    kernel, bias = head.dense.get_weights()
    optimizer = build_optimizer("adamw", model, LR, STEPS_PER_EPOCH, WARMUP, WEIGHT_DECAY,
                                global_clipnorm=None, epsilon=1e-8)  # fmt: skip
    compile_pretrainer(model, optimizer, jit=False)

    def inputs(batch):
        x = padded(batch)
        return {"token_ids": x, "segment_ids": np.zeros_like(x), "padding_mask": (x != 0).astype("int32")}  # fmt: skip  # noqa: E501

    losses = []
    for step in range(STEPS):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        model.reset_metrics()
        logs = model.train_on_batch(
            inputs(ids[batch]), {"logits": np.array(labels[batch])}, return_dict=True
        )
        losses.append(float(logs["loss"]))
    dev_logits = np.asarray(model.predict_on_batch(inputs(dev_ids))["logits"])
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "head.npz", kernel=kernel, bias=bias)
    (folder / "batches.json").write_text(json.dumps({"ids": ids, "labels": labels,
                                                     "dev_ids": dev_ids}))  # fmt: skip
    (folder / "ours.json").write_text(json.dumps({"losses": losses,
                                                  "dev_logits": dev_logits.tolist()}))  # fmt: skip
    print(f"ours: {STEPS} steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}")


def torch_side(folder: Path):
    import numpy as np

    from benchmarks.optional import require
    from benchmarks.peers_finetune_fortunes import default_model_dir, param_groups

    torch = require("torch", "the PyTorch side")
    transformers = require("transformers", "the PyTorch side")

    torch.set_num_threads(2)

    data = json.loads((folder / "batches.json").read_text())
    head_weights = np.load(folder / "head.npz")

    class MeanPoolClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = transformers.AutoModel.from_pretrained(
                default_model_dir(), hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
            )
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, head_weights["bias"].size)

        def forward(self, ids):
            mask = (ids != 0).long()
            h = self.encoder(input_ids=ids, attention_mask=mask,
                             token_type_ids=torch.zeros_like(ids)).last_hidden_state  # fmt: skip
            m = mask.unsqueeze(-1).to(h.dtype)
            return self.head((h * m).sum(1) / m.sum(1).clamp(min=1e-9))

    model = MeanPoolClassifier()
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(head_weights["kernel"].T.copy()))
        model.head.bias.copy_(torch.from_numpy(head_weights["bias"].copy()))
    groups, _, _ = param_groups(model)
    optimizer = torch.optim.AdamW(groups, lr=LR)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, WARMUP, STEPS_PER_EPOCH)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    losses = []
    for step in range(STEPS):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        ids = torch.from_numpy(padded(data["ids"][batch]).astype("int64"))
        loss = loss_fn(model(ids), torch.tensor(data["labels"][batch]))
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss))
    model.eval()
    with torch.no_grad():
        dev = model(torch.from_numpy(padded(data["dev_ids"]).astype("int64"))).numpy()
    (folder / "torch.json").write_text(json.dumps({"losses": losses, "dev_logits": dev.tolist()}))
    print(f"torch: {STEPS} steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}")


def compare(folder: Path):
    import numpy as np

    a = json.loads((folder / "ours.json").read_text())
    b = json.loads((folder / "torch.json").read_text())
    print(f"{'step':>5}{'keras_bertfam':>15}{'torch':>12}{'rel diff':>10}")
    for step, (x, y) in enumerate(zip(a["losses"], b["losses"], strict=True)):
        print(f"{step:>5}{x:>15.5f}{y:>12.5f}{abs(x - y) / abs(y):>10.1e}")
    rel = [abs(x - y) / abs(y) for x, y in zip(a["losses"], b["losses"], strict=True)]
    la, lb = np.array(a["dev_logits"]), np.array(b["dev_logits"])
    print(f"\nlargest relative loss difference: {max(rel):.2e} (step {int(np.argmax(rel))})")
    agree = np.mean(la.argmax(1) == lb.argmax(1))
    print(f"dev logits after {len(rel)} steps: max abs diff {np.abs(la - lb).max():.2e}, "
          f"same argmax on {agree:.1%} of {len(la)} rows")  # fmt: skip


if __name__ == "__main__":
    SIDES = {"ours": ours, "torch": torch_side, "compare": compare}
    if len(sys.argv) != 3 or sys.argv[1] not in SIDES:
        sys.exit(f"usage: finetune_trajectory_parity.py {{ours,torch,compare}} FOLDER\n{__doc__}")
    SIDES[sys.argv[1]](Path(sys.argv[2]))
