"""`check NN_PY`: the exercise's functions, as a student wrote them, checked against what the exercise
specifies, with no change to them.

Each function present is tried on random inputs of several shapes and compared with the formula the
exercise gives; ``backwards`` is checked against central differences through the module's *own*
``forward`` (for a random upstream gradient, grad_W, grad_b and the returned grad_X must be the
vector-Jacobian products), and the whole network end to end through its own softmax and loss, in
whichever reduction (sum or mean) that loss uses. What differs is said in words.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.remote.check.functions import (
    check_batches,
    check_elementwise,
    check_forward,
    check_initialize_weights,
    check_loss,
    check_sigmoid,
    check_softmax,
)
from engine.remote.check.gradients import check_backwards, check_end_to_end
from engine.remote.check.verdict import CheckReport, ref_sigmoid, ref_softmax, short

FUNCTIONS = ("initialize_weights", "sigmoid", "softmax", "forward", "sigmoid_deriv", "backwards",
             "compute_loss_and_acc", "get_random_batches", "relu", "relu_deriv", "linear_deriv")


def load_module(path):
    """Import the file as a module of its own (its folder on the path, as `python` would have it)."""
    path = Path(path).expanduser()
    if not path.is_file() or path.suffix != ".py":
        raise InputError(f"{path}: not a Python file (expected the .py that defines the exercise's functions)")
    name = f"_backprop_studio_check_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise InputError(f"{path}: importing it raised {type(exc).__name__}: {short(exc)}") from None
    finally:
        sys.path.remove(str(path.parent))
    return module


def check_module(path) -> CheckReport:
    """Every exercise function the file defines, checked; InputError when it defines none of them."""
    m = load_module(path)
    present = {n: getattr(m, n) for n in FUNCTIONS if callable(getattr(m, n, None))}
    if not present:
        raise InputError(f"{path}: defines none of the exercise's functions ({', '.join(FUNCTIONS[:4])}, ...)")
    get = present.get
    verdicts, reduction = [], ""
    checks = {
        "initialize_weights": lambda: check_initialize_weights(get("initialize_weights")),
        "sigmoid": lambda: check_sigmoid(get("sigmoid")),
        "softmax": lambda: check_softmax(get("softmax")),
        "forward": lambda: check_forward(get("forward"), get("sigmoid") or ref_sigmoid, get("softmax") or ref_softmax),
        "sigmoid_deriv": lambda: check_elementwise("sigmoid_deriv", get("sigmoid_deriv"), lambda p: p * (1 - p), (0, 1)),
        "backwards": lambda: check_backwards(get("backwards"), get("forward"), get("sigmoid"), get("sigmoid_deriv")),
        "get_random_batches": lambda: check_batches(get("get_random_batches")),
        "relu": lambda: check_elementwise("relu", get("relu"), lambda x: np.maximum(x, 0)),
        "relu_deriv": lambda: check_elementwise("relu_deriv", get("relu_deriv"), lambda p: (p > 0).astype(float),
                                                (0, 4)),
        "linear_deriv": lambda: check_elementwise("linear_deriv", get("linear_deriv"), np.ones_like),
    }
    for name in FUNCTIONS:
        if name not in present:
            continue
        if name == "compute_loss_and_acc":
            v, reduction = check_loss(get(name))
        else:
            v = checks[name]()
        verdicts.append(v)
    e2e = check_end_to_end(m, reduction)
    if e2e is not None:
        verdicts.append(e2e)
    return CheckReport(str(path), verdicts)
