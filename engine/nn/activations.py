"""Activations: forward f(z) in place, derivative written in terms of the output a = f(z), so a layer
keeps nothing but its output. (``ACTIVATIONS`` maps a name to the pair.)"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

# Derivatives may overwrite g (the incoming gradient): it is a fresh temporary on every path.


def _sigmoid(z):
    # 1/(1+exp(-z)) == (1 + tanh(z/2)) / 2: never overflows, and twice as fast as scipy's expit here
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def sigmoid_grad(a, g):
    d = 1.0 - a
    d *= a
    g *= d
    return g


# a(1 - a) below this <=> a outside [0.05, 0.95]: the sigmoid saturation band of engine.debug.stats,
# read off the derivative the backward pass computes anyway (see Dense.activation_grad)
SIGMOID_SATURATED = 0.05 * 0.95

LEAKY_SLOPE = 0.01  # leaky ReLU: f(z) = z for z > 0, 0.01 z otherwise (a unit can never die)


def _leaky_relu(z):
    np.multiply(z, LEAKY_SLOPE, out=z, where=z < 0)
    return z


def _leaky_relu_grad(a, g):
    np.multiply(g, LEAKY_SLOPE, out=g, where=a <= 0)  # a and z share their sign
    return g


def _softmax(z):
    # stable: subtract the row max first (softmax is shift invariant); row sums as a GEMV. The max
    # is picked by argmax: a row reduction over 36 numbers costs 2x more than argmax + a gather.
    z -= z[arange(len(z)), z.argmax(axis=1)][:, None]
    np.exp(z, out=z)
    z /= np.dot(z, ones(z.shape[1], z.dtype))[:, None]
    return z


ACTIVATIONS = {
    "sigmoid": (_sigmoid, sigmoid_grad),
    "tanh": (lambda z: np.tanh(z, out=z), lambda a, g: g * (1.0 - a * a)),
    "relu": (lambda z: np.maximum(z, 0.0, out=z), lambda a, g: g * (a > 0)),
    "leaky_relu": (_leaky_relu, _leaky_relu_grad),
    "linear": (lambda z: z, lambda a, g: g),
    # Jacobian-vector product; the fused cross-entropy path below avoids it during training
    "softmax": (_softmax, lambda a, g: a * (g - (g * a).sum(axis=1, keepdims=True))),
}


@lru_cache(maxsize=16)
def ones(n: int, dtype) -> np.ndarray:
    return np.ones(n, dtype)


@lru_cache(maxsize=16)
def arange(n: int) -> np.ndarray:
    return np.arange(n)

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")  # the choices for a hidden layer
