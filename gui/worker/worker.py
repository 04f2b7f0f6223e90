"""The worker thread (one per window): a small scheduler of jobs (engine/training/jobs.py) and the only object in
the GUI that touches a TrainingSession. (The other threads, and why: gui/worker/__init__.py.)

Jobs: the main session (``self.main``, an engine.training.jobs.SessionJob) and the runners' (gui/worker/runners/:
the side-by-side experiment, the autoencoder, the gradient check, the OCR page, the fine-tune). They share the
protocol start / pause / resume / step / stop / progress and a typed pause reason; an
``engine.training.jobs.Scheduler`` time-slices the ones that want the CPU, one unit (batch, round, column) at
a time, and paces them when the user asks for N batches per second.

Commands are messages: every public method below only queues a function into this thread (a Qt queued
signal), and the ``_yield`` event makes the running job return at its next unit boundary, so commands
run in order and between two units. The GUI thread never writes an attribute here.

Events flow one way: the session calls ``feed.on_event`` (``SessionFeed``, gui/worker/events.py: the part
of the worker that owns the panels' messages) for every batch; it coalesces them into at most ``MAX_HZ``
updates a second (paced by what drawing costs).
Errors: an ``engine.errors.InputError`` (and the project's other input-error types, and an OSError of a
user's file) is a one-line ``error``; anything else is a ``bug`` with its traceback, and the worker
keeps running.
"""
from __future__ import annotations

import threading
import time
import traceback
from contextlib import nullcontext
from typing import Callable

from PyQt6.QtCore import QObject, Qt, QThread, QTimer, pyqtSignal, pyqtSlot

from engine.data.dataset import Dataset
from engine.data.loaders import DataError
from engine.data.registry import NAMED, load_dataset
from engine.errors import InputError
from engine.file_words import CHECKPOINT, DATASET, reading
from engine.report.data import save_checkpoint as write_checkpoint
from engine.training.checkpoint import CheckpointError, load_session
from engine.training.jobs import JobState, PauseReason, Scheduler, SessionJob
from engine.training.runlog import save_json
from engine.training.session import TrainConfig, TrainingSession
from gui.worker.events import SessionFeed
from gui.worker.messages import Checked, Position
from gui.worker.runners.autoencoder import AutoencoderRunner
from gui.worker.runners.experiments import ExperimentRunner
from gui.worker.runners.gradcheck import GradcheckRunner
from gui.worker.runners.remote import RemoteRunner
from gui.worker.timeline import TimeTravel
from gui.worker.watch import Watchlist
from gui.worker.weights_file import open_weights

SLICE_S = 0.05  # with several jobs wanting the CPU, each trains this long in turn

# the user's problem (a one-line message; DataError, CheckpointError, RunLogError are InputErrors);
# anything else is a bug (a traceback dialog)
USER_ERRORS = (InputError, OSError)


class Worker(QObject):
    session_changed = pyqtSignal(object)  # SessionInfo
    updated = pyqtSignal(object)  # Update
    state_changed = pyqtSignal(object, str)  # State, message (a diagnosis or a watchpoint reason)
    paused_because = pyqtSignal(object)  # PauseReason of the main session's latest pause
    position = pyqtSignal(object)  # Position: the one source of truth for step / epoch / batch
    error = pyqtSignal(str)  # a user-facing one-line message; the session is kept as it was
    bug = pyqtSignal(str, str)  # one-line summary, traceback: a bug, shown with "Copy details"
    saved = pyqtSignal(str)  # checkpoint path
    exported = pyqtSignal(str)  # what was written (a run log), for the status bar
    busy = pyqtSignal(str)  # what the worker is doing that takes a while ("" when done)
    model_opened = pyqtSignal(object)  # an engine.ocr.model.Classifier from an opened weights file, for the OCR
    checked = pyqtSignal(object)  # Checked: a file read and found usable, waiting for the window's yes
    _command = pyqtSignal(object)
    _tick_signal = pyqtSignal()

    def __init__(self, parent_thread_name: str = "training"):
        super().__init__()
        self.session: TrainingSession | None = None
        self.main: SessionJob | None = None
        self.source = ""
        self.pace: float | None = None  # batches per second for every training job (None: full speed)
        self.feed = SessionFeed(self)  # the panels' messages about the main session
        self._stopping = threading.Event()
        self._yield = threading.Event()  # a command is waiting: the running job returns at a unit boundary
        self._tick_queued = False
        self.scheduler = Scheduler(SLICE_S)
        self.scheduler.on_unit = self._after_unit
        self.scheduler.on_failed = self._job_failed
        self._watchers: dict[object, Callable[[object], None]] = {}  # job -> called after each of its units
        self.watches = Watchlist(self)
        self.timeline = TimeTravel(self)
        self.experiments = ExperimentRunner(self)
        self.autoencoder = AutoencoderRunner(self)
        self.gradcheck = GradcheckRunner(self)
        self.remote = RemoteRunner(self)  # the user's own script, when one is attached
        self.thread = QThread()
        self.thread.setObjectName(parent_thread_name)
        self._timer = QTimer(self)  # wakes the scheduler when a paced job is due
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        self.moveToThread(self.thread)  # the helpers above are children: they move along
        self.thread.finished.connect(self.remote.halt, Qt.ConnectionType.DirectConnection)  # (in the thread)
        # queued even when emitted from this thread (a scheduler pass re-queues itself behind the commands)
        self._command.connect(self._execute, Qt.ConnectionType.QueuedConnection)
        self._tick_signal.connect(self._tick, Qt.ConnectionType.QueuedConnection)
        self.thread.start()

    # ---- commands (call from the GUI thread: each one is a message) ------------------------------------

    def send(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in the worker thread after the commands already sent, at a unit boundary. The one way
        runners (gui/worker/runners/) and panels hand work to this thread."""
        if not self._stopping.is_set():
            self._yield.set()  # whatever is running returns at the next unit boundary
            self._command.emit(fn)

    def open_data(self, spec: str, config: TrainConfig | None = None, confirm: bool = False) -> None:
        """Load a dataset ("glyphs" or a path) and start a fresh session on it. ``confirm``: once the data
        are read, ask first (``checked``; the window answers with ``adopt``), so nothing is discarded for a
        file that cannot be used."""
        self.send(lambda: self._open_data(spec, config, confirm))

    def adopt(self, checked: Checked) -> None:
        """The window's yes to a ``checked`` file: it becomes the session."""
        self.send(checked.adopt)

    def set_data(self, data: Dataset, config: TrainConfig | None = None) -> None:
        """A fresh session on an in-memory dataset."""
        self.send(lambda: self._new_session(data, config or self._config()))

    def reset(self, config: TrainConfig | None = None) -> None:
        """A fresh session on the current data (with new hyperparameters if given)."""
        self.send(lambda: self.session and self._new_session(self.session.data, config or self._config()))

    def start(self, config: TrainConfig | None = None, max_batches: int | None = None) -> None:
        """Train until paused/finished (or for ``max_batches``). New hyperparameters apply only to an
        untouched session (step 0); later they need a reset. From a past moment (time travel), training
        continues from the live session, not from the moment shown."""
        self.send(lambda: self._run(config, max_batches))

    def pause(self) -> None:
        self.send(self._pause)

    def step_batch(self) -> None:
        self.send(self._step_batch)

    def step_epoch(self) -> None:
        self.send(self._step_epoch)

    def set_pace(self, batches_per_s: float | None) -> None:
        """Full speed (None or 0) or at most this many batches a second, for every training job."""
        self.send(lambda: self._set_pace(batches_per_s or None))

    def save_checkpoint(self, path: str) -> None:
        """Save at a batch boundary; a running session is saved between two batches and goes on."""
        self.send(lambda: self._save(path))

    def load_checkpoint(self, path: str, confirm: bool = False) -> None:
        """Continue a saved session (``confirm``: as in ``open_data``)."""
        self.send(lambda: self._load_checkpoint(path, confirm))

    def open_path(self, path: str, confirm: bool = False) -> None:
        """A dropped or opened file: a checkpoint if it is one, else a dataset (a run log: ``experiments``)."""
        self.send(lambda: self._open_path(path, confirm))

    def open_weights(self, path: str) -> None:
        """The exercise's pickled params dict as the network (gui/worker/weights_file.py)."""
        self.send(lambda: open_weights(self, path))

    def export_log(self, path: str, name: str = "") -> None:
        """The main session's full log (config, every batch and epoch, layer statistics) as JSON."""
        def job():
            if self.session is None:
                raise InputError("nothing to export yet")
            branch = self.timeline.current_name()
            save_json(path, self.session, name or self.session.data.name + (f" ({branch})" if branch != "main" else ""))
            self.exported.emit(f"run log written to {path}")
        self.send(job)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop all work at the next unit boundary and end the thread. Safe to call twice."""
        self._stopping.set()
        self._yield.set()
        self.thread.quit()
        ended = self.thread.wait(timeout_ms)
        if ended:
            self.remote.close()  # (this thread may touch it now) an attached script goes on without the window
        return ended

    def call_and_wait(self, fn: Callable[[], object], timeout_s: float = 120.0):
        """Run ``fn`` in the worker thread (after the queued commands) and wait for its result: for
        closing the window. Returns (result, problem) where problem is "" or what went wrong."""
        done, out = threading.Event(), [None, ""]

        def job():
            try:
                out[0] = fn()
            except USER_ERRORS as exc:
                out[1] = str(exc)
            finally:
                done.set()

        self.send(job)
        if not done.wait(timeout_s):
            return None, "the worker thread did not answer"
        return out[0], out[1]

    def pause_and_wait(self, timeout_s: float = 30.0) -> Position | None:
        """Pause, and the exact position the panels show (what the quit dialog says): where the session
        paused, or the past moment shown while time travelling."""
        self.pause()
        return self.call_and_wait(self._position, timeout_s)[0]

    def save_and_wait(self, path: str, timeout_s: float = 120.0) -> str:
        """Pause, save at the batch boundary in the worker thread, and wait (for closing the window).
        Returns "" on success, else what went wrong; the session is untouched either way."""
        self.pause()
        return self.call_and_wait(lambda: self._write(path), timeout_s)[1]

    def other_runs(self) -> tuple:
        """(experiment, autoencoder session): the window's other runs, which a checkpoint keeps for its
        report; None for one that has not run (the autoencoder until it finished an epoch)."""
        ae = self.autoencoder.session
        return self.experiments.exp, ae if ae is not None and ae.history.epochs else None

    # ---- the worker thread ----------------------------------------------------------------------------

    def add_job(self, job, after_unit: Callable[[object], None] | None = None) -> None:
        """Schedule ``job`` (worker thread); ``after_unit(job)`` is called after each of its units."""
        self.scheduler.add(job)
        if after_unit is not None:
            self._watchers[job] = after_unit
        if self.pace and isinstance(job, SessionJob):
            job.pace = self.pace

    def remove_job(self, job) -> None:
        self.scheduler.remove(job)
        self._watchers.pop(job, None)

    @property
    def generation(self) -> int:
        """Of the panels' view: +1 with every announcement (a new session, a branch, a moment of the past)."""
        return self.feed.generation

    def ack(self, gui_seconds: float | None = None) -> None:
        """The GUI has drawn the last Update (``SessionFeed.ack``: the pace of the next ones)."""
        self.feed.ack(gui_seconds)

    def is_stopping(self) -> bool:
        return self._stopping.is_set()

    def _config(self) -> TrainConfig:
        return self.session.config if self.session is not None else TrainConfig()

    def report(self, exc: BaseException, trace: str = "") -> None:
        """An exception from a command or a job: a user's error as one line, anything else as a bug."""
        if isinstance(exc, USER_ERRORS):
            self.error.emit(str(exc))
        else:
            trace = trace or "".join(traceback.format_exception(exc))
            print(trace, flush=True)
            self.bug.emit(f"internal error: {type(exc).__name__}: {exc}", trace)

    @pyqtSlot(object)
    def _execute(self, fn) -> None:
        if self._stopping.is_set():
            return
        self._yield.clear()  # this command is the one that was waiting
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 -- reported (a user's error or a bug), the app goes on
            self.report(exc)
        finally:
            self.busy.emit("")
            self.feed.flush(force=True)
            self._schedule()

    def _schedule(self) -> None:
        """Queue a scheduler pass (after the commands already queued), or wake up when a paced job is due."""
        if self._tick_queued or self._stopping.is_set():
            return
        waiting = self.scheduler.runnable()
        if not waiting:
            return
        now = time.perf_counter()
        wait = min(j.due_in(now) for j in waiting)
        if wait > 0:
            self._timer.start(max(1, int(wait * 1000)))
        else:
            self._tick_queued = True
            self._tick_signal.emit()

    @pyqtSlot()
    def _tick(self) -> None:
        """One scheduler pass: every job that wants the CPU gets a slice (the main session alone runs
        until a command is waiting)."""
        self._tick_queued = False
        if self._stopping.is_set():
            return
        self._timer.stop()
        # (a pass also ends when the attached-script timer is due: a script's handshake must be answered)
        self.scheduler.run_pass(interrupted=lambda: self._yield.is_set() or self._stopping.is_set()
                                or self.remote.due())
        self.feed.flush()  # (paced: every batch is shown as it comes)
        self._schedule()

    def _after_unit(self, job) -> None:
        watcher = self._watchers.get(job)
        if watcher is not None:
            watcher(job)

    def _job_failed(self, job) -> None:
        self.report(job.error, job.trace)

    # ---- the main session ------------------------------------------------------------------------------

    def _position(self) -> Position | None:
        """Where the panels are: the live session, or the past moment they show (time travel)."""
        s, i = self.session, self.timeline.view_index
        if s is None:
            return None
        if i is not None:
            snap = s.snapshots[i]
            return Position.of(s, snap.step, snap.epoch, snap.batch, view_step=snap.step)
        return Position.of(s)

    def _offer(self, what: str, adopt: Callable[[], None], confirm: bool) -> None:
        """A file that was read: adopt it now, or ask the window first (``checked``)."""
        if confirm:
            self.checked.emit(Checked(what, adopt))
        else:
            adopt()

    def _open_data(self, spec: str, config: TrainConfig | None, confirm: bool = False) -> None:
        self.busy.emit(f"loading {spec} \u2026")
        with nullcontext() if spec in NAMED or "+" in spec else reading(spec, DATASET):  # a file: plain words
            data = load_dataset(spec)
        self._offer(spec, lambda: self._new_session(data, config or self._config()), confirm)

    def _open_path(self, path: str, confirm: bool = False) -> None:
        if path.lower().endswith(".npz") and self.session is not None:
            try:
                return self._load_checkpoint(path, confirm)
            except CheckpointError as as_checkpoint:
                try:
                    return self._open_data(path, None, confirm)
                except DataError:
                    raise as_checkpoint from None  # (the file's words: the same whichever way it was read)
        self._open_data(path, None, confirm)

    def _new_session(self, data: Dataset, config: TrainConfig, session: TrainingSession | None = None,
                     source: str = "") -> None:
        """A new root session (the timeline starts over with it)."""
        session = session or TrainingSession(data, config)
        self.timeline.adopt_root(session)
        self.attach(session, source)
        self.feed.restore(session, getattr(session, "figures", None))
        self.feed.announce()

    def attach(self, session: TrainingSession, source: str = "") -> None:
        """Make ``session`` the one the panels follow (a new one, or another branch of the timeline)."""
        if self.main is not None:
            self.main.pause()
            self.remove_job(self.main)
        self.feed.follow(self.session, session)
        self.session, self.source = session, source
        self.main = SessionJob(session, "training")
        self.add_job(self.main)
        self.timeline.apply_cap(session)
        self.watches.bind(session)

    def _run(self, config: TrainConfig | None, max_batches: int | None = None) -> None:
        s = self.session
        if self.remote.active:
            self.remote.resume()
            return
        if s is None:
            return
        if config is not None and config != s.config and s.step == 0 and not self.timeline.has_branches():
            self._new_session(s.data, config)
            s = self.session
        self.leave_past()
        if s.done:
            self.feed.tell_state(s.state, s.message)
            return
        self.feed.rate.restart()
        self.main.start(max_batches)

    def leave_past(self) -> None:
        """Back from time travel to the live session (if the panels show a past moment)."""
        if self.timeline.view_index is not None:
            self.timeline.view_index = None
            self.feed.announce()

    def _pause(self) -> None:
        if self.remote.active:
            self.remote.pause()
        elif self.main is not None and self.main.wants_cpu:
            self.main.pause()

    def _step_batch(self) -> None:
        s = self.session
        if self.remote.active:
            self.remote.step_batch()
            return
        if s is None or s.done or self.main.wants_cpu:
            return
        self.leave_past()
        was = s.state
        self.main.step()
        self.feed.after_step(was)

    def _step_epoch(self) -> None:
        s = self.session
        if self.remote.active:
            self.remote.step_epoch()
            return
        if s is None or s.done:
            return
        self.leave_past()
        self.feed.rate.restart()
        self.main.run_epoch()

    def _set_pace(self, pace: float | None) -> None:
        self.pace = pace
        if self.remote.active:
            self.remote.set_pace(pace)
        for job in self.scheduler.jobs:
            if isinstance(job, SessionJob):
                job.pace = pace

    def _write(self, path: str) -> None:
        """The checkpoint, with the window's other runs (for its report) and the panels' figures."""
        if self.session is None:
            raise InputError("nothing to save yet")
        write_checkpoint(path, self.session, *self.other_runs(), figures=self.feed.figures(self.session))
        self.source = path

    def _save(self, path: str) -> None:
        self._write(path)
        self.saved.emit(path)

    def _load_checkpoint(self, path: str, confirm: bool = False) -> None:
        if self.session is None:
            raise CheckpointError("load a dataset first: a checkpoint continues on its data")
        with reading(path, CHECKPOINT):
            session = load_session(path, self.session.data)
        self._offer(path, lambda: self._new_session(session.data, None, session, source=path), confirm)


__all__ = ["Worker", "USER_ERRORS", "JobState", "PauseReason"]
