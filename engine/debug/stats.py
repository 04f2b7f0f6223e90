"""What the debugger shows about a network: per-layer gradient and saturation statistics,
the words that explain them, and the confusion matrix. The CLI and the GUI both call these,
so the numbers they print always agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from engine.nn.blas import blas_func

# A sigmoid unit with output outside [0.05, 0.95] passes on < 19 % of its maximal gradient;
# a tanh unit with |a| > 0.95 passes on < 10 %. That is what "saturated" means here.
SATURATION_BAND = {"sigmoid": (0.5, 0.45), "tanh": (0.0, 0.95)}


@dataclass(slots=True)
class LayerStats:
    grad_mean_abs: float  # mean |dL/dW|
    grad_to_weight: float  # ||dW|| / ||W||: how large a step is relative to the weights
    saturation: float  # fraction of saturated sigmoid/tanh outputs, or of (leaky) ReLU units silent on the batch
    dead: float  # fraction of ReLU units silent on the whole batch (0 for other activations)

    def as_json(self) -> dict:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


def saturation(a: np.ndarray, activation: str) -> float:
    if activation in SATURATION_BAND:
        center, half = SATURATION_BAND[activation]
        return float(np.count_nonzero(np.abs(a - center) > half)) / a.size
    if activation in ("relu", "leaky_relu"):  # a leaky unit below zero passes on 1 % of its gradient
        return dead_fraction(a)
    return 0.0


def dead_fraction(a: np.ndarray) -> float:
    return float(np.count_nonzero(a.max(axis=0) <= 0)) / a.shape[1]


def layer_stats(layer) -> LayerStats:
    """Statistics of one Dense layer after a backward pass: three BLAS passes over W and dW, no
    temporaries (this runs on every training batch; see ``python main.py bench``)."""
    dW, W, dot, asum, _, _ = _flat_views(layer)
    g2, w2 = dot(dW, dW), dot(W, W)
    a, act = layer.a, layer.activation
    if act == "relu":
        sat = dead = dead_fraction(a) if a is not None else 0.0
    else:
        dead, counted = 0.0, layer.saturated  # the backward pass counted them (sigmoid)
        sat = (counted[1] / a.size if counted is not None and counted[0] is a else
               saturation(a, act) if a is not None else 0.0)
    return LayerStats(asum(dW) / dW.size, math.sqrt(g2 / w2) if w2 > 0 else math.inf, sat, dead)


def _flat_views(layer) -> tuple:
    """(flat dW, flat W, BLAS dot, BLAS asum, W, dW) of a layer, built once: its arrays are only
    ever updated in place (a layer given new arrays gets new views)."""
    views = layer.__dict__.get("_stats_views")
    if views is None or views[4] is not layer.W or views[5] is not layer.dW:
        dtype = layer.dW.dtype
        views = (layer.dW.reshape(-1), layer.W.reshape(-1), blas_func("dot", dtype), blas_func("asum", dtype),
                 layer.W, layer.dW)
        layer._stats_views = views
    return views


def network_stats(net) -> dict[str, LayerStats]:
    return {layer.name: layer_stats(layer) for layer in net.layers}


class StatsMean:
    """Mean of per-batch statistics over an epoch. ``add`` is on the per-batch hot path, so it
    only keeps the batch's dict (its LayerStats exist for the BatchEvent anyway); they are folded
    into running sums every ``FOLD`` batches and at ``mean``, in batch order (memory stays bounded)."""

    FOLD = 512

    def __init__(self):
        self.sums: dict[str, list[float]] = {}
        self.folded = 0
        self.batches: list[dict[str, LayerStats]] = []

    @property
    def n(self) -> int:
        return self.folded + len(self.batches)

    def add(self, stats: dict[str, LayerStats]) -> None:
        self.batches.append(stats)
        if len(self.batches) >= self.FOLD:
            self._fold()

    def _fold(self) -> None:
        sums = self.sums
        for stats in self.batches:
            for name, s in stats.items():
                acc = sums.get(name)
                if acc is None:
                    acc = sums[name] = [0.0, 0.0, 0.0, 0.0]
                acc[0] += s.grad_mean_abs
                acc[1] += s.grad_to_weight
                acc[2] += s.saturation
                acc[3] += s.dead
        self.folded += len(self.batches)
        self.batches = []

    def mean(self) -> dict[str, LayerStats]:
        self._fold()
        return {name: LayerStats(*(v / self.n for v in acc)) for name, acc in self.sums.items()}


def activation_histogram(a: np.ndarray, activation: str, bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "softmax": (0.0, 1.0)}.get(
        activation, (float(a.min()), float(a.max()) + 1e-9))
    counts, edges = np.histogram(a, bins=bins, range=(lo, hi))
    return counts, edges


def vanishing_gradient_report(stats: dict[str, LayerStats], activations: dict[str, str],
                              threshold: float = 10.0) -> list[str]:
    """Plain-words findings such as 'layer1 gradients are 120x smaller than the output layer's;
    91 % of its sigmoid units are saturated'. Empty when nothing looks wrong. ``stats`` in forward
    order: the output layer is the one named "output", else the last."""
    if not stats:
        return []
    names = list(stats)
    out = "output" if "output" in stats else names[-1]  # the layer nearest the loss
    ref = stats[out].grad_mean_abs
    lines = []
    for name, s in stats.items():
        if name == out or ref <= 0:
            continue
        ratio = ref / s.grad_mean_abs if s.grad_mean_abs > 0 else float("inf")
        act = activations.get(name, "")
        if ratio >= threshold:
            line = f"{name} gradients are {ratio:,.0f}\u00d7 smaller than the output layer's"
            if act in SATURATION_BAND:
                line += f"; {100 * s.saturation:.0f} % of its {act} units are saturated"
                hops = len(names) - 1 - names.index(name)  # layers between it and the output
                if s.saturation < 0.5 and hops > 1 and np.isfinite(ratio):
                    cap = "\u03c3\u2032 \u2264 0.25" if act == "sigmoid" else "tanh\u2032 < 1"
                    line += f", yet each layer above shrinks it ~{ratio ** (1 / hops):.1f}\u00d7 ({cap})"
            lines.append(line)
        elif act == "relu" and s.dead >= 0.5:
            lines.append(f"{name}: {100 * s.dead:.0f} % of its ReLU units are dead (never active on a batch)")
        elif act in SATURATION_BAND and s.saturation >= 0.8:
            lines.append(f"{name}: {100 * s.saturation:.0f} % of its {act} units are saturated")
    return lines


def divergence_report(net, loss: float, lr: float) -> str:
    """Say where a non-finite loss came from: the first layer whose weights, gradients or
    activations stopped being finite; else the layer whose last update was largest relative to
    its weights (healthy training moves weights by ~1e-3 of their size per step)."""
    for layer in net.layers:
        for what, arr in (("weights", layer.W), ("gradients", layer.dW), ("activations", layer.a)):
            if arr is not None and not np.all(np.isfinite(arr)):
                n_bad = int(np.count_nonzero(~np.isfinite(arr)))
                return (f"loss is {loss}; {layer.name} {what} became non-finite ({n_bad} of {arr.size} values)"
                        " \u2014 lower the learning rate")
    ratios = {l.name: lr * layer_stats(l).grad_to_weight for l in net.layers}
    worst = max(ratios, key=ratios.get)
    layer = next(l for l in net.layers if l.name == worst)
    logits = net.layers[-1].a
    return (f"loss is {loss}; {worst}'s last update was {ratios[worst]:.3g}\u00d7 its weights "
            f"(healthy: ~1e-3), |W| now up to {np.abs(layer.W).max():.3g}"
            + ("; the true class got probability 0" if np.isinf(loss) and logits is not None else "")
            + " \u2014 lower the learning rate")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """counts[i, j]: examples of true class i predicted as j."""
    return np.bincount(k * np.asarray(y_true) + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    totals = cm.sum(axis=1)
    return np.divide(np.diag(cm), totals, out=np.full(len(cm), np.nan), where=totals > 0)
