"""Small deterministic datasets for fast tests."""
import numpy as np

from engine.data.dataset import NIST36_CLASSES, Dataset, Split


def prototype_dataset(n_train=640, n_valid=128, n_classes=36, seed=0, noise=0.3) -> Dataset:
    """Class prototypes plus noise: learnable in a few epochs, so training behaviour is testable."""
    rng = np.random.default_rng(seed)
    protos = rng.random((n_classes, 1024)).astype(np.float32)

    def split(n):
        y = rng.integers(0, n_classes, n)
        x = protos[y] + noise * rng.standard_normal((n, 1024)).astype(np.float32)
        return Split(x.astype(np.float32), y.astype(np.int64))

    classes = NIST36_CLASSES[:n_classes] if n_classes <= 36 else tuple(map(str, range(n_classes)))
    return Dataset("prototypes", classes, split(n_train), split(n_valid), split(n_valid // 2))
