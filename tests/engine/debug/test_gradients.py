"""engine.debug.gradients: the per-batch gradient magnitudes the gradient panel draws."""
from __future__ import annotations

import numpy as np

from engine.debug.gradients import GradHistory, batch_grad_means
from engine.debug.stats import LayerStats


def _stats(g: float) -> LayerStats:
    return LayerStats(g, 0.0, 0.0, 0.0)


def test_history_grows_answers_ranges_and_copies_a_prefix():
    h = GradHistory(start=10)
    h.add([11, 12, 13], {"layer1": np.array([1.0, 2.0, 3.0])})
    h.add(np.arange(14, 2014), {"layer1": np.arange(2000.0)})  # past the first allocation
    assert h.n == 2003
    np.testing.assert_array_equal(h.between(11, 13)["layer1"], [2.0, 3.0])
    assert h.between(5, 11) == {} and h.between(13, 13) == {}
    early = h.upto(12)
    assert early.start == 10 and early.n == 2
    np.testing.assert_array_equal(early.between(10, 12)["layer1"], [1.0, 2.0])
    h.add([5000], {"layer1": np.array([7.0])})  # a gap starts the history over there
    assert (h.start, h.n) == (4999, 1)


def test_batch_means_per_layer():
    batches = [{"layer1": _stats(0.5), "output": _stats(2.0)}, {"layer1": _stats(0.25), "output": _stats(1.0)}]
    means = batch_grad_means(batches)
    np.testing.assert_array_equal(means["layer1"], [0.5, 0.25])
    np.testing.assert_array_equal(means["output"], [2.0, 1.0])
    assert batch_grad_means([]) == {}
