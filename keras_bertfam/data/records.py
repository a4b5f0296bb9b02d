"""TFRecords of pretraining sequences, with a JSON manifest: `create_data` and `load_data`.

`create_data` streams a corpus group by group (constant memory), writes shards
of `examples_per_shard` sequences and a `manifest.json` holding the data
config, the counts (sequences, tokens, masked tokens, labels), what was skipped
and why, and the tokenizer's kind, size and SHA-256. The tokenizer files are
copied beside the shards, so `load_data(folder)` needs nothing else.

The output folder must be new, empty, or (with `overwrite=True`) a data set
written by `create_data`; any other folder is refused and left untouched.
Everything is written into a temporary folder beside it and moved into place
only when complete: a failure (a missing or empty corpus, a truncated `.gz`, a
full disk) leaves the previous data set exactly as it was.

- static masking (BERT, ALBERT): every sequence is masked when written,
  `dupe_factor` times, each time with new sentence pairs and new masks;
- dynamic masking (RoBERTa): sequences are written unmasked once and masked by
  `load_data` each time they are read.

Example (command line):

    bertfam create-data corpus.txt --tokenizer vocab/ --out data/ --objective sop \\
        --strategy ngram --dupe-factor 5
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

from keras_bertfam.data.corpus import CorpusStats
from keras_bertfam.data.pipeline import (
    DataConfig,
    iter_instances,
    mask_batches,
    masker,
    to_fit_format,
)
from keras_bertfam.data.row_packing import token_mask
from keras_bertfam.data.rows import padded_blocks
from keras_bertfam.data.tokenizers import Tokenizer, load_tokenizer
from keras_bertfam.errors import (
    InputError,
    MissingInputError,
    OutputExistsError,
    WriteError,
    disk_full,
)
from keras_bertfam.kinds import MASKING_MODES

MANIFEST = "manifest.json"
FORMAT = "keras_bertfam-pretraining-data/1"
UNMASKED_FIELDS = ("token_ids", "segment_ids", "padding_mask")
PACKED_FIELDS = ("token_ids", "segment_ids", "sequence_ids")
DERIVED_FIELDS = ("mask_weights", "slot_weight")  # from mask_positions, sequence_ids
MASK_FIELDS = ("mask_positions", "mask_ids")


def _sha256(files) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _serialize(example: dict) -> bytes:
    import tensorflow as tf

    feature = {
        name: tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(value).tolist()))
        for name, value in example.items()
        if name not in DERIVED_FIELDS
    }
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString(deterministic=True)  # map order fixed: same bytes


def _check_output(out: Path, overwrite: bool) -> None:
    """Refuse an output that is a file, a folder that is not a data set, or (without
    `overwrite`) a data set."""
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output {str(out)!r} is a file, not a folder")
    if not out.is_dir():
        return
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return
    shown = ", ".join(entries[:5]) + (f", ... ({len(entries)} entries)" if len(entries) > 5 else "")
    if MANIFEST not in entries:
        raise OutputExistsError(
            f"output folder {str(out)!r} is not empty and is not a create_data output (no "
            f"{MANIFEST}; it holds {shown}): choose a new or empty folder (overwrite only "
            "replaces a previous data set)"
        )
    if not overwrite:
        raise OutputExistsError(
            f"{str(out)!r} already holds a data set (pass overwrite=True, or --overwrite)"
        )
    try:
        previous = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        previous = {"error": str(err)}
    if not isinstance(previous, dict) or previous.get("format") != FORMAT:
        raise OutputExistsError(
            f"{str(out / MANIFEST)!r} is not a create_data manifest (format {FORMAT!r}): "
            f"{str(out)!r} is left as it is; choose a new or empty folder"
        )
    shards = previous.get("shards")
    ours = {MANIFEST, "tokenizer"} | {s for s in shards or [] if isinstance(s, str)}
    foreign = [name for name in entries if name not in ours]
    if foreign:
        raise OutputExistsError(
            f"{str(out)!r} holds a data set and also {', '.join(foreign[:5])}, which "
            "create_data did not write; overwriting would delete them: move them or choose "
            "another folder"
        )


def _sibling(path: Path, kind: str) -> Path:
    """An unused hidden name beside `path` on the same filesystem (so renames are atomic)."""
    while True:
        candidate = path.with_name(f".{path.name}.{kind}-{secrets.token_hex(4)}")
        if not candidate.exists():
            return candidate


def _swap_into_place(new: Path, out: Path) -> None:
    """Rename the finished folder `new` to `out`; a previous `out` is renamed aside first
    and deleted only once `new` is in place (put back if the rename fails)."""
    if not out.exists():
        os.rename(new, out)
        return
    aside = _sibling(out, "old")
    os.rename(out, aside)
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(aside, out)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def create_data(
    corpus,
    tokenizer: Tokenizer | str | Path,
    out_dir,
    config: DataConfig | None = None,
    masking: str = "static",
    dupe_factor: int = 5,
    seed: int = 12345,
    examples_per_shard: int = 10000,
    progress: bool = True,
    overwrite: bool = False,
    workers: int = 1,
) -> dict:
    """Write TFRecord shards + manifest for `corpus`; returns the manifest.

    `workers` processes tokenize and pair document groups (the output does not
    depend on it); masking and writing run in this process, in TensorFlow ops.
    `out_dir` must be new, empty or (with `overwrite=True`) a previous data set;
    it is replaced only once the new data set is complete.
    """
    if masking not in MASKING_MODES:
        raise InputError(f"masking={masking!r} is not one of {list(MASKING_MODES)}")
    if dupe_factor < 1:
        raise InputError(f"dupe_factor={dupe_factor} must be >= 1")
    if examples_per_shard < 1:
        raise InputError(f"examples_per_shard={examples_per_shard} must be >= 1")
    out = Path(out_dir)
    _check_output(out, overwrite)
    config = config if config is not None else DataConfig()
    tok = load_tokenizer(tokenizer)
    tok.require_special("cls", "sep", "mask")
    target = out.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = _sibling(target, "tmp")
    work.mkdir()  # with the usual permissions (umask), as the folder it becomes
    try:
        manifest = _write(corpus, tok, work, config, masking, dupe_factor, seed,
                          examples_per_shard, progress, workers)  # fmt: skip
        _swap_into_place(work, target)
    except BaseException as err:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(err, Exception) and disk_full(err):
            raise WriteError(
                f"the disk filled while writing the data set for {str(out)!r}: {err}. "
                "Nothing was replaced: make room and run the command again"
            ) from err
        raise
    return manifest


def _write(corpus, tok, out, config, masking, dupe_factor, seed, examples_per_shard, progress,
           workers) -> dict:  # fmt: skip
    import tensorflow as tf
    from tqdm.auto import tqdm

    tok.copy_files(out / "tokenizer")
    # traced once (and once more for the last, smaller block): eagerly, the masking ops'
    # loop over the positions costs far more than the ops themselves
    apply = tf.function(masker(tok, config), reduce_retracing=True) if masking == "static" else None
    pad_id = tok.special_ids.get("pad", 0)
    counts = Counter()
    stats, skipped = CorpusStats(), Counter()
    shards, writer, in_shard = [], None, 0
    bar = tqdm(desc="sequences", unit="seq", disable=not progress)
    passes = dupe_factor if masking == "static" else 1
    try:
        for dupe in range(passes):
            pass_stats = stats if dupe == 0 else CorpusStats()
            pass_skipped = skipped if dupe == 0 else Counter()
            instances = iter_instances(
                corpus, tok, config, seed + dupe, pass_stats, pass_skipped, workers
            )
            blocks = padded_blocks(instances, 256, config.sequence_length, pad_id, config,
                                   seed + dupe)  # fmt: skip
            for b, batch in enumerate(blocks):
                if apply is not None:
                    masked = apply(
                        {k: tf.constant(v) for k, v in batch.items()},
                        tf.constant([seed, dupe * 1_000_000 + b], tf.int64),
                    )
                    batch = {k: np.asarray(v) for k, v in masked.items()}
                    counts["masked_tokens"] += int(batch["mask_weights"].sum())
                for i in range(len(batch["token_ids"])):
                    if writer is None or in_shard == examples_per_shard:
                        if writer is not None:
                            writer.close()
                        shards.append(f"shard-{len(shards):05d}.tfrecord")
                        writer = tf.io.TFRecordWriter(str(out / shards[-1]))
                        in_shard = 0
                    writer.write(_serialize({k: v[i] for k, v in batch.items()}))
                    in_shard += 1
                counts["sequences"] += len(batch["token_ids"])
                counts["tokens"] += int(np.count_nonzero(token_mask(batch)))
                labels = batch["label"][batch["slot_weight"] > 0] if config.pack else batch["label"]
                counts.update(f"label_{int(v)}" for v in labels)
                if config.pack:
                    counts["packed_sequences"] += int(batch["slot_weight"].sum())
                bar.update(len(batch["token_ids"]))
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    manifest = {
        "format": FORMAT,
        "masking": masking,
        "dupe_factor": passes,
        "seed": seed,
        "data_config": config.to_dict(),
        "tokenizer": {
            "kind": tok.kind,
            "files": [Path(f).name for f in tok.files],
            "sha256": _sha256(tok.files),
            "vocabulary_size": tok.vocabulary_size,
            "special_ids": tok.special_ids,
        },
        "counts": dict(counts),
        "corpus": {**vars(stats), **{f"skipped {k}": v for k, v in skipped.items()}},
        "shards": shards,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _parse(serialized, length: int, predictions: int | None, slots: int = 0):
    import tensorflow as tf

    fields = PACKED_FIELDS if slots else UNMASKED_FIELDS
    spec = {name: tf.io.FixedLenFeature([length], tf.int64) for name in fields}
    spec["label"] = tf.io.FixedLenFeature([slots] if slots else [], tf.int64)
    if predictions:
        for name in MASK_FIELDS:
            spec[name] = tf.io.FixedLenFeature([predictions], tf.int64)
    example = {k: tf.cast(v, tf.int32) for k, v in tf.io.parse_example(serialized, spec).items()}
    if predictions:
        # [CLS] sits at position 0 and is never masked: position 0 marks padding
        example["mask_weights"] = tf.cast(example["mask_positions"] > 0, tf.float32)
    if slots:  # slot k holds a sequence when some token has sequence id k + 1
        ids = example["sequence_ids"][:, None, :]
        present = tf.reduce_any(ids == tf.range(1, slots + 1)[None, :, None], axis=-1)
        example["slot_weight"] = tf.cast(present, tf.float32)
    return example


def open_data(folder) -> tuple[dict, DataConfig, Path]:
    """The manifest, data config and tokenizer file of a folder written by `create_data`."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise MissingInputError(f"{str(folder)!r} has no {MANIFEST}: write it with create_data")
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        tokenizer_file = folder / "tokenizer" / manifest["tokenizer"]["files"][0]
        config = DataConfig.from_dict(manifest["data_config"])
        missing = [s for s in manifest["shards"] if not (folder / s).is_file()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read {str(folder / MANIFEST)!r}: {err}") from None
    except (KeyError, IndexError, TypeError) as err:
        raise InputError(
            f"{str(folder / MANIFEST)!r} is not a create_data manifest ({type(err).__name__}: "
            f"{err})"
        ) from None
    if missing:
        raise MissingInputError(
            f"{str(folder)!r}: {len(missing)} shard(s) listed in {MANIFEST} are missing, "
            f"e.g. {missing[0]!r}"
        )
    return manifest, config, tokenizer_file


def load_data(
    folder, batch_size: int, seed: int = 0, shuffle_buffer: int = 10000, repeat: bool = False
):
    """The `(x, y, sample_weight)` dataset of a folder written by `create_data`."""
    import tensorflow as tf

    if batch_size < 1:
        raise InputError(f"batch_size={batch_size} must be >= 1")
    folder = Path(folder)
    manifest, config, tokenizer_file = open_data(folder)
    files = [str(folder / s) for s in manifest["shards"]]
    static = manifest["masking"] == "static"
    predictions = config.masking.predictions_for(config.sequence_length) if static else None
    ds = tf.data.TFRecordDataset(files, num_parallel_reads=tf.data.AUTOTUNE)
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(
        lambda s: _parse(s, config.sequence_length, predictions, config.pack),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if static:
        return ds.map(lambda b: to_fit_format(b, config.objective)).prefetch(tf.data.AUTOTUNE)
    return mask_batches(ds, load_tokenizer(tokenizer_file), config, seed)
