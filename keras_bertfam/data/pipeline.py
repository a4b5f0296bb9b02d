"""From raw text to the batches `pretrainer.fit` takes: static or dynamic masking.

The flow, one way: corpus → documents (`corpus`) → tokens (`tokenizers`,
in-graph) → sequences (`instances`: NSP, SOP or full sentences) → masks
(`masking`, in tf.data) → `(x, y, sample_weight)`:

    x  = {"token_ids", "segment_ids", "padding_mask", "mask_positions"}
    y  = {"mlm_logits": mask_ids, "nsp_logits" | "sop_logits": labels}
    sw = {"mlm_logits": mask_weights, ...}

The target keys are the pretrainer's output names, so `fit` matches them.

Dynamic masking (RoBERTa) masks each batch when it is read, with a new mask
every epoch (reproducible from `seed`); static masking (BERT, ALBERT) fixes the
masks when `create_data` writes TFRecords, `dupe_factor` times over.

Example:

>>> import tempfile, os
>>> import keras_bertfam.data as bfd
>>> folder = tempfile.mkdtemp()
>>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghij")
>>> _ = open(os.path.join(folder, "vocab.txt"), "w").write("\\n".join(words))
>>> corpus = os.path.join(folder, "corpus.txt")
>>> _ = open(corpus, "w").write("a b c d.\\ne f g.\\n\\nh i j.\\na a b.\\n")
>>> tok = bfd.load_tokenizer(folder)
>>> cfg = bfd.DataConfig(objective="sop", sequence_length=16)
>>> x, y, sw = next(iter(bfd.pretraining_dataset([corpus], tok, cfg, batch_size=2)))
>>> sorted(x)
['mask_positions', 'padding_mask', 'segment_ids', 'token_ids']
>>> sorted(y), tuple(x["token_ids"].shape)
(['mlm_logits', 'sop_logits'], (2, 16))
"""

from __future__ import annotations

import dataclasses
import json
import random
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from keras_bertfam import requires
from keras_bertfam.data.corpus import CorpusError, CorpusStats, read_documents
from keras_bertfam.data.instances import OBJECTIVES, Instance, make_instances
from keras_bertfam.data.masking import MaskingConfig, mask_batch
from keras_bertfam.data.row_packing import token_mask
from keras_bertfam.data.rows import padded_blocks, row_fields
from keras_bertfam.deprecation import renamed_keywords
from keras_bertfam.errors import InputError
from keras_bertfam.validate import require_choice, require_int, require_number


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """How sequences are made from a corpus.

    Args:
        objective: "nsp", "sop" or "none" (full sentences).
        sequence_length: tokens per sequence S, with [CLS]/[SEP]
            (`sequence_length=` is accepted as its old name).
        short_seq_prob: probability of a shorter target length (NSP/SOP).
        masking: a `MaskingConfig`.
        format / documents: corpus format, see `keras_bertfam.data.corpus`.
        documents_per_group: documents held in memory at once; NSP draws its
            random segments from the same group. Bounds memory on big corpora.
        pack: 0 (one sequence per row) or K: rows hold up to K sequences,
            packed first-fit decreasing (`keras_bertfam.data.row_packing`);
            batches then carry `sequence_ids` instead of `padding_mask`, the
            sentence labels are [K] with a weight per slot, and the pretrainer
            is built with `packed_sequences=K`.
    """

    objective: str = "nsp"
    sequence_length: int = 128
    short_seq_prob: float = 0.1
    masking: MaskingConfig = dataclasses.field(default_factory=MaskingConfig)
    format: str = "bert"
    documents: str = "block"
    documents_per_group: int = 2000
    pack: int = 0

    def __post_init__(self):
        require_choice("objective", self.objective, OBJECTIVES)
        require_int("pack", self.pack, minimum=0)
        require_int("sequence_length", self.sequence_length, minimum=5)
        require_number("short_seq_prob", self.short_seq_prob, minimum=0, maximum=1)
        require_int("documents_per_group", self.documents_per_group, minimum=2)

    @property
    def max_seq_length(self) -> int:
        """The old name of `sequence_length`."""
        warnings.warn("DataConfig.max_seq_length is deprecated; use sequence_length",
                      DeprecationWarning, stacklevel=2)  # fmt: skip
        return self.sequence_length

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> DataConfig:
        """From `to_dict`'s output (or a recipe's "data"); files that name the length
        `max_seq_length` read as they were written."""
        values = dict(values)
        if "max_seq_length" in values and "sequence_length" not in values:
            values["sequence_length"] = values.pop("max_seq_length")
        values["masking"] = MaskingConfig(**values.get("masking", {}))
        return cls(**values)


DataConfig.__init__ = renamed_keywords(max_seq_length="sequence_length")(DataConfig.__init__)


def read_data_config(path) -> DataConfig:
    """The `DataConfig` of a `data_config.json` (as `pretrain` writes it)."""
    path = Path(path)
    try:
        return DataConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError) as err:
        raise InputError(
            f"{str(path)!r} is not a data config keras_bertfam can read: {err}"
        ) from None


def _label_key(objective):
    return None if objective == "none" else f"{objective}_logits"


def document_groups(paths, config: DataConfig, stats: CorpusStats):
    """Yield groups of `documents_per_group` documents (lists of sentences), streaming."""
    group: list[list[str]] = []
    for doc in read_documents(paths, config.format, config.documents, stats):
        group.append(doc)
        if len(group) >= config.documents_per_group:
            yield group
            group = []
    if group:
        yield group


def tokenize_group(group, tokenizer, skipped: Counter):
    """Tokenize a group of documents in one call; drop (and count) what has no tokens."""
    ids = tokenizer.tokenize([s for doc in group for s in doc])
    flat, lengths = ids.flat_values.numpy().tolist(), ids.row_lengths().numpy().tolist()
    out, k, offset = [], 0, 0
    for doc in group:
        tokenized = []
        for _ in doc:
            n = lengths[k]
            if n:
                tokenized.append(flat[offset : offset + n])
            else:
                skipped["sentences with no tokens"] += 1
            offset += n
            k += 1
        if tokenized:
            out.append(tokenized)
        else:
            skipped["documents with no tokens"] += 1
    return out


def group_instances(group, index: int, tokenizer, config: DataConfig, seed: int, skipped):
    """The instances of one raw document group; its randomness depends on (seed, index) only,
    so any number of worker processes produces the same data."""
    special = tokenizer.require_special("cls", "sep", "mask")
    rng = random.Random(f"{seed}-{index}")
    return list(
        make_instances(
            tokenize_group(group, tokenizer, skipped),
            config.objective,
            config.sequence_length,
            special,
            rng,
            config.short_seq_prob,
            skipped,
        )
    )


_WORKER = {}


def _worker_init(tokenizer_file: str):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from keras_bertfam.data.tokenizers import load_tokenizer

    _WORKER["tokenizer"] = load_tokenizer(tokenizer_file)


def _worker_run(job):
    group, index, config, seed = job
    skipped = Counter()
    return group_instances(group, index, _WORKER["tokenizer"], config, seed, skipped), skipped


def _parallel_groups(groups, tokenizer, config, seed, workers, skipped):
    """Run `group_instances` in `workers` processes, in order, a bounded number in flight."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    with ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=(str(tokenizer.files[0]),),
    ) as pool:
        pending = []
        for index, group in enumerate(groups):
            pending.append(pool.submit(_worker_run, (group, index, config, seed)))
            if len(pending) > 2 * workers:
                instances, counts = pending.pop(0).result()
                skipped.update(counts)
                yield instances
        for future in pending:
            instances, counts = future.result()
            skipped.update(counts)
            yield instances


def iter_instances(
    paths, tokenizer, config: DataConfig, seed: int = 0, stats=None, skipped=None, workers=1
) -> Iterator[Instance]:
    """Yield unmasked `Instance`s from a corpus, streaming group by group.

    With `workers > 1`, groups are tokenized and paired in that many processes; the
    output is the same as with one.
    """
    stats = stats if stats is not None else CorpusStats()
    skipped = skipped if skipped is not None else Counter()
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    tokenizer.require_special("cls", "sep", "mask")
    groups = document_groups(paths, config, stats)
    if workers > 1:
        results = _parallel_groups(groups, tokenizer, config, seed, workers, skipped)
    else:
        results = (
            group_instances(group, index, tokenizer, config, seed, skipped)
            for index, group in enumerate(groups)
        )
    produced = 0
    for instances in results:
        produced += len(instances)
        yield from instances
    if not produced:
        raise CorpusError(
            f"no training sequences could be made from {[str(p) for p in paths]}: "
            f"{stats.report()}; {dict(skipped)}"
        )


def unmasked_dataset(paths, tokenizer, config: DataConfig, seed: int = 0):
    """A `tf.data.Dataset` of padded, unmasked sequences straight from text."""
    tf = requires.tensorflow("the tf.data pretraining pipeline")

    pad_id = tokenizer.special_ids.get("pad", 0)
    paths = [str(paths)] if isinstance(paths, (str, Path)) else [str(p) for p in paths]
    length = config.sequence_length

    def generate():  # blocks of rows: the per-element cost stays in C++
        yield from padded_blocks(
            iter_instances(paths, tokenizer, config, seed), 512, length, pad_id, config, seed
        )

    signature = {name: tf.TensorSpec([None, *shape], dtype)
                 for name, (shape, dtype) in row_fields(config).items()}  # fmt: skip
    return tf.data.Dataset.from_generator(generate, output_signature=signature).unbatch()


def masker(tokenizer, config: DataConfig):
    """A function (batch of unmasked sequences, seed) -> batch with mask fields."""
    special = tokenizer.require_special("cls", "sep", "mask")
    never = sorted(
        {special["cls"], special["sep"], tokenizer.special_ids.get("pad", special["cls"])}
    )
    word_starts = tokenizer.word_starts()
    # P at the config's length, whatever length the traced rows show
    masking = dataclasses.replace(
        config.masking,
        max_predictions_per_seq=config.masking.predictions_for(config.sequence_length),
    )

    def apply(batch, seed):
        masked = mask_batch(
            batch["token_ids"],
            token_mask(batch),
            word_starts,
            never,
            special["mask"],
            tokenizer.vocabulary_size,
            masking,
            seed,
        )
        return {**batch, **masked}

    return apply


def to_fit_format(batch, objective: str):
    """Masked batch dict -> (x, y, sample_weight) keyed by the pretrainer's names."""
    tf = requires.tensorflow("the tf.data pretraining pipeline")

    names = ("token_ids", "segment_ids", "padding_mask", "sequence_ids", "mask_positions")
    x = {k: batch[k] for k in names if k in batch}
    y = {"mlm_logits": batch["mask_ids"]}
    sample_weight = {"mlm_logits": batch["mask_weights"]}
    key = _label_key(objective)
    if key:  # packed rows: one label per slot, weighted where a sequence is
        y[key] = batch["label"]
        sample_weight[key] = batch.get("slot_weight", tf.ones_like(batch["label"], tf.float32))
    return x, y, sample_weight


def mask_dataset(sequences, tokenizer, config: DataConfig, batch_size: int, seed: int = 0):
    """Batch unmasked sequences and mask them dynamically (new masks every epoch)."""
    return mask_batches(sequences.batch(batch_size, drop_remainder=True), tokenizer, config, seed)


def mask_batches(batches, tokenizer, config: DataConfig, seed: int = 0):
    """Mask batches of unmasked sequences as they are read, reproducibly from `seed`."""
    tf = requires.tensorflow("the tf.data pretraining pipeline")

    apply = masker(tokenizer, config)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return (
        tf.data.Dataset.zip(batches, seeds)
        .map(
            lambda b, s: to_fit_format(apply(b, s), config.objective),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def pretraining_dataset(paths, tokenizer, config: DataConfig, batch_size: int, seed: int = 0):
    """Text files -> dynamically masked `(x, y, sample_weight)` batches for `fit`."""
    return mask_dataset(
        unmasked_dataset(paths, tokenizer, config, seed), tokenizer, config, batch_size, seed
    )
