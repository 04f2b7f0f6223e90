"""Losses: each returns the loss and its gradient with respect to what it was given."""
from __future__ import annotations

import math

import numpy as np

from engine.nn.activations import arange, ones


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> tuple[float, int, np.ndarray]:
    """Softmax cross-entropy summed over the batch (as in the reference exercise).

    ``probs`` are softmax outputs, ``y`` integer labels. Returns (loss, n_correct, dL/dlogits);
    the fused gradient probs - onehot is exact and never divides by a tiny probability.
    The loss is not clipped: a true-class probability that underflows to 0 (logits ~90 apart)
    gives inf, which is how an exploding run announces itself.
    """
    rows = arange(len(y))
    p_true = probs[rows, y]
    with np.errstate(divide="ignore"):
        loss = -float(np.log(p_true).sum())
    correct = int(np.count_nonzero(probs.argmax(axis=1) == y))
    dz = probs.copy()
    dz[rows, y] = p_true - 1.0
    return loss, correct, dz



def softmax_cross_entropy(z: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> tuple[float, int, np.ndarray]:
    """Training's output step in one: softmax of the logits ``z`` in place (z becomes the
    probabilities, as ``_softmax`` would make them), then ``cross_entropy``'s (loss, n_correct,
    dL/dz). One argmax serves both the stable shift and the accuracy (the class with the largest
    logit), and the loss is the same -log p_true: a probability that underflows still gives inf.
    ``out``: where dL/dz goes (a workspace's ``dz``) instead of a fresh array."""
    rows = arange(len(z))
    pred = z.argmax(axis=1)
    z -= z[rows, pred][:, None]
    np.exp(z, out=z)
    z /= np.dot(z, ones(z.shape[1], z.dtype))[:, None]
    p_true = z[rows, y]
    # -log 0 is inf; asking first is cheaper than np.errstate, which costs more than the rest here
    loss = -float(np.log(p_true).sum()) if p_true.all() else math.inf
    if out is None:
        dz = z.copy()
    else:
        dz = out
        dz[...] = z
    dz[rows, y] = p_true - 1.0
    return loss, int(np.count_nonzero(pred == y)), dz


def squared_error(out: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Sum of squared errors (the autoencoder's loss). Returns (loss, dL/d(out))."""
    diff = out - target
    return float(np.vdot(diff, diff)), 2.0 * diff


def one_hot(y: np.ndarray, k: int, dtype=np.float32) -> np.ndarray:
    out = np.zeros((len(y), k), dtype)
    out[np.arange(len(y)), y] = 1
    return out
