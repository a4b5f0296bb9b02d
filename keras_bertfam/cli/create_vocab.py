"""`bertfam create-vocab`: train a WordPiece, SentencePiece or byte-level BPE vocabulary."""

from __future__ import annotations

from keras_bertfam.cli.common import defaults, positive_int
from keras_bertfam.data.vocab import create_vocab
from keras_bertfam.kinds import CORPUS_FORMATS, VOCABULARY_KINDS


def add_parser(commands):
    default = defaults(create_vocab)
    parser = commands.add_parser(
        "create-vocab", help="train a WordPiece, SentencePiece or byte-level BPE vocabulary"
    )
    parser.add_argument("corpus", nargs="+", help="text files (BERT format: a sentence per line)")
    parser.add_argument("--kind", choices=VOCABULARY_KINDS, required=True)
    parser.add_argument("--size", type=positive_int, required=True, help="vocabulary size")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--cased", action="store_true", help="keep case (default: lower-case)")
    parser.add_argument("--format", choices=CORPUS_FORMATS, default=default["format"])
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_bertfam.data.vocab import create_vocab, shortfall, vocabulary_size

    files = create_vocab(
        args.kind, args.size, args.corpus, args.out, lower_case=not args.cased, format=args.format
    )
    for path in files:
        print(f"wrote {path}")
    reached = vocabulary_size(args.kind, files)
    reason = shortfall(args.kind, args.size, reached)
    print(
        f"vocabulary: {reached} tokens" + (f" (asked for {args.size}: {reason})" if reason else "")
    )
    return 0
