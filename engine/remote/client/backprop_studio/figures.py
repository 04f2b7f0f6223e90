"""Per-layer figures at a batch boundary, cheap enough for every batch (see `bench --attach`).

Read straight from the user's arrays, looked up by key each time (an array the loop rebinds is
followed): mean |grad W|, ||grad W|| / ||W||, saturation of the cached outputs, and what the last
update did: ||dW|| / ||W||, the cosine between dW and the gradient (about -1 for gradient descent;
positive means the update climbs), and the step it took along the gradient (-dW.g / g.g, the
learning rate as the loop applied it). The update figures of a large layer are measured on a fixed
sample of 4096 of its weights (every k-th weight, k coprime with the layer's width, so every unit is in it), so a big layer is never
read whole on the hot path; a layer of up to 4096 weights is measured exactly.
"""
from __future__ import annotations

import math

import numpy as np

SAMPLE = 4096  # weights per layer the figures are measured on; a smaller layer is measured whole
SATURATED = {"sigmoid": (0.5, 0.45), "tanh": (0.0, 0.95)}  # as engine.debug.stats: outside centre +- half


def _stride(size: int, shape: tuple) -> int:
    """Every k-th weight, k coprime with the row length (so every unit and every input is sampled)."""
    k = max(1, -(-size // SAMPLE))
    while k > 1 and any(math.gcd(k, n) != 1 for n in shape if n > 1):
        k += 1
    return k


class LayerWatch:
    """The running figures of one layer (``name``: the suffix of its W/b keys)."""

    def __init__(self, name: str):
        self.name = name
        self.prev: np.ndarray | None = None  # the sampled weights at the last boundary
        self.prev_grad: np.ndarray | None = None

    def measure(self, params: dict, activation: str) -> dict:
        """This batch's figures (a dict of floats; absent figures are left out)."""
        out: dict = {}
        W, G = params.get("W" + self.name), params.get("grad_W" + self.name)
        if not isinstance(W, np.ndarray) or W.dtype.kind != "f" or not W.size:
            return out
        k = _stride(W.size, W.shape)
        w = W.reshape(-1)[::k]
        w = w.copy()  # this boundary's sample (W changes in place before the next one)
        w2 = float(np.dot(w, w))
        out["w_norm"] = math.sqrt(w2 * k)
        written = isinstance(G, np.ndarray) and G.shape == W.shape and G.dtype.kind == "f"
        out["written"] = written
        g = None
        if written:
            g = G.reshape(-1)[::k]
            g2 = float(np.dot(g, g))
            out["grad_mean_abs"] = float(np.abs(g).mean())
            out["grad_to_weight"] = math.sqrt(g2 / w2) if w2 > 0 else math.inf
            out["changed"] = self.prev_grad is None or not np.array_equal(g, self.prev_grad)
            self.prev_grad = g.copy()
        if self.prev is not None and self.prev.shape == w.shape:
            d = w - self.prev
            d2 = float(np.dot(d, d))
            out["update_ratio"] = math.sqrt(d2 / w2) if w2 > 0 else math.inf
            if g is not None:
                gg = float(np.dot(g, g))
                dg = float(np.dot(d, g))
                if d2 > 0 and gg > 0:
                    out["update_cos"] = dg / math.sqrt(d2 * gg)
                if gg > 0:
                    out["step_size"] = -dg / gg
        self.prev = w
        cache = params.get("cache_" + self.name)
        post = cache[2] if isinstance(cache, (tuple, list)) and len(cache) >= 3 else None
        if isinstance(post, np.ndarray) and post.size and post.dtype.kind == "f":
            total = float(post.sum())
            out["finite"] = math.isfinite(total)
            if activation in SATURATED:
                centre, half = SATURATED[activation]
                out["saturation"] = float(np.count_nonzero(np.abs(post - centre) > half)) / post.size
            elif activation in ("relu", "leaky_relu") and post.ndim == 2:
                silent = float(np.count_nonzero(post.max(axis=0) <= 0)) / post.shape[1]
                out["saturation"] = out["dead"] = silent
        return out


def symmetry(W) -> str:
    """Words for a badly initialized weight matrix ("" if fine): all zero, or every unit (column) alike."""
    if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[1] < 2 or W.dtype.kind != "f":
        return ""
    if not W.any():
        return "all zero"
    if np.array_equal(W, np.broadcast_to(W[:, :1], W.shape)):
        return f"all {W.shape[1]} units start identical"
    return ""
