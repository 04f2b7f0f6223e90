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
import math
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import InputError

FUNCTIONS = ("initialize_weights", "sigmoid", "softmax", "forward", "sigmoid_deriv", "backwards",
             "compute_loss_and_acc", "get_random_batches", "relu", "relu_deriv", "linear_deriv")
TOL = 1e-6  # relative error of a gradient against central differences (float64, eps 1e-6)
EPS = 1e-6


@dataclass
class Verdict:
    name: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        return {"passed": self.passed, "problems": self.problems, "notes": self.notes}


@dataclass
class CheckReport:
    path: str
    verdicts: list[Verdict]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def as_json(self) -> dict:
        return {"module": self.path, "passed": self.passed, "functions": {v.name: v.as_json() for v in self.verdicts}}

    def lines(self) -> list[str]:
        out = []
        for v in self.verdicts:
            out.append(f"{'PASS' if v.passed else 'FAIL'}  {v.name}" + (f"  ({'; '.join(v.notes)})" if v.notes else ""))
            out += [f"      {p}" for p in v.problems]
        n = sum(v.passed for v in self.verdicts)
        out.append(f"{n} of {len(self.verdicts)} passed")
        return out


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
    except BaseException as exc:  # noqa: BLE001 - the user's code: SystemExit, errors, Ctrl+C all mean "not usable"
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise InputError(f"{path}: importing it raised {type(exc).__name__}: {_short(exc)}") from None
    finally:
        sys.path.remove(str(path.parent))
    return module


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _call(v: Verdict, fn, *args, **kwargs):
    """The user's function, its error turned into a problem (None then)."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a failing function is a finding, not a crash
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        v.problems.append(f"raised {type(exc).__name__}: {_short(exc)} (line {frame.lineno})")
        return None


def _close(a, b, rtol=1e-7, atol=1e-10) -> bool:
    try:
        a = np.asarray(a, np.float64)
        return a.shape == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol))
    except (TypeError, ValueError):
        return False


def ref_sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def ref_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- one function at a time ----------------------------------------------------------------------------


def check_initialize_weights(fn) -> Verdict:
    v = Verdict("initialize_weights")
    rng_state = np.random.get_state()
    for n_in, n_out, name in ((1024, 64, "layer1"), (64, 36, "output"), (7, 3, "")):
        params = {}
        if _call(v, fn, n_in, n_out, params, name) is None and v.problems:
            return v
        W, b = params.get("W" + name), params.get("b" + name)
        if W is None or b is None:
            v.problems.append(f"does not write params['W{name}'] and params['b{name}']")
            return v
        lim = math.sqrt(6.0 / (n_in + n_out))
        W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
        if W.shape != (n_in, n_out):
            v.problems.append(f"W for ({n_in}, {n_out}) has shape {W.shape}")
        if b.reshape(-1).shape != (n_out,):
            v.problems.append(f"b for {n_out} units has shape {b.shape}")
        elif b.any():
            v.problems.append("b is not zero")
        if W.size and not W.any():
            v.problems.append("W is all zero: every unit would learn the same thing")
        elif W.size and np.abs(W).max() > lim * (1 + 1e-9):
            v.problems.append(f"W reaches {np.abs(W).max():.3g}, outside Xavier-uniform's \u00b1{lim:.3g} "
                              f"(sqrt(6/(in+out)) for ({n_in}, {n_out}))")
        elif W.size >= 2000:
            std = W.std()
            if abs(std - lim / math.sqrt(3)) > 0.1 * lim / math.sqrt(3):
                kind = ("normal" if abs(std - math.sqrt(2 / (n_in + n_out))) < 0.1 * math.sqrt(2 / (n_in + n_out))
                        else "not uniform over \u00b1" + f"{lim:.3g}")
                v.problems.append(f"W's spread is {std:.3g}, not Xavier-uniform's {lim / math.sqrt(3):.3g} ({kind})")
        if v.problems:
            return v
    np.random.set_state(rng_state)
    return v


def check_elementwise(name: str, fn, reference, domain=(-8.0, 8.0)) -> Verdict:
    v = Verdict(name)
    rng = np.random.default_rng(1)
    for shape in ((5, 3), (32, 64), (1, 1)):
        x = rng.uniform(*domain, shape)
        out = _call(v, fn, x.copy())
        if v.problems:
            return v
        if not _close(out, reference(x)):
            got = np.asarray(out, np.float64) if out is not None else None
            detail = f"shape {got.shape}" if got is not None and got.shape != x.shape else (
                f"differs by up to {np.abs(got - reference(x)).max():.3g}" if got is not None else "returned None")
            v.problems.append(f"on {shape} inputs it does not match the exercise's formula ({detail})")
            return v
    return v


def check_sigmoid(fn) -> Verdict:
    v = check_elementwise("sigmoid", fn, ref_sigmoid, (-30, 30))
    if v.passed:
        big = np.array([[-1000.0, 0.0, 1000.0]])
        out = _call(v, fn, big)
        if out is not None and not np.isfinite(np.asarray(out, np.float64)).all():
            v.problems.append("sigmoid(\u00b11000) is not finite")
    return v


def check_softmax(fn) -> Verdict:
    v = Verdict("softmax")
    rng = np.random.default_rng(2)
    for shape in ((4, 36), (32, 10), (1, 2)):
        x = rng.normal(0, 3, shape)
        out = _call(v, fn, x.copy())
        if v.problems:
            return v
        if not _close(out, ref_softmax(x)):
            v.problems.append(f"on {shape} inputs it is not softmax by rows (rows should each sum to 1)")
            return v
    x = rng.normal(0, 1, (3, 5)) + np.array([[1000.0], [-1000.0], [0.0]])
    out = _call(v, fn, x.copy())
    if out is not None and not np.isfinite(np.asarray(out, np.float64)).all():
        v.problems.append("a row with values near 1000 gives NaN/inf: subtract each row's max before exp "
                          "(softmax is unchanged by a shift)")
    elif out is not None and not _close(out, ref_softmax(x)):
        v.problems.append("a row with values near \u00b11000 gives the wrong probabilities")
    return v


def _layer(rng, n_in, n_out, name):
    return {"W" + name: rng.normal(0, 0.5, (n_in, n_out)), "b" + name: rng.normal(0, 0.5, n_out)}


def check_forward(fn, sigmoid, softmax) -> Verdict:
    v = Verdict("forward")
    rng = np.random.default_rng(3)
    for act, ref in ((sigmoid, ref_sigmoid), (softmax, ref_softmax)):
        if act is None:
            continue
        for n, n_in, n_out, name in ((7, 5, 3, "layer1"), (32, 64, 36, "output")):
            params = _layer(rng, n_in, n_out, name)
            X = rng.normal(0, 1, (n, n_in))
            out = _call(v, fn, X, params, name, act)
            if v.problems:
                return v
            pre = X @ params["W" + name] + params["b" + name]
            if not _close(out, ref(pre), rtol=1e-6):
                v.problems.append(f"with {getattr(act, '__name__', 'the activation')} it does not return "
                                  "activation(X @ W + b)")
                return v
            cache = params.get("cache_" + name)
            if not (isinstance(cache, (tuple, list)) and len(cache) == 3):
                v.problems.append(f"does not cache (X, pre_act, post_act) in params['cache_{name}']")
                return v
            if not (_close(cache[0], X) and _close(cache[1], pre, rtol=1e-6) and _close(cache[2], out)):
                v.problems.append(f"params['cache_{name}'] is not (X, pre_act, post_act)")
                return v
    return v


def check_loss(fn) -> tuple[Verdict, str]:
    v = Verdict("compute_loss_and_acc")
    rng = np.random.default_rng(4)
    reduction = ""
    for n, k in ((8, 36), (32, 10)):
        probs = ref_softmax(rng.normal(0, 2, (n, k)))
        y = np.eye(k)[rng.integers(0, k, n)]
        out = _call(v, fn, y, probs)
        if v.problems:
            return v, ""
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            v.problems.append("does not return (loss, acc)")
            return v, ""
        loss, acc = float(out[0]), float(out[1])
        total = -float(np.sum(y * np.log(probs)))
        right = float(np.mean(np.argmax(probs, 1) == np.argmax(y, 1)))
        if math.isclose(loss, total, rel_tol=1e-7):
            reduction = reduction or "sum"
        elif math.isclose(loss, total / n, rel_tol=1e-7):
            reduction = reduction or "mean"
        else:
            v.problems.append(f"loss {loss:.6g} is neither the cross-entropy summed over the batch ({total:.6g}) "
                              f"nor its mean ({total / n:.6g})")
            return v, ""
        if not math.isclose(acc, right, rel_tol=1e-9, abs_tol=1e-12):
            v.problems.append(f"acc {acc:.4g} is not the fraction of rows whose top class is right ({right:.4g})")
            return v, ""
    v.notes.append(f"loss {'summed over' if reduction == 'sum' else 'averaged over'} the batch")
    return v, reduction


def check_batches(fn) -> Verdict:
    v = Verdict("get_random_batches")
    n, bs = 100, 32
    x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.eye(5)[np.arange(n) % 5]
    orders = []
    for _ in range(2):
        batches = _call(v, fn, x, y, bs)
        if v.problems:
            return v
        try:
            pairs = [(np.asarray(a), np.asarray(b)) for a, b in batches]
        except (TypeError, ValueError):
            v.problems.append("does not return a list of (x, y) batches")
            return v
        rows = np.concatenate([a[:, 0] // 3 for a, _ in pairs]).astype(int)
        if sorted(rows.tolist()) != list(range(n)):
            v.problems.append(f"the batches do not hold every row exactly once ({len(rows)} rows for {n})")
            return v
        if any(not np.array_equal(b, y[(a[:, 0] // 3).astype(int)]) for a, b in pairs):
            v.problems.append("a batch's labels do not belong to its rows (x and y shuffled differently)")
            return v
        sizes = [len(a) for a, _ in pairs]
        if any(s != bs for s in sizes[:-1]) or not 0 < sizes[-1] <= bs:
            v.problems.append(f"batch sizes {sizes[:5]}... are not {bs} (the last may be smaller)")
            return v
        orders.append(rows.tolist())
    if orders[0] == list(range(n)) or orders[0] == orders[1]:
        v.problems.append("the rows come in the same order every call: not random batches")
    return v


def _fd(f, arr, eps=EPS) -> np.ndarray:
    """Central differences of the scalar f() over every entry of ``arr`` (changed in place, restored)."""
    out = np.empty(arr.shape)
    flat, g = arr.reshape(-1), out.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = f()
        flat[i] = keep - eps
        down = f()
        flat[i] = keep
        g[i] = (up - down) / (2 * eps)
    return out


def _compare(what: str, got, want, rows: int) -> str:
    """'' if they agree, else what the difference looks like."""
    if got is None:
        return f"{what} is not written"
    got = np.asarray(got, np.float64)
    if got.size != want.size:
        return f"{what} has shape {got.shape}, expected {want.shape}"
    got = got.reshape(want.shape)
    err = np.linalg.norm(got - want) / max(np.linalg.norm(got) + np.linalg.norm(want), 1e-300)
    if err < TOL:
        return ""
    big = np.abs(want) > 1e-3 * max(float(np.abs(want).max()), 1e-300)
    if not got.any():
        return f"{what} is zero where the finite difference is not"
    if big.any():
        r = got[big] / want[big]
        ratio, spread = float(np.median(r)), float(np.std(r))
        if spread < 1e-6 * max(abs(ratio), 1):
            if abs(ratio + 1) < 1e-6:
                return f"{what} has the opposite sign of the finite difference"
            if abs(ratio * rows - 1) < 1e-6:
                return f"{what} is 1/{rows} of the finite difference: averaged where the rest is summed?"
            if abs(ratio - rows) < 1e-6 * rows:
                return f"{what} is {rows}\u00d7 the finite difference: summed where the rest is averaged?"
            return f"{what} is {ratio:.4g}\u00d7 the finite difference"
    return f"{what} differs from the finite difference (relative error {err:.2g})"


def check_backwards(fn, forward, sigmoid, sigmoid_deriv) -> Verdict:
    v = Verdict("backwards")
    if forward is None:
        v.notes.append("not checked without forward")
        return v
    act = sigmoid or ref_sigmoid
    deriv = sigmoid_deriv or (lambda post: post * (1 - post))
    rng = np.random.default_rng(5)
    for n, n_in, n_out, name in ((5, 6, 4, "output"), (3, 8, 5, "layer1")):
        params = _layer(rng, n_in, n_out, name)
        X = rng.normal(0, 1, (n, n_in))
        _call(v, forward, X, params, name, act)
        if v.problems:
            v.problems[-1] = "forward " + v.problems[-1]
            return v
        delta = rng.normal(0, 1, (n, n_out))
        grad_X = _call(v, fn, delta, params, name, deriv)
        if v.problems:
            return v

        def f():
            return float(np.sum(delta * np.asarray(forward(X, dict(params), name, act))))

        with np.errstate(all="ignore"):
            want_W, want_b, want_X = _fd(f, params["W" + name]), _fd(f, params["b" + name]), _fd(f, X)
        for what, got, want in ((f"grad_W of layer '{name}'", params.get("grad_W" + name), want_W),
                                (f"grad_b of layer '{name}'", params.get("grad_b" + name), want_b),
                                ("the returned grad_X", grad_X, want_X)):
            problem = _compare(what, got, want, n)
            if problem:
                v.problems.append(problem + f" (an upstream gradient through {name}, {n} rows)")
        if v.problems:
            return v
    return v


def check_end_to_end(m, reduction: str) -> Verdict | None:
    """layer1 (sigmoid) -> output (softmax) -> the module's loss; its backward pass against finite differences."""
    need = ("forward", "backwards", "softmax", "compute_loss_and_acc")
    if not all(callable(getattr(m, n, None)) for n in need) or not reduction:
        return None
    v = Verdict("end to end (forward, backwards, softmax, loss)")
    sig = getattr(m, "sigmoid", ref_sigmoid)
    sig_d = getattr(m, "sigmoid_deriv", lambda post: post * (1 - post))
    lin_d = getattr(m, "linear_deriv", lambda post: np.ones_like(post))
    rng = np.random.default_rng(6)
    n = 6
    params = {**_layer(rng, 10, 7, "layer1"), **_layer(rng, 7, 4, "output")}
    X, y = rng.normal(0, 1, (n, 10)), np.eye(4)[rng.integers(0, 4, n)]

    def loss():
        h = m.forward(X, params, "layer1", sig)
        return float(m.compute_loss_and_acc(y, m.forward(h, params, "output", m.softmax))[0])

    try:
        with np.errstate(all="ignore"):
            h = m.forward(X, params, "layer1", sig)
            probs = m.forward(h, params, "output", m.softmax)
            delta = (probs - y) if reduction == "sum" else (probs - y) / n
            d2 = m.backwards(delta, params, "output", lin_d)
            m.backwards(d2, params, "layer1", sig_d)
            grads = {k: np.array(params[k]) for k in list(params) if k.startswith("grad_")}
            want = {f"grad_{k}": _fd(loss, params[k]) for k in ("Wlayer1", "blayer1", "Woutput", "boutput")}
    except Exception as exc:  # noqa: BLE001
        v.problems.append(f"raised {type(exc).__name__}: {_short(exc)}")
        return v
    for key, w in want.items():
        layer = key[len("grad_W"):] if key.startswith("grad_W") else key[len("grad_b"):]
        problem = _compare(f"{key[:6]} of layer '{layer}'", grads.get(key), w, n)
        if problem:
            v.problems.append(problem)
    rule = "probs \u2212 y" if reduction == "sum" else "(probs \u2212 y) / n"
    v.notes.append(f"delta = {rule}, as the loss is {'summed' if reduction == 'sum' else 'averaged'}")
    return v


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
