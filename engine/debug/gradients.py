"""The gradient panel's curve: per layer, the mean |dL/dW| of every batch a session trained, kept as it
trains (``GradHistory``) so that it can be drawn again after time travel or on another branch.

``batch_grad_means`` turns the per-batch layer statistics (engine.debug.stats.LayerStats) into those
values; the window's worker feeds them in as batches come (gui/worker/events.py).
"""
from __future__ import annotations

import numpy as np


def batch_grad_means(batches: list[dict]) -> dict[str, np.ndarray]:
    """Layer -> mean |dW| of each batch, from one {layer: LayerStats} per batch (in order)."""
    if not batches:
        return {}
    return {name: np.fromiter((d[name].grad_mean_abs for d in batches), float, len(batches))
            for name in batches[-1]}


class GradHistory:
    """Mean |dW| per layer for steps start+1 .. start+n (growable, O(1) amortised append)."""

    def __init__(self, start: int = 0):
        self.start = start
        self.data: dict[str, np.ndarray] = {}
        self.n = 0

    def add(self, steps, grads: dict[str, np.ndarray]) -> None:
        if not len(steps) or not grads:
            return
        if steps[0] != self.start + self.n + 1:  # a gap (should not happen): start over from here
            self.start, self.n, self.data = steps[0] - 1, 0, {}
        need = self.n + len(steps)
        for name, values in grads.items():
            arr = self.data.get(name)
            if arr is None:
                arr = self.data[name] = np.full(max(1024, need), np.nan)
            elif need > len(arr):
                grown = np.full(max(need, 2 * len(arr)), np.nan)
                grown[:self.n] = arr[:self.n]
                arr = self.data[name] = grown
            arr[self.n:need] = values
        self.n = need

    def between(self, a: int, b: int) -> dict[str, np.ndarray]:
        """Values for steps a+1 .. b (a >= start)."""
        lo, hi = a - self.start, min(b, self.start + self.n) - self.start
        if lo < 0 or hi <= lo:
            return {}
        return {name: arr[lo:hi].copy() for name, arr in self.data.items()}

    def upto(self, step: int) -> "GradHistory":
        """A copy of the history up to ``step`` (a branch starts with its parent's, up to where it branched)."""
        other = GradHistory(self.start)
        other.n = max(0, min(self.n, step - self.start))
        other.data = {name: arr[:max(other.n, 1)].copy() for name, arr in self.data.items()}
        return other


__all__ = ["GradHistory", "batch_grad_means"]
