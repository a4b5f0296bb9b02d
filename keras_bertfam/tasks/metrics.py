"""Scores of the classification-like tasks: accuracy, macro F1, per-class P/R/F1.

Example:

>>> from keras_bertfam.tasks.metrics import classification_report
>>> r = classification_report([0, 1, 1, 0], [0, 1, 0, 0], ["neg", "pos"])
>>> r["accuracy"], r["per_class"]["pos"]["recall"]
(0.75, 0.5)
"""

from __future__ import annotations

import numpy as np


def classification_report(truth, predicted, labels: list[str], weights=None) -> dict:
    """Accuracy, macro F1 and per-class precision/recall/F1/support."""
    truth, predicted = np.asarray(truth).ravel(), np.asarray(predicted).ravel()
    keep = np.ones_like(truth, bool) if weights is None else np.asarray(weights).ravel() > 0
    truth, predicted = truth[keep], predicted[keep]
    per_class = {}
    for index, name in enumerate(labels):
        tp = int(np.sum((predicted == index) & (truth == index)))
        p_count, t_count = int(np.sum(predicted == index)), int(np.sum(truth == index))
        precision = tp / p_count if p_count else 0.0
        recall = tp / t_count if t_count else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": t_count}
    present = [v["f1"] for v in per_class.values() if v["support"]]
    return {
        "examples": int(truth.size),
        "accuracy": float(np.mean(truth == predicted)) if truth.size else 0.0,
        "macro_f1": float(np.mean(present)) if present else 0.0,
        "per_class": per_class,
    }


def format_report(report: dict) -> str:
    """A printable table of a classification report (or the SQuAD scores)."""
    if "per_class" not in report:
        return "  ".join(f"{k}: {v:.2f}" for k, v in report.items() if isinstance(v, float))
    lines = [f"{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for name, row in report["per_class"].items():
        lines.append(
            f"{name[:19]:<20}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>10.3f}{row['support']:>9d}"
        )
    lines.append(
        f"accuracy {report['accuracy']:.4f}   macro F1 {report['macro_f1']:.4f}   "
        f"examples {report['examples']}"
    )
    return "\n".join(lines)
