"""Why did the network say that: saliency, occlusion, every layer's activations, the hidden space, top losses.

Everything here runs the network's own forward and backward pass (engine.nn.network) on a private float64 copy,
so explaining never disturbs a network that is training in another thread (its cached activations and
gradient buffers stay untouched) and the attributions are accurate.

Layout: inputs are network rows (N, 1024) in the NIST layout of engine/data/dataset.py (``to_image`` makes
them upright). In this layout the page is bright: a blank input is all ``BLANK`` = 1.0, ink is ~0. So
"removing" a pixel means setting it to 1.0, and attributions are measured from a blank page, not from 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.dataset import SIDE, to_image
from engine.errors import InputError
from engine.nn.network import Network

BLANK = 1.0  # the background value of a network input: white paper


def private_copy(net: Network) -> Network:
    """A float64 copy with its own caches and gradient buffers (a snapshot of the weights right now)."""
    return net.astype(np.float64)


def _rows(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x.reshape(1, -1) if x.ndim == 1 else x.reshape(len(x), -1)


def class_gradient(net: Network, rows, target: int) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (N, K), d p_target / d input (N, D)) by one forward and one backward pass.

    ``net`` must be a private copy (``private_copy``): backward writes its gradient buffers."""
    x = _rows(rows)
    probs = net.forward(x).copy()
    d_out = np.zeros_like(probs)
    d_out[:, target] = 1.0
    return probs, net.backward(d_out)


def integrated_gradients(net: Network, row, target: int, steps: int = 32, baseline: float = BLANK) -> np.ndarray:
    """Integrated gradients of p_target along the straight path from a blank page to ``row``.

    Completeness: the attributions sum to p_target(row) - p_target(blank page) (up to the midpoint
    rule's error), so a pixel's value is its share of the probability the ink earned."""
    x = _rows(row)[0]
    alphas = (np.arange(steps) + 0.5) / steps
    path = baseline + alphas[:, None] * (x - baseline)[None]
    _, grads = class_gradient(net, path, target)
    return grads.mean(0) * (x - baseline)


def gradient_times_delta(net: Network, row, target: int, baseline: float = BLANK) -> np.ndarray:
    """The one-pass approximation: gradient at the input times (input - blank page)."""
    x = _rows(row)
    _, g = class_gradient(net, x, target)
    return g[0] * (x[0] - baseline)


def occlusion(net: Network, row, target: int, patch: int = 6, stride: int = 2,
              baseline: float = BLANK) -> np.ndarray:
    """Probability drop of ``target`` when a patch x patch square is covered with blank page, averaged
    over the patches covering each pixel (NIST-layout row, like the input). Positive: evidence for it."""
    img = to_image(_rows(row)[0])  # upright, so the patches are squares on the character as seen
    starts = range(0, SIDE - patch + 1, stride)
    covered = []
    for r in starts:
        for c in starts:
            im = img.copy()
            im[r:r + patch, c:c + patch] = baseline
            covered.append(im.T.reshape(-1))
    probs = net.forward(np.vstack([_rows(row), np.array(covered)]))[:, target]
    drop = np.zeros((SIDE, SIDE))
    count = np.zeros((SIDE, SIDE))
    for (r, c), p in zip(((r, c) for r in starts for c in starts), probs[1:]):
        drop[r:r + patch, c:c + patch] += probs[0] - p
        count[r:r + patch, c:c + patch] += 1
    return (drop / np.maximum(count, 1)).T.reshape(-1)


@dataclass
class Explanation:
    """One prediction and its why. Arrays are NIST-layout rows like ``row``; ``image`` makes them upright."""
    row: np.ndarray        # (D,) exactly the vector the model received
    probs: np.ndarray      # (K,) its softmax output
    classes: tuple[str, ...]
    target: int            # the class explained (the top class unless one was picked)
    saliency: np.ndarray   # (D,) integrated gradients of p_target from a blank page
    occlusion: np.ndarray  # (D,) p_target drop when a patch around the pixel is covered

    @property
    def top_class(self) -> int:
        return int(np.argmax(self.probs))

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(-self.probs, kind="stable")[:k]
        return [(self.classes[i], float(self.probs[i])) for i in order]

    @staticmethod
    def image(values: np.ndarray) -> np.ndarray:
        """A row as an upright 32x32 picture (for drawing)."""
        return to_image(np.asarray(values))

    def as_json(self, digits: int = 6) -> dict:
        r = lambda a: np.round(np.asarray(a, np.float64), digits).reshape(SIDE, SIDE).tolist()
        return {"input": r(self.row), "top5": [[c, round(p, digits)] for c, p in self.top(5)],
                "target": self.classes[self.target], "saliency": r(self.saliency), "occlusion": r(self.occlusion),
                "probs": {c: round(float(p), digits) for c, p in zip(self.classes, self.probs)},
                "layout": "input[i][j] is element i*32+j of the model's input vector (NIST column-major: "
                          "input[x][y] of the upright image, transpose to view); background 1.0, ink 0.0"}


def explain(net: Network, classes, row, target: int | str | None = None, steps: int = 32) -> Explanation:
    """Saliency and occlusion of one input for ``target`` (a class index or name; default the top class)."""
    work = private_copy(net)
    x = _rows(row)[0]
    probs = work.forward(x[None])[0].copy()
    if isinstance(target, str):
        if target not in classes:
            raise InputError(f"no class {target!r}; classes: {''.join(classes)}")
        target = list(classes).index(target)
    t = int(np.argmax(probs)) if target is None else int(target)
    return Explanation(np.asarray(row, np.float32).reshape(-1), probs, tuple(classes), t,
                       integrated_gradients(work, x, t, steps), occlusion(work, x, t))


# ---- faithfulness: delete the most salient pixels first ------------------------------------------------


def deletion_curve(net: Network, row, target: int, order: np.ndarray, points: int = 33,
                   baseline: float = BLANK) -> np.ndarray:
    """p_target after setting the first k pixels of ``order`` to blank, for k = 0 .. D in ``points`` steps.

    A faithful saliency puts the pixels that matter first, so its curve falls fast (small area)."""
    x = _rows(row)[0]
    ks = np.linspace(0, len(x), points).round().astype(int)
    batch = np.repeat(x[None], points, 0)
    for i, k in enumerate(ks):
        batch[i, order[:k]] = baseline
    return net.forward(batch)[:, target].copy()


def area_under(curve: np.ndarray) -> float:
    """Area under a curve sampled evenly on [0, 1] (trapezoids)."""
    c = np.asarray(curve, np.float64)
    return float(((c[1:] + c[:-1]) / 2).mean())


# ---- activations of every layer, the hidden space -------------------------------------------------------


def layer_outputs(net: Network, rows) -> dict[str, np.ndarray]:
    """Every layer's activations (N, width) for some inputs, by layer name (the last is 'output')."""
    work = private_copy(net)
    work.forward(_rows(rows))
    return {layer.name: layer.a.copy() for layer in work.layers}


def last_hidden(net: Network, rows, chunk: int = 2048) -> np.ndarray:
    """Activations of the last hidden layer (the input itself for a network without hidden layers)."""
    x = _rows(rows)
    work = private_copy(net)
    if len(work.layers) < 2:
        return x
    out = []
    for i in range(0, len(x), chunk):
        work.forward(x[i:i + chunk])
        out.append(work.layers[-2].a.copy())
    return np.concatenate(out) if out else np.zeros((0, work.sizes[-2]))


@dataclass
class HiddenMap:
    """A 2-D PCA picture of the last hidden layer: one point per sample."""
    points: np.ndarray      # (N, 2) projections on the first two principal axes
    y: np.ndarray           # (N,) true classes
    pred: np.ndarray        # (N,) predicted classes
    axes: np.ndarray        # (2, H) the principal axes (unit rows)
    mean: np.ndarray        # (H,) the activations' mean
    explained: np.ndarray   # (2,) fraction of the variance each axis holds

    @property
    def wrong(self) -> np.ndarray:
        return self.pred != self.y


def pca_2d(h: np.ndarray, previous: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(points, axes, mean, explained fraction) of the top-2 PCA of rows ``h``, by SVD.

    An axis's sign is arbitrary; with ``previous`` axes (the last frame of an animation) each new axis is
    flipped to point the same way, so the picture does not mirror itself between training steps."""
    h = np.asarray(h, np.float64)
    mean = h.mean(0)
    centred = h - mean
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = np.zeros((2, h.shape[1]))
    axes[:min(2, len(vt))] = vt[:2]
    if previous is not None and previous.shape == axes.shape:
        axes *= np.where((axes * previous).sum(1) < 0, -1.0, 1.0)[:, None]
    var = s ** 2
    explained = np.zeros(2)
    explained[:min(2, len(var))] = var[:2] / max(var.sum(), 1e-12)
    return centred @ axes.T, axes, mean, explained


def hidden_map(net: Network, x, y, previous: HiddenMap | None = None) -> HiddenMap:
    """PCA of the last hidden layer on (x, y), e.g. the validation split, with predictions."""
    h = last_hidden(net, x)
    pred = net.predict(np.asarray(x, net.dtype)).argmax(1)
    points, axes, mean, explained = pca_2d(h, previous.axes if previous is not None else None)
    return HiddenMap(points, np.asarray(y), pred, axes, mean, explained)


# ---- top losses ---------------------------------------------------------------------------------------


@dataclass
class TopLosses:
    """The samples the network gets most wrong: indices into the split, highest loss first."""
    index: np.ndarray   # (k,)
    loss: np.ndarray    # (k,) cross-entropy -log p_true
    y: np.ndarray       # (k,) the label in the data
    pred: np.ndarray    # (k,) the network's answer
    p_pred: np.ndarray  # (k,) its probability


def top_losses(net: Network, x, y, k: int = 32) -> TopLosses:
    probs = net.predict(np.asarray(x, net.dtype)).astype(np.float64)
    y = np.asarray(y)
    with np.errstate(divide="ignore"):
        loss = -np.log(probs[np.arange(len(y)), y])
    order = np.argsort(-loss, kind="stable")[:k]
    pred = probs[order].argmax(1)
    return TopLosses(order, loss[order], y[order], pred, probs[order, pred])


__all__ = ["BLANK", "Explanation", "HiddenMap", "TopLosses", "area_under", "class_gradient",
           "deletion_curve", "explain", "gradient_times_delta", "hidden_map", "integrated_gradients", "last_hidden",
           "layer_outputs", "occlusion", "pca_2d", "private_copy", "top_losses"]
