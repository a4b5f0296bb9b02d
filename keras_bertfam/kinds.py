"""The vocabularies of keras_bertfam's switches, and the rules that follow from them.

One place names every kind a field or option can take: the config validates
against it, the layers and `bertfam info` read its rules, and the command line
offers its choices. It imports neither Keras nor TensorFlow, so reading it is
instant. The fine-tuning tasks are named by their registry instead
(`keras_bertfam.tasks.names()`), so that a new task is one new module.

Example:

>>> from keras_bertfam.kinds import SHARING_MODES, sharing_plan
>>> SHARING_MODES
('none', 'all', 'attention', 'ffn')
>>> sharing_plan(6, 2, "attention")
([0, 0, 0, 1, 1, 1], [0, 1, 2, 3, 4, 5])
>>> sharing_plan(3, 1, "all", inner_group_size=2)
([0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1])
"""

from __future__ import annotations

from keras_bertfam.errors import InputError

# -- the model ---------------------------------------------------------------------------
# What the layers of one group share (ALBERT, Lan et al. 2020, table 4).
SHARING_MODES = ("none", "all", "attention", "ffn")
# The pretrainer's sentence-level head: BERT's next-sentence and ALBERT's sentence-order
# prediction, or none (RoBERTa).
SENTENCE_OBJECTIVES = ("nsp", "sop", "none")
# The pretrainer's token-level head: masked-LM prediction (BERT), or ELECTRA's
# replaced-token detection (a logit per token: was it replaced?).
TOKEN_OBJECTIVES = ("mlm", "rtd")
# Feed-forward and MLM-transform activations; "gelu" is the exact (erf) form.
ACTIVATIONS = ("gelu", "gelu_approximate", "relu", "silu", "tanh")
# Positions: a learned table added to the embeddings, rotary angles on q and k, or none.
POSITION_EMBEDDINGS = ("learned", "rotary", "none")
# The feed-forward network: BERT's dense one, or a gated one (GeGLU, SwiGLU) whose input
# projection is one fused matrix of width 2 * intermediate_dim.
FEEDFORWARDS = ("dense", "geglu", "swiglu")
# Normalization: LayerNorm (a scale and, with use_bias, a bias) or RMSNorm (a scale).
NORMS = ("layer", "rms")
# Classification-head inputs: the pooler's output, the raw first token, the masked mean.
POOLINGS = ("pooled", "cls", "mean")
BATCHINGS = ("buckets", "pad", "pack")  # fine-tuning batches (keras_bertfam.data.batching)
# Task-head initializers: `torch.nn.Linear`'s uniform +-1/sqrt(fan_in), or BERT's N(0, 0.02).
HEAD_INITS = ("fan_in_uniform", "truncated_normal")
# What `from_pretrained` builds from a checkpoint.
IMPORT_TASKS = ("encoder", "pretraining")  # and the tasks of `tasks.importable()`

# -- the data ------------------------------------------------------------------------------
VOCABULARY_KINDS = ("wordpiece", "sentencepiece", "bpe")
CORPUS_FORMATS = ("bert", "plain")  # a sentence per line, or free text
DOCUMENT_MODES = ("block", "file")  # a plain-text document is a blank-line block or a file
MASKING_STRATEGIES = ("token", "whole_word", "ngram", "span")  # "span": SpanBERT's geometric spans
MASKING_MODES = ("static", "dynamic")  # masks fixed when written, or new at every read
TSV_HEADERS = ("auto", "yes", "no")

# -- training ------------------------------------------------------------------------------
OPTIMIZERS = ("adamw", "lamb")
SCHEDULES = ("polynomial", "wsd")  # learning rate after warmup: decay, or hold then decay
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
STRATEGIES = ("auto", "one", "mirrored", "multi-worker", "tpu")

# -- export --------------------------------------------------------------------------------
# TF Serving SavedModel, TFLite file, TF-Hub preprocess/ + encoder/ SavedModels, and a
# Hugging Face folder (config.json + model.safetensors + tokenizer files)
EXPORT_FORMATS = ("saved_model", "tflite", "tfhub", "huggingface")
QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")


def sharing_plan(num_layers: int, num_groups: int, sharing: str, inner_group_size: int = 1):
    """Which attention and which feed-forward sublayer each applied block uses.

    The L layers are split into `num_groups` groups of consecutive layers; the
    layers of a group reuse the sublayers that `sharing` names. With
    `inner_group_size` K (ALBERT's `inner_group_num`) every layer applies its
    group's K blocks in turn.

    Returns:
        Two lists of length `num_layers * inner_group_size`: the index of the
        attention and of the feed-forward sublayer of each block, in the order
        the blocks run. The number of distinct indices is the number of
        sublayers with weights.
    """
    for name, value in (("num_layers", num_layers), ("num_groups", num_groups),
                        ("inner_group_size", inner_group_size)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name}={value!r} must be an integer >= 1")
    if sharing not in SHARING_MODES:
        raise InputError(f"sharing={sharing!r} is not one of {list(SHARING_MODES)}")
    if num_layers % num_groups:
        raise InputError(f"num_layers={num_layers} is not a multiple of num_groups={num_groups}")
    if sharing == "none" and num_groups != num_layers:
        raise InputError(
            f"sharing='none' needs num_groups == num_layers, got num_groups={num_groups} "
            f"and num_layers={num_layers}"
        )
    k = inner_group_size
    groups = [(i * num_groups // num_layers) * k + j for i in range(num_layers) for j in range(k)]
    own = list(range(num_layers * k))
    attention = groups if sharing in ("all", "attention") else own
    feedforward = groups if sharing in ("all", "ffn") else own
    return attention, feedforward


def attention_windows(num_layers: int, inner_group_size: int, local_window, global_every: int):
    """The sliding window of each applied block (None: global attention).

    Layer i (all K blocks of it) attends globally when `local_window` is None or
    i % global_every == 0 (ModernBERT: layers 0, 3, 6, ...), else within
    `local_window` tokens.
    """
    return [None if local_window is None or (block // inner_group_size) % global_every == 0
            else local_window for block in range(num_layers * inner_group_size)]  # fmt: skip


def keys_per_query(sequence_length: int, window) -> int:
    """Keys each query is scored against: all S globally; in a sliding window the
    three blocks of window // 2 keys around its own block, which the banded
    attention computes (S when the window covers the sequence)."""
    if window is None:
        return sequence_length
    half = max(window // 2, 1)
    return sequence_length if half >= sequence_length - 1 else min(sequence_length, 3 * half)
