"""What the worker tells the panels about the main session: ``SessionFeed``, a part of ``gui.worker.Worker``
(``worker.feed``) that owns the state of the messages and runs in the worker thread. Every engine event is
accumulated by ``on_event`` (cheap: it runs once per batch inside the training loop) and sent as a coalesced
``Update`` by ``flush``; ``announce`` tells every panel to redraw from scratch, for the live session or,
time travelling, for a past snapshot. It emits the worker's signals; the worker calls it, never the panels
(except ``ack`` and ``samples``, which only read or set its own pacing).
"""
from __future__ import annotations

import time

import numpy as np

from engine.data.dataset import to_image
from engine.debug.figures import Figures
from engine.debug.gradients import batch_grad_means
from engine.debug.stats import StatsMean, activation_histogram, confusion_matrix, vanishing_gradient_report
from engine.debug.timeline import snapshot_steps, snapshots_nbytes
from engine.training.session import BatchEvent, EpochEvent, State, StateEvent
from gui.worker.messages import Pending, Position, Rate, SessionInfo, Update

MAX_HZ = 30
GUI_SHARE = 0.05  # updates are spaced so that drawing them takes at most this share of the time ...
MAX_INTERVAL_S = 1.5  # ... but it never rests longer than this between two updates (a redraw of the Train
#                        workspace costs the GUI thread 50-80 ms on a slow machine: with a 1 s cap that was 7 %)
INFLIGHT_TIMEOUT_S = 3.0  # emit anyway if the GUI has not acknowledged the previous update by then
REPORT_BATCHES = 64  # the vanishing-gradient words judge the mean over the last this many batches


class SessionFeed:
    """Turns the main session's events into the panels' messages, paced by what drawing them costs."""

    def __init__(self, worker):
        self.worker = worker
        self.generation = 0  # +1 for every announcement: messages of an older one are dropped by the panels
        self.rate = Rate()
        self._pending = Pending()
        self._last_stats: dict = {}
        self._last_report: list[str] = []
        self._last_batch: dict = {}  # statistics of the latest batch
        self._epoch_ended = False
        self._hit = False  # a watchpoint fired: the next flush shows exactly that batch
        self._snap_mark: tuple | None = None
        self._last_emit = 0.0
        self._inflight = False  # an Update is queued and not yet drawn: accumulate instead of emitting
        self._next_emit = 0.0  # perf_counter time before which no (unforced) Update is emitted
        self._due = 0.0  # the listener flushes at the first batch after this (``_set_due``)
        self._shown: tuple | None = None  # (valid split, predictions) behind the last confusion shown
        self._shown_state: State | None = None  # the last state the window was told
        self._restored_hists: dict = {}  # a loaded checkpoint's histograms, until a batch brings new ones

    def follow(self, old, session) -> None:
        """Listen to ``session`` instead of ``old`` (None: none), starting its messages afresh."""
        if old is not None:
            old.unsubscribe(self.on_event)
        self._pending, self._last_stats, self._last_report, self._last_batch = Pending(), {}, [], {}
        self._restored_hists = {}
        self._epoch_ended = self._hit = False
        self._snap_mark = None
        self.rate.restart()
        self.rate.value = 0.0
        session.subscribe(self.on_event)

    def restore(self, session, figures: Figures | None) -> None:
        """A loaded checkpoint's pictures of its batches: the gradient table, words and histograms are shown
        as they were when it was saved (the curve comes from the timeline's GradHistory)."""
        if figures is None:
            return
        self._last_stats = dict(figures.stats)
        self._last_report = vanishing_gradient_report(self._last_stats, {l.name: l.activation for l in session.net.layers})
        self._restored_hists = dict(figures.histograms)

    def figures(self, session) -> Figures:
        """What the panels drew from ``session``'s batches, for its checkpoint (engine.debug.figures)."""
        hists = {l.name: activation_histogram(l.a, l.activation) for l in session.net.layers[:-1] if l.a is not None}
        return Figures(self.worker.timeline.grads_of(session), dict(self._last_stats), hists or self._restored_hists)

    # ---- called from the GUI thread ----------------------------------------------------------------

    def ack(self, gui_seconds: float | None = None) -> None:
        """The GUI has drawn the last Update: the next one may be emitted. What drawing it cost (the GUI
        thread's CPU time if given, else the wall time since the emit) sets the pace: the GUI gets
        about GUI_SHARE of the time, so drawing never slows training much (Python has one GIL)."""
        now = time.perf_counter()
        cost = now - self._last_emit if gui_seconds is None else gui_seconds
        rest = min(MAX_INTERVAL_S, cost * (1.0 / GUI_SHARE - 1.0))  # the GUI rests this long before the next
        self._next_emit = self._last_emit + max(1.0 / MAX_HZ, cost + rest)
        self._inflight = False
        self._set_due()

    def _set_due(self) -> None:
        """When the per-batch listener flushes next: one comparison per batch instead of the rule."""
        timeout = self._last_emit + INFLIGHT_TIMEOUT_S  # emit anyway if the GUI has not acknowledged
        self._due = timeout if self._inflight else min(timeout, max(self._next_emit,
                                                                    self._last_emit + 1.0 / MAX_HZ))

    def samples(self, true_class: int, pred_class: int, limit: int = 200):
        """Validation images of one confusion-matrix cell as last shown: (images (n, 32, 32), indices)."""
        if self._shown is None:
            return np.zeros((0, 32, 32), np.float32), np.zeros(0, np.int64)
        valid, pred = self._shown
        idx = np.flatnonzero((valid.y == true_class) & (pred == pred_class))[:limit]
        return np.stack([to_image(valid.x[i]) for i in idx]) if len(idx) else np.zeros((0, 32, 32)), idx

    # ---- the worker thread ---------------------------------------------------------------------------

    def announce(self, view_index: int | None = None) -> None:
        """Tell every panel to redraw from scratch: the live session, or (time travel) snapshot
        ``view_index`` of it. A SessionInfo, then an Update with the batches whose per-layer gradients
        the worker saw (the gradient panel's curve; earlier batches, e.g. from a checkpoint, come in
        the SessionInfo as before)."""
        w = self.worker
        s = w.session
        self.generation += 1
        if self._pending.layers:  # (normally empty here) the announcement includes them: never send them twice
            w.timeline.grads_of(s).add(self._pending.steps, batch_grad_means(self._pending.layers))
        self._pending = Pending()
        past = w.timeline.past(s, view_index) if view_index is not None else None
        h = s.history
        n = past.step if past else s.step
        grads = w.timeline.grads_of(s)
        start = min(grads.start, n)
        if past:
            epochs, weights, confusion, stats, report, hists = (past.epochs, past.weights, past.confusion,
                                                                past.stats, past.report, past.histograms)
            self._shown = past.shown
        else:
            epochs, weights = list(h.epochs), s.net.layers[0].W.copy()
            confusion = None
            if (h.epochs or s.valid_pred is not None) and not s.reconstruct:  # (opened weights: evaluated once)
                confusion = s.confusion()
                self._shown = (s.data.valid, s.valid_pred.copy())
            else:
                self._shown = None
            stats, report = dict(self._last_stats), list(self._last_report)
            hists = {l.name: activation_histogram(l.a, l.activation) for l in s.net.layers[:-1] if l.a is not None}
            hists = hists or self._restored_hists
        data = s.data
        epoch, batch = (past.epoch, past.batch) if past else (s.epoch, s.batch)
        w.session_changed.emit(SessionInfo(
            self.generation, data.name, tuple(data.classes), s.config,
            [(l.name, l.activation, l.W.shape[1]) for l in s.net.layers], len(data.train), len(data.valid),
            s.batches_per_epoch, n, epoch, batch, s.state, "" if past else s.message,
            np.asarray(h.batch_loss[:start], np.float64), np.asarray(h.batch_acc[:start], np.float64), epochs,
            weights, confusion, w.source, None if past is None else n, w.timeline.current_name(), id(s)))
        if n > start or (past and stats):
            self._last_emit = time.perf_counter()
            self._set_due()
            w.updated.emit(Update(
                self.generation, s.state, n, epoch, batch, s.batches_per_epoch,
                s.config.epochs * s.batches_per_epoch, s.schedule.at(epoch), np.arange(start + 1, n + 1),
                np.asarray(h.batch_loss[start:n], np.float64), np.asarray(h.batch_acc[start:n], np.float64),
                grads.between(start, n), stats, report, hists, {l.name: l.activation for l in s.net.layers}, [],
                None, weights, 0.0, None))
        self._shown_state = s.state
        w.position.emit(Position.of(s, n, epoch, batch, None if past is None else n))
        w.state_changed.emit(s.state, "" if past else s.message)
        w.timeline.publish(view_step=None if past is None else n)
        w.watches.publish()

    def tell_state(self, state: State, message: str) -> None:
        """The state as it is (a Start on a finished session: nothing runs, the window is told why)."""
        if self.worker.remote.active:
            return  # the panels follow an attached script (gui/worker/remote_feed.py)
        self._shown_state = state
        self.worker.state_changed.emit(state, message)

    def after_step(self, was: State) -> None:
        """After one batch stepped by hand: finishing, diverging, or idle -> paused is announced."""
        s = self.worker.session
        if s.state != was or s.state != self._shown_state:
            self.announce_state(s.state, s.message)

    def announce_state(self, state: State, message: str, reason=None) -> None:
        w = self.worker
        if w.remote.active:
            return
        self.flush(force=True)
        self._shown_state = state
        if reason is not None:
            w.paused_because.emit(reason)
        w.state_changed.emit(state, message)
        if state != State.RUNNING:
            w.timeline.publish()  # the runs' batch counts on the timeline

    def on_event(self, event) -> None:
        w = self.worker
        if type(event) is BatchEvent:  # the hot path, inside the training loop: keep it to appends
            p = self._pending
            now = time.perf_counter()
            if not p.steps:
                p.first_time = now
            p.steps.append(event.step)
            p.losses.append(event.loss)
            p.accs.append(event.acc)
            p.layers.append(event.layers)  # (a reference: statistics are averaged at flush time)
            if w.watches.points:
                w.watches.observe_batch(w.session, event, p)
            p.last_time = now
            if now >= self._due:
                self.flush()
        elif isinstance(event, EpochEvent):
            self._pending.epochs.append(event)
            self._epoch_ended = True
            w.watches.observe_epoch(w.session, event, self._pending)
        elif isinstance(event, StateEvent):
            if event.state == State.PAUSED and event.message:  # a watchpoint fired
                self._hit = True
                w.session.take_snapshot()  # time travel can branch from exactly this batch
                w.watches.publish()
            self.announce_state(event.state, event.message, event.reason)

    def flush(self, force: bool = False) -> None:
        """Emit what accumulated (taking copies now, between two batches)."""
        w = self.worker
        s, p = w.session, self._pending
        if s is None or (not p.steps and not p.epochs and not force) or w.timeline.view_index is not None \
                or w.remote.active:
            return  # (while the panels show a past moment, or an attached script, the live state is not sent)
        self._pending = Pending()
        if p.layers:
            self._last_batch = p.layers[-1]
            # at the last batch's time: a flush that comes after a pause must not count the pause
            self.rate.add_batches(p.first_time, p.last_time, len(p.steps) * s.config.batch_size)
        grads = batch_grad_means(p.layers)
        if grads:
            w.timeline.grads_of(s).add(p.steps, grads)
        if p.layers or (self._hit and self._last_batch):
            recent = StatsMean()
            for d in ([self._last_batch] if self._hit else p.layers[-REPORT_BATCHES:]):
                recent.add(d)  # at a watchpoint: exactly the batch that fired
            self._last_stats = recent.mean()
            self._last_report = vanishing_gradient_report(
                self._last_stats, {l.name: l.activation for l in s.net.layers})
        confusion = None
        if self._epoch_ended and not s.reconstruct:
            confusion = s.confusion()
            self._shown = (s.data.valid, s.valid_pred.copy())
        elif self._hit and not s.reconstruct:  # the confusion at the weights of the batch that fired
            pred = s.evaluate(s.data.valid)[2]
            confusion = confusion_matrix(s.data.valid.y, pred, s.data.n_classes)
            self._shown = (s.data.valid, pred)
        self._epoch_ended = self._hit = False
        snapshots, nbytes = None, 0
        mark = (len(s.snapshots), s.snapshots[-1].step if s.snapshots else -1)
        if mark != self._snap_mark:
            self._snap_mark = mark
            snapshots, nbytes = snapshot_steps(s), snapshots_nbytes(s)
        histograms = {l.name: activation_histogram(l.a, l.activation)
                      for l in s.net.layers[:-1] if l.a is not None}
        running = w.main is not None and w.main.wants_cpu
        total = s.config.epochs * s.batches_per_epoch
        rate = self.rate.value
        eta = (total - s.step) * s.config.batch_size / rate if running and rate > 0 else None
        self._inflight = True
        self._last_emit = time.perf_counter()
        self._set_due()
        w.updated.emit(Update(
            self.generation, s.state, s.step, s.epoch, s.batch, s.batches_per_epoch, total, s.lr,
            np.asarray(p.steps, np.int64), np.asarray(p.losses), np.asarray(p.accs),
            grads, dict(self._last_stats), list(self._last_report),
            histograms, {l.name: l.activation for l in s.net.layers}, p.epochs, confusion,
            s.net.layers[0].W.copy(), rate, eta,
            {k: (np.asarray(st, np.int64), np.asarray(v, float)) for k, (st, v) in p.traces.items()},
            snapshots, nbytes))
        w.position.emit(Position.of(s))
