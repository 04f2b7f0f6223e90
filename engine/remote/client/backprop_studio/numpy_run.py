"""Attached to a params dict in the exercise's conventions: W<name>/b<name>, grad_W<name>/grad_b<name>,
cache_<name> = (X, pre_act, post_act), m_<name> momentum buffers. The layer order and activations come
from the recorded forward calls (program.py); without them, from the caches and the weight shapes."""
from __future__ import annotations

import math
import time

import numpy as np

from backprop_studio.figures import symmetry
from backprop_studio.program import Call, Program, Recorder, Replay, read_program
from backprop_studio.run import Run

GRADCHECK_ROWS = 4
CHECK_EVERY = 64  # batches between full looks at the calls' layer names (their count: every batch)
GRADCHECK_WEIGHTS = 2048  # per tensor: whole units (or a random sample) beyond this
EPS = {np.dtype(np.float64): (1e-6, 1e-5), np.dtype(np.float32): (1e-3, 2e-2)}  # (step, tolerance)


def layer_names(params: dict) -> list[str]:
    """Layers by key: every W<name> with a b<name>."""
    return [k[1:] for k, v in params.items() if k.startswith("W") and isinstance(v, np.ndarray)
            and v.ndim == 2 and isinstance(params.get("b" + k[1:]), np.ndarray)]


def order_without_calls(params: dict) -> list[str]:
    """The layer order when no forward call was seen: follow the caches (a layer's X is the previous one's
    output), else the weight shapes (in_size of one = out_size of the one before)."""
    names = layer_names(params)
    caches = {n: params.get("cache_" + n) for n in names}
    if all(isinstance(c, (tuple, list)) and len(c) >= 3 for c in caches.values()) and names:
        after = {n: next((m for m in names if caches[m][0] is caches[n][2]), None) for n in names}
        first = [n for n in names if n not in after.values()]
        if len(first) == 1:
            order, n = [], first[0]
            while n is not None and n not in order:
                order.append(n)
                n = after[n]
            if len(order) == len(names):
                return order
    shapes = {n: params["W" + n].shape for n in names}
    starts = [n for n in names if not any(shapes[m][1] == shapes[n][0] for m in names if m != n)]
    if len(starts) == 1:
        order, n = [starts[0]], starts[0]
        while len(order) < len(names):
            nxt = [m for m in names if m not in order and shapes[m][0] == shapes[n][1]]
            if len(nxt) != 1:
                break
            order.append(nxt[0])
            n = nxt[0]
        if len(order) == len(names):
            return order
    return names


class NumpyRun(Run):
    kind = "numpy"

    def __init__(self, conn, script: str, params: dict, functions: dict, namespaces: list[dict]):
        super().__init__(conn, script)
        self.params = params
        self.functions = functions
        self.recorder = Recorder()
        for kind, fn in functions.items():
            self.recorder.wrap(kind, fn, namespaces)
        self.order: list[str] = []
        self.activations: dict[str, str] = {}
        self.program: Program | None = None  # the program's reading (order, activations, delta rule)
        self._signature: tuple = ()  # their kinds and layer names: a batch that repeats them is not re-read
        self._ncalls = -1  # how many calls that program makes
        self._loss_at: int | None = None  # which of them is the loss
        self._rows = 0  # the batch size last sent
        self._known: dict = {}  # program signature -> its first delta's rule (worked out once)
        self._keys: list[tuple] = []  # per layer in order: its name, its keys in params, its activation
        self.reduction = ""

    # ---- what the window sees first -------------------------------------------------------------------

    def hello(self) -> dict:
        names = layer_names(self.params)
        return {"kind": self.kind, "functions": sorted(k for k, v in self.functions.items() if v is not None),
                "keys": sorted(map(str, self.params)),
                "layers": [{"name": n, "shape": list(self.params["W" + n].shape),
                            "dtype": str(self.params["W" + n].dtype),
                            "init": symmetry(self.params["W" + n])} for n in names]}

    # ---- every batch ---------------------------------------------------------------------------------

    def begin(self, item) -> None:
        self.recorder.calls.clear()  # calls between batches (a validation pass) are no batch's

    def measure(self, item) -> dict | None:
        calls = self.recorder.take()
        self.loss = self.acc = None
        extra = None
        at = self._loss_at
        if calls and len(calls) == self._ncalls and (at is None or calls[at][0] == "loss") \
                and (self.step % CHECK_EVERY or _signature(calls) == self._signature):
            # the same program as the last batch (its shape looked at every batch, its names every few): only
            # its values are new
            if at is not None:
                self._set_loss(calls[at][4])
            rows = _rows(calls[0])
            if rows != self._rows:
                self._rows = rows
                extra = {"rows": rows}
        else:
            extra = self._changed([Call._make(c) for c in calls])
        p = self.params
        readings = []
        for n, kw, kg, kc, act in self._keys:
            W = p.get(kw)
            if isinstance(W, np.ndarray) and W.dtype.kind == "f" and W.size:
                cache = p.get(kc)
                post = cache[2] if isinstance(cache, (tuple, list)) and len(cache) >= 3 else None
                readings.append((n, W, p.get(kg), post, act))
        self.watch.measure(readings)
        return extra

    def _changed(self, calls: list[Call]) -> dict:
        """A batch whose calls differ from the last one's (or the first): read it, or record the next one in
        full to read it."""
        record: dict = {}
        signature = _signature(calls)
        if calls and self.recorder.light and signature != self._signature:
            self.recorder.light = False  # the program changed: record the next batch in full to read it
            self._ncalls = -1
            self._set_loss(next((c.out for c in calls if c.kind == "loss"), None))
        elif calls:
            self._read(calls, signature, record)
        elif not self.order and self.program is None:
            self._set_order(order_without_calls(self.params), {}, record)
        return record

    def _read(self, calls: list, signature: tuple, record: dict) -> None:
        """A batch whose calls differ from the last one's: read its program (layers, activations, loss)."""
        program = read_program(calls, self.params, self._known)
        if program is None:
            return
        self._signature, self._ncalls = signature, len(calls)
        self.recorder.light = not program.problem  # known: what backwards returns need not be kept any more
        self._loss_at = next((i for i, c in enumerate(calls) if c is program.loss), None)
        self.program = program
        self._set_order([n for n in program.layer_names if "W" + n in self.params], program.activations, record)
        if program.loss is not None:
            self._set_loss(program.loss.out)
            if not self.reduction:
                self.reduction = _reduction(program)
                record["reduction"] = self.reduction
        record["rows"] = self._rows = len(program.forwards[0].arg(0, "X"))
        record["delta_rule"] = program.delta_rule

    def _set_order(self, names: list[str], activations: dict, record: dict) -> None:
        if names == self.order:
            return
        self.order, self.activations = names, {n: activations.get(n, "sigmoid") for n in names}
        self._keys = [(n, "W" + n, "grad_W" + n, "cache_" + n, self.activations[n]) for n in names]
        record["layers"] = [{"name": n, "activation": self.activations[n],
                             "shape": list(np.shape(self.params["W" + n]))} for n in names]

    # ---- arrays the window asks for --------------------------------------------------------------------

    def weights(self) -> dict[str, np.ndarray]:
        out = {}
        for n in self.order or layer_names(self.params):
            for p in ("W", "b"):
                a = self.params.get(p + n)
                if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                    out[p + n] = a.astype(np.float32)
        return out

    def snapshot_arrays(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.params.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"
                and not k.startswith(("grad_", "cache_"))}

    def restore_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Written back into the user's own arrays (in place) where they still fit, so every reference the
        loop holds sees the restored values."""
        for k, a in arrays.items():
            cur = self.params.get(k)
            if isinstance(cur, np.ndarray) and cur.shape == a.shape and cur.flags.writeable:
                np.copyto(cur, a, casting="unsafe")
            else:
                self.params[k] = a.copy()
        self.watch.forget()  # the jump is no update

    def on_detach(self) -> None:
        self.recorder.unwrap()

    # ---- the gradient check ----------------------------------------------------------------------------

    def _set_loss(self, out) -> None:
        """The batch's loss (and accuracy) from what the loop's loss function returned."""
        if out is None:
            return
        loss, acc = (out[0], out[1]) if isinstance(out, tuple) and len(out) >= 2 else (out, None)
        self.loss = _float(loss)
        if acc is not None:
            self.acc = _float(acc)

    def gradcheck(self, request: dict) -> tuple[dict, dict]:
        """Central differences of the loop's own loss against the gradients its backward pass writes, on a
        few rows of the batch its program was read from (the first of this program), with the current
        weights copied (the user's arrays are not touched)."""
        p = self.program
        if p is None:
            return {"problem": "no batch has run through forward/backwards yet"}, {}
        if p.problem:
            return {"problem": p.problem}, {}
        rows = max(1, min(int(request.get("rows", GRADCHECK_ROWS)), len(p.forwards[0].arg(0, "X"))))
        limit = max(1, int(request.get("weights", GRADCHECK_WEIGHTS)))
        replay = Replay(p, self.params, rows)
        analytic = replay.gradients()
        rng = np.random.default_rng(0)
        layers, arrays, last = [], {}, time.perf_counter()
        for n in self.order:
            result = {"name": n}
            for kind in ("W", "b"):
                key = kind + n
                if key not in replay.work:
                    continue
                value = replay.work[key]
                eps, tol = EPS.get(value.dtype, EPS[np.dtype(np.float64)])
                grad = analytic.get("grad_" + key)
                flat = value.reshape(-1)
                picks = _sample(value.shape, limit, rng)
                numeric = np.empty(len(picks))
                for i, j in enumerate(picks):
                    keep = flat[j]
                    flat[j] = keep + eps
                    up = replay.loss()
                    flat[j] = keep - eps
                    down = replay.loss()
                    flat[j] = keep
                    numeric[i] = (up - down) / (2 * eps)
                    if time.perf_counter() - last > 0.25:
                        last = time.perf_counter()
                        self._send({"type": "gradcheck_progress", "layer": n, "tensor": kind,
                                    "done": i + 1, "total": len(picks)})
                result[kind] = _compare(key, grad, numeric, picks, value.shape, tol, rows, self.reduction)
                if kind == "W":
                    errors = np.full(value.shape, np.nan, np.float32)
                    errors.reshape(-1)[picks] = result[kind].pop("errors")
                    arrays["errors/" + n] = errors
                else:
                    result[kind].pop("errors")
            result["passed"] = all(result[k]["passed"] for k in ("W", "b") if k in result)
            layers.append(result)
        return {"layers": layers, "rows": rows, "reduction": self.reduction, "delta_rule": p.delta_rule}, arrays


def _sample(shape: tuple, limit: int, rng) -> np.ndarray:
    """Flat indices of the weights checked: all of them up to ``limit``; beyond, whole units (columns of W),
    so a unit's picture is complete; a random sample when one unit alone is over the limit."""
    size = int(np.prod(shape))
    if size <= limit:
        return np.arange(size)
    if len(shape) == 2 and shape[0] <= limit:
        units = np.sort(rng.choice(shape[1], limit // shape[0], replace=False))
        return np.sort((np.arange(shape[0])[:, None] * shape[1] + units[None, :]).reshape(-1))
    return np.sort(rng.choice(size, limit, replace=False))


def _compare(key, grad, numeric, picks, shape, tol, rows, reduction) -> dict:
    """Per-entry relative errors, the tensor's error, and what the difference looks like, in words."""
    name = key[1:]
    what = f"grad_{key[0]} of layer '{name}'"
    if grad is None or np.shape(grad) != tuple(shape):
        return {"passed": False, "tensor_error": math.inf, "max_error": math.inf, "errors": np.full(len(picks), np.inf),
                "words": f"{what} is not written by the backward pass" if grad is None else
                f"{what} has shape {np.shape(grad)}, its weights {tuple(shape)}"}
    a = np.asarray(grad, np.float64).reshape(-1)[picks]
    denom = np.maximum(np.abs(a) + np.abs(numeric), 1e-12)
    errors = np.abs(a - numeric) / denom
    tensor = float(np.linalg.norm(a - numeric) / max(np.linalg.norm(a) + np.linalg.norm(numeric), 1e-300))
    passed = tensor < tol
    words = "matches the finite differences"
    if not passed:
        words = _why(what, a, numeric, rows, reduction)
    worst = int(np.argmax(errors))
    return {"passed": bool(passed), "tensor_error": tensor, "max_error": float(errors[worst]),
            "worst": [int(v) for v in np.unravel_index(int(picks[worst]), shape)],
            "errors": errors, "words": words}


def _why(what: str, a: np.ndarray, n: np.ndarray, rows: int, reduction: str) -> str:
    """Say what the analytic gradient looks like next to the numeric one (not what the bug must be)."""
    big = np.abs(n) > 1e-3 * max(float(np.abs(n).max()), 1e-300)
    if not np.abs(a).any():
        return f"{what} is zero where the finite difference is not: the backward pass never reaches it?"
    if not big.any():
        return f"{what} is not zero where the finite difference is"
    ratio = float(np.median(a[big] / n[big]))
    spread = float(np.std(a[big] / n[big]) / max(abs(ratio), 1e-300))
    if spread < 1e-3:
        if abs(ratio + 1) < 1e-3:
            return f"{what} has the opposite sign of the finite difference"
        if rows > 1 and abs(ratio * rows - 1) < 1e-3:
            return (f"{what} is 1/{rows} of the finite difference (over {rows} rows): averaged where the loss "
                    f"is {reduction or 'summed'}?")
        if rows > 1 and abs(ratio / rows - 1) < 1e-3:
            return f"{what} is {rows}\u00d7 the finite difference (over {rows} rows): summed where the loss averages?"
        return f"{what} is {ratio:.3g}\u00d7 the finite difference everywhere"
    return f"{what} differs from the finite difference (it is not a scaled copy of it: another layer's delta?)"


def _reduction(p: Program) -> str:
    """Whether the loop's loss sums or averages over the batch: the same rows twice give 2x or 1x."""
    probs, fn = p.forwards[-1].out, p.loss.fn
    try:
        y = next(a for a in (*p.loss.args, *p.loss.kwargs.values()) if a is not probs)
        first = p.loss.args[0] is not probs
        y2, p2 = np.concatenate([y, y]), np.concatenate([probs, probs])
        one = fn(y, probs) if first else fn(probs, y)
        two = fn(y2, p2) if first else fn(p2, y2)
        one, two = float(one[0] if isinstance(one, tuple) else one), float(two[0] if isinstance(two, tuple) else two)
    except Exception:  # noqa: BLE001 - the user's function on other rows: any failure means "cannot tell"
        return ""
    if not (math.isfinite(one) and math.isfinite(two)) or one == 0:
        return ""
    return "sum" if abs(two / one - 2) < 1e-6 else "mean" if abs(two / one - 1) < 1e-6 else ""


def _signature(calls: list) -> tuple:
    """A batch's calls in brief: each one's kind and layer name."""
    return tuple((c[0], c[2][2] if len(c[2]) > 2 else c[3].get("name")) for c in calls)


def _rows(call) -> int:
    """How many rows the batch's first call was given (its X), 0 when that is no forward."""
    if call[0] != "forward":
        return 0
    x = call[2][0] if call[2] else call[3].get("X")
    return len(x) if hasattr(x, "__len__") else 0


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
