"""The exercise's functions one at a time, each against the formula the exercise gives."""
from __future__ import annotations

import math

import numpy as np

from engine.remote.check.verdict import Verdict, call_user, close, ref_sigmoid, ref_softmax


def check_initialize_weights(fn) -> Verdict:
    v = Verdict("initialize_weights")
    rng_state = np.random.get_state()
    for n_in, n_out, name in ((1024, 64, "layer1"), (64, 36, "output"), (7, 3, "")):
        params = {}
        if call_user(v, fn, n_in, n_out, params, name) is None and v.problems:
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
        out = call_user(v, fn, x.copy())
        if v.problems:
            return v
        if not close(out, reference(x)):
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
        out = call_user(v, fn, big)
        if out is not None and not np.isfinite(np.asarray(out, np.float64)).all():
            v.problems.append("sigmoid(\u00b11000) is not finite")
    return v


def check_softmax(fn) -> Verdict:
    v = Verdict("softmax")
    rng = np.random.default_rng(2)
    for shape in ((4, 36), (32, 10), (1, 2)):
        x = rng.normal(0, 3, shape)
        out = call_user(v, fn, x.copy())
        if v.problems:
            return v
        if not close(out, ref_softmax(x)):
            v.problems.append(f"on {shape} inputs it is not softmax by rows (rows should each sum to 1)")
            return v
    x = rng.normal(0, 1, (3, 5)) + np.array([[1000.0], [-1000.0], [0.0]])
    out = call_user(v, fn, x.copy())
    if out is not None and not np.isfinite(np.asarray(out, np.float64)).all():
        v.problems.append("a row with values near 1000 gives NaN/inf: subtract each row's max before exp "
                          "(softmax is unchanged by a shift)")
    elif out is not None and not close(out, ref_softmax(x)):
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
            out = call_user(v, fn, X, params, name, act)
            if v.problems:
                return v
            pre = X @ params["W" + name] + params["b" + name]
            if not close(out, ref(pre), rtol=1e-6):
                v.problems.append(f"with {getattr(act, '__name__', 'the activation')} it does not return "
                                  "activation(X @ W + b)")
                return v
            cache = params.get("cache_" + name)
            if not (isinstance(cache, (tuple, list)) and len(cache) == 3):
                v.problems.append(f"does not cache (X, pre_act, post_act) in params['cache_{name}']")
                return v
            if not (close(cache[0], X) and close(cache[1], pre, rtol=1e-6) and close(cache[2], out)):
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
        out = call_user(v, fn, y, probs)
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
        batches = call_user(v, fn, x, y, bs)
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


