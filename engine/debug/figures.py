"""What the window's panels drew from the batches as they came and a checkpoint could not compute again: the
per-batch mean |dW| of every layer (the Gradients curve), the latest per-layer statistics (its table, its
words, the saturation bars) and the hidden activations' histograms. A checkpoint keeps them
(engine.training.checkpoint), so a loaded session shows its gradients instead of "no batches yet".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.debug.gradients import GradHistory
from engine.debug.stats import LayerStats

PREFIX = "figures/"


@dataclass
class Figures:
    grads: GradHistory = field(default_factory=GradHistory)
    stats: dict[str, LayerStats] = field(default_factory=dict)
    histograms: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # layer -> (counts, edges)

    def to_checkpoint(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON metadata, arrays named figures/...) for a checkpoint."""
        g = self.grads
        layers = list(g.data)
        meta = {"grads_start": int(g.start), "grads_n": int(g.n), "grad_layers": layers,
                "stats": {name: s.as_json() for name, s in self.stats.items()}, "histograms": list(self.histograms)}
        arrays = {f"{PREFIX}grads/{k}": np.asarray(g.data[name][:g.n], np.float64) for k, name in enumerate(layers)}
        for k, (counts, edges) in enumerate(self.histograms.values()):
            arrays[f"{PREFIX}hist/{k}/counts"] = np.asarray(counts)
            arrays[f"{PREFIX}hist/{k}/edges"] = np.asarray(edges, np.float64)
        return meta, arrays

    @classmethod
    def from_checkpoint(cls, meta: dict | None, arrays: dict[str, np.ndarray]) -> "Figures | None":
        """The figures a checkpoint stored (None for one that stored none, or that holds them damaged: the
        panels then start empty, as they did before checkpoints kept them)."""
        if not isinstance(meta, dict):
            return None
        try:
            grads = GradHistory(int(meta["grads_start"]))
            n = int(meta["grads_n"])
            values = {name: arrays[f"{PREFIX}grads/{k}"] for k, name in enumerate(meta["grad_layers"])}
            if n and values and all(len(v) == n for v in values.values()):
                grads.add(np.arange(grads.start + 1, grads.start + n + 1), values)
            stats = {name: LayerStats(**s) for name, s in meta["stats"].items()}
            hists = {name: (arrays[f"{PREFIX}hist/{k}/counts"], arrays[f"{PREFIX}hist/{k}/edges"])
                     for k, name in enumerate(meta["histograms"])}
        except (KeyError, TypeError, ValueError):
            return None
        return cls(grads, stats, hists)


__all__ = ["Figures"]
