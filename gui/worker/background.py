"""The window's background pool: engine calls that must answer while training runs and must not stall it,
off the GUI thread and off the worker's scheduler.

Who uses it: the Inspect tools (Explain, Draw, Hidden space, Top losses; the OCR workspace's box
explanation), for what they compute from a private copy of the network -- draw-as-you-type has to answer
within a frame or two even while the worker trains -- and the correction loop, for reading its base set
(built once per machine, which takes minutes: it must stall neither training nor any other job).

Each user holds a ``Background``: one call at a time, a newer request replaces a waiting one, results of
superseded requests are dropped. They share one pool (``shared_pool``) with a thread for each, so no user
waits behind another: measured with the Inspect workspace open while training (Draw's answer to a stroke,
after its 60 ms throttle), p90 20-230 ms with a thread each, 0.3-6 s with one thread for all of them (it
waits behind hidden-space maps, 0.1-2 s each while training). ``ready(result)`` arrives in the GUI thread (an
exception as the result when the call failed); a failure that is not the user's input error is a bug and is
also announced as ``bug(summary, traceback)``, which the window shows with its traceback.
"""
from __future__ import annotations

import traceback

from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, pyqtSignal

from engine.errors import InputError

# One thread per user at the most (each has one call in flight): Explain, Draw, Hidden space, Top losses,
# the OCR box's explanation and the correction loop's base set. So no user ever waits behind another.
MAX_THREADS = 6

_POOL: QThreadPool | None = None


def shared_pool() -> QThreadPool:
    """The background pool (made on first use; it ends with the application)."""
    global _POOL
    if _POOL is None or sip.isdeleted(_POOL):
        _POOL = QThreadPool(QCoreApplication.instance())
        _POOL.setMaxThreadCount(MAX_THREADS)
    return _POOL


class _Done(QObject):
    finished = pyqtSignal(int, object, str)  # ticket, result or exception, traceback ("" if none)


class _Job(QRunnable):
    def __init__(self, ticket: int, fn, done: _Done):
        super().__init__()
        self.ticket, self.fn, self.done = ticket, fn, done

    def run(self) -> None:
        trace = ""
        try:
            result = self.fn()
        except Exception as exc:  # handed to the GUI thread: the panel shows it, a bug also gets its traceback
            result, trace = exc, traceback.format_exc()
        try:
            self.done.finished.emit(self.ticket, result, trace)
        except RuntimeError:  # its panel was closed and deleted meanwhile: nobody is waiting
            pass


class Background(QObject):
    """One user's requests to the background thread (latest wins)."""

    ready = pyqtSignal(object)
    bug = pyqtSignal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.ticket, self.busy, self.waiting = 0, False, None
        self.done = _Done(self)
        self.done.finished.connect(self._finished)

    def submit(self, fn) -> None:
        self.ticket += 1
        self.waiting = (self.ticket, fn)
        if not self.busy:
            self._start()

    def _start(self) -> None:
        ticket, fn = self.waiting
        self.waiting, self.busy = None, True
        shared_pool().start(_Job(ticket, fn, self.done))

    def _finished(self, ticket: int, result, trace: str) -> None:
        self.busy = False
        if isinstance(result, Exception) and not isinstance(result, InputError):
            self.bug.emit(f"{type(result).__name__}: {result}", trace)
        if self.waiting is not None:
            self._start()
        elif ticket == self.ticket:
            self.ready.emit(result)

    @property
    def idle(self) -> bool:
        return not self.busy and self.waiting is None


__all__ = ["Background", "shared_pool"]
