"""What the user's loop does in one batch, recorded from its own function calls, and replayed.

``attach`` wraps the script's ``forward``, ``backwards`` and loss function (found by their exercise
names, or given). Each call is recorded as it happens (the arguments and the result, no copies), so
after a batch the debugger knows the layer order, each layer's activation, which array fed which
call, and how the loop built the first delta. Replaying that program on a few rows of the batch, on
private copies of the weights, reproduces exactly the gradients the loop computes — its bugs
included (a delta pushed through the wrong layer, a layer skipped) — which the gradient check then
compares with central differences of the loop's own loss.
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

NAMES = {"forward": ("forward",), "backwards": ("backwards", "backward"),
         "loss": ("compute_loss_and_acc", "compute_loss", "loss_and_acc")}


class Call(NamedTuple):
    """One recorded call."""
    kind: str  # forward, backwards, loss
    fn: object  # the user's function (unwrapped)
    args: tuple
    kwargs: dict
    out: object

    def arg(self, i: int, name: str, default=None):
        if len(self.args) > i:
            return self.args[i]
        if name in self.kwargs:
            return self.kwargs[name]
        return default


@functools.lru_cache(maxsize=64)
def _default(fn, name: str, fallback=None):
    """A function's default for one parameter (the exercise's ``name=''``, ``activation=sigmoid``)."""
    code = getattr(fn, "__code__", None)
    if code is None or not fn.__defaults__:
        return fallback
    names = code.co_varnames[:code.co_argcount]
    first_default = len(names) - len(fn.__defaults__)
    return fn.__defaults__[names.index(name) - first_default] if name in names[first_default:] else fallback


class Recorder:
    """Wraps the user's functions where the script finds them; ``calls`` is this batch's program (plain
    tuples: recording a call costs the loop next to nothing)."""

    def __init__(self):
        self.calls: list[tuple] = []
        # Once the program is read, what backwards returns is not kept: held until the batch's end it would
        # keep a big array alive (the input's gradient) that the loop itself drops at once.
        self.light = False
        self.originals: dict[str, object] = {}
        self._undo: list[tuple[dict, str, object]] = []

    def wrap(self, kind: str, fn, namespaces: list[dict]) -> None:
        if fn is None or kind in self.originals:
            return
        append = self.calls.append  # (the list is kept: take() empties it in place)
        backwards = kind == "backwards"

        @functools.wraps(fn)
        def recorded(*args, **kwargs):
            out = fn(*args, **kwargs)
            append((kind, fn, args, kwargs, None if backwards and self.light else out))  # a Call's fields
            return out

        recorded.__backprop_studio_original__ = fn
        self.originals[kind] = fn
        module = sys.modules.get(getattr(fn, "__module__", "") or "")
        for ns in [*namespaces, getattr(module, "__dict__", None)]:
            if ns is None:
                continue
            for name, value in list(ns.items()):
                if value is fn:
                    self._undo.append((ns, name, value))
                    ns[name] = recorded

    def unwrap(self) -> None:
        for ns, name, value in reversed(self._undo):
            if getattr(ns.get(name), "__backprop_studio_original__", None) is value:
                ns[name] = value
        self._undo.clear()

    def take(self) -> list[tuple]:
        """This batch's calls, as plain tuples of a ``Call``'s fields (``Call._make`` reads one)."""
        calls = self.calls[:]
        self.calls.clear()
        return calls


def find_functions(namespace: dict, given: dict) -> dict:
    """The user's forward / backwards / loss: given explicitly, else by the exercise's names."""
    found = {}
    for kind, names in NAMES.items():
        fn = given.get(kind)
        if fn is None:
            fn = next((namespace[n] for n in names if callable(namespace.get(n))), None)
        found[kind] = getattr(fn, "__backprop_studio_original__", fn)
    return found


# ---- what a batch's program says ------------------------------------------------------------------


@dataclass
class Program:
    """One batch's calls, read: layer order, activations, the data flow, and the first delta's rule."""

    forwards: list[Call]
    backwards: list[Call]
    loss: Call | None
    layer_names: list[str] = field(default_factory=list)
    activations: dict[str, str] = field(default_factory=dict)  # layer -> activation function's name
    delta_rule: str = ""  # "probs - y", "(probs - y) / n", or "" (not recognised)
    problem: str = ""  # why this program cannot be replayed ("" if it can)


def read_program(calls: list[Call], params: dict, known: dict | None = None) -> Program | None:
    """The batch's training program: its forward calls up to the first backwards, the loss call on the
    last forward's output, and the backwards calls (calls after the backward pass, e.g. a validation
    forward, are not part of it). None when the batch called no forward. ``known``: what earlier
    batches with the same calls found (the first delta's rule), so it is worked out once, not per batch."""
    first_back = next((i for i, c in enumerate(calls) if c.kind == "backwards"), len(calls))
    forwards = [c for c in calls[:first_back] if c.kind == "forward"]
    if not forwards:
        return None
    tail = calls[first_back:]  # the backward pass: consecutive backwards calls (a forward ends it)
    end = next((i for i, c in enumerate(tail) if c.kind == "forward"), len(tail))
    backs = [c for c in tail[:end] if c.kind == "backwards"]
    last = forwards[-1].out
    loss = next((c for c in calls[:first_back + end] if c.kind == "loss"
                 and any(a is last for a in (*c.args, *c.kwargs.values()))), None)
    p = Program(forwards, backs, loss)
    for c in forwards:
        name = c.arg(2, "name", _default(c.fn, "name", ""))
        if name not in p.layer_names:
            p.layer_names.append(name)
        act = c.arg(3, "activation", _default(c.fn, "activation"))
        p.activations[name] = getattr(act, "__name__", "sigmoid")
    signature = (tuple(p.layer_names), tuple(c.arg(2, "name", "") for c in backs), loss is not None)
    if known is not None and signature in known:
        p.delta_rule, p.problem = known[signature]
        return p
    if not backs:
        p.problem = "the loop calls no backwards in a batch"
    elif loss is None:
        p.problem = "no loss is computed on the last forward's output"
    else:
        p.delta_rule = _delta_rule(p)
        if not p.delta_rule:
            first = backs[0]
            p.problem = (f"the delta given to backwards('{first.arg(2, 'name', '')}') is neither probs \u2212 y "
                         "nor its batch mean, so it cannot be recomputed for other rows")
    if known is not None:
        known[signature] = (p.delta_rule, p.problem)
    return p


def _labels(p: Program):
    """The loss call's other argument: the labels (one-hot, as in the exercise)."""
    return next(a for a in (*p.loss.args, *p.loss.kwargs.values()) if a is not p.forwards[-1].out)


def _delta_rule(p: Program) -> str:
    probs, y = p.forwards[-1].out, _labels(p)
    delta = p.backwards[0].arg(0, "delta")
    try:
        diff = np.asarray(probs, np.float64) - np.asarray(y, np.float64)
        d = np.asarray(delta, np.float64)
        if d.shape != diff.shape:
            return ""
        if np.allclose(d, diff, rtol=1e-6, atol=1e-9):
            return "probs - y"
        if np.allclose(d, diff / len(diff), rtol=1e-6, atol=1e-12):
            return "(probs - y) / n"
    except (TypeError, ValueError):
        pass
    return ""


def _source(value, earlier: list[Call]):
    """Index of the earlier call whose result ``value`` is (None: it came from outside)."""
    return next((i for i, c in enumerate(earlier) if c.out is value), None)


class Replay:
    """The program again, on the first ``rows`` rows of its batch, with a private copy of the params:
    ``loss()`` (forward + the user's loss) and ``gradients()`` (the loop's backward pass)."""

    def __init__(self, p: Program, params: dict, rows: int):
        if p.problem:
            raise ValueError(p.problem)
        self.p, self.rows = p, rows
        self.work = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in params.items()}
        self.inputs = []
        for i, c in enumerate(p.forwards):
            X = c.arg(0, "X")
            src = _source(X, p.forwards[:i])
            self.inputs.append(src if src is not None else np.array(np.asarray(X)[:rows], copy=True))
        self.y = np.array(np.asarray(_labels(p))[:rows], copy=True)
        self.y_first = p.loss.args[0] is not p.forwards[-1].out if p.loss.args else True
        back_src = []
        for i, c in enumerate(p.backwards):
            d = c.arg(0, "delta")
            src = _source(d, p.backwards[:i])
            if src is None:  # the same delta given twice is the first delta (or another's input)
                src = next((("input", j) for j, b in enumerate(p.backwards[:i]) if b.arg(0, "delta") is d), None)
            back_src.append(src)
        self.back_src = back_src

    def _call(self, c: Call, first, params):
        args = (first, params, *c.args[2:]) if len(c.args) >= 2 else (first,)
        kwargs = dict(c.kwargs)
        if len(c.args) < 2:
            kwargs["params"] = params
        return c.fn(*args, **kwargs)

    def forward(self):
        outs = []
        for c, src in zip(self.p.forwards, self.inputs):
            x = outs[src] if isinstance(src, int) else src
            outs.append(self._call(c, x, self.work))
        return outs[-1]

    def loss(self) -> float:
        probs = self.forward()
        fn = self.p.loss.fn
        out = fn(self.y, probs) if self.y_first else fn(probs, self.y)
        return float(out[0] if isinstance(out, tuple) else out)

    def gradients(self) -> dict[str, np.ndarray]:
        """grad_W<name> and grad_b<name> as the loop's backward pass writes them, on these rows."""
        probs = np.asarray(self.forward(), np.float64)
        delta0 = probs - self.y
        if self.p.delta_rule == "(probs - y) / n":
            delta0 = delta0 / len(delta0)
        outs, deltas = [], []
        for c, src in zip(self.p.backwards, self.back_src):
            if src is None:
                d = delta0
            elif isinstance(src, tuple):
                d = deltas[src[1]]
            else:
                d = outs[src]
            deltas.append(d)
            outs.append(self._call(c, d, self.work))
        return {k: np.asarray(v) for k, v in self.work.items() if k.startswith("grad_")}
