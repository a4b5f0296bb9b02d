"""`bertfam create-data`: pretraining TFRecords (static or dynamic masking) with a manifest."""

from __future__ import annotations

from keras_bertfam.cli.common import (
    add_pack_argument,
    add_sequence_length_argument,
    defaults,
    field_defaults,
    positive_int,
    probability,
)
from keras_bertfam.cli.masking import add_masking_arguments, masking_config
from keras_bertfam.data.masking import MaskingConfig
from keras_bertfam.data.pipeline import DataConfig
from keras_bertfam.data.records import create_data
from keras_bertfam.kinds import (
    CORPUS_FORMATS,
    DOCUMENT_MODES,
    MASKING_MODES,
    SENTENCE_OBJECTIVES,
)


def add_parser(commands):
    api, data = defaults(create_data), field_defaults(DataConfig)
    parser = commands.add_parser(
        "create-data",
        help="write pretraining TFRecords (static or dynamic masking) with a manifest",
    )
    parser.add_argument("corpus", nargs="+", help="text files (.gz allowed)")
    parser.add_argument("--tokenizer", required=True, help="tokenizer file or folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--objective", choices=SENTENCE_OBJECTIVES, default=data["objective"])
    add_sequence_length_argument(parser, data["sequence_length"], "tokens per sequence")
    parser.add_argument("--short-seq-prob", type=probability, default=data["short_seq_prob"])
    parser.add_argument("--masking", choices=MASKING_MODES, default=api["masking"])
    parser.add_argument(
        "--dupe-factor",
        type=positive_int,
        default=api["dupe_factor"],
        help="masked copies (static masking)",
    )
    add_masking_arguments(parser, ("--strategy",), defaults=MaskingConfig())
    add_pack_argument(parser, "pack several short sequences into each row")
    parser.add_argument("--format", choices=CORPUS_FORMATS, default=data["format"])
    parser.add_argument("--documents", choices=DOCUMENT_MODES, default=data["documents"])
    parser.add_argument(
        "--examples-per-shard", type=positive_int, default=api["examples_per_shard"]
    )
    parser.add_argument("--seed", type=int, default=api["seed"])
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a data set written here before"
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=api["workers"],
        help="processes that tokenize and pair document groups (the output is the same for "
        "any number)",
    )
    parser.add_argument(
        "--documents-per-group",
        type=positive_int,
        default=data["documents_per_group"],
        help="documents per group (memory bound; NSP draws within a group)",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    masking = masking_config(args)
    config = DataConfig(
        objective=args.objective,
        sequence_length=args.sequence_length,
        short_seq_prob=args.short_seq_prob,
        masking=masking,
        format=args.format,
        documents=args.documents,
        documents_per_group=args.documents_per_group,
        pack=args.pack or 0,
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
    rows = f"{counts.get('sequences', 0):,} sequences"
    if args.pack:  # each row holds up to K sequences
        packed = counts.get("packed_sequences", 0)
        rows = f"{counts.get('sequences', 0):,} rows of {packed:,} sequences"
    print(
        f"wrote {len(manifest['shards'])} shard(s) to {args.out}: {rows}, "
        f"{counts.get('tokens', 0):,} tokens, {counts.get('masked_tokens', 0):,} masked"
    )
    corpus = manifest["corpus"]
    print("corpus: " + ", ".join(f"{k}={v}" for k, v in corpus.items()))
    return 0
