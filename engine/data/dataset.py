"""The one in-memory dataset type every loader and generator returns.

Images follow the NIST36 convention of the reference exercise so a model trained on one source
continues on another: each row is a 32x32 grayscale image, dark strokes (~0) on a white background
(~1), flattened in MATLAB column-major order (``row.reshape(32, 32).T`` is upright).
Labels are integer class indices (not one-hot); ``classes`` names them (A-Z then 0-9 for NIST36).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import InputError

NIST36_CLASSES: tuple[str, ...] = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
SIDE = 32


@dataclass
class Split:
    x: np.ndarray  # (N, 1024) float32
    y: np.ndarray  # (N,) int64 class indices

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Edited:
    """How an edited dataset came from the data as loaded (engine.data.edits.EditList.apply): the loaded data,
    the edit list applied (an EditList: its indices are the loaded data's), and per split the loaded data's
    index of every row kept. A checkpoint keeps the edits, so a session continues on the same edited data."""

    base: "Dataset"
    edits: object  # engine.data.edits.EditList (imported there: edits import this module)
    rows: dict[str, np.ndarray]


@dataclass
class Dataset:
    name: str
    classes: tuple[str, ...]
    train: Split
    valid: Split
    test: Split
    edited: Edited | None = None  # set on an edited copy (EditList.apply); None for data as loaded

    @property
    def base(self) -> "Dataset":
        """The data as loaded: this dataset, or the one its edits were applied to."""
        return self.edited.base if self.edited is not None else self

    @property
    def n_inputs(self) -> int:
        return self.train.x.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def check_trainable(self, classify: bool = True) -> None:
        """InputError unless a network can learn from this and be measured on held-out rows: at least
        2 training rows and 1 validation row, and for a classifier at least 2 classes among the
        training labels (softmax over one class is loss 0, accuracy 100 %, and learns nothing)."""
        if len(self.train) < 2 or len(self.valid) < 1:
            raise InputError(f"{self.name}: {len(self.train)} training and {len(self.valid)} validation rows are too "
                             f"few to train and validate on (give at least 10 rows, or a separate valid split)")
        if classify:
            present = np.unique(self.train.y)
            if self.n_classes < 2 or len(present) < 2:
                only = self.classes[int(present[0])] if len(present) and present[0] < self.n_classes else "?"
                raise InputError(f"{self.name}: the training rows hold one class only ({only!r}); "
                                 f"a classifier needs at least 2")


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
