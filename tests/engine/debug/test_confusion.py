"""engine.debug.confusion: the most confused pairs and weakest classes, in one tie order."""
from __future__ import annotations

import math

import numpy as np

from engine.debug.confusion import confused_pairs, summarize, weakest_classes


def test_pairs_are_by_count_then_row_major_and_skip_empty_cells():
    cm = np.array([[5, 2, 0, 1],
                   [2, 6, 0, 0],
                   [0, 3, 4, 2],
                   [2, 0, 0, 7]])
    # 3 first; then the ties at 2 in row-major order: (0,1), (1,0), (2,3), (3,0); never a diagonal cell
    assert confused_pairs(cm, 5) == [(2, 1, 3), (0, 1, 2), (1, 0, 2), (2, 3, 2), (3, 0, 2)]
    assert confused_pairs(cm, 2) == [(2, 1, 3), (0, 1, 2)]
    assert confused_pairs(np.diag([3, 4, 5]), 3) == []  # nothing misclassified


def test_weakest_classes_break_ties_by_index_and_put_empty_classes_last():
    cm = np.array([[1, 1, 0, 0],
                   [0, 0, 0, 0],  # no example: accuracy NaN
                   [1, 0, 1, 0],
                   [0, 0, 0, 4]])
    weakest = weakest_classes(cm, 4)
    assert [c for c, _ in weakest] == [0, 2, 3, 1]
    assert weakest[0][1] == 0.5 and math.isnan(weakest[3][1])


def test_summary_counts_and_accuracy():
    cm = np.array([[3, 1], [0, 4]])
    s = summarize(cm)
    assert s.total == 8 and s.accuracy == 7 / 8 and s.pairs == [(0, 1, 1)] and s.weakest[0] == (0, 0.75)
    assert math.isnan(summarize(np.zeros((2, 2), int)).accuracy)
