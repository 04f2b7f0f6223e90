"""Time travel for the window, kept by the worker (it lives in its thread).

The timeline is a tree of sessions: the first one ("main") and every branch made from one of its
snapshots with ``engine.debug.timeline.branch``. One of them is *current*: the panels follow it and Start
trains it. Scrubbing announces a past moment of the current session to every panel
(``SessionFeed.announce``, gui/worker/events.py) from ``engine.debug.timeline.view``; a snapshot cap
(bytes) bounds every session's snapshots with ``engine.debug.timeline.set_memory_cap``.

Per session it also keeps the per-batch gradient magnitudes the worker saw
(``engine.debug.gradients.GradHistory``), so the gradient panel's curve can be drawn again after travelling.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from engine.debug.gradients import GradHistory
from engine.debug.stats import activation_histogram, vanishing_gradient_report
from engine.debug.timeline import DEFAULT_MAX_BYTES, PROBE_ROWS, branch, nearest, set_memory_cap, snapshot_nbytes, view
from engine.errors import InputError
from gui.worker.messages import BranchInfo, TimelineInfo


@dataclass
class Branch:
    name: str
    session: object
    color: int
    parent: "Branch | None" = None
    at_step: int = 0
    grads: GradHistory = field(default_factory=GradHistory)


@dataclass
class PastView:
    step: int
    epoch: int
    batch: int
    epochs: list
    weights: np.ndarray
    confusion: np.ndarray | None
    stats: dict
    report: list[str]
    histograms: dict
    shown: tuple | None  # (valid split, predictions) for the confusion panel's sample lists


class TimeTravel(QObject):
    changed = pyqtSignal(object)  # TimelineInfo

    def __init__(self, worker):
        super().__init__(worker)
        self.worker = worker
        self.branches: list[Branch] = []
        self.current: Branch | None = None
        self.view_index: int | None = None  # the snapshot shown (None: live)
        self.cap_bytes = DEFAULT_MAX_BYTES
        self._target: int | None = None
        self._travel_queued = False

    # ---- commands (GUI thread) --------------------------------------------------------------------

    def travel(self, step: int | None) -> None:
        """Show the moment of the snapshot at ``step`` (None: back to the live session). Pauses
        training; fast scrubbing is coalesced (only the latest position is computed)."""
        self.worker.pause()
        self._target = step
        if not self._travel_queued:
            self._travel_queued = True
            self.worker.send(self._travel)

    def branch(self, step: int | None, **changes) -> None:
        """A new branch from the snapshot at ``step`` (None: from now) with new hyperparameters; it
        becomes current."""
        self.worker.pause()
        self.worker.send(lambda: self._branch(step, changes))

    def switch(self, name: str) -> None:
        self.worker.pause()
        self.worker.send(lambda: self._switch(name))

    def set_cap(self, megabytes: float) -> None:
        self.worker.send(lambda: self._set_cap(int(megabytes * 2 ** 20)))

    # ---- worker thread ----------------------------------------------------------------------------

    def adopt_root(self, session) -> None:
        """``session`` starts the timeline; a loaded one brings the gradient curve its checkpoint kept."""
        figures = getattr(session, "figures", None)
        grads = figures.grads if figures is not None and figures.grads.start + figures.grads.n == session.step \
            else GradHistory(session.step)
        self.branches = [Branch("main", session, 0, grads=grads)]
        self.current = self.branches[0]
        self.view_index = None

    def current_name(self) -> str:
        return self.current.name if self.current else ""

    def has_branches(self) -> bool:
        return len(self.branches) > 1

    def _find(self, session) -> Branch | None:
        return next((b for b in self.branches if b.session is session), None)

    def grads_of(self, session) -> GradHistory:
        b = self._find(session)
        if b is None:  # not on the timeline (should not happen): a throwaway history
            return GradHistory(session.step)
        return b.grads

    def parent_of(self, session):
        b = self._find(session)
        return (b.parent.session, b.at_step) if b is not None and b.parent is not None else (None, 0)

    def apply_cap(self, session) -> None:
        try:
            set_memory_cap(session, self.cap_bytes)
        except ValueError:
            pass  # a cap too small for this network: keep the session's own limit

    def past(self, session, index: int) -> PastView:
        """Everything the panels show, as it was at snapshot ``index`` (engine.debug.timeline.view)."""
        v = view(session, index)
        snap = v.snapshot
        net = session.net.astype(session.net.dtype)
        net.set_params(snap.params)
        x = session.data.train.x[:PROBE_ROWS]
        histograms = {}
        if len(x):
            net.forward(x)
            histograms = {l.name: activation_histogram(l.a, l.activation) for l in net.layers[:-1]}
        shown = None
        if not session.reconstruct:
            shown = (session.data.valid, session.evaluate(session.data.valid, snap.params)[2])
        acts = {l.name: l.activation for l in session.net.layers}
        return PastView(snap.step, snap.epoch, snap.batch, v.epochs, snap.params["layer1.W"].copy(), v.confusion,
                        v.layers, vanishing_gradient_report(v.layers, acts), histograms, shown)

    def _travel(self) -> None:
        self._travel_queued = False
        if self.worker.remote.active:  # an attached script's snapshots (gui/worker/runners/remote.py)
            self.worker.remote.travel(self._target)
            return
        s, step = self.worker.session, self._target
        if s is None:
            return
        index = None if step is None else nearest(s, step)
        if index is None or s.snapshots[index].step == s.step:  # the live end of the slider
            self.worker.leave_past()
            return
        if self.view_index != index:
            self.view_index = index
            self.worker.feed.announce(index)

    def _branch(self, step: int | None, changes: dict) -> None:
        if self.worker.remote.active:  # a script's run has one line: its snapshot is written back instead
            self.worker.remote.restore(step)
            return
        s = self.worker.session
        if s is None:
            return
        if step is None:  # from now: the live moment becomes a snapshot
            s.take_snapshot()
            step = s.step
        index = nearest(s, step)
        snap = s.snapshots[index]
        try:
            new = branch(s, index, **changes)
        except InputError:
            raise
        except ValueError as exc:  # the engine's reason for settings the user typed
            raise InputError(str(exc)) from exc
        b = Branch(f"branch {len(self.branches)}", new, len(self.branches), self.current, snap.step,
                   self.current.grads.upto(snap.step))
        self.branches.append(b)
        self.current, self.view_index = b, None
        self.worker.attach(new)
        self.worker.feed.announce()
        changed = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in changes.items())
        self.worker.exported.emit(f"{b.name}: from {b.parent.name} at step {snap.step:,}"
                                  + (f" with {changed}" if changed else "") + " \u2014 press Space to train it")

    def _switch(self, name: str) -> None:
        if self.worker.remote.active:
            return
        b = next((b for b in self.branches if b.name == name), None)
        if b is None:
            raise InputError(f"no branch {name!r}")
        if b is self.current and self.view_index is None:
            return
        self.current, self.view_index = b, None
        self.worker.attach(b.session)
        self.worker.feed.announce()

    def _set_cap(self, cap: int) -> None:
        if self.worker.remote.active:
            return  # (the script keeps its own snapshots, within its own cap)
        for b in self.branches:
            try:
                set_memory_cap(b.session, cap)  # too small: the cap stays as it was
            except ValueError as exc:
                raise InputError(str(exc)) from exc
        self.cap_bytes = cap
        if self.view_index is not None:  # thinning renumbers the snapshots
            self.view_index = None
            self.worker.feed.announce()
        else:
            self.publish()

    def memory(self) -> int:
        """Bytes held by the snapshots of every branch (shared ones counted once)."""
        seen = {}
        for b in self.branches:
            for s in b.session.snapshots:
                seen[id(s)] = s
        return sum(snapshot_nbytes(s) for s in seen.values())

    def publish(self, view_step: int | None = None) -> None:
        s = self.worker.session
        if s is None or self.current is None:
            return
        infos = []
        for b in self.branches:
            h = b.session.history
            infos.append(BranchInfo(
                b.name, b.color, b.parent.name if b.parent else "", b.at_step, b.session.config,
                np.asarray(h.batch_loss, float),
                (np.asarray([e.epoch for e in h.epochs], float), np.asarray([e.valid_acc for e in h.epochs], float)),
                b.session.batches_per_epoch, b is self.current))
        if view_step is None and self.view_index is not None:
            view_step = s.snapshots[self.view_index].step
        self.changed.emit(TimelineInfo(self.worker.generation, infos, [sn.step for sn in s.snapshots], s.step,
                                       view_step, self.memory(), self.cap_bytes))
