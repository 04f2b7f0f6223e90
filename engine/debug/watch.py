"""Watchpoints: breakpoints for training.

``parse("saturation(layer1) > 90%")`` returns a ``Watchpoint``, a check for ``session.checks``: the
session calls it after every batch, and the first batch where the condition holds pauses training
with a message naming the trigger, its value and the epoch/batch. Grammar (case-insensitive)::

    METRIC OP NUMBER[%]          loss > 5, grad(layer1) < 1e-6, saturation(layer1) > 90%
    METRIC is nan|inf|not finite loss is nan
    METRIC drop|rise > NUMBER[%] valid_acc drop > 0.05   (from its best epoch so far)

Per-batch metrics: loss, acc (psnr), lr, grad(LAYER) (mean |dW|), saturation(LAYER), dead(LAYER).
Per-epoch metrics, tested on the batch that ends an epoch: train_loss, train_acc, valid_loss,
valid_acc (train_psnr, valid_psnr), class_acc(CLASS) (validation accuracy of one class).
LAYER is a name (layer1, output) or a 1-based position; CLASS a class name (or index).

A watchpoint fires when its condition *becomes* true: after it pauses training, resuming does
not stop again on the next batch unless the condition first went false (it re-arms by itself when
the session is restored to an earlier snapshot). ``hits`` records every firing for the GUI (which
batch to highlight).

The session's own divergence guard stops a run at the first batch whose loss is not finite
(state DIVERGED) before checks run, so ``loss is nan`` is mostly a readable name for that stop.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field

import numpy as np

from engine.debug.stats import confusion_matrix, per_class_accuracy
from engine.errors import InputError
from engine.training.position import moment

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
        "!=": operator.ne}
# name -> (per "batch" or "epoch", takes "layer" / "class" / None, canonical name)
_METRICS = {
    "loss": ("batch", None, "loss"), "acc": ("batch", None, "acc"), "psnr": ("batch", None, "acc"),
    "lr": ("batch", None, "lr"),
    "grad": ("batch", "layer", "grad"), "saturation": ("batch", "layer", "saturation"),
    "dead": ("batch", "layer", "dead"),
    "train_loss": ("epoch", None, "train_loss"), "train_acc": ("epoch", None, "train_acc"),
    "train_psnr": ("epoch", None, "train_acc"), "valid_loss": ("epoch", None, "valid_loss"),
    "valid_acc": ("epoch", None, "valid_acc"), "valid_psnr": ("epoch", None, "valid_acc"),
    "class_acc": ("epoch", "class", "class_acc"),
}
_LAYER_FIELD = {"grad": "grad_mean_abs", "saturation": "saturation", "dead": "dead"}
# ASCII only: under re.I alone "ſ" matches s and "K" (Kelvin) k, and Python's int()/float() read "²"-like
# digits of every script (or fail on them after str.isdigit() said yes)
_TERM = re.compile(r"^(?P<name>[a-z_][a-z_0-9]*)\s*(?:\((?P<arg>[^()]*)\))?\s*(?P<rest>.*)$", re.I | re.A)
_COMPARE = re.compile(r"^(?:(?P<change>drop|rise)\s*)?(?P<op><=|>=|==|!=|<|>)\s*(?P<num>[^\s%]+)\s*(?P<pct>%)?$",
                      re.I | re.A)
_IS = re.compile(r"^is\s+(?P<what>nan|inf|not\s+finite)$", re.I | re.A)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?", re.I | re.A)


def _index(text: str) -> int | None:
    """A layer or class number written in ASCII digits, else None."""
    return int(text) if text.isascii() and text.isdigit() else None
USAGE = ("use e.g. 'loss is nan', 'grad(layer1) < 1e-6', 'saturation(layer1) > 90%', "
         "'valid_acc drop > 0.05', 'class_acc(Q) < 0.5'")


@dataclass
class Hit:
    """One firing: where training paused and why."""

    step: int  # global batch count (1-based), as in BatchEvent.step
    epoch: int  # 0-based epoch of that batch
    batch: int  # 0-based batch within the epoch
    value: float
    message: str


@dataclass
class Watchpoint:
    expr: str
    label: str  # the metric as the user wrote it, e.g. grad(layer1)
    metric: str  # canonical metric name
    arg: str | None  # layer or class as written
    op: str  # comparison operator, or "is"
    threshold: float  # number (percent already divided by 100); unused for "is"
    test: str = ""  # for "is": nan | inf | not finite
    change: str = ""  # "", "drop" or "rise": compare the change from the best epoch so far
    hits: list[Hit] = field(default_factory=list)
    _was_true: bool = field(default=False, repr=False)
    _bound: object = field(default=None, repr=False)  # the session resolve() ran for
    _key: object = field(default=None, repr=False)  # resolved layer name or class index
    _seen: dict = field(default_factory=dict, repr=False)  # epoch -> value (class_acc has no history)
    _last_step: int = field(default=0, repr=False)

    @property
    def per_epoch(self) -> bool:
        return _METRICS[self.metric][0] == "epoch"

    # -- binding to a session: layer and class names are only known there --------------------------

    def resolve(self, session) -> "Watchpoint":
        """Check the layer/class against a session; ValueError (shown as ``error: ...``) if absent."""
        kind = _METRICS[self.metric][1]
        if kind == "layer":
            names = [l.name for l in session.net.layers]
            key = self.arg if self.arg in names else None
            n = _index(self.arg)
            if key is None and n is not None and 1 <= n <= len(names):
                key = names[n - 1]
            if key is None:
                raise InputError(f"watchpoint {self.expr!r}: no layer {self.arg!r} (layers: {', '.join(names)})")
            self._key = key
        elif kind == "class":
            if getattr(session, "reconstruct", False):
                raise InputError(f"watchpoint {self.expr!r}: an autoencoder has no classes")
            if getattr(session, "data", None) is None:  # an attached script: its data stay on its side
                raise InputError(f"watchpoint {self.expr!r}: the validation set is the script's own; class "
                                 "accuracy cannot be watched here")
            classes = list(session.data.classes)
            if self.arg in classes:
                key = classes.index(self.arg)
            elif self.arg.upper() in classes:
                key = classes.index(self.arg.upper())
            elif _index(self.arg) is not None and _index(self.arg) < len(classes):
                key = _index(self.arg)
            else:
                raise InputError(f"watchpoint {self.expr!r}: no class {self.arg!r} "
                                 f"(classes: {' '.join(classes)})")
            if not np.any(session.data.valid.y == key):
                raise InputError(f"watchpoint {self.expr!r}: class {classes[key]!r} has no validation examples")
            self._key = key
        self._bound = session
        return self

    def reset(self) -> None:
        """Forget hits and re-arm (e.g. after time travel)."""
        self.hits.clear()
        self._seen.clear()
        self._was_true, self._last_step = False, 0

    # -- the check --------------------------------------------------------------------------------

    def value(self, session, event) -> tuple[float, str] | None:
        """The watched number at this batch and a few words about it, or None if not measured here."""
        m = self.metric
        if not self.per_epoch:
            if m in _LAYER_FIELD:
                return float(getattr(event.layers[self._key], _LAYER_FIELD[m])), ""
            return float(getattr(event, m)), ""
        epochs = session.history.epochs
        if not epochs or epochs[-1].epoch != event.epoch + 1:
            return None  # this batch did not end an epoch
        n, now = epochs[-1].epoch, self._epoch_value(session, epochs[-1])
        self._seen[n] = now
        if not self.change:
            return now, ""
        if self.metric == "class_acc":  # only the epochs this watchpoint saw
            earlier = {k: v for k, v in self._seen.items() if k < n}
        else:
            earlier = {e.epoch: float(getattr(e, self.metric)) for e in epochs[:-1]}
        earlier = {k: v for k, v in earlier.items() if not math.isnan(v)}
        if not earlier:
            return None  # nothing to drop from yet
        best_at = (max if self.change == "drop" else min)(earlier, key=earlier.get)
        best = earlier[best_at]
        delta = best - now if self.change == "drop" else now - best
        return delta, f" (from its best {best:.4g} at epoch {best_at} to {now:.4g})"

    def _epoch_value(self, session, e) -> float:
        if self.metric != "class_acc":
            return float(getattr(e, self.metric))
        cm = confusion_matrix(session.data.valid.y, session.valid_pred, session.data.n_classes)
        return float(per_class_accuracy(cm)[self._key])

    def holds(self, value: float) -> bool:
        if self.op == "is":
            return {"nan": math.isnan, "inf": math.isinf}.get(self.test, lambda v: not math.isfinite(v))(value)
        return not math.isnan(value) and _OPS[self.op](value, self.threshold)

    def __call__(self, session, event) -> str | None:
        if self._bound is not session:
            self.resolve(session)
            self._was_true = False
        if event.step <= self._last_step:  # the session was restored to an earlier snapshot: re-arm
            self._was_true = False
            self._seen = {k: v for k, v in self._seen.items() if k <= event.epoch}
        self._last_step = event.step
        measured = self.value(session, event)
        if measured is None:
            return None
        value, detail = measured
        now = self.holds(value)
        fire, self._was_true = now and not self._was_true, now
        if not fire:
            return None
        what = f"{self.label} {self.change}" if self.change else self.label
        bpe = getattr(session, "batches_per_epoch", None)
        epochs = getattr(getattr(session, "config", None), "epochs", None)
        at = moment(event.step, bpe, epochs) if bpe else \
            f"step {event.step:,} \u00b7 epoch {event.epoch + 1} \u00b7 batch {event.batch + 1}"  # the window's words
        where = f"at the end of epoch {event.epoch + 1} ({at})" if self.per_epoch else f"at {at}"
        message = f"watchpoint '{self.expr}' hit: {what} = {value:.4g}{detail} {where}"
        self.hits.append(Hit(event.step, event.epoch, event.batch, value, message))
        return message


def parse(expr: str, session=None) -> Watchpoint:
    """A watchpoint from text; ValueError with a readable reason if the text is not one.
    With a session, layer and class names are checked now instead of at the first batch."""
    text = " ".join(str(expr).split())
    if not text:
        raise InputError(f"empty watchpoint; {USAGE}")
    m = _TERM.match(text)
    if not m:
        raise InputError(f"cannot read watchpoint {text!r}; {USAGE}")
    name, arg, rest = m["name"].lower(), m["arg"], m["rest"].strip()
    if name not in _METRICS:
        raise InputError(f"watchpoint {text!r}: unknown metric {name!r}; metrics: {', '.join(_METRICS)}")
    per, kind, canonical = _METRICS[name]
    if kind and not (arg or "").strip():
        example = "grad(layer1)" if kind == "layer" else "class_acc(Q)"
        raise InputError(f"watchpoint {text!r}: {name} needs a {kind}, e.g. {example}")
    if not kind and arg is not None:
        raise InputError(f"watchpoint {text!r}: {name} takes no argument")
    arg = arg.strip() if arg is not None else None
    if not rest:
        raise InputError(f"watchpoint {text!r}: missing a condition such as '> 0.5' or 'is nan'")
    label = f"{name}({arg})" if kind else name
    if (is_m := _IS.match(rest)):
        return _bind(Watchpoint(text, label, canonical, arg, "is", math.nan,
                                test=" ".join(is_m["what"].lower().split())), session)
    if rest.lower().startswith("is"):
        raise InputError(f"watchpoint {text!r}: after 'is' write nan, inf or 'not finite'")
    c = _COMPARE.match(rest)
    if not c:
        raise InputError(f"watchpoint {text!r}: cannot read the condition {rest!r}; "
                         f"expected an operator (< <= > >= == !=) and a number")
    if c["num"].lower().lstrip("+-") in ("inf", "infinity", "nan"):
        number = math.nan
    elif _NUMBER.fullmatch(c["num"]):  # float() alone would take "1_0" and digits of every script
        number = float(c["num"])
    else:
        raise InputError(f"watchpoint {text!r}: {c['num']!r} is not a number (digits 0-9, e.g. 0.5 or 1e-3)")
    if not math.isfinite(number):
        raise InputError(f"watchpoint {text!r}: the threshold must be finite (use 'is nan' / 'is inf')")
    if c["pct"]:
        number /= 100.0
    change = (c["change"] or "").lower()
    if change and per != "epoch":
        raise InputError(f"watchpoint {text!r}: {change} applies to per-epoch metrics "
                         f"(train_loss, train_acc, valid_loss, valid_acc, class_acc)")
    if change and c["op"] not in (">", ">="):
        raise InputError(f"watchpoint {text!r}: write '{change} > margin'")
    return _bind(Watchpoint(text, label, canonical, arg, c["op"], number, change=change), session)


def _bind(w: Watchpoint, session) -> Watchpoint:
    return w.resolve(session) if session is not None else w
