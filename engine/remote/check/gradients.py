"""The backward pass against central differences through the module's own functions: per layer (the
vector-Jacobian products of its own forward) and end to end (its own softmax and loss)."""
from __future__ import annotations

import numpy as np

from engine.remote.check.functions import _layer
from engine.remote.check.verdict import EPS, TOL, Verdict, call_user, ref_sigmoid, short


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
        call_user(v, forward, X, params, name, act)
        if v.problems:
            v.problems[-1] = "forward " + v.problems[-1]
            return v
        delta = rng.normal(0, 1, (n, n_out))
        grad_X = call_user(v, fn, delta, params, name, deriv)
        if v.problems:
            return v

        def f(X=X, delta=delta, params=params, name=name):  # bound now: the loop moves on
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
        v.problems.append(f"raised {type(exc).__name__}: {short(exc)}")
        return v
    for key, w in want.items():
        layer = key[len("grad_W"):] if key.startswith("grad_W") else key[len("grad_b"):]
        problem = _compare(f"{key[:6]} of layer '{layer}'", grads.get(key), w, n)
        if problem:
            v.problems.append(problem)
    rule = "probs \u2212 y" if reduction == "sum" else "(probs \u2212 y) / n"
    v.notes.append(f"delta = {rule}, as the loss is {'summed' if reduction == 'sum' else 'averaged'}")
    return v


