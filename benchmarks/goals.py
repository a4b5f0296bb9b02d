"""The goals the benchmarks' figures are held against: this table, and nowhere else.

`GOALS` maps a goal's name to `Goal(comparison, value, description, unit)`: the figure
named by `description` should be `comparison` (">=" or "<=") `value`. A suite reports
what it measured for a goal in its results (`"goals": [{"goal", "label", "value"}]`)
and knows nothing of the value aimed for; the report (`benchmarks.report`) prints each
figure beside its goal, e.g. "1.05x (goal >= 1.10x: not met)".

Goals are set for a quiet machine: a figure measured while other processes took the
cores (the tables' `other` column) says little about whether a goal is met.

>>> GOALS["finetune.bucketed_vs_keras_hub"][:2]
('>=', 2.0)
>>> met("core.train_vs_fastest_peer", 1.05), met("core.train_vs_fastest_peer", 1.2)
(False, True)
>>> met("run.quick_seconds", 150.0)
True
"""

from __future__ import annotations

import math
from typing import NamedTuple


class Goal(NamedTuple):
    comparison: str  # ">=" or "<="
    value: float
    description: str
    unit: str = "x"  # "x": a ratio; "%": a share; "s": seconds; "sd": standard deviations


GOALS = {
    "core.train_vs_fastest_peer": Goal(
        ">=", 1.10, "core: training tokens/s, keras_bertfam / the fastest peer in the same run"
    ),
    "core.infer_vs_fastest_peer": Goal(
        ">=", 1.00, "core: inference tokens/s, keras_bertfam / the fastest peer in the same run"
    ),
    "core.share_of_matmul_peak": Goal(
        ">=",
        0.75,
        "core: keras_bertfam's training FLOP/s / the machine's matmul peak measured in the "
        "same run",
        "%",
    ),
    "core.pretrain_vs_bare_step": Goal(
        ">=",
        0.90,
        "core: `bertfam pretrain` from text (tokenizing, pairing and masking on the fly) / "
        "the bare training step, tokens/s",
    ),
    "data.slowest_pipeline_vs_train_step": Goal(
        ">=",
        50.0,
        "data: the slowest input pipeline's tokens/s / the training step's tokens/s (the "
        "core suite's, same run)",
    ),
    "finetune.bucketed_vs_keras_hub": Goal(
        ">=",
        2.0,
        "fine-tuning: useful (non-pad) tokens/s, keras_bertfam with length buckets / "
        "keras-hub padded to 128",
    ),
    "finetune.packed_vs_bucketed": Goal(
        ">=",
        1.20,
        "fine-tuning: useful (non-pad) tokens/s, keras_bertfam on packed rows / with length "
        "buckets (full mode)",
    ),
    "finetune.packed_vs_bucketed_same_accuracy": Goal(
        ">=",
        1.20,
        "fine-tuning all-MiniLM-L6-v2 on the fortunes topics: useful tokens/s of the "
        "fastest packed recipe whose mean dev accuracy is under the length buckets' by no "
        "more than the larger sd over the seeds / the buckets' (benchmarks.finetune_packing)",
    ),
    "modern.local_vs_global_train": Goal(
        ">=",
        1.00,
        "modern: training tokens/s at S=1024 (the suite's longest sequence), local_window=128 "
        "with a global layer every 3rd / every layer global, same config and run",
    ),
    "modern.local_vs_global_infer": Goal(
        ">=",
        1.00,
        "modern: inference tokens/s at S=1024 (the suite's longest sequence), local_window=128 "
        "with a global layer every 3rd / every layer global, same config and run",
    ),
    "pretrain.best_vs_keras_hub": Goal(
        ">=",
        1.20,
        "pretrain: held-out MLM accuracy at the budget's end, keras_bertfam's best recipe / "
        "the better keras-hub variant, same budget and run",
    ),
    "pretrain.best_time_to_keras_hub": Goal(
        "<=",
        0.50,
        "pretrain: share of the budget keras_bertfam's best recipe takes to reach the better "
        "keras-hub variant's end-of-budget held-out MLM accuracy",
        "%",
    ),
    "pretrain.best_vs_baseline": Goal(
        ">=",
        3.0,
        "pretrain: held-out MLM accuracy of keras_bertfam's best recipe / always guessing the "
        "most frequent token, same positions",
    ),
    "pretrain.best_downstream_vs_keras_hub": Goal(
        ">=",
        1.0,
        "pretrain: fortunes dev accuracy after one fixed fine-tuning recipe, keras_bertfam's "
        "best recipe minus the better keras-hub variant, in standard deviations over 3 seeds",
        "sd",
    ),
    "pretrain.best_downstream_vs_tfidf": Goal(
        ">=",
        1.0,
        "pretrain: fortunes dev accuracy of keras_bertfam's best recipe, fine-tuned / TF-IDF "
        "+ logistic regression",
    ),
    "run.quick_seconds": Goal(
        "<=", 180.0, "`python -m benchmarks --quick`, the default suites: wall time, 2 cores", "s"
    ),
    "run.full_seconds": Goal(
        "<=", 900.0, "`python -m benchmarks`, the default suites: wall time, 2 cores", "s"
    ),
}


def met(name: str, value: float) -> bool | None:
    """Whether `value` meets goal `name`; None when it was not measured (NaN)."""
    goal = GOALS[name]
    if value is None or not math.isfinite(value):
        return None
    return value >= goal.value if goal.comparison == ">=" else value <= goal.value
