"""`bertfam create-data`: pretraining TFRecords (static or dynamic masking) with a manifest."""

from __future__ import annotations

from keras_bertfam.cli.common import positive_int, probability


def add_parser(commands):
    parser = commands.add_parser(
        "create-data",
        help="write pretraining TFRecords (static or dynamic masking) with a manifest",
    )
    parser.add_argument("corpus", nargs="+", help="text files (.gz allowed)")
    parser.add_argument("--tokenizer", required=True, help="tokenizer file or folder")
    parser.add_argument("--out", required=True, help="output folder (new or empty)")
    parser.add_argument("--objective", choices=["nsp", "sop", "none"], default="nsp")
    parser.add_argument("--seq-length", type=positive_int, default=128)
    parser.add_argument("--short-seq-prob", type=probability, default=0.1)
    parser.add_argument("--masking", choices=["static", "dynamic"], default="static")
    parser.add_argument(
        "--dupe-factor", type=positive_int, default=5, help="masked copies (static)"
    )
    parser.add_argument("--strategy", choices=["token", "whole_word", "ngram"], default="token")
    parser.add_argument("--max-ngram", type=positive_int, default=3)
    parser.add_argument("--mask-rate", type=probability, default=0.15)
    parser.add_argument("--max-predictions", type=positive_int, default=20)
    parser.add_argument("--format", choices=["bert", "plain"], default="bert")
    parser.add_argument("--documents", choices=["block", "file"], default="block")
    parser.add_argument("--examples-per-shard", type=positive_int, default=10000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a data set written by create-data in --out (never another folder); "
        "the old one stays until the new one is complete",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes that tokenize and pair document groups (same output for any number; "
        "on 2 cores it does not pay: see the README)",
    )
    parser.add_argument(
        "--documents-per-group",
        type=positive_int,
        default=2000,
        help="documents per group (memory bound; NSP draws within a group)",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.data import DataConfig, MaskingConfig
    from keras_bertfam.data.records import create_data

    masking = MaskingConfig(
        rate=args.mask_rate,
        max_predictions_per_seq=args.max_predictions,
        strategy=args.strategy,
        max_ngram=args.max_ngram,
    )
    config = DataConfig(
        objective=args.objective,
        max_seq_length=args.seq_length,
        short_seq_prob=args.short_seq_prob,
        masking=masking,
        format=args.format,
        documents=args.documents,
        documents_per_group=args.documents_per_group,
    )
    manifest = create_data(
        args.corpus,
        args.tokenizer,
        args.out,
        config,
        masking=args.masking,
        dupe_factor=args.dupe_factor,
        seed=args.seed,
        examples_per_shard=args.examples_per_shard,
        overwrite=args.overwrite,
        workers=args.workers,
    )
    counts = manifest["counts"]
    print(
        f"wrote {len(manifest['shards'])} shard(s) to {args.out}: "
        f"{counts.get('sequences', 0):,} sequences, {counts.get('tokens', 0):,} tokens, "
        f"{counts.get('masked_tokens', 0):,} masked"
    )
    corpus = manifest["corpus"]
    print("corpus: " + ", ".join(f"{k}={v}" for k, v in corpus.items()))
    return 0
