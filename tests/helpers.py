"""What tests share: small deterministic datasets, the project's paths, and what every property test
checks (an input ends in a result or a clean InputError, nothing else)."""
from __future__ import annotations

import json
import math
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import numpy.lib.format as npy

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


def add_zero_member(path, name: str, nbytes: int, dtype="f8") -> None:
    """Append to an .npz (a zip) a deflated member ``name`` holding ``nbytes`` of zeros as a 1-D array: a
    few KB on disk per 10 MB it expands to (streamed, so making it costs no memory)."""
    dtype = np.dtype(dtype)
    header = {"descr": npy.dtype_to_descr(dtype), "fortran_order": False, "shape": (nbytes // dtype.itemsize,)}
    chunk = bytes(2 ** 20)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z, z.open(f"{name}.npy", "w", force_zip64=True) as f:
        npy.write_array_header_2_0(f, header)
        left = (nbytes // dtype.itemsize) * dtype.itemsize
        while left:
            f.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))


def peak_bytes(fn, *args, **kwargs):
    """(fn's result, the peak of memory it allocated, as tracemalloc counts it; NumPy reports its arrays
    there too). A count of bytes, not a time: the same on a busy machine as on an idle one."""
    tracemalloc.start()
    try:
        result = fn(*args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
