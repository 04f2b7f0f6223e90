"""The one in-memory dataset type every loader and generator returns.

Images follow the NIST36 convention of the reference exercise so a model trained on one source
continues on another: each row is a 32x32 grayscale image, dark strokes (~0) on a white background
(~1), flattened in MATLAB column-major order (``row.reshape(32, 32).T`` is upright).
Labels are integer class indices (not one-hot); ``classes`` names them (A-Z then 0-9 for NIST36).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NIST36_CLASSES: tuple[str, ...] = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
SIDE = 32


@dataclass
class Split:
    x: np.ndarray  # (N, 1024) float32
    y: np.ndarray  # (N,) int64 class indices

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    name: str
    classes: tuple[str, ...]
    train: Split
    valid: Split
    test: Split

    @property
    def n_inputs(self) -> int:
        return self.train.x.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def to_image(row: np.ndarray) -> np.ndarray:
    """An upright 32x32 image from one flattened NIST-layout row."""
    return row.reshape(SIDE, SIDE).T


def from_image(img: np.ndarray) -> np.ndarray:
    """The flattened NIST-layout (column-major) row of an upright 32x32 image."""
    return np.asarray(img, np.float32).T.reshape(-1)


def split_deterministic(x: np.ndarray, y: np.ndarray, fractions=(0.8, 0.1, 0.1), seed: int = 0):
    """Carve train/valid/test from one array pair with a seeded permutation (same files -> same split)."""
    order = np.random.default_rng(seed).permutation(len(y))
    n_train = int(round(fractions[0] * len(y)))
    n_valid = int(round(fractions[1] * len(y)))
    parts = np.split(order, [n_train, n_train + n_valid])
    return tuple(Split(np.ascontiguousarray(x[p], np.float32), y[p].astype(np.int64)) for p in parts)
