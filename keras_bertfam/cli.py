"""The `bertfam` command line.

Example:

    bertfam info albert_base
    bertfam info my_config.json --set num_layers=6 --seq-length 512 --predictions 76
    bertfam create-vocab --kind wordpiece --size 8000 --out vocab/ corpus.txt
    bertfam create-data corpus.txt --tokenizer vocab/ --out data/ --objective nsp
    bertfam convert path/to/hf_or_google_checkpoint --out converted/
    bertfam finetune --model converted/ --train train.tsv --dev dev.tsv --out runs/topics
    bertfam evaluate runs/topics dev.tsv
"""

from __future__ import annotations

import argparse
import json
import sys

from keras_bertfam.models.config import ConfigError
from keras_bertfam.models.presets import list_presets, resolve_config

TASK_NAMES = ("classification", "token_classification", "question_answering", "multiple_choice")


def _parse_override(text: str):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set expects FIELD=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _add_set_argument(parser):
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=_parse_override,
        metavar="FIELD=VALUE",
        help="override a model config field (repeatable), e.g. --set num_layers=6",
    )


def _info(args) -> int:
    from keras_bertfam.models.info import info_table, parameter_breakdown

    config = resolve_config(args.model, **dict(args.set))
    if args.json:
        print(json.dumps({"config": config.to_dict(), "parameters": parameter_breakdown(config)}))
        return 0
    print(
        f"{args.model}: L={config.num_layers} H={config.hidden_dim} "
        f"E={config.resolved_embedding_dim} A={config.num_heads} "
        f"I={config.intermediate_dim} V={config.vocabulary_size} "
        f"groups={config.resolved_num_groups} sharing={config.sharing} "
        f"objective={config.sentence_objective}"
    )
    print()
    print(info_table(config, args.seq_length, args.predictions))
    return 0


def _create_vocab(args) -> int:
    from keras_bertfam.data.vocab import create_vocab

    files = create_vocab(
        args.kind, args.size, args.corpus, args.out, lower_case=not args.cased, format=args.format
    )
    for path in files:
        print(f"wrote {path}")
    return 0


def _create_data(args) -> int:
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


def _pretrain(args) -> int:
    from keras_bertfam.data import DataConfig
    from keras_bertfam.recipes import load_recipe
    from keras_bertfam.training import TrainConfig, pretrain

    recipe = load_recipe(args.recipe) if args.recipe else {}
    model_spec = dict(recipe.get("model", {}))
    source = args.config or args.preset or model_spec.pop("preset", None)
    if source is None:
        raise ValueError("pretrain needs --preset, --config or --recipe")
    model_config = resolve_config(source, **{**model_spec, **dict(args.set)})
    data_config = DataConfig.from_dict(recipe["data"]) if "data" in recipe else None
    train_values = dict(recipe.get("train", {}))
    flags = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "accumulate": args.accumulate,
        "optimizer": args.optimizer,
        "learning_rate": args.learning_rate,
        "warmup_steps": args.warmup_steps,
        "precision": args.precision,
        "jit": args.jit,
        "strategy": args.strategy,
        "tpu_address": args.tpu,
        "checkpoint_every": args.checkpoint_every,
        "seed": args.seed,
    }
    train_values.update({k: v for k, v in flags.items() if v is not None})
    train = TrainConfig(**train_values)
    data = args.data if args.data else args.corpus
    if not data:
        raise ValueError("pretrain needs --data (a create-data folder) or --corpus files")
    summary = pretrain(model_config, data, args.out, train, data_config, args.tokenizer)
    final = ", ".join(f"{k}={v:.4g}" for k, v in summary["final"].items())
    print(f"trained {summary['steps']} steps in {summary['seconds']:.0f}s: {final}")
    print(f"wrote {args.out}/model.keras, config.json, tokenizer/, training_summary.json")
    return 0


def _convert(args) -> int:
    from keras_bertfam.convert.importer import convert_checkpoint

    summary = convert_checkpoint(
        args.path,
        args.out,
        task=args.task,
        allow_missing=tuple(args.allow_missing),
        overwrite=args.overwrite,
        **dict(args.set),
    )
    print(
        f"converted {summary['source']} ({summary['parameters']:,} parameters, "
        f"tokenizer: {summary['tokenizer'] or 'none found'}) -> {summary['out']}/model.keras"
    )
    return 0


def _finetune(args) -> int:
    from keras_bertfam.training.finetune import finetune, format_report

    summary = finetune(
        args.model,
        args.train,
        args.dev,
        task=args.task,
        out=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_ratio=args.warmup_ratio,
        clipnorm=args.clipnorm,
        max_sequence_length=args.seq_length,
        pooling=args.pooling,
        head_init=args.head_init,
        patience=args.patience,
        bucketing=args.bucketing,
        jit=args.jit,
        seed=args.seed,
    )
    if "dev" in summary:
        print(format_report(summary["dev"]))
    rate = summary["useful_tokens_per_s"][-1]
    print(f"{summary['epochs_run']} epoch(s), {rate:,.0f} useful tokens/s; wrote {args.out}/")
    return 0


def _evaluate(args) -> int:
    from keras_bertfam.training.finetune import evaluate, format_report

    report, predictions = evaluate(
        args.model, args.data, batch_size=args.batch_size, null_threshold=args.null_threshold
    )
    print(format_report(report))
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as f:
            json.dump(predictions, f, indent=2)
        print(f"wrote {args.predictions}")
    return 0


def _export(args) -> int:
    from keras_bertfam.export.folder import describe, export_folder

    formats = ["saved_model", "tflite"] if args.format == "both" else [args.format]
    for fmt in formats:
        result = export_folder(
            args.model,
            fmt,
            root=args.root,
            name=args.name,
            max_seq_length=args.seq_length,
            text=args.text,
            overwrite=args.overwrite,
            quantization=args.quantization,
            representative=args.representative,
        )
        print(describe(result))
    return 0


def _bench(args) -> int:
    from keras_bertfam.bench import SUITES, run_suite

    run_suite(args.suites or SUITES, args.quick, args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bertfam", description="BERT, ALBERT, RoBERTa and hybrids for Keras."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser(
        "info",
        help="parameters by component and training FLOPs per token of a preset or config",
        description="Parameters by component and training FLOPs per token, beside the same "
        "model with E = H and no sharing. Presets: " + ", ".join(list_presets()),
    )
    info.add_argument("model", help="a preset name or a config .json file")
    _add_set_argument(info)
    info.add_argument("--seq-length", type=int, default=128, help="tokens per sequence")
    info.add_argument("--predictions", type=int, default=20, help="masked positions per sequence")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(run=_info)

    vocab = commands.add_parser(
        "create-vocab", help="train a WordPiece, SentencePiece or byte-level BPE vocabulary"
    )
    vocab.add_argument("corpus", nargs="+", help="text files (BERT format: a sentence per line)")
    vocab.add_argument("--kind", choices=["wordpiece", "sentencepiece", "bpe"], required=True)
    vocab.add_argument("--size", type=int, required=True, help="vocabulary size")
    vocab.add_argument("--out", required=True, help="output folder")
    vocab.add_argument("--cased", action="store_true", help="keep case (default: lower-case)")
    vocab.add_argument("--format", choices=["bert", "plain"], default="bert")
    vocab.set_defaults(run=_create_vocab)

    data = commands.add_parser(
        "create-data",
        help="write pretraining TFRecords (static or dynamic masking) with a manifest",
    )
    data.add_argument("corpus", nargs="+", help="text files (.gz allowed)")
    data.add_argument("--tokenizer", required=True, help="tokenizer file or folder")
    data.add_argument("--out", required=True, help="output folder")
    data.add_argument("--objective", choices=["nsp", "sop", "none"], default="nsp")
    data.add_argument("--seq-length", type=int, default=128)
    data.add_argument("--short-seq-prob", type=float, default=0.1)
    data.add_argument("--masking", choices=["static", "dynamic"], default="static")
    data.add_argument("--dupe-factor", type=int, default=5, help="masked copies (static)")
    data.add_argument("--strategy", choices=["token", "whole_word", "ngram"], default="token")
    data.add_argument("--max-ngram", type=int, default=3)
    data.add_argument("--mask-rate", type=float, default=0.15)
    data.add_argument("--max-predictions", type=int, default=20)
    data.add_argument("--format", choices=["bert", "plain"], default="bert")
    data.add_argument("--documents", choices=["block", "file"], default="block")
    data.add_argument("--examples-per-shard", type=int, default=10000)
    data.add_argument("--seed", type=int, default=12345)
    data.add_argument("--overwrite", action="store_true")
    data.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes that tokenize and pair document groups (same output for any number; "
        "on 2 cores it does not pay: see the README)",
    )
    data.add_argument(
        "--documents-per-group",
        type=int,
        default=2000,
        help="documents per group (memory bound; NSP draws within a group)",
    )
    data.set_defaults(run=_create_data)

    train = commands.add_parser(
        "pretrain",
        help="pretrain a model with model.fit (tf.distribute, XLA, mixed precision, LAMB/AdamW)",
        description="Pretrain from a create-data folder (--data) or text with dynamic masking "
        "(--corpus + --tokenizer). A checkpoint in --out is resumed. Recipes: bert, albert, "
        "roberta (keras_bertfam/recipes/*.json; pass a path for your own copy).",
    )
    train.add_argument("--recipe", help="bert | albert | roberta | a recipe .json")
    train.add_argument("--preset", help="model preset (overrides the recipe's)")
    train.add_argument("--config", help="model config .json (overrides preset)")
    _add_set_argument(train)
    train.add_argument("--data", help="a folder written by create-data")
    train.add_argument("--corpus", nargs="+", help="text files (dynamic masking)")
    train.add_argument("--tokenizer", help="tokenizer file or folder (with --corpus)")
    train.add_argument("--out", required=True, help="output folder")
    train.add_argument("--steps", type=int)
    train.add_argument("--batch-size", type=int, help="global batch of one micro-step")
    train.add_argument("--accumulate", type=int, help="micro-batches per update")
    train.add_argument("--optimizer", choices=["adamw", "lamb"])
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--warmup-steps", type=int)
    train.add_argument("--precision", choices=["float32", "mixed_bfloat16", "mixed_float16"])
    train.add_argument(
        "--jit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="XLA-compile the train step (default: on)",
    )
    train.add_argument("--strategy", choices=["auto", "one", "mirrored", "multi-worker", "tpu"])
    train.add_argument("--tpu", help="TPU address (with --strategy tpu or auto)")
    train.add_argument("--checkpoint-every", type=int, help="updates between checkpoints")
    train.add_argument("--seed", type=int)
    train.set_defaults(run=_pretrain)

    convert = commands.add_parser(
        "convert",
        help="import a Hugging Face (safetensors) or Google TF1 checkpoint into a .keras model",
        description="Reads a Hugging Face folder (config.json + model.safetensors or a sharded "
        "index) of BERT/ALBERT/RoBERTa, or a Google TF1 checkpoint (bert_config.json / "
        "albert_config.json + *.ckpt), checks that every weight finds its place, and writes "
        "model.keras, config.json and tokenizer/ to --out. PyTorch pickles are refused.",
    )
    convert.add_argument("path", help="checkpoint folder (or .safetensors file / TF1 prefix)")
    convert.add_argument("--out", required=True, help="output folder")
    convert.add_argument("--task", choices=["encoder", "pretraining"], default="pretraining")
    convert.add_argument(
        "--allow-missing",
        action="append",
        default=[],
        metavar="PREFIX",
        help="model weights that may stay initialized, e.g. pooler/ (roberta-base has none)",
    )
    _add_set_argument(convert)
    convert.add_argument("--overwrite", action="store_true")
    convert.set_defaults(run=_convert)

    tune = commands.add_parser(
        "finetune",
        help="fine-tune a checkpoint on classification, token classification, QA or "
        "multiple choice",
        description="Task files: classification TSV (label, text[, text_b]) or JSONL; token "
        "classification JSONL (tokens, tags); SQuAD JSON; multiple choice JSONL (question, "
        "choices, label). Batches are bucketed by length; the best dev epoch is kept.",
    )
    tune.add_argument("--model", required=True, help="checkpoint folder (HF, Google or ours)")
    tune.add_argument("--train", required=True, help="training file")
    tune.add_argument("--dev", help="dev file (early stopping, best epoch, report)")
    tune.add_argument("--task", choices=list(TASK_NAMES), default="classification")
    tune.add_argument("--out", required=True, help="output folder")
    tune.add_argument("--epochs", type=int, default=3)
    tune.add_argument("--batch-size", type=int, default=32)
    tune.add_argument("--learning-rate", type=float, default=5e-5)
    tune.add_argument("--warmup-ratio", type=float, default=0.1)
    tune.add_argument("--clipnorm", type=float, help="clip gradients to this global norm")
    tune.add_argument("--seq-length", type=int, default=128, help="max tokens per sequence")
    tune.add_argument("--pooling", choices=["pooled", "cls", "mean"], help="default: pooled")
    tune.add_argument(
        "--head-init",
        choices=["fan_in_uniform", "truncated_normal"],
        default="fan_in_uniform",
        help="the task head's initial weights: uniform +-1/sqrt(H) as torch.nn.Linear, or "
        "BERT's N(0, 0.02)",
    )
    tune.add_argument("--patience", type=int, default=2, help="epochs without a better dev loss")
    tune.add_argument(
        "--bucketing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="batch by length (--no-bucketing pads every batch to --seq-length)",
    )
    tune.add_argument("--jit", action=argparse.BooleanOptionalAction, default=False)
    tune.add_argument("--seed", type=int, default=0)
    tune.set_defaults(run=_finetune)

    evaluate = commands.add_parser("evaluate", help="score a finetune output folder on a task file")
    evaluate.add_argument("model", help="a folder written by bertfam finetune")
    evaluate.add_argument("data", help="task file in the format the model was trained on")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--predictions", help="write predictions (JSON) here")
    evaluate.add_argument(
        "--null-threshold",
        type=float,
        help="question answering: answer nothing when the no-answer score beats the best span "
        "by more than this (default 0 for models trained on SQuAD 2.0, never for SQuAD 1.1)",
    )
    evaluate.set_defaults(run=_evaluate)

    export = commands.add_parser(
        "export",
        help="export a model folder as a TF Serving SavedModel or a TFLite file",
        description="MODEL: a finetune, pretrain or convert output folder, or a Hugging Face / "
        "Google checkpoint. SavedModels go to ROOT/NAME/<new version>/ with serving_default "
        "on raw text (tokenizer inside) and encode on TF-Hub token ids; TFLite files go to "
        "ROOT/NAME/NAME-[text-]QUANTIZATION.tflite with a report (size, latency, agreement).",
    )
    export.add_argument("model", help="model folder")
    export.add_argument(
        "--format", choices=["saved_model", "tflite", "both"], default="saved_model"
    )
    export.add_argument("--root", default="saved_models", help="output root")
    export.add_argument("--name", help="model name (default: the folder's name)")
    export.add_argument("--seq-length", type=int, help="default: the task's, else 128")
    export.add_argument(
        "--text",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tokenizer inside (raw-text inputs); --no-text exports token ids only",
    )
    export.add_argument(
        "--quantization",
        choices=["float32", "float16", "dynamic_int8", "int8"],
        default="float32",
        help="TFLite weights/activations (int8 needs --representative)",
    )
    export.add_argument(
        "--representative", help="create-data folder or task file to calibrate int8 on"
    )
    export.add_argument("--overwrite", action="store_true")
    export.set_defaults(run=_export)

    bench = commands.add_parser(
        "bench",
        help="benchmarks against the peers (keras-hub, tf-models), side by side in one run",
        description="Runs the benchmark suites (core, albert, data, finetune; default: all), "
        "each system in its own process, alternated; prints every table with ratios to the "
        "peer measured in the same run, and writes bench.json and one PNG chart per suite "
        "to --out. Aims: --quick under 3 minutes on a quiet 2-core machine, full under 15.",
    )
    bench.add_argument(
        "suites", nargs="*", metavar="SUITE", help="core | albert | data | finetune (default: all)"
    )
    bench.add_argument("--quick", action="store_true", help="fewer rounds and steps")
    bench.add_argument("--out", default="bench/results", help="folder for bench.json and PNGs")
    bench.set_defaults(run=_bench)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ConfigError, ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"bertfam {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
