"""The one long-lived training thread, and the only object in the GUI that touches a TrainingSession.

Flow, one way: the session calls ``Worker._on_event`` in the training thread for every batch and
epoch; the worker accumulates them and, at most ``MAX_HZ`` times a second (never while the GUI is
still drawing the previous one, and less often when drawing is slow: Python's GIL makes every
millisecond the GUI spends in Python a millisecond the training may wait), emits one ``Update`` holding everything the panels need:
the new batch losses, per-layer gradient statistics, activation histograms, the engine's
vanishing-gradient words, new epoch results, the validation confusion matrix and a copy of the
first-layer weights, all taken in the training thread between two batches, so a panel never reads
an array the training is writing.

Commands come back as method calls from the GUI thread. ``pause`` is applied to the session
directly (the engine makes it thread-safe); everything else is queued into the worker thread,
where it runs after the current command (``run`` returns at the next batch boundary once paused).
"""
from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from engine.checkpoint import CheckpointError, load_session, save_session
from engine.data import DataError, load_dataset
from engine.dataset import Dataset, to_image
from engine.session import BatchEvent, EpochEvent, State, StateEvent, TrainConfig, TrainingSession
from engine.stats import LayerStats, StatsMean, activation_histogram, vanishing_gradient_report

MAX_HZ = 30
GUI_SHARE = 0.05  # updates are spaced so that drawing them takes at most this share of the time ...
MAX_INTERVAL_S = 1.0  # ... but it never rests longer than this between two updates
INFLIGHT_TIMEOUT_S = 3.0  # emit anyway if the GUI has not acknowledged the previous update by then
RATE_WINDOW_S = 2.0
REPORT_BATCHES = 64  # the vanishing-gradient words judge the mean over the last this many batches  # examples/s is measured over this much recent training time

USER_ERRORS = (DataError, CheckpointError, ValueError, OSError)


@dataclass
class SessionInfo:
    """Everything a panel needs to (re)draw from scratch: sent when a session is created or loaded."""

    generation: int  # increases with every new session; updates carry it too
    dataset: str
    classes: tuple[str, ...]
    config: TrainConfig
    layers: list[tuple[str, str, int]]  # (name, activation, units)
    n_train: int
    n_valid: int
    batches_per_epoch: int
    step: int
    epoch: int
    batch: int
    state: State
    message: str
    batch_loss: np.ndarray  # whole history (a loaded checkpoint brings its curves along)
    batch_acc: np.ndarray
    epochs: list[EpochEvent]
    weights: np.ndarray  # first-layer W copy (inputs x units)
    confusion: np.ndarray | None  # validation confusion at the last epoch end (None before the first)
    source: str = ""  # file the session came from ("" for a new one)

    @property
    def total_batches(self) -> int:
        return self.config.epochs * self.batches_per_epoch


@dataclass
class Update:
    """What changed since the previous update (coalesced over any number of batches)."""

    generation: int
    state: State
    step: int
    epoch: int  # completed epochs
    batch: int  # next batch within the epoch
    batches_per_epoch: int
    total_batches: int
    lr: float
    steps: np.ndarray  # global step of each new batch
    losses: np.ndarray
    accs: np.ndarray
    grads: dict[str, np.ndarray]  # layer -> mean |dL/dW| of each new batch
    stats: dict[str, LayerStats]  # mean over the last (<= REPORT_BATCHES) new batches, or the last known
    report: list[str]  # engine.stats.vanishing_gradient_report on ``stats``
    histograms: dict[str, tuple[np.ndarray, np.ndarray]]  # hidden layer -> (counts, edges) of the last batch
    activations: dict[str, str]  # layer -> activation name
    epochs: list[EpochEvent]  # epochs completed since the previous update
    confusion: np.ndarray | None  # set when an epoch ended since the previous update
    weights: np.ndarray
    examples_per_s: float
    eta_s: float | None  # None when not running

    @property
    def progress(self) -> float:
        return self.step / self.total_batches if self.total_batches else 1.0


@dataclass
class _Pending:
    """Batch events since the last Update, kept as they came (the listener must stay cheap: it runs
    once per batch inside the training loop)."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    accs: list[float] = field(default_factory=list)
    layers: list[dict[str, LayerStats]] = field(default_factory=list)
    epochs: list[EpochEvent] = field(default_factory=list)


class Rate:
    """Examples per second over the last few seconds of training (pauses do not count); O(1) per batch."""

    def __init__(self, window_s: float = RATE_WINDOW_S):
        self.window_s = window_s
        self.marks: deque[tuple[float, int]] = deque()
        self.total = 0  # examples in marks[1:]
        self.value = 0.0

    def restart(self) -> None:
        self.marks.clear()
        self.total = 0

    def add(self, now: float, n: int) -> None:
        if self.marks:
            self.total += n
        self.marks.append((now, n))
        while len(self.marks) > 2 and now - self.marks[0][0] > self.window_s:
            self.marks.popleft()
            self.total -= self.marks[0][1]
        span = now - self.marks[0][0]
        if span > 0:
            self.value = self.total / span


class Worker(QObject):
    session_changed = pyqtSignal(object)  # SessionInfo
    updated = pyqtSignal(object)  # Update
    state_changed = pyqtSignal(object, str)  # State, message (a diagnosis or a watchpoint reason)
    error = pyqtSignal(str)  # a user-facing one-line message; the session is kept as it was
    saved = pyqtSignal(str)  # checkpoint path
    busy = pyqtSignal(str)  # what the worker is doing that takes a while ("" when done)
    _command = pyqtSignal(object)

    def __init__(self, parent_thread_name: str = "training"):
        super().__init__()
        self.session: TrainingSession | None = None
        self.generation = 0
        self.source = ""
        self._pending = _Pending()
        self._last_stats: dict[str, LayerStats] = {}
        self._last_report: list[str] = []
        self._epoch_ended = False
        self._last_emit = 0.0
        self._inflight = False  # an Update is queued and not yet drawn: accumulate instead of emitting
        self._next_emit = 0.0  # perf_counter time before which no (unforced) Update is emitted
        self._pause_requested = False
        self._stopping = False
        self._rate = Rate()
        self._shown: tuple | None = None  # (valid split, predictions) behind the last confusion shown
        self.thread = QThread()
        self.thread.setObjectName(parent_thread_name)
        self.moveToThread(self.thread)
        self._command.connect(self._execute)
        self.thread.start()

    # ---- commands (call from the GUI thread) ----------------------------------------------------

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.state == State.RUNNING

    def open_data(self, spec: str, config: TrainConfig | None = None) -> None:
        """Load a dataset ("glyphs" or a path) and start a fresh session on it."""
        self.pause()
        self._queue(lambda: self._open_data(spec, config))

    def set_data(self, data: Dataset, config: TrainConfig | None = None) -> None:
        """A fresh session on an in-memory dataset."""
        self.pause()
        self._queue(lambda: self._new_session(data, config or self._config()))

    def reset(self, config: TrainConfig | None = None) -> None:
        """A fresh session on the current data (with new hyperparameters if given)."""
        self.pause()
        self._queue(lambda: self.session and self._new_session(self.session.data, config or self._config()))

    def start(self, config: TrainConfig | None = None, max_batches: int | None = None) -> None:
        """Train until paused/finished (or for ``max_batches``). New hyperparameters apply only to an
        untouched session (step 0); later they need a reset."""
        self._pause_requested = False
        self._queue(lambda: self._run(config, max_batches))

    def pause(self) -> None:
        self._pause_requested = True  # also catches a run that has been queued but not begun
        if self.running:  # a pause sent to an idle session would stop its next run at once
            self.session.pause()

    def step_batch(self) -> None:
        self._queue(self._step_batch)

    def step_epoch(self) -> None:
        self._pause_requested = False
        self._queue(self._step_epoch)

    def save_checkpoint(self, path: str) -> None:
        """Save at a batch boundary; a running session pauses, saves and goes on."""
        was_running = self.running
        self.pause()
        self._queue(lambda: self._save(path, resume=was_running))

    def load_checkpoint(self, path: str) -> None:
        self.pause()
        self._queue(lambda: self._load_checkpoint(path))

    def open_path(self, path: str) -> None:
        """A dropped or opened file: a checkpoint if it is one, else a dataset."""
        self.pause()
        self._queue(lambda: self._open_path(path))

    def ack(self, gui_seconds: float | None = None) -> None:
        """The GUI has drawn the last Update: the next one may be emitted. What drawing it cost (the GUI
        thread's CPU time if given, else the wall time since the emit) sets the pace: the GUI gets
        about GUI_SHARE of the time, so drawing never slows training much (Python has one GIL)."""
        now = time.perf_counter()
        cost = now - self._last_emit if gui_seconds is None else gui_seconds
        rest = min(MAX_INTERVAL_S, cost * (1.0 / GUI_SHARE - 1.0))  # the GUI rests this long before the next
        self._next_emit = self._last_emit + max(1.0 / MAX_HZ, cost + rest)
        self._inflight = False

    def samples(self, true_class: int, pred_class: int, limit: int = 200):
        """Validation images of one confusion-matrix cell as last shown: (images (n, 32, 32), indices)."""
        if self._shown is None:
            return np.zeros((0, 32, 32), np.float32), np.zeros(0, np.int64)
        valid, pred = self._shown
        idx = np.flatnonzero((valid.y == true_class) & (pred == pred_class))[:limit]
        return np.stack([to_image(valid.x[i]) for i in idx]) if len(idx) else np.zeros((0, 32, 32)), idx

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop training at the next batch boundary and end the thread. Safe to call twice."""
        self._stopping = True
        if self.session is not None:
            self.session.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    def save_and_wait(self, path: str, timeout_s: float = 120.0) -> str:
        """Pause, save at the batch boundary in the worker thread, and wait (for closing the window).
        Returns "" on success, else what went wrong; the session is untouched either way."""
        self.pause()
        done, problems = threading.Event(), []

        def job():
            try:
                if self.session is None:
                    raise OSError("nothing to save yet")
                save_session(path, self.session)
                self.source = path
            except USER_ERRORS as exc:
                problems.append(str(exc))
            finally:
                done.set()

        self._queue(job)
        if not done.wait(timeout_s):
            return "the training thread did not answer"
        return problems[0] if problems else ""

    # ---- the worker thread ----------------------------------------------------------------------

    def _queue(self, fn: Callable[[], object]) -> None:
        if not self._stopping:
            self._command.emit(fn)

    def _config(self) -> TrainConfig:
        return self.session.config if self.session is not None else TrainConfig()

    @pyqtSlot(object)
    def _execute(self, fn) -> None:
        if self._stopping:
            return
        try:
            fn()
        except USER_ERRORS as exc:
            self.error.emit(str(exc))
        except Exception as exc:  # a bug: say so, keep the app alive
            traceback.print_exc()
            self.error.emit(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self.busy.emit("")
            self._flush(force=True)

    def _open_data(self, spec: str, config: TrainConfig | None) -> None:
        self.busy.emit(f"loading {spec} \u2026")
        data = load_dataset(spec)
        self._new_session(data, config or self._config())

    def _open_path(self, path: str) -> None:
        if path.lower().endswith(".npz") and self.session is not None:
            try:
                self._load_checkpoint(path)
                return
            except CheckpointError as as_checkpoint:
                try:
                    self._open_data(path, None)
                except DataError as as_data:
                    raise DataError(f"{as_checkpoint}; as a dataset: {as_data}") from None
                return
        self._open_data(path, None)

    def _new_session(self, data: Dataset, config: TrainConfig, session: TrainingSession | None = None,
                     source: str = "") -> None:
        session = session or TrainingSession(data, config)
        if self.session is not None:
            self.session.unsubscribe(self._on_event)
        self.session, self.source = session, source
        self.generation += 1
        self._pending, self._last_stats, self._last_report = _Pending(), {}, []
        self._epoch_ended = False
        self._rate.restart()
        self._rate.value = 0.0
        session.subscribe(self._on_event)
        h = session.history
        confusion = None
        if h.epochs:
            confusion = session.confusion()
            self._shown = (data.valid, session.valid_pred.copy())
        else:
            self._shown = None
        self.session_changed.emit(SessionInfo(
            self.generation, data.name, tuple(data.classes), session.config,
            [(l.name, l.activation, l.W.shape[1]) for l in session.net.layers], len(data.train), len(data.valid),
            session.batches_per_epoch, session.step, session.epoch, session.batch, session.state, session.message,
            np.asarray(h.batch_loss, np.float64), np.asarray(h.batch_acc, np.float64), list(h.epochs),
            session.net.layers[0].W.copy(), confusion, source))
        self.state_changed.emit(session.state, session.message)

    def _run(self, config: TrainConfig | None, max_batches: int | None = None) -> None:
        s = self.session
        if s is None:
            return
        if config is not None and config != s.config and s.step == 0:
            self._new_session(s.data, config)
            s = self.session
        if self._pause_requested or s.done:
            if s.done:
                self.state_changed.emit(s.state, s.message)
            return
        self._rate.restart()
        s.run(max_batches)

    def _step_batch(self) -> None:
        s = self.session
        if s is None or s.done or s.state == State.RUNNING:
            return
        s.step_batch()
        if s.state == State.PAUSED:  # finishing and diverging announce themselves
            self.state_changed.emit(s.state, s.message)

    def _step_epoch(self) -> None:
        s = self.session
        if s is None or s.done:
            return
        self._rate.restart()
        s.step_epoch()

    def _save(self, path: str, resume: bool) -> None:
        if self.session is None:
            raise OSError("nothing to save yet")
        save_session(path, self.session)
        self.source = path
        self.saved.emit(path)
        if resume:
            self._pause_requested = False
            self._run(None)

    def _load_checkpoint(self, path: str) -> None:
        if self.session is None:
            raise CheckpointError("load a dataset first: a checkpoint continues on its data")
        data = self.session.data
        self._new_session(data, None, load_session(path, data), source=path)

    # ---- engine events (training thread) -------------------------------------------------------

    def _on_event(self, event) -> None:
        if isinstance(event, BatchEvent):
            p = self._pending
            p.steps.append(event.step)
            p.losses.append(event.loss)
            p.accs.append(event.acc)
            p.layers.append(event.layers)
            now = time.perf_counter()
            self._rate.add(now, self.session.config.batch_size)
            if self._stopping:
                self.session.stop()  # re-assert: a stop that came before run() began is not lost
            elif self._pause_requested and self.session.state == State.RUNNING:
                self.session.pause()  # a pause that raced with run() starting
            since = now - self._last_emit
            if (now >= self._next_emit and since >= 1.0 / MAX_HZ and not self._inflight) \
                    or since > INFLIGHT_TIMEOUT_S:
                self._flush()
        elif isinstance(event, EpochEvent):
            self._pending.epochs.append(event)
            self._epoch_ended = True
        elif isinstance(event, StateEvent):
            self._flush(force=True)
            self.state_changed.emit(event.state, event.message)

    def _flush(self, force: bool = False) -> None:
        """Emit what accumulated (taking copies now, between two batches)."""
        s, p = self.session, self._pending
        if s is None or (not p.steps and not p.epochs and not force):
            return
        self._pending = _Pending()
        grads = {}
        if p.layers:
            grads = {name: np.fromiter((d[name].grad_mean_abs for d in p.layers), float, len(p.layers))
                     for name in p.layers[-1]}
            recent = StatsMean()
            for d in p.layers[-REPORT_BATCHES:]:
                recent.add(d)
            self._last_stats = recent.mean()
            self._last_report = vanishing_gradient_report(
                self._last_stats, {l.name: l.activation for l in s.net.layers})
        confusion = None
        if self._epoch_ended:
            confusion = s.confusion()
            self._shown = (s.data.valid, s.valid_pred.copy())
            self._epoch_ended = False
        histograms = {l.name: activation_histogram(l.a, l.activation)
                      for l in s.net.layers[:-1] if l.a is not None}
        running = s.state == State.RUNNING
        total = s.config.epochs * s.batches_per_epoch
        rate = self._rate.value
        eta = (total - s.step) * s.config.batch_size / rate if running and rate > 0 else None
        self._inflight = True
        self._last_emit = time.perf_counter()
        self.updated.emit(Update(
            self.generation, s.state, s.step, s.epoch, s.batch, s.batches_per_epoch, total, s.lr,
            np.asarray(p.steps, np.int64), np.asarray(p.losses), np.asarray(p.accs),
            grads, dict(self._last_stats), list(self._last_report),
            histograms, {l.name: l.activation for l in s.net.layers}, p.epochs, confusion,
            s.net.layers[0].W.copy(), rate, eta))
