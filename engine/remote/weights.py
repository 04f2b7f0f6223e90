"""The exercise's saved weights: its params dict, pickled (``q3_weights.pickle``), read without running it.

Pickle can run code, so the reader is not ``pickle.load``: it allows only what a dict of NumPy arrays
and plain numbers is made of (NumPy's own array and dtype rebuilding, nothing else), checks the
result, and says in one line what else a file holds. The dict becomes an engine Network: layers in
the order their shapes chain (or their caches say), hidden layers sigmoid and the last softmax (the
exercise's network), so every view (weights, confusion, explain) and the OCR can use it.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
from backprop_studio.numpy_run import layer_names, order_without_calls

from engine.data.dataset import NIST36_CLASSES
from engine.errors import InputError
from engine.nn.activations import HIDDEN_ACTIVATIONS
from engine.nn.network import MAX_PARAMS, Network

MAX_BYTES = 1 << 30
# What pickling an ndarray (or a NumPy scalar) refers to, under NumPy 1 and 2; nothing else may be named.
ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
           ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
           ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
           ("numpy._core.numeric", "_frombuffer"),
           ("_codecs", "encode")}  # protocols 0-2 store an array's bytes as latin-1 text: this turns it back


class WeightsError(InputError):
    """A weights file that cannot be used (one line, naming the file)."""


class _Refused(pickle.UnpicklingError):
    """The file names something other than an array or a number: refused before it is built."""


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise _Refused(f"it holds a {module}.{name} object; only NumPy arrays and numbers are read")


def load_params(path) -> dict[str, np.ndarray]:
    """The params dict of a pickled weights file: str keys, numeric arrays or numbers. WeightsError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise WeightsError(f"{path}: {size:,} bytes is too large for a weights file")
    data = path.read_bytes()
    try:
        obj = _ArraysOnly(io.BytesIO(data)).load()
    except _Refused as exc:
        raise WeightsError(f"{path}: not read: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError, OverflowError,
            RecursionError, UnicodeDecodeError, ImportError):
        raise WeightsError(f"{path}: not a readable weights pickle (damaged, or not a pickle)") from None
    if not isinstance(obj, dict):
        raise WeightsError(f"{path}: holds a {type(obj).__name__}, not a params dict")
    params = {}
    for k, v in obj.items():
        if not isinstance(k, str):
            raise WeightsError(f"{path}: a key is a {type(k).__name__}, not a name")
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "fiub":
                raise WeightsError(f"{path}: {k!r} is an array of {v.dtype}, not numbers")
            params[k] = v
        elif isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            params[k] = np.asarray(v)
        elif isinstance(v, (tuple, list)) and k.startswith("cache_"):
            continue  # a forward cache saved along: not weights
        else:
            raise WeightsError(f"{path}: {k!r} is a {type(v).__name__}; only arrays and numbers are read")
    return params


def to_network(params: dict, where: str = "the params", activations: list[str] | None = None,
               names: list[str] | None = None) -> tuple[Network, list[str]]:
    """An engine Network from an exercise-style params dict, and the user's layer names in order. ``names`` and
    ``activations``: the layers' order and activations when known (an attached script's, from its forward
    calls); else the order the shapes chain in, sigmoid hidden layers and a softmax output (the exercise's)."""
    names = names or [n for n in order_without_calls(params) if n in layer_names(params)]
    if not names:
        raise WeightsError(f"{where}: no layers (expected W<name> and b<name> arrays, as the exercise saves them)")
    missing = [p + n for n in names for p in ("W", "b") if p + n not in params]
    if missing:
        raise WeightsError(f"{where}: no {missing[0]}")
    Ws = [np.asarray(params["W" + n], np.float64) for n in names]
    bs = [np.asarray(params["b" + n], np.float64).reshape(-1) for n in names]
    for n, W, b in zip(names, Ws, bs):
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise WeightsError(f"{where}: layer {n!r} has W {W.shape} and b {b.shape}; they do not fit")
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise WeightsError(f"{where}: layer {n!r} holds NaN or infinite weights")
    for (n1, W1), (n2, W2) in zip(zip(names, Ws), zip(names[1:], Ws[1:])):
        if W1.shape[1] != W2.shape[0]:
            raise WeightsError(f"{where}: layer {n1!r} has {W1.shape[1]} outputs but {n2!r} takes {W2.shape[0]}")
    sizes = [Ws[0].shape[0]] + [W.shape[1] for W in Ws]
    if sum(W.size + b.size for W, b in zip(Ws, bs)) > MAX_PARAMS:
        raise WeightsError(f"{where}: too many parameters for this app")
    activations = list(activations or ["sigmoid"] * (len(names) - 1) + ["softmax"])
    unknown = [a for a in activations[:-1] if a not in HIDDEN_ACTIVATIONS] + [a for a in activations[-1:] if a != "softmax"]
    if unknown or len(activations) != len(names):
        raise WeightsError(f"{where}: the activations {', '.join(activations)} are not the engine's (hidden "
                           f"{', '.join(HIDDEN_ACTIVATIONS)}; a softmax output)")
    net = Network(sizes, activations)
    net.set_params({f"{l.name}.{k}": v for l, W, b in zip(net.layers, Ws, bs) for k, v in (("W", W), ("b", b))})
    return net, names


def load_network(path) -> tuple[Network, tuple[str, ...], list[str]]:
    """(network, class names, the file's layer names) of a pickled params dict. 36 outputs are NIST36's
    classes (A-Z then 0-9); other widths are numbered."""
    net, names = to_network(load_params(path), str(path))
    k = net.sizes[-1]
    classes = NIST36_CLASSES if k == len(NIST36_CLASSES) else tuple(str(i) for i in range(k))
    return net, classes, names
