"""How much of a fixed-shape batch is padding, one sequence per row vs packed rows.

Not a timing: counts. The bundled corpus (pretraining sequences as `create-data`
makes them) and the fortunes topics (fine-tuning texts), tokenized with
all-MiniLM-L6-v2's vocabulary. For each: rows needed and the padding share with one
sequence per row (and, for fine-tuning, with length buckets of 16/32/64/128) and with
rows of up to K = 8 packed sequences (first-fit decreasing,
`keras_bertfam.data.row_packing`).

    python -m benchmarks.padding
"""

from __future__ import annotations

from benchmarks.optional import minilm_dir


def _pretraining(tokenizer, objective: str, length: int, pack: int):
    from keras_bertfam.data.pipeline import DataConfig, iter_instances
    from keras_bertfam.data.row_packing import padding_fraction
    from keras_bertfam.data.rows import rows_of
    from keras_bertfam.resources import PYDOCS_CORPUS

    config = DataConfig(objective=objective, sequence_length=length, pack=pack)
    rows = list(rows_of(iter_instances([PYDOCS_CORPUS], tokenizer, config, 0), length, pack, 0))
    return len(rows), padding_fraction(rows)


def _finetuning(tokenizer, length: int = 128):
    from keras_bertfam import tasks
    from keras_bertfam.data.batching import bucket_bounds, pack_examples
    from keras_bertfam.resources import FORTUNES_TRAIN

    data = tasks.get("classification").prepare(FORTUNES_TRAIN, tokenizer, length)
    lengths = [len(t) for t in data["features"]["token_ids"]]
    tokens = sum(lengths)
    bounds = bucket_bounds(length)
    bucketed = sum(next(b for b in bounds if n <= b) for n in lengths)  # per example
    rows, _ = pack_examples(data["features"], data["targets"], length, 8, 0, seed=0)
    return {
        "one per row": (len(lengths), 1 - tokens / (len(lengths) * length)),
        "length buckets": (len(lengths), 1 - tokens / bucketed),
        "packed (K = 8)": (len(rows["token_ids"]), 1 - tokens / rows["token_ids"].size),
    }


def main() -> int:
    import keras_bertfam as bf

    tokenizer = bf.load_tokenizer(minilm_dir("the padding count"))
    print("| data | S | rows, one per row | padding | rows, packed (K = 8) | padding |")
    print("| --- | --- | --- | --- | --- | --- |")
    for objective, name in (("nsp", "NSP pairs"), ("none", "RoBERTa full sentences")):
        for length in (128, 512):
            plain, packed = (_pretraining(tokenizer, objective, length, k) for k in (0, 8))
            print(f"| {name} | {length} | {plain[0]:,} | {plain[1]:.1%} | {packed[0]:,} | "
                  f"{packed[1]:.1%} |")  # fmt: skip
    print()
    print("| fortunes topics, S = 128 | rows | padding |")
    print("| --- | --- | --- |")
    for name, (rows, share) in _finetuning(tokenizer).items():
        print(f"| {name} | {rows:,} | {share:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
