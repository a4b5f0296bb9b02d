"""Do transformers and sentence-transformers read our exports of task models and of a
sentence-transformers encoder as the originals?

Two steps, two environments:

    .venv/bin/python tests/parity/check_hf_tasks.py write /tmp/hf-tasks
    /work/parity-venv/bin/python tests/parity/check_hf_tasks.py check /tmp/hf-tasks

`write` (keras_bertfam's environment) imports transformers' own token classifiers and
question answering models (tests/fixtures/hf/token_* and qa_*, from
make_classifiers.py) and exports them again; it builds a tagger and a span model of each
family here (tiny, random weights), exports them and saves our logits on a batch; and
it imports the real all-MiniLM-L6-v2 and exports it with its tokenizer (the
sentence-transformers files come along), saving our mean-pooled, normalized embeddings.
`check` (torch, transformers, sentence-transformers) loads each task export with
AutoModelForTokenClassification / AutoModelForQuestionAnswering and compares its logits
with the fixture's (transformers' outputs of the original) or, for the models built
here, with ours; it loads the original MiniLM and the export with `SentenceTransformer`
and compares the embeddings of a few texts with each other and with ours. It prints
the largest differences and exits 1 when the class differs, a logit differs by more
than 1e-4 or an embedding by more than 1e-5.
"""

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[2]
FIXTURES = HERE / "tests" / "fixtures" / "hf"
FAMILIES = ("bert", "albert", "roberta", "electra")
TEXTS = ["Hello, worlds! Unbelievable tokenization.", "A second, longer text to pad the first.",
         "Sentence embeddings, compared across two libraries.", "short"]  # fmt: skip


def write(out: Path) -> None:
    sys.path.insert(0, str(HERE))
    import keras_bertfam as bf
    from keras_bertfam import tasks
    from keras_bertfam.data import load_tokenizer
    from keras_bertfam.export.huggingface import export_huggingface
    from tests.data_fixtures import minilm_dir
    from tests.test_export_hf_tasks import _task

    out.mkdir(parents=True, exist_ok=True)
    folders = {}
    for kind, prefix in (("token", "token"), ("span", "qa")):
        for family in FAMILIES:
            name = f"{prefix}_{family}"
            model, report = bf.from_pretrained(FIXTURES / name, task=_task(kind),
                                               return_report=True)  # fmt: skip
            assert tasks.task_of(model).name == _task(kind)
            folder = export_huggingface(model, None, out, name, overwrite=True,
                                        labels=report.get("labels"))  # fmt: skip
            folders[name] = str(folder)
    folders.update(built_here(out, _task))
    encoder = bf.from_pretrained(minilm_dir(), task="encoder")
    tokenizer = load_tokenizer(minilm_dir())
    folder = export_huggingface(encoder, tokenizer, out, "minilm", overwrite=True)
    np.save(out / "minilm-ours.npy", our_embeddings(encoder, tokenizer))
    (out / "folders.json").write_text(
        json.dumps(
            {"tasks": folders, "minilm": str(folder), "original": str(minilm_dir())}, indent=2
        )
    )


def built_here(out: Path, task_of_kind) -> dict:
    """A tagger and a span model of each family built here, exported, with our logits."""
    from keras_bertfam.export.huggingface import export_huggingface
    from keras_bertfam.models.tasks import build_task_model
    from tests.helpers import make_batch

    rng, folders = np.random.default_rng(7), {}
    batch = make_batch(100)
    for family in FAMILIES:
        for kind, prefix, width in (("token", "token", 5), ("span", "qa", None)):
            model = build_task_model(f"{family}_tiny", task_of_kind(kind), width, num_layers=2,
                                     hidden_dim=32, num_heads=2, intermediate_dim=64,
                                     vocabulary_size=100, num_segments=2 if family != "roberta"
                                     else 1)  # fmt: skip
            for variable in model.weights:
                variable.assign(variable + rng.normal(0, 0.05, variable.shape).astype("float32"))
            name = f"ours_{prefix}_{family}"
            folders[name] = str(export_huggingface(model, None, out, name, overwrite=True))
            x = {k: batch[k] for k in model.input}
            np.savez(out / f"{name}.npz", token_ids=x["token_ids"], padding_mask=x["padding_mask"],
                     segment_ids=x["segment_ids"] if family != "roberta"
                     else np.zeros_like(x["token_ids"]),
                     **{k: np.asarray(v) for k, v in model(x).items()})  # fmt: skip
    return folders


def our_embeddings(encoder, tokenizer):
    """all-MiniLM-L6-v2's sentence embeddings computed here: mean pooling, L2 norm."""
    from keras_bertfam.data.packing import pack
    from keras_bertfam.layers import SequencePooling

    special = tokenizer.require_special("cls", "sep")
    vectors = []
    for ids in tokenizer.tokenize(TEXTS).to_list():
        row = np.array([pack([ids], 256, special["cls"], special["sep"])[0]], "int32")
        ones = np.ones_like(row)
        hidden = encoder({"token_ids": row, "segment_ids": np.zeros_like(row),
                          "padding_mask": ones})["sequence_output"]  # fmt: skip
        vector = SequencePooling("mean")(hidden, ones).numpy()[0]
        vectors.append(vector / np.linalg.norm(vector))
    return np.stack(vectors)


def check(out: Path) -> int:
    import sentence_transformers
    import torch
    import transformers
    from transformers import AutoModelForQuestionAnswering, AutoModelForTokenClassification

    print(f"transformers {transformers.__version__}, torch {torch.__version__}, "
          f"sentence-transformers {sentence_transformers.__version__}")  # fmt: skip
    folders = json.loads((out / "folders.json").read_text())
    failed = False
    for name, folder in folders["tasks"].items():
        here = name.startswith("ours_")
        ref = np.load(out / f"{name}.npz" if here else FIXTURES / name / "reference.npz")
        loader = AutoModelForQuestionAnswering if "qa_" in name \
            else AutoModelForTokenClassification  # fmt: skip
        model = loader.from_pretrained(folder, attn_implementation="eager").eval()
        config = (Path(folder) if here else FIXTURES / name) / "config.json"
        original = json.loads(config.read_text())["architectures"]
        kwargs = dict(input_ids=torch.from_numpy(ref["token_ids"]).long(),
                      attention_mask=torch.from_numpy(ref["padding_mask"]).long(),
                      token_type_ids=torch.from_numpy(ref["segment_ids"]).long())  # fmt: skip
        with torch.no_grad():
            result = model(**kwargs)
        real = ref["padding_mask"].astype(bool)
        names = ("start_logits", "end_logits") if "qa_" in name else ("logits",)
        diff = max(float(np.abs(getattr(result, n).numpy() - ref[n])[real].max()) for n in names)
        ok = type(model).__name__ == original[0] and diff <= 1e-4
        failed |= not ok
        print(f"{name}: {type(model).__name__} (config.json: {original[0]}), max |logit diff| "
              f"{diff:.3g} -> {'ok' if ok else 'FAILED'}")  # fmt: skip
    failed |= not sentence_check(folders["original"], folders["minilm"],
                                 np.load(out / "minilm-ours.npy"))  # fmt: skip
    return 1 if failed else 0


def sentence_check(original: str, exported: str, ours) -> bool:
    """SentenceTransformer(original) and SentenceTransformer(export): the same modules,
    max_seq_length and embeddings, and those of keras_bertfam (`ours`)."""
    from sentence_transformers import SentenceTransformer

    models = [SentenceTransformer(path, device="cpu") for path in (original, exported)]
    embeddings = [m.encode(TEXTS, convert_to_numpy=True) for m in models]
    same = [type(m).__name__ for m in models[0]] == [type(m).__name__ for m in models[1]]
    same &= models[0].max_seq_length == models[1].max_seq_length
    diff = float(np.abs(embeddings[0] - embeddings[1]).max())
    ours_diff = float(np.abs(embeddings[0] - ours).max())
    norms = np.linalg.norm(embeddings[1], axis=-1)
    ok = same and diff <= 1e-5 and ours_diff <= 1e-5
    print(f"all-MiniLM-L6-v2 -> keras_bertfam -> SentenceTransformer: modules "
          f"{[type(m).__name__ for m in models[1]]}, max_seq_length {models[1].max_seq_length}, "
          f"embedding norms {norms.min():.6f}..{norms.max():.6f}, max |embedding diff| "
          f"{diff:.3g} (keras_bertfam's own: {ours_diff:.3g}) -> "
          f"{'ok' if ok else 'FAILED'}")  # fmt: skip
    return ok


if __name__ == "__main__":
    step, folder = sys.argv[1], Path(sys.argv[2])
    sys.exit(write(folder) if step == "write" else check(folder))
