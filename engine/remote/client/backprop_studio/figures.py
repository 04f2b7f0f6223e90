"""Per-layer figures at a batch boundary, cheap enough for every batch (see `bench --attach`).

Read straight from the user's arrays, looked up by key each time (an array the loop rebinds is
followed): mean |grad W|, ||grad W|| / ||W||, saturation of the cached outputs, and what the last
update did: ||dW|| / ||W||, the cosine between dW and the gradient (about -1 for gradient descent;
positive means the update climbs), and the step it took along the gradient (-dW.g / g.g, the
learning rate as the loop applied it). The update figures of a large layer are measured on a fixed
sample of 1024 of its weights (every k-th weight, k coprime with the layer's width, so every unit is in it), so a big layer is never
read whole on the hot path; a layer of up to 1024 weights is measured exactly.
"""
from __future__ import annotations

import functools
import math

import numpy as np

SAMPLE = 1024  # weights per layer the figures are measured on; a smaller layer is measured whole
SATURATED = {"sigmoid": (0.5, 0.45), "tanh": (0.0, 0.95)}  # as engine.debug.stats: outside centre +- half


@functools.lru_cache(maxsize=256)
def _stride(size: int, shape: tuple) -> int:
    """Every k-th weight, k coprime with the row length (so every unit and every input is sampled)."""
    k = max(1, -(-size // SAMPLE))
    while k > 1 and any(math.gcd(k, n) != 1 for n in shape if n > 1):
        k += 1
    return k


class LayerWatch:
    """The running figures of one layer (``name``: the suffix of its W/b keys).

    This batch's sampled weights and gradient are copied into two rows of a 4-row buffer whose other
    two rows hold the last batch's; one product with itself (the 4x4 Gram matrix) gives every norm and
    dot product the figures need. A few NumPy calls per layer per batch, whatever the layer's size.
    """

    def __init__(self, name: str):
        self.name = name
        self.buf: np.ndarray | None = None  # rows (w, g) of this batch and (w, g) of the last, alternating
        self.now = 0  # the row pair this batch writes: 0 or 2
        self.seen = 0  # batches measured into the buffer (the last pair is valid from the second on)
        self.had_grad = False

    def measure(self, params: dict, activation: str) -> dict:
        """This batch's figures (a dict of floats; absent figures are left out)."""
        out: dict = {}
        W, G = params.get("W" + self.name), params.get("grad_W" + self.name)
        if not isinstance(W, np.ndarray) or W.dtype.kind != "f" or not W.size:
            return out
        k = _stride(W.size, W.shape)
        w = W.reshape(-1)[::k]
        if self.buf is None or self.buf.shape[1] != w.size:
            self.buf, self.now, self.seen = np.zeros((4, w.size)), 0, 0
        written = isinstance(G, np.ndarray) and G.shape == W.shape and G.dtype.kind == "f"
        out["written"] = written
        i, j = self.now, 2 - self.now  # this batch's rows, the last batch's rows
        buf = self.buf
        buf[i] = w  # copies: W and its gradient change in place before the next boundary
        buf[i + 1] = G.reshape(-1)[::k] if written else 0.0
        gram = buf @ buf.T
        ww, gg = float(gram[i, i]), float(gram[i + 1, i + 1])
        out["w_norm"] = math.sqrt(ww * k)
        if written:
            out["grad_mean_abs"] = float(np.abs(buf[i + 1]).sum()) / w.size
            out["grad_to_weight"] = math.sqrt(gg / ww) if ww > 0 else math.inf
            # the same array as last time gives bit-identical dot products; a changed one all but never does
            out["changed"] = not (self.seen and self.had_grad and gram[i + 1, j + 1] == gg == gram[j + 1, j + 1])
        if self.seen:
            dd = ww - 2 * float(gram[i, j]) + float(gram[j, j])  # |w - prev|^2, exact enough unless tiny:
            if dd <= 1e-9 * ww:
                d = buf[i] - buf[j]
                dd = float(d @ d)
            out["update_ratio"] = math.sqrt(dd / ww) if ww > 0 else math.inf
            if written:
                dg = float(gram[i, i + 1] - gram[j, i + 1])  # (w - prev) . g
                if dd > 0 and gg > 0:
                    out["update_cos"] = max(-1.0, min(1.0, dg / math.sqrt(dd * gg)))
                if gg > 0:
                    out["step_size"] = -dg / gg
        self.now, self.seen, self.had_grad = j, self.seen + 1, written
        cache = params.get("cache_" + self.name)
        post = cache[2] if isinstance(cache, (tuple, list)) and len(cache) >= 3 else None
        if isinstance(post, np.ndarray) and post.size and post.dtype.kind == "f":
            out["finite"] = math.isfinite(float(post.sum()))
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
