"""Optimizers behind one interface, and the learning-rate schedule.

``step(pairs, lr)`` updates parameters in place; ``pairs`` is ``Network.flat_pairs()``:
(name, flat parameter view, flat gradient view). The learning rate is passed on every
step so the schedule lives in one place (``decayed_lr``) and checkpoints only need the epoch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.nn.blas import blas_func


def axpy(g: np.ndarray, p: np.ndarray, a: float) -> None:
    """p += a * g in place for flat arrays, in one BLAS pass with no temporary (hot path)."""
    blas_func("axpy", p.dtype)(g, p, a=a)


class SGD:
    """p -= lr * g."""

    name = "sgd"
    stateless = True  # may update all parameters as one flat array (Network.packed_pairs)

    def step(self, pairs: list[tuple[str, np.ndarray, np.ndarray]], lr: float) -> None:
        for _, p, g in pairs:
            axpy(g, p, -lr)

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        pass


class Momentum(SGD):
    """Classical momentum as in the reference exercise: v = mu*v - lr*g; p += v."""

    name = "momentum"
    stateless = False  # velocities are kept per parameter name

    def __init__(self, mu: float = 0.9):
        self.mu = mu
        self.velocity: dict[str, np.ndarray] = {}

    def step(self, pairs, lr):
        for k, p, g in pairs:
            v = self.velocity.get(k)
            if v is None:
                v = self.velocity[k] = np.zeros_like(p)
            v *= self.mu
            axpy(g, v, -lr)
            axpy(v, p, 1.0)

    def state(self):
        return {f"velocity.{k}": v for k, v in self.velocity.items()}

    def load_state(self, state):
        self.velocity = {k[len("velocity."):]: np.array(v) for k, v in state.items() if k.startswith("velocity.")}


def make_optimizer(momentum: float) -> SGD:
    return Momentum(momentum) if momentum > 0 else SGD()


@dataclass(frozen=True)
class LRSchedule:
    """lr0 * decay ** (epoch // every): 'x0.9 every K epochs'. every=0 means constant."""

    lr0: float
    decay: float = 1.0
    every: int = 0

    def at(self, epoch: int) -> float:
        return self.lr0 * (self.decay ** (epoch // self.every) if self.every > 0 else 1.0)
