"""Fully connected networks in plain NumPy: dense layers and the network that chains them.

One idea: a Network is a list of Dense layers; forward caches exactly what backward needs
(the layer input and the activation output), backward fills ``dW``/``db`` on every layer and
returns the gradient for the input. Activation derivatives are written in terms of the
*output* a = f(z), so nothing else has to be kept.

Regularization lives here too, as part of the objective so the gradient check covers it:
inverted dropout (a fixed 0 or 1/keep mask per hidden unit and row, given to ``forward``) and
L2 weight decay (``add_weight_decay``: the gradient of n * lambda/2 * sum ||W||^2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from engine.errors import InputError
from engine.nn.activations import ACTIVATIONS, SIGMOID_SATURATED, ones, sigmoid_grad
from engine.nn.optim import axpy

MAX_PARAMS = 50_000_000  # 200 MB of float32 weights; gradients, momentum and snapshots multiply it


@dataclass
class Dense:
    """y = f(x @ W + b), times a dropout mask when one is set. Caches x (input), a (the
    activation output, before dropout: what saturation is measured on) and the mask."""

    name: str
    W: np.ndarray
    b: np.ndarray
    activation: str
    dW: np.ndarray = field(init=False, repr=False)
    db: np.ndarray = field(init=False, repr=False)
    x: np.ndarray | None = field(default=None, init=False, repr=False)
    a: np.ndarray | None = field(default=None, init=False, repr=False)
    drop: np.ndarray | None = field(default=None, init=False, repr=False)  # 0 or 1/keep, shaped like a
    # (a, how many of its sigmoid units are saturated), counted by the backward pass for the statistics
    saturated: tuple | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation {self.activation!r}; choose from {', '.join(ACTIVATIONS)}")
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    @classmethod
    def xavier(cls, name, n_in, n_out, activation, rng, dtype=np.float32) -> "Dense":
        """Xavier-uniform U(+-sqrt(6/(in+out))), zero biases: keeps activation variance steady."""
        bound = np.sqrt(6.0 / (n_in + n_out))
        W = rng.uniform(-bound, bound, size=(n_in, n_out)).astype(dtype)
        return cls(name, W, np.zeros(n_out, dtype), activation)

    def forward(self, x: np.ndarray, activate: bool = True, out: np.ndarray | None = None) -> np.ndarray:
        """``activate=False`` leaves the pre-activation z in ``a`` (for a fused loss to finish);
        ``out`` (n x units) receives z and then f(z) instead of a fresh array."""
        self.x = x
        z = np.dot(x, self.W, out=out)
        z += self.b
        self.a = ACTIVATIONS[self.activation][0](z) if activate else z
        return self.a if self.drop is None else self.a * self.drop

    def backward_preact(self, dz: np.ndarray, need_dx: bool = True, out: np.ndarray | None = None) -> np.ndarray | None:
        """Given dL/dz, fill dW and db; return dL/dx (into ``out`` if given; skipped for the first
        layer in training)."""
        np.dot(self.x.T, dz, out=self.dW)
        np.dot(ones(len(dz), dz.dtype), dz, out=self.db)  # column sums; a GEMV beats np.sum here
        return np.dot(dz, self.W.T, out=out) if need_dx else None

    def activation_grad(self, da: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        """dL/dz from dL/da (in place), using the cached output. For a sigmoid the derivative
        a(1 - a), written into ``scratch`` if given, also tells which units are saturated, so they
        are counted here (two numpy calls instead of the four the statistics would need on every
        training batch)."""
        grad = ACTIVATIONS[self.activation][1]
        if grad is not sigmoid_grad:
            return grad(self.a, da)
        a = self.a
        d = np.subtract(1.0, a, out=scratch)
        d *= a
        da *= d
        self.saturated = (a, np.count_nonzero(d < SIGMOID_SATURATED))
        return da


@dataclass
class Workspace:
    """Every array one training batch of ``n`` rows writes, kept for the next batch of that size,
    so the training step allocates nothing: fresh arrays on every batch cost 3-4 % of a step,
    mostly in cache misses (measured side by side with ``engine.bench.training``'s epoch). Only ``TrainingSession`` uses one; every
    other caller of ``forward`` gets fresh arrays it may keep."""

    n: int
    out: list[np.ndarray]  # per layer: z, then f(z) in place (what ``layer.a`` holds)
    dx: list[np.ndarray]  # per layer: dL/d(its input); the first layer's is never computed
    scratch: list[np.ndarray]  # per layer: the activation derivative
    dz: np.ndarray  # dL/dz of the output layer, from the loss
    batch: tuple[np.ndarray, np.ndarray] | None = None  # the batch's rows and labels (``gather``)

    @classmethod
    def for_layers(cls, layers: Sequence["Dense"], n: int) -> "Workspace":
        dtype = layers[0].W.dtype
        out = [np.empty((n, l.W.shape[1]), dtype) for l in layers]
        dx = [np.empty((n, l.W.shape[0]), dtype) for l in layers]
        return cls(n, out, dx, [np.empty_like(o) for o in out], np.empty_like(out[-1]))

    def gather(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``idx`` of (x, y), copied into arrays kept here. ``take`` in clip mode copies
        without the temporary its default mode makes (the indices are always in range)."""
        bx, by = self.batch or (None, None)
        if bx is None or bx.dtype != x.dtype or bx.shape[1:] != x.shape[1:] or by.dtype != y.dtype:
            bx, by = np.empty((self.n, *x.shape[1:]), x.dtype), np.empty(self.n, y.dtype)
            self.batch = bx, by
        return np.take(x, idx, axis=0, out=bx, mode="clip"), np.take(y, idx, out=by, mode="clip")


class Network:
    """A stack of Dense layers built from a spec: sizes [1024, 64, 36], activations ['sigmoid', 'softmax'].

    Layers are named layer1, layer2, ... and the last one 'output'; parameters are 'layer1.W' etc.
    """

    def __init__(self, sizes: Sequence[int], activations: Sequence[str], seed: int = 0, dtype=np.float32):
        if len(activations) != len(sizes) - 1:
            raise InputError(f"{len(sizes) - 1} layers need {len(sizes) - 1} activations, got {len(activations)}")
        if any(int(s) < 1 for s in sizes):
            raise InputError(f"layer sizes must be positive, got {list(sizes)}")
        n_params = sum(int(a) * int(b) + int(b) for a, b in zip(sizes, sizes[1:]))
        if n_params > MAX_PARAMS:
            raise InputError(f"a {'-'.join(map(str, sizes))} network has {n_params:,} parameters; "
                             f"the limit is {MAX_PARAMS:,} (it must fit in memory with its gradients)")
        rng = np.random.default_rng(seed)
        n = len(activations)
        self.layers = [
            Dense.xavier("output" if i == n - 1 else f"layer{i + 1}", sizes[i], sizes[i + 1], act, rng, dtype)
            for i, act in enumerate(activations)
        ]
        self._pack()

    def _pack(self) -> None:
        """Make every parameter a view into one flat array, and every gradient a view into another,
        so that a plain SGD step is a single BLAS call over all of them (``packed_pairs``). The
        arrays keep their shapes and are only ever updated in place, as before."""
        arrays = [(l, k) for l in self.layers for k in ("W", "b")]
        params = np.empty(sum(getattr(l, k).size for l, k in arrays), self.dtype)
        grads = np.zeros_like(params)
        i = 0
        for l, k in arrays:
            a = getattr(l, k)
            view = params[i:i + a.size].reshape(a.shape)
            view[...] = a
            setattr(l, k, view)
            setattr(l, "d" + k, grads[i:i + a.size].reshape(a.shape))
            i += a.size
        self._packed = [("params", params, grads)]

    @classmethod
    def mlp(cls, n_in: int, hidden: Sequence[int], n_out: int, activation: str = "sigmoid",
            output: str = "softmax", seed: int = 0, dtype=np.float32) -> "Network":
        return cls([n_in, *hidden, n_out], [activation] * len(hidden) + [output], seed, dtype)

    # -- structure ------------------------------------------------------------------------------

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].W.shape[0]] + [layer.W.shape[1] for layer in self.layers]

    @property
    def activations(self) -> list[str]:
        return [layer.activation for layer in self.layers]

    @property
    def dtype(self):
        return self.layers[0].W.dtype

    def params(self) -> dict[str, np.ndarray]:
        return {f"{l.name}.{k}": getattr(l, k) for l in self.layers for k in ("W", "b")}

    def grads(self) -> dict[str, np.ndarray]:
        return {f"{l.name}.{k}": getattr(l, "d" + k) for l in self.layers for k in ("W", "b")}

    def flat_pairs(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(name, flat param view, flat grad view) for optimizers; built once, since parameters
        are only ever updated in place."""
        if getattr(self, "_pairs", None) is None:
            self._pairs = [(f"{l.name}.{k}", getattr(l, k).reshape(-1), getattr(l, "d" + k).reshape(-1))
                           for l in self.layers for k in ("W", "b")]
        return self._pairs

    def packed_pairs(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """All parameters as one (name, flat params, flat grads) pair when they are packed (see
        ``_pack``), else ``flat_pairs()``: for optimizers without per-parameter state."""
        return getattr(self, "_packed", None) or self.flat_pairs()

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy values in (keeps array identity, so optimizers holding references stay valid)."""
        own = self.params()
        if set(own) != set(params):
            raise InputError(f"parameter names differ: expected {sorted(own)}, got {sorted(params)}")
        for k, v in params.items():
            if own[k].shape != np.shape(v):
                raise InputError(f"{k} has shape {np.shape(v)}, expected {own[k].shape}")
            own[k][...] = v

    def astype(self, dtype) -> "Network":
        """A copy in another precision (float64 for gradient checks), or in the same one (a timeline
        branch trains it: packed like the original, so its SGD step is one BLAS call too)."""
        other = Network.__new__(Network)
        other.layers = [Dense(l.name, l.W.astype(dtype), l.b.astype(dtype), l.activation) for l in self.layers]
        other._pack()
        return other

    # -- computation ----------------------------------------------------------------------------

    def forward(self, x: np.ndarray, masks: Sequence[np.ndarray] | None = None, logits: bool = False,
                into: Workspace | None = None) -> np.ndarray:
        """Outputs for a batch. ``masks`` (training only): one inverted-dropout mask per hidden
        layer, kept for the backward pass; without it no unit is dropped. ``logits``: stop before
        the output activation (training finishes it in ``softmax_cross_entropy``). ``into``: the
        training step's ``workspace``; the result then lives in it until the next batch."""
        h = np.asarray(x, self.dtype)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            layer.drop = masks[i] if masks is not None and i < last else None
            h = layer.forward(h, not (logits and i == last), into.out[i] if into is not None else None)
        return h

    def workspace(self, n: int) -> Workspace:
        """The arrays a training batch of n rows writes into (one set per batch size in use: the
        full batch and the epoch's shorter last one)."""
        spaces = self.__dict__.get("_workspaces")
        ws = spaces.get(n) if spaces else None
        if ws is None:
            if not spaces or len(spaces) >= 4:
                spaces = self._workspaces = {}
            ws = spaces[n] = Workspace.for_layers(self.layers, n)
        return ws

    def dropout_masks(self, n: int, p: float, rng: np.random.Generator) -> list[np.ndarray]:
        """Inverted dropout for n rows: each hidden unit kept with probability 1 - p and then
        scaled by 1/(1 - p), so the expected activation is unchanged and evaluation needs no mask."""
        keep = 1.0 - p
        masks = []
        for layer in self.layers[:-1]:
            m = rng.random((n, layer.W.shape[1]), dtype=np.float64) < keep
            masks.append(m.astype(self.dtype) * self.dtype.type(1.0 / keep))
        return masks

    def add_weight_decay(self, strength: float) -> None:
        """dW += strength * W on every layer (not the biases): the gradient of the L2 term
        strength/2 * sum ||W||^2. Training passes n * weight_decay, so the decay per example
        does not depend on the batch size (the loss is summed over the batch)."""
        for layer in self.layers:
            axpy(layer.W.reshape(-1), layer.dW.reshape(-1), strength)

    def l2_penalty(self, strength: float) -> float:
        """strength/2 * sum ||W||^2, the term whose gradient add_weight_decay adds."""
        return 0.5 * strength * sum(float(np.vdot(l.W, l.W)) for l in self.layers)

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        """Backprop dL/d(output) through every layer (the general path, used by gradient checks)."""
        return self.backward_preact(self.layers[-1].activation_grad(d_out), need_dx=True)

    def backward_preact(self, dz: np.ndarray, need_dx: bool = False, into: Workspace | None = None) -> np.ndarray | None:
        """Backprop dL/dz of the output layer (the fused softmax + cross-entropy path); ``into``
        as for ``forward``."""
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            da = layer.backward_preact(dz, need_dx or i > 0, into.dx[i] if into is not None else None)
            if i > 0:
                below = self.layers[i - 1]
                if below.drop is not None:
                    da *= below.drop  # a dropped unit passed nothing on, so it gets no gradient
                dz = below.activation_grad(da, into.scratch[i - 1] if into is not None else None)
        return da

    def predict(self, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Outputs for many rows in chunks (bounded memory), without touching the training caches."""
        saved = [(l.x, l.a, l.drop) for l in self.layers]
        out = np.concatenate([self.forward(x[i:i + chunk]).copy() for i in range(0, len(x), chunk)]) \
            if len(x) else np.zeros((0, self.sizes[-1]), self.dtype)
        for l, (lx, la, ld) in zip(self.layers, saved):
            l.x, l.a, l.drop = lx, la, ld
        return out
