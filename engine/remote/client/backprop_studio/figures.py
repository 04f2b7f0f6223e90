"""Per-layer figures at a batch boundary, cheap enough for every batch (see `bench --attach`).

Read straight from the user's arrays, looked up by key each time (an array the loop rebinds is
followed): mean |grad W|, ||grad W|| / ||W||, saturation of the cached outputs, and what the last
update did: ||dW|| / ||W||, the cosine between dW and the gradient (about -1 for gradient descent;
positive means the update climbs), and the step it took along the gradient (-dW.g / g.g, the
learning rate as the loop applied it). The figures of a large layer are measured on a fixed sample of
``SAMPLE`` of its weights (runs of one cache line spread over the array, so every unit and every input
comes up) and of ``POST_SAMPLE`` of its outputs: a big layer is never read whole on the hot path; a
layer of up to ``SAMPLE`` weights is measured exactly.
"""
from __future__ import annotations

import functools

import numpy as np

SAMPLE = 256  # weights per layer the figures are measured on; a smaller layer is measured whole
POST_SAMPLE = 512  # values of an activation's output the saturation is counted on
RING = 64  # batches captured before their figures must be computed (a settle costs the same for 1 or 64)
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


class Watch:
    """Every layer's figures, for every batch, computed together when they are sent.

    At a boundary the loop pays only for copies of what it changes next: each layer's sampled weights
    and gradient, and a sample of its activation's output, into one slot of a ring of ``RING`` batches.
    ``settle`` (when the ring is full, and before anything is sent) turns all waiting slots into figures
    in a handful of NumPy calls over the whole ring: w.w, g.g, d.d and d.g (d: the update) for every
    batch and layer give every norm, ratio and cosine. The same numbers as computing each batch alone,
    at a fraction of the calls (Python and NumPy call overhead, not arithmetic, is what a boundary
    costs). What is sent together is one *chunk*: one array per figure, a row per batch, whatever the
    number of batches, so a frame's size in arrays does not grow with the batch rate.
    """

    def __init__(self):
        self.pending: list[list[bool]] = []  # per waiting batch: whether each layer's gradient was written
        self.seen = 0  # batches captured in this layout (the first has no update)
        self.last_written: list[bool] = []
        self.names: list[str] = []
        self.chunk = 0  # numbers the groups of batches sent together
        self.rows = 0  # batches captured into the current chunk
        self.settled: list[dict] = []  # the current chunk's figures, one dict of arrays per settle
        self.ready: list = []  # finished chunks, not yet sent: (chunk, names, arrays)
        self._reset([])

    def forget(self) -> None:
        """The weights jumped (a restore): the next batch's change is no update."""
        self.settle()
        self.seen = 0

    def take(self) -> tuple[dict, dict]:
        """Every captured batch's figures, ready to send: ({chunk: layer names}, {"chunk:figure": array})."""
        self._close_chunk()
        names = {str(c): n for c, n, _ in self.ready}
        arrays = {f"{c}:{f}": a for c, _, figs in self.ready for f, a in figs.items()}
        self.ready = []
        return names, arrays

    def _close_chunk(self) -> None:
        self.settle()
        if self.settled:
            parts = self.settled
            figures = parts[0] if len(parts) == 1 else {f: np.concatenate([p[f] for p in parts]) for f in parts[0]}
            self.ready.append((self.chunk, self.names, figures))
            self.settled, self.chunk, self.rows = [], self.chunk + 1, 0

    def _reset(self, layers: list) -> None:
        self._close_chunk()  # a chunk's batches share their layers
        n = len(layers)
        self.seen, self.last_written = 0, [False] * n
        self.names = [r[0] for r in layers]
        index = [sample_index(r[1].size, r[1].itemsize) for r in layers]
        self.counts = np.array([r[1].size if ix is None else ix.size for r, ix in zip(layers, index)], float)
        self.scale = np.array([r[1].size for r in layers], float) / self.counts
        self.wg = np.zeros((RING + 1, n, 2, SAMPLE))  # slot 0: the batch before the waiting ones
        self.post = np.zeros((RING + 1, n, POST_SAMPLE), np.float32)  # (small: the ring must stay in cache)
        self.post_n = [[0] * n for _ in range(RING + 1)]  # per slot and layer: values held (the rest is pad)
        self.relu = [r[4] in ("relu", "leaky_relu") for r in layers]
        # saturated: outside centre +- half; a ReLU's dead units are its outputs <= 0
        centre_half = [SATURATED.get(r[4], (0.0, np.inf)) for r in layers]
        self.bands = [(l, np.float32(c - h), np.float32(c + h)) for l, (c, h) in enumerate(centre_half) if h < np.inf]
        self.pad = [1.0 if relu else c for relu, (c, _) in zip(self.relu, centre_half)]  # neither hot nor dead
        self.post[:] = np.array(self.pad, np.float32)[:, None] if n else 0.0
        self.relu_mask, self.banded = np.array(self.relu, bool), np.array([h < np.inf for _, h in centre_half])
        # per layer: what it must match to stay in this layout, and the flat indices its sample reads
        self.plan = [(r[0], r[1].shape, r[1].dtype, r[4], np.arange(r[1].size) if ix is None else ix, relu)
                     for r, ix, relu in zip(layers, index, self.relu)]
        m = [int(c) for c in self.counts]  # per slot and layer: the views a capture writes into
        self.slots = [[(self.wg[k, l, 0, :m[l]], self.wg[k, l, 1, :m[l]], self.post[k, l]) for l in range(n)]
                      for k in range(RING + 1)]

    def measure(self, layers: list) -> None:
        """Capture this batch. ``layers``: per layer a plain tuple (name, W, G, post, activation): its weights
        and gradient (any shape, W's; G None when not written) and its activation's output (an array, a
        function that returns one, or None). Its figures are row ``rows - 1`` of chunk ``chunk`` of what is sent."""
        if len(self.pending) == RING:
            self.settle()
        k = len(self.pending) + 1
        counts = self.post_n[k]
        written = []
        if len(layers) != len(self.plan):
            return self._again(layers)
        for l, ((name, W, G, post, act), (pname, shape, dtype, pact, ix, relu), (w_row, g_row, p_row)) in \
                enumerate(zip(layers, self.plan, self.slots[k])):
            if W.shape != shape or W.dtype != dtype or name != pname or act != pact:
                return self._again(layers)
            _take(W, ix, w_row)  # copies: W and its gradient change before the next boundary
            ok = isinstance(G, np.ndarray) and G.shape == shape and G.dtype.kind == "f"
            if ok:
                _take(G, ix, g_row)
            else:
                g_row[:] = 0.0
            written.append(ok)
            n = _sample_post(p_row, post, relu)
            if n < counts[l]:
                p_row[n:] = self.pad[l]
            counts[l] = n
        self.rows += 1
        self.pending.append(written)
        self.seen += 1

    def _again(self, layers: list) -> None:
        """The layers changed (or this is the first batch): a new layout, then the capture."""
        self._reset(layers)
        self.measure(layers)

    def settle(self) -> None:
        """The figures of every waiting batch, as arrays (batch, layer) that travel as they are (the window
        unpacks them, see ``unpack``), kept with the current chunk until taken. Each figure is one pass
        (or two) over the ring; the saturation only over the layers that have a band."""
        if not self.pending:
            return
        K = len(self.pending)
        wg = self.wg[:K + 1]
        W, G = wg[1:, :, 0], wg[1:, :, 1]  # (K, layers, S)
        D = W - wg[:-1, :, 0]  # each batch's update (exact, however small)
        ww, gg, dd, dg = (np.einsum("kls,kls->kl", a, b) for a, b in ((W, W), (G, G), (D, D), (D, G)))
        written = np.array(self.pending)
        before = np.vstack([self.last_written, written[:-1]])
        seen = (self.seen - K + np.arange(K) > 0)[:, None] & np.ones_like(written)
        posts, n = self.post[1:K + 1], np.array(self.post_n[1:K + 1], float)  # (a row's unused end: pad)
        hot = np.zeros(n.shape)
        for l, low, high in self.bands:
            p = posts[:, l]
            hot[:, l] = np.count_nonzero(p > high, axis=-1) + np.count_nonzero(p < low, axis=-1)
        relu = self.relu_mask
        dead = np.zeros(n.shape)
        for l in np.flatnonzero(relu):
            dead[:, l] = np.count_nonzero(posts[:, l] <= 0, axis=-1)
        with np.errstate(all="ignore"):
            out = {"w_norm": np.sqrt(ww * self.scale), "grad_mean_abs": np.abs(G).sum(-1) / self.counts,
                   "grad_to_weight": np.where(ww > 0, np.sqrt(gg / ww), np.inf),
                   "update_ratio": np.where(ww > 0, np.sqrt(dd / ww), np.inf),
                   "update_cos": np.clip(dg / np.sqrt(dd * gg), -1.0, 1.0), "step_size": -dg / gg,
                   "finite": np.isfinite(posts.sum(-1)),
                   "saturation": np.where(relu, dead, hot) / np.maximum(n, 1), "dead": dead / np.maximum(n, 1),
                   "written": written,
                   "changed": ~(seen & before & (G == wg[:-1, :, 1]).all(-1)),
                   # which figures each (batch, layer) has
                   "has_grad": written, "has_update": seen, "has_cos": seen & written & (dd > 0) & (gg > 0),
                   "has_step": seen & written & (gg > 0), "has_post": n > 0,
                   "has_sat": (n > 0) & (relu | self.banded), "has_dead": (n > 0) & relu}
        self.wg[0] = self.wg[K]  # the last batch is the next one's "before"
        self.last_written, self.pending = list(written[-1]), []
        self.settled.append(out)


GROUPS = {"has_grad": ("grad_mean_abs", "grad_to_weight", "changed"), "has_update": ("update_ratio",),
          "has_cos": ("update_cos",), "has_step": ("step_size",), "has_post": ("finite",), "has_sat": ("saturation",),
          "has_dead": ("dead",)}


def unpack(names: list, arrays: dict) -> list[dict[str, dict]]:
    """Every batch's figures per layer, as dicts of plain numbers, from the arrays ``settle`` made for one
    chunk (each array converted once: the window's side pays per chunk, not per batch and array)."""
    rows = {f: a.tolist() for f, a in arrays.items()}
    groups = [(rows[g], figs) for g, figs in GROUPS.items() if g in rows]
    written, w_norm = rows["written"], rows["w_norm"]
    out = []
    for k in range(len(written)):
        batch = {}
        for l, name in enumerate(names):
            f = {"written": bool(written[k][l]), "w_norm": w_norm[k][l]}
            for has, figs in groups:
                if has[k][l]:
                    for x in figs:
                        f[x] = rows[x][k][l]
            batch[name] = f
        out.append(batch)
    return out


@functools.lru_cache(maxsize=64)
def post_index(size: int) -> np.ndarray:
    """Which of an output's values the saturation is counted on: ``POST_SAMPLE`` spread evenly over it
    (every row and unit comes up), or all of a smaller one."""
    return np.arange(size) if size <= POST_SAMPLE else np.arange(POST_SAMPLE) * size // POST_SAMPLE


def _sample_post(row: np.ndarray, post, relu: bool) -> int:
    """A sample of the activation's output copied into the front of ``row`` (a ReLU layer's: each unit's
    batch maximum, for the dead units); how many values it holds."""
    post = post() if callable(post) else post  # a tensor gives its NumPy view only when read
    if not isinstance(post, np.ndarray) or not post.size or post.dtype.kind != "f":
        return 0
    if relu:
        n = post.shape[1] if post.ndim == 2 and post.shape[1] <= POST_SAMPLE else 0
        if n:
            np.max(post, axis=0, out=row[:n])
        return n
    ix = post_index(post.size)
    _take(post, ix, row if ix.size == POST_SAMPLE else row[:ix.size])
    return ix.size


def _take(a: np.ndarray, ix: np.ndarray, out: np.ndarray) -> None:
    """``a``'s values at flat indices ``ix`` into ``out`` (``take`` in place where it can: the fastest copy;
    it cannot widen, e.g. float32 weights into the float64 ring)."""
    if a.dtype == out.dtype or (a.dtype == np.float64 and out.dtype == np.float32):
        a.take(ix, out=out, mode="clip")
    else:
        out[:] = a.reshape(-1)[ix]


def symmetry(W) -> str:
    """Words for a badly initialized weight matrix ("" if fine): all zero, or every unit (column) alike."""
    if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[1] < 2 or W.dtype.kind != "f":
        return ""
    if not W.any():
        return "all zero"
    if np.array_equal(W, np.broadcast_to(W[:, :1], W.shape)):
        return f"all {W.shape[1]} units start identical"
    return ""
