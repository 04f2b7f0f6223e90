"""What tests share: small deterministic datasets, the project's paths, and what every property test
checks (an input ends in a result or a clean InputError, nothing else)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from engine.data.dataset import NIST36_CLASSES, Dataset, Split
from engine.errors import InputError

ROOT = Path(__file__).resolve().parents[1]  # the checkout
SHARED = ROOT.parent / "shared"  # the team's real data (nist26, photos): read from there, never copied


def prototype_dataset(n_train=640, n_valid=128, n_classes=36, seed=0, noise=0.3) -> Dataset:
    """Class prototypes plus noise, every class as often as the others: learnable in a few epochs (so
    training behaviour is testable), confusable early on with more noise. The one test dataset: the
    engine, CLI, property and GUI tests all build theirs here."""
    rng = np.random.default_rng(seed)
    protos = rng.random((n_classes, 1024)).astype(np.float32)

    def split(n):
        y = rng.permutation(np.arange(n) % n_classes)
        x = protos[y] + noise * rng.standard_normal((n, 1024)).astype(np.float32)
        return Split(x.astype(np.float32), y.astype(np.int64))

    classes = NIST36_CLASSES[:n_classes] if n_classes <= 36 else tuple(map(str, range(n_classes)))
    return Dataset("prototypes", classes, split(n_train), split(n_valid), split(n_valid // 2))


def one_line(exc: InputError) -> None:
    """A user error's message is one line a person can read (the CLI prints it after 'error: ')."""
    text = str(exc)
    assert text.strip() and "\n" not in text.strip() and "Traceback" not in text, text


def strict_json(obj) -> dict:
    """Serialises without NaN/inf (json.dumps(allow_nan=False) raises otherwise) and back."""
    return json.loads(json.dumps(obj, allow_nan=False))


def finite(*values) -> bool:
    return all(math.isfinite(float(v)) for v in values)
