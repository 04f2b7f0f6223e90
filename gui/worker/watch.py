"""Watchpoints of the main session, kept by the worker (they live in its thread).

Expressions are parsed and checked by ``engine.debug.watch.parse`` against the session (layer and class
names), then appended to ``session.checks``: the engine pauses training at the first batch where one
holds. Watchpoints belong to the debugger, not to one session: on a new session, a branch or a
switch of branch they are re-bound (and re-armed). Besides the engine's hits, the list keeps the
watched value at every batch (or epoch end) -- computed by the watchpoint itself -- for the panel's
plot, per session so that switching branches brings the right history back.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from engine.debug.watch import Watchpoint, parse
from gui.worker.messages import Pending, WatchInfo, WatchList


class Watchlist(QObject):
    changed = pyqtSignal(object)  # WatchList

    def __init__(self, worker):
        super().__init__(worker)
        self.worker = worker
        self.points: dict[str, Watchpoint] = {}  # in the order added
        self.errors: dict[str, str] = {}  # expr -> why it is inactive on this session
        self.session = None
        self._traces: dict[int, dict[str, tuple[list[int], list[float]]]] = {}  # id(session) -> expr -> trace
        self._hits: dict[int, dict[str, list]] = {}  # id(session) -> expr -> hits

    # ---- commands (GUI thread) --------------------------------------------------------------------

    def add(self, expr: str) -> None:
        self.worker.send(lambda: self._add(expr))

    def remove(self, expr: str) -> None:
        self.worker.send(lambda: self._remove(expr))

    # ---- worker thread ----------------------------------------------------------------------------

    def _add(self, expr: str) -> None:
        text = " ".join(str(expr).split())
        try:
            w = parse(text, self.session)  # layer and class names are checked now, with a reason
        except ValueError as exc:
            self.publish(error=str(exc), rejected=text)
            return
        if w.expr in self.points:
            self.publish(error=f"'{w.expr}' is already watched", rejected=text)
            return
        self.points[w.expr] = w
        if self.session is not None:
            self.session.checks.append(w)
        self.publish()

    def _remove(self, expr: str) -> None:
        w = self.points.pop(expr, None)
        self.errors.pop(expr, None)
        if w is not None and self.session is not None and w in self.session.checks:
            self.session.checks.remove(w)
        self.publish()

    def bind(self, session) -> None:
        """Follow ``session``: move the watchpoints to it, re-armed, with its own traces and hits.
        A branch starts with its parent's, up to where it branched off."""
        if self.session is not None:
            self.session.checks[:] = [c for c in self.session.checks if c not in self.points.values()]
            self._hits[id(self.session)] = {e: list(w.hits) for e, w in self.points.items()}
        self.session = session
        key = id(session)
        if key not in self._traces:
            parent, at = self.worker.timeline.parent_of(session)
            if parent is not None and id(parent) in self._traces:
                self._traces[key] = {e: ([s for s in st if s <= at], v[:sum(1 for s in st if s <= at)])
                                     for e, (st, v) in self._traces[id(parent)].items()}
                self._hits[key] = {e: [h for h in hits if h.step <= at]
                                   for e, hits in self._hits.get(id(parent), {}).items()}
            else:
                self._traces[key], self._hits[key] = {}, {}
        live = {id(b.session) for b in self.worker.timeline.branches}
        for k in [k for k in self._traces if k not in live]:  # sessions no longer reachable
            self._traces.pop(k, None)
            self._hits.pop(k, None)
        self.errors.clear()
        for expr, w in self.points.items():
            w.reset()
            w.hits.extend(self._hits.get(key, {}).get(expr, []))
            try:
                w.resolve(session)
            except ValueError as exc:
                self.errors[expr] = str(exc)
                continue
            session.checks.append(w)

    def _trace(self, expr: str) -> tuple[list[int], list[float]]:
        return self._traces.setdefault(id(self.session), {}).setdefault(expr, ([], []))

    def observe_batch(self, session, event, pending: Pending) -> None:
        """The watched per-batch values of this batch (the listener runs before the checks)."""
        for expr, w in self.points.items():
            if w.per_epoch or expr in self.errors:
                continue
            try:
                value = w.value(session, event)[0]
            except (KeyError, TypeError, ValueError):
                continue
            self._record(expr, event.step, value, pending)

    def observe_epoch(self, session, event, pending: Pending) -> None:
        """Per-epoch values at an epoch end (the same computation the check makes right after)."""
        at_end = SimpleNamespace(epoch=event.epoch - 1, step=session.step)
        for expr, w in self.points.items():
            if not w.per_epoch or expr in self.errors:
                continue
            try:
                measured = w.value(session, at_end)
            except (KeyError, TypeError, ValueError, IndexError):
                continue
            if measured is not None:
                self._record(expr, session.step, measured[0], pending)

    def _record(self, expr: str, step: int, value: float, pending: Pending) -> None:
        steps, values = self._trace(expr)
        steps.append(step)
        values.append(float(value))
        ps, pv = pending.traces.setdefault(expr, ([], []))
        ps.append(step)
        pv.append(float(value))

    def publish(self, error: str = "", rejected: str = "") -> None:
        """Send the whole list (after any change, and at every session change)."""
        infos = []
        for expr, w in self.points.items():
            steps, values = self._trace(expr) if self.session is not None else ([], [])
            infos.append(WatchInfo(expr, w.label, w.op, w.threshold, w.change, w.per_epoch, list(w.hits),
                                   (np.asarray(steps, np.int64), np.asarray(values, float)),
                                   self.errors.get(expr, "")))
        bpe = self.session.batches_per_epoch if self.session is not None else 1
        config = getattr(self.session, "config", None)  # (an attached script plans no number of epochs)
        epochs = config.epochs if config is not None else 0
        self.changed.emit(WatchList(self.worker.generation, infos, bpe, error, rejected, epochs=epochs))
