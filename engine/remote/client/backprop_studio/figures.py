"""Per-layer figures at a batch boundary, cheap enough for every batch (see `bench --attach`).

Read straight from the user's arrays, looked up by key each time (an array the loop rebinds is
followed): mean |grad W|, ||grad W|| / ||W||, saturation of the cached outputs, and what the last
update did: ||dW|| / ||W||, the cosine between dW and the gradient (about -1 for gradient descent;
positive means the update climbs), and the step it took along the gradient (-dW.g / g.g, the
learning rate as the loop applied it). The figures of a large layer are measured on a fixed sample of
1024 of its weights (runs of one cache line spread over the array, so every unit and every input
comes up) and of 4096 of its outputs: a big layer is never read whole on the hot path; a layer
of up to 1024 weights is measured exactly.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

SAMPLE = 1024  # weights per layer the figures are measured on; a smaller layer is measured whole
POST_SAMPLE = 4096  # values of an activation's output the saturation is counted on
SATURATED = {"sigmoid": (0.5, 0.45), "tanh": (0.0, 0.95)}  # as engine.debug.stats: outside centre +- half


@functools.lru_cache(maxsize=256)
def sample_index(size: int, itemsize: int) -> np.ndarray | None:
    """Which weights a layer's figures read: ``SAMPLE`` of them in runs of one cache line each (reading
    scattered single weights costs a cache miss per weight: most of the time), the runs spread evenly
    over the array and each shifted by a different amount, so every unit and every input comes up.
    None: the layer is small enough to read whole."""
    if size <= SAMPLE:
        return None
    run = max(1, 64 // itemsize)
    runs = SAMPLE // run
    span = size // runs
    shift = (np.arange(runs) * 997 * run) % max(span - run + 1, 1)
    return (np.arange(runs)[:, None] * span + shift[:, None] + np.arange(run)).reshape(-1)


@dataclass
class Reading:
    """One layer at a batch boundary: its weights and gradient (any shape, W's), and its activation's
    output (a sample is enough)."""
    name: str
    W: np.ndarray
    G: np.ndarray | None
    post: object  # an array, a function that returns one, or None
    activation: str


class Watch:
    """The running figures of every layer, measured together.

    Each layer's sampled weights and gradient go into two rows of its slot in one (layers, 4, SAMPLE)
    buffer whose other two rows hold the last batch's (zeros pad a smaller layer: they add nothing to
    a dot product). One batched product of the buffer with itself gives every layer's 4x4 Gram matrix,
    every norm and dot product the figures need: a few NumPy calls per batch plus two copies and the
    saturation per layer, whatever the layers' sizes.
    """

    def __init__(self):
        self.layout: tuple = ()
        self.buf = np.zeros((0, 4, SAMPLE))
        self.now = 0  # the row pair this batch writes: 0 or 2 (the other pair is the last batch's)
        self.seen = 0  # batches measured into this layout
        self.had_grad: list[bool] = []

    def forget(self) -> None:
        """The weights jumped (a restore): the next batch's change is no update."""
        self.seen = 0

    def measure(self, layers: list[Reading]) -> dict[str, dict]:
        return self.compute(self.capture(layers))

    def capture(self, layers: list[Reading]) -> tuple:
        """What must be read at the boundary itself (the samples of W and its gradient, which the loop
        changes in place next): the rest, ``compute``, may run later, on another thread."""
        layout = tuple((r.name, r.W.shape) for r in layers)
        if layout != self.layout:
            self.layout, self.seen, self.now = layout, 0, 0
            self.buf = np.zeros((len(layers), 4, SAMPLE))
            self.index = [sample_index(r.W.size, r.W.itemsize) for r in layers]
            self.counts = [r.W.size if ix is None else ix.size for r, ix in zip(layers, self.index)]
            self.had_grad = [False] * len(layers)
        i, j, buf = self.now, 2 - self.now, self.buf
        written = []
        for l, (r, ix, m) in enumerate(zip(layers, self.index, self.counts)):
            w = r.W.reshape(-1)
            buf[l, i, :m] = w if ix is None else w[ix]  # copies: W and its gradient change before the next boundary
            ok = isinstance(r.G, np.ndarray) and r.G.shape == r.W.shape and r.G.dtype.kind == "f"
            written.append(ok)
            if ok:
                g = r.G.reshape(-1)
                buf[l, i + 1, :m] = g if ix is None else g[ix]
            else:
                buf[l, i + 1] = 0.0
        had, seen = self.had_grad, self.seen
        self.now, self.seen, self.had_grad = j, self.seen + 1, written
        return layers, written, had, seen, i, j

    def compute(self, captured: tuple) -> dict[str, dict]:
        """The figures of a captured batch (before the next batch is captured)."""
        layers, written, had, seen, i, j = captured
        buf = self.buf
        grams = (buf @ buf.transpose(0, 2, 1)).tolist()
        abs_g = np.abs(buf[:, i + 1]).sum(axis=1).tolist()
        out = {}
        for l, r in enumerate(layers):
            out[r.name] = _figures(grams[l], abs_g[l] / self.counts[l], r.W.size / self.counts[l], written[l],
                                   had[l], seen, i, j, buf[l])
            _saturation(out[r.name], r.post, r.activation)
        return out


def _figures(g: list, mean_abs: float, k: float, written: bool, had: bool, seen: int, i: int, j: int, rows) -> dict:
    ww, gg = g[i][i], g[i + 1][i + 1]
    out = {"written": written, "w_norm": math.sqrt(ww * k)}
    if written:
        out["grad_mean_abs"] = mean_abs
        out["grad_to_weight"] = math.sqrt(gg / ww) if ww > 0 else math.inf
        # the same array as last time gives bit-identical dot products; a changed one all but never does
        out["changed"] = not (seen and had and g[i + 1][j + 1] == gg == g[j + 1][j + 1])
    if seen:
        dd = ww - 2 * g[i][j] + g[j][j]  # |w - prev|^2, exact enough unless tiny:
        if dd <= 1e-9 * ww:
            d = rows[i] - rows[j]
            dd = float(d @ d)
        out["update_ratio"] = math.sqrt(dd / ww) if ww > 0 else math.inf
        if written:
            dg = g[i][i + 1] - g[j][i + 1]  # (w - prev) . g
            if dd > 0 and gg > 0:
                out["update_cos"] = max(-1.0, min(1.0, dg / math.sqrt(dd * gg)))
            if gg > 0:
                out["step_size"] = -dg / gg
    return out


def _saturation(out: dict, post, activation: str) -> None:
    """Saturated (sigmoid, tanh) or silent (ReLU) units, and whether the outputs are finite."""
    post = post() if callable(post) else post  # a tensor's NumPy view is made on the figures thread
    if not isinstance(post, np.ndarray) or not post.size or post.dtype.kind != "f":
        return
    flat = post.reshape(-1)
    sample = flat[::-(-flat.size // POST_SAMPLE)] if flat.size > POST_SAMPLE else flat
    out["finite"] = math.isfinite(float(sample.sum()))
    if activation in SATURATED:
        centre, half = SATURATED[activation]
        out["saturation"] = float(np.count_nonzero(np.abs(sample - centre) > half)) / sample.size
    elif activation in ("relu", "leaky_relu") and post.ndim == 2:
        silent = float(np.count_nonzero(post.max(axis=0) <= 0)) / post.shape[1]
        out["saturation"] = out["dead"] = silent


def symmetry(W) -> str:
    """Words for a badly initialized weight matrix ("" if fine): all zero, or every unit (column) alike."""
    if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[1] < 2 or W.dtype.kind != "f":
        return ""
    if not W.any():
        return "all zero"
    if np.array_equal(W, np.broadcast_to(W[:, :1], W.shape)):
        return f"all {W.shape[1]} units start identical"
    return ""
