"""What a confusion matrix says, computed once so the window and the report always agree: the most
confused (true, predicted) pairs in one tie order, the weakest classes and the accuracy.

Ties: between pairs with the same count, the one that comes first in row-major order (smaller true
class, then smaller predicted class) comes first; between classes with the same accuracy, the
smaller index. Used by the Confusion panel (gui/panels/training/confusion.py) and the report
(engine/report/data.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.debug.stats import per_class_accuracy


def confused_pairs(cm: np.ndarray, k: int) -> list[tuple[int, int, int]]:
    """Up to ``k`` (true, predicted, count) off-diagonal cells with the largest counts, most first
    (ties in row-major order); cells with no example are left out."""
    off = np.array(cm, copy=True)
    np.fill_diagonal(off, 0)
    cells = (divmod(int(flat), len(off)) for flat in np.argsort(-off, axis=None, kind="stable")[:k])
    return [(i, j, int(off[i, j])) for i, j in cells if off[i, j] > 0]


def weakest_classes(cm: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Up to ``k`` (class, accuracy) with the lowest accuracy (ties: the smaller index first); a class with
    no example (accuracy NaN) comes after every other."""
    acc = per_class_accuracy(cm)
    order = np.argsort(np.nan_to_num(acc, nan=2.0), kind="stable")[:k]
    return [(int(c), float(acc[c])) for c in order]


@dataclass(frozen=True)
class ConfusionSummary:
    total: int
    accuracy: float  # NaN when the matrix is empty
    weakest: list[tuple[int, float]]  # (class, accuracy)
    pairs: list[tuple[int, int, int]]  # (true, predicted, count)


def summarize(cm: np.ndarray, pairs: int = 3, weakest: int = 3) -> ConfusionSummary:
    total = int(np.asarray(cm).sum())
    accuracy = float(np.trace(cm) / total) if total else float("nan")
    return ConfusionSummary(total, accuracy, weakest_classes(cm, weakest), confused_pairs(cm, pairs))


__all__ = ["ConfusionSummary", "confused_pairs", "summarize", "weakest_classes"]
