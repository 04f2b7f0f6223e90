"""Finite-difference gradient checks: central differences (eps 1e-6, float64) against backprop.

``check`` samples entries of every parameter tensor (fast enough for the CLI and tests);
``weight_errors`` checks *every* weight of one layer, vectorized: perturbing W[i, j] only moves
column j of that layer's pre-activation by eps * x[:, i], so all i of one column are evaluated
in a single batched forward pass of the layers above.

Regularization is checked as part of the objective: dropout with a fixed mask (the same mask in
every perturbed forward pass, so the loss is a smooth function of the weights) and the L2 term
n * weight_decay/2 * sum ||W||^2 that training adds to the summed batch loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.nn.activations import ACTIVATIONS
from engine.nn.losses import cross_entropy, one_hot, squared_error
from engine.nn.network import Network

EPS = 1e-6
TOLERANCE = 1e-5
PER_WEIGHT_LIMIT = 1e-3  # a weight whose relative error is this or more is flagged (it locates; it does not fail)


def tensor_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||): one number per tensor. Unlike a per-entry ratio it is not
    dominated by float64 roundoff (~1e-8) in entries whose gradient is nearly zero."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def entry_errors(a: np.ndarray, b: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """Per-entry |a - b| / (|a| + |b|), the denominator floored at ``floor`` x the tensor's largest
    magnitude so near-zero entries show their absolute error instead of amplified roundoff."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    denom = np.abs(a) + np.abs(b)
    return np.abs(a - b) / np.maximum(denom, floor * denom.max() if denom.size and denom.max() > 0 else 1.0)


def loss_and_backprop(net: Network, x: np.ndarray, target: np.ndarray, loss: str,
                      masks=None, weight_decay: float = 0.0) -> float:
    """Total loss on (x, target) and fill every layer's dW/db by backprop."""
    out = net.forward(x, masks)
    if loss == "cross_entropy":
        value, _, dz = cross_entropy(out, target)
        net.backward_preact(dz)
    elif loss == "squared_error":
        value, d_out = squared_error(out, target)
        net.backward(d_out)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    if weight_decay:
        net.add_weight_decay(len(x) * weight_decay)
        value += net.l2_penalty(len(x) * weight_decay)
    return value


def _loss_only(net: Network, x: np.ndarray, target: np.ndarray, loss: str, masks=None,
               weight_decay: float = 0.0) -> float:
    out = net.forward(x, masks)
    value = cross_entropy(out, target)[0] if loss == "cross_entropy" else squared_error(out, target)[0]
    return value + (net.l2_penalty(len(x) * weight_decay) if weight_decay else 0.0)


@dataclass
class CheckResult:
    max_rel_error: dict[str, float]  # per parameter tensor
    checked: dict[str, int]  # entries checked per tensor

    @property
    def passed(self) -> bool:
        return all(v < TOLERANCE for v in self.max_rel_error.values())


def check(net: Network, x: np.ndarray, target: np.ndarray, loss: str = "cross_entropy",
          entries: int = 100, seed: int = 0, masks=None, weight_decay: float = 0.0) -> CheckResult:
    """Central differences on up to ``entries`` random entries of each tensor, in float64.
    ``masks``: fixed dropout masks (``Network.dropout_masks``); ``weight_decay``: the L2 strength."""
    net = net.astype(np.float64)
    x = np.asarray(x, np.float64)
    masks = None if masks is None else [np.asarray(m, np.float64) for m in masks]
    reg = {"masks": masks, "weight_decay": weight_decay}
    loss_and_backprop(net, x, target, loss, **reg)
    grads = {k: g.copy() for k, g in net.grads().items()}
    rng = np.random.default_rng(seed)
    errors, counts = {}, {}
    for name, p in net.params().items():
        flat = p.reshape(-1)
        idx = rng.choice(flat.size, size=min(entries, flat.size), replace=False)
        numeric = np.empty(len(idx))
        for n, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + EPS
            plus = _loss_only(net, x, target, loss, **reg)
            flat[i] = old - EPS
            minus = _loss_only(net, x, target, loss, **reg)
            flat[i] = old
            numeric[n] = (plus - minus) / (2 * EPS)
        errors[name] = tensor_error(numeric, grads[name].reshape(-1)[idx])
        counts[name] = len(idx)
    return CheckResult(errors, counts)


@dataclass
class WeightCheck:
    errors: np.ndarray  # per-weight relative error (entry_errors), shaped like W
    tensor_error: float  # the pass/fail number for the whole tensor

    @property
    def passed(self) -> bool:
        # the per-tensor error decides; per-entry ratios only locate a problem (in layers whose
        # gradients are tiny, e.g. deep sigmoid, roundoff alone lifts some entries near 1e-3)
        return self.tensor_error < TOLERANCE

    @property
    def worst(self) -> tuple[int, int]:
        """(input, unit) of the weight with the largest relative error (the first one, on a tie)."""
        i, j = np.unravel_index(int(np.argmax(self.errors)), self.errors.shape)
        return int(i), int(j)

    def over(self, limit: float = PER_WEIGHT_LIMIT) -> int:
        """How many weights have a relative error of ``limit`` or more."""
        return int(np.count_nonzero(self.errors >= limit))


def weight_errors(net: Network, x: np.ndarray, target: np.ndarray, layer: int = 0,
                  loss: str = "cross_entropy", backprop_grad: np.ndarray | None = None,
                  progress: Callable[[int, int], None] | None = None) -> WeightCheck:
    """Relative error of every weight of one layer, shaped like its W.

    ``backprop_grad`` lets a caller check a gradient computed some other way (the GUI's
    gradient-check view uses it to show that a broken backward pass is caught). ``progress(done,
    total)`` is called after each unit (column of W); an exception it raises cancels the check."""
    steps = iter_weight_errors(net, x, target, layer, loss, backprop_grad)
    while True:
        try:
            done, total = next(steps)
        except StopIteration as end:
            return end.value
        if progress is not None:
            progress(done, total)


def iter_weight_errors(net: Network, x: np.ndarray, target: np.ndarray, layer: int = 0,
                       loss: str = "cross_entropy", backprop_grad: np.ndarray | None = None):
    """``weight_errors`` one column of W at a time: yields (columns done, columns) and returns the
    WeightCheck, so a scheduler can pause or cancel it between columns (engine.training.jobs.gradcheck_job)."""
    net = net.astype(np.float64)
    x = np.asarray(x, np.float64)
    loss_and_backprop(net, x, target, loss)
    analytic = net.layers[layer].dW.copy() if backprop_grad is None else np.asarray(backprop_grad, np.float64)
    h = x
    for l in net.layers[:layer]:
        h = l.forward(h)
    target_rep = None
    L = net.layers[layer]
    z = h @ L.W + L.b  # (n, out)
    n_in, n = L.W.shape[0], len(x)
    numeric = np.empty_like(L.W)
    for j in range(L.W.shape[1]):
        losses = []
        for sign in (1.0, -1.0):
            zp = np.broadcast_to(z, (n_in, n, z.shape[1])).copy()
            zp[:, :, j] += sign * EPS * h.T  # variant i perturbs W[i, j]
            a = ACTIVATIONS[L.activation][0](zp.reshape(n_in * n, -1))
            for above in net.layers[layer + 1:]:
                a = ACTIVATIONS[above.activation][0](a @ above.W + above.b)
            a = a.reshape(n_in, n, -1)
            if loss == "cross_entropy":
                if target_rep is None:
                    target_rep = np.arange(n)
                p = a[:, target_rep, target]  # (n_in, n)
                losses.append(-np.log(np.maximum(p, np.finfo(np.float64).tiny)).sum(axis=1))
            else:
                losses.append(((a - target[None]) ** 2).sum(axis=(1, 2)))
        numeric[:, j] = (losses[0] - losses[1]) / (2 * EPS)
        yield j + 1, L.W.shape[1]
    return WeightCheck(entry_errors(numeric, analytic), tensor_error(numeric, analytic))


def default_problem(sizes=(1024, 64, 36), activation: str = "sigmoid", loss: str = "cross_entropy",
                    n: int = 8, seed: int = 0) -> tuple[Network, np.ndarray, np.ndarray]:
    """A small random problem of the reference shape: network, inputs in [0, 1], targets."""
    rng = np.random.default_rng(seed)
    out_act = "softmax" if loss == "cross_entropy" else "sigmoid"
    net = Network(list(sizes), [activation] * (len(sizes) - 2) + [out_act], seed=seed, dtype=np.float64)
    x = rng.random((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    target = y if loss == "cross_entropy" else one_hot(y, sizes[-1], np.float64)
    return net, x, target


def regularization_checks(entries: int = 100, seed: int = 0) -> dict[str, CheckResult]:
    """The regularizers on the reference shape: dropout with a fixed mask, L2 weight decay, and
    both together on leaky ReLU, for both losses. The strengths are large on purpose (a weak term
    would hide an error in its gradient under the data loss's)."""
    rng = np.random.default_rng(seed + 1)
    results = {}
    for act in ("sigmoid", "leaky_relu"):
        for loss in ("cross_entropy", "squared_error"):
            net, x, target = default_problem(sizes=(1024, 64, 32, 36), activation=act, loss=loss, seed=seed)
            masks = net.dropout_masks(len(x), 0.5, rng)
            for name, reg in (("dropout 0.5", {"masks": masks}), ("weight decay 0.1", {"weight_decay": 0.1}),
                              ("both", {"masks": masks, "weight_decay": 0.1})):
                results[f"{act}/{loss}/{name}"] = check(net, x, target, loss, entries, seed, **reg)
    return results
