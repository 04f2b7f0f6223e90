"""The one long-lived training thread, and the only object in the GUI that touches a TrainingSession.

Flow, one way: the session calls ``Worker._on_event`` in the training thread for every batch and
epoch; the worker accumulates them and, at most ``MAX_HZ`` times a second (never while the GUI is
still drawing the previous one, and less often when drawing is slow: Python's GIL makes every
millisecond the GUI spends in Python a millisecond the training may wait), emits one ``Update`` holding
everything the panels need: the new batch losses, per-layer gradient statistics, activation histograms,
the engine's vanishing-gradient words, new epoch results, the validation confusion matrix and a copy of
the first-layer weights, all taken in the training thread between two batches, so a panel never reads
an array the training is writing. The messages live in gui/messages.py.

Commands come back as method calls from the GUI thread. ``pause`` is applied to the session
directly (the engine makes it thread-safe); everything else is queued into the worker thread,
where it runs after the current command. How engine events become panel messages is in
gui/worker_events.py (a mixin).

Several things can train at once: the main session, a side-by-side experiment, the autoencoder.
They are *jobs* run by a cooperative scheduler in this one thread: when more than one wants the CPU,
each trains for ``SLICE_S`` in turn (a fair share); the main session alone trains without slicing,
exactly as before. A queued command makes the running job return at the next batch boundary, so the
window stays responsive. The main session's pauses between slices are not shown to the panels.

Helpers that live in this thread with the worker: ``watches`` (gui/worker_watch.py), ``timeline``
(gui/worker_timeline.py), ``experiments``, ``autoencoder`` and ``gradcheck`` (gui/worker_jobs.py).
"""
from __future__ import annotations

import threading
import time
import traceback
from typing import Callable

from PyQt6.QtCore import QObject, QThread, Qt, pyqtSignal, pyqtSlot

from engine.checkpoint import CheckpointError, load_session, save_session
from engine.data import DataError, load_dataset
from engine.dataset import Dataset
from engine.runlog import save_json
from engine.session import State, TrainConfig, TrainingSession
from engine.stats import LayerStats
from gui.messages import Pending, Rate
from gui.worker_events import SessionEvents
from gui.worker_experiments import ExperimentJob
from gui.worker_jobs import AutoencoderJob, GradcheckJob
from gui.worker_timeline import TimeTravel
from gui.worker_watch import Watchlist

SLICE_S = 0.05  # with several jobs wanting the CPU, each trains this long in turn

USER_ERRORS = (DataError, CheckpointError, ValueError, OSError)


class _MainJob:
    """The main session as a scheduler job."""

    def __init__(self, worker: "Worker"):
        self.worker = worker

    def wants_cpu(self) -> bool:
        return self.worker._main_active

    def advance(self, deadline: float | None) -> None:
        self.worker._advance_main(deadline)

    def fail(self) -> None:
        self.worker._stop_main()


class Worker(QObject, SessionEvents):
    session_changed = pyqtSignal(object)  # SessionInfo
    updated = pyqtSignal(object)  # Update
    state_changed = pyqtSignal(object, str)  # State, message (a diagnosis or a watchpoint reason)
    error = pyqtSignal(str)  # a user-facing one-line message; the session is kept as it was
    saved = pyqtSignal(str)  # checkpoint path
    exported = pyqtSignal(str)  # what was written (a run log), for the status bar
    busy = pyqtSignal(str)  # what the worker is doing that takes a while ("" when done)
    _command = pyqtSignal(object)
    _tick_signal = pyqtSignal()

    def __init__(self, parent_thread_name: str = "training"):
        super().__init__()
        self.session: TrainingSession | None = None
        self.generation = 0
        self.source = ""
        self._pending = Pending()
        self._last_stats: dict[str, LayerStats] = {}
        self._last_report: list[str] = []
        self._last_batch: dict[str, LayerStats] = {}  # statistics of the latest batch
        self._epoch_ended = False
        self._hit = False  # a watchpoint fired: the next flush shows exactly that batch
        self._snap_mark: tuple | None = None
        self._last_emit = 0.0
        self._inflight = False  # an Update is queued and not yet drawn: accumulate instead of emitting
        self._next_emit = 0.0  # perf_counter time before which no (unforced) Update is emitted
        self._pause_requested = False
        self._stopping = False
        self._rate = Rate()
        self._shown: tuple | None = None  # (valid split, predictions) behind the last confusion shown
        # scheduling (see the module docstring)
        self._yield = threading.Event()  # a command is waiting: the running job returns at a batch boundary
        self._main_active = False  # the main session should train (it may be between two slices)
        self._budget: int | None = None  # batches left of a start(max_batches=...)
        self._deadline: float | None = None
        self._in_slice = False
        self._yielding = False
        self._shown_state: State | None = None  # the last state the window was told
        self._tick_queued = False
        self.watches = Watchlist(self)
        self.timeline = TimeTravel(self)
        self.experiments = ExperimentJob(self)
        self.autoencoder = AutoencoderJob(self)
        self.gradcheck = GradcheckJob(self)
        self._jobs = [_MainJob(self), self.experiments, self.autoencoder]
        self.thread = QThread()
        self.thread.setObjectName(parent_thread_name)
        self.moveToThread(self.thread)  # the helpers above are children: they move along
        # queued even when emitted from this thread (a scheduler pass re-queues itself behind the commands)
        self._command.connect(self._execute, Qt.ConnectionType.QueuedConnection)
        self._tick_signal.connect(self._tick, Qt.ConnectionType.QueuedConnection)
        self.thread.start()

    # ---- commands (call from the GUI thread) ----------------------------------------------------

    @property
    def running(self) -> bool:
        return self.session is not None and (self.session.state == State.RUNNING or self._main_active)

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
        untouched session (step 0); later they need a reset. From a past moment (time travel), training
        continues from the live session, not from the moment shown."""
        self._pause_requested = False
        self._queue(lambda: self._run(config, max_batches))

    def pause(self) -> None:
        self._pause_requested = True  # also catches a run that has been queued but not begun
        if self.session is not None and self.session.state == State.RUNNING:
            self.session.pause()  # a pause sent to an idle session would stop its next run at once

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
        """A dropped or opened file: a run log (.json), a checkpoint if it is one, else a dataset."""
        if path.lower().endswith(".json"):
            self.experiments.open_log(path)
            return
        self.pause()
        self._queue(lambda: self._open_path(path))

    def export_log(self, path: str, name: str = "") -> None:
        """The main session's full log (config, every batch and epoch, layer statistics) as JSON."""
        def job():
            if self.session is None:
                raise OSError("nothing to export yet")
            branch = self.timeline.current_name()
            save_json(path, self.session, name or self.session.data.name + (f" ({branch})" if branch != "main" else ""))
            self.exported.emit(f"run log written to {path}")
        self._queue(job)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop all training at the next batch boundary and end the thread. Safe to call twice."""
        self._stopping = True
        if self.session is not None:
            self.session.stop()
        self.experiments.halt()
        self.autoencoder.halt()
        self.gradcheck.cancel()
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
            self._yield.set()  # whatever is training returns at the next batch boundary
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
            self._schedule()

    def _schedule(self) -> None:
        """Queue a scheduler pass if any job wants the CPU (after the commands already queued)."""
        if not self._tick_queued and not self._stopping and any(j.wants_cpu() for j in self._jobs):
            self._tick_queued = True
            self._tick_signal.emit()

    @pyqtSlot()
    def _tick(self) -> None:
        """One pass of the scheduler: every job that wants the CPU trains one slice (unbounded for the
        main session when it is alone; it returns when a command is queued)."""
        self._tick_queued = False
        jobs = [j for j in self._jobs if j.wants_cpu()]
        shared = len(jobs) > 1
        for job in jobs:
            if self._stopping:
                return
            if not job.wants_cpu():
                continue
            slice_s = SLICE_S if shared else getattr(job, "alone_slice_s", None)
            try:
                job.advance(None if slice_s is None else time.perf_counter() + slice_s)
            except USER_ERRORS as exc:
                job.fail()
                self.error.emit(str(exc))
            except Exception as exc:
                traceback.print_exc()
                job.fail()
                self.error.emit(f"internal error: {type(exc).__name__}: {exc}")
        self._schedule()

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
        """A new root session (the timeline starts over with it)."""
        session = session or TrainingSession(data, config)
        self.timeline.adopt_root(session)
        self._attach(session, source)
        self._announce()

    def _attach(self, session: TrainingSession, source: str = "") -> None:
        """Make ``session`` the one the panels follow (a new one, or another branch of the timeline)."""
        if self.session is not None:
            self.session.unsubscribe(self._on_event)
        self.session, self.source = session, source
        self._pending, self._last_stats, self._last_report, self._last_batch = Pending(), {}, [], {}
        self._epoch_ended = self._hit = False
        self._main_active = False
        self._snap_mark = None
        self._rate.restart()
        self._rate.value = 0.0
        session.subscribe(self._on_event)
        self.timeline.apply_cap(session)
        self.watches.bind(session)

    def _run(self, config: TrainConfig | None, max_batches: int | None = None) -> None:
        s = self.session
        if s is None:
            return
        if config is not None and config != s.config and s.step == 0 and not self.timeline.has_branches():
            self._new_session(s.data, config)
            s = self.session
        self._leave_past()
        if self._pause_requested or s.done:
            if s.done:
                self.state_changed.emit(s.state, s.message)
            return
        self._rate.restart()
        self._budget = max_batches
        self._main_active = True
        self._schedule()

    def slice_over(self, deadline: float | None) -> bool:
        """Whether a background job's time slice has ended: a command is waiting (consumed here)
        or its deadline has passed. Jobs check it at every batch boundary."""
        if self._yield.is_set():
            self._yield.clear()
            return True
        return deadline is not None and time.perf_counter() > deadline

    def _advance_main(self, deadline: float | None) -> None:
        """One slice of the main session (until ``deadline``, a pause, a queued command or the end)."""
        s = self.session
        if s is None or s.done or self._pause_requested or (self._budget is not None and self._budget <= 0):
            self._stop_main()
            return
        self._deadline, self._in_slice = deadline, True
        before = s.step
        try:
            s.run(self._budget)
        finally:
            self._in_slice, self._deadline = False, None
        if self._budget is not None:
            self._budget -= s.step - before
        yielded, self._yielding = self._yielding, False
        if (yielded and s.state == State.PAUSED and not s.message and not self._pause_requested
                and (self._budget is None or self._budget > 0)):
            return  # still running as far as the window is concerned: the next slice follows
        self._stop_main()

    def _stop_main(self) -> None:
        self._main_active = False
        s = self.session
        if s is not None and s.state != self._shown_state:
            self._announce_state(s.state, s.message)
            self.timeline.publish()  # the runs' batch counts on the timeline

    def _step_batch(self) -> None:
        s = self.session
        if s is None or s.done or s.state == State.RUNNING:
            return
        self._leave_past()
        s.step_batch()
        if s.state == State.PAUSED:  # finishing and diverging announce themselves
            self._shown_state = s.state
            self.state_changed.emit(s.state, s.message)

    def _step_epoch(self) -> None:
        s = self.session
        if s is None or s.done:
            return
        self._leave_past()
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
