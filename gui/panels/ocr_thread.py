"""The OCR tab's own worker thread: the only thread that touches its ``OcrPipeline`` (which is not
thread-safe). It is separate from the training worker (gui/worker.py), so reading a page never waits
for training and training never waits for the page.

The panel submits jobs (open a page, set a parameter, show a stage, edit the result); jobs with the
same key replace a pending one, so while a slider is dragged only its latest value runs. After each
batch of jobs the thread runs whatever is stale and sends one ``OcrView``: the shown stage's image,
copies of the boxes and of the result (the GUI never shares a mutable object with this thread).
"""
from __future__ import annotations

import atexit
import itertools
import threading
import weakref
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from PyQt6.QtCore import QCoreApplication, QThread, pyqtSignal

from engine.ocr import Box, OcrPipeline, OcrResult

BOX_STAGES = ("components", "characters", "lines", "crops", "classify", "text")
_tokens = itertools.count(1)
IDLE_S = 10.0  # the OS thread ends after this long without a job (the next job starts it again)
_zombies: list[QThread] = []  # threads that did not stop in time: kept alive so Qt never destroys one running
_live: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:  # before Python tears down the wrappers: Qt aborts on destroying a running QThread
    for t in list(_live):
        try:
            t.stop(2000)
        except RuntimeError:
            pass


@dataclass
class OcrView:
    """What the panel draws, as of one moment of the pipeline."""
    generation: int                  # +1 for every page opened
    source: str                      # the file (or a description of the array)
    stage: str                       # the stage shown
    image: np.ndarray | None         # its output image, uint8, gray or RGB
    token: int                       # identifies that output: the same token means the same image
    boxes: list[Box]                 # the stage's own boxes (copies)
    info: dict
    timings: dict[str, float]        # seconds per up-to-date stage
    ran: list[str]                   # stages computed for this view (the rest came from the cache)
    seconds: float                   # wall time of this update
    result: OcrResult | None         # a copy of the (possibly edited) result; None if the run failed
    page: np.ndarray | None          # the work image (read-only; for close-ups of boxes)
    params: dict[str, dict]
    error: str = ""                  # why the run stopped early, if it did
    focus: tuple | None = None       # the rect of a box an edit made (merged, drawn): the panel selects it
    serial: int = 0                  # the last job this view includes (``submit`` returned it)
    dropped: list[tuple] = field(default_factory=list)  # "characters": the blobs it dropped (rects)
    tokens: dict[str, int] = field(default_factory=dict)


def _token(out) -> int:
    t = getattr(out, "_gui_token", None)
    if t is None:
        t = next(_tokens)
        out._gui_token = t
    return t


def _to_uint8(img: np.ndarray | None) -> np.ndarray | None:
    if img is None:
        return None
    return np.ascontiguousarray((np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def copy_result(r: OcrResult) -> OcrResult:
    return replace(r, boxes=[replace(b, top5=list(b.top5), members=list(b.members)) for b in r.boxes],
                   lines=list(r.lines), corrections=[dict(c) for c in r.corrections])


class OcrThread(QThread):
    """Runs jobs ``fn(state)`` in order; ``view`` after each batch, ``failed(kind, message)`` on errors."""

    view = pyqtSignal(object)
    failed = pyqtSignal(str, str)
    busy = pyqtSignal(bool)

    def __init__(self, model=None, stage: str = "load"):
        super().__init__()
        self.model = model            # a path, a Classifier, or None: the default model
        self.pipe: OcrPipeline | None = None
        self.stage = stage
        self.source = ""
        self.generation = 0
        self.params: dict[str, dict] = {}  # kept across pages
        self.focus: tuple | None = None
        self._jobs: list[tuple[str | None, Callable, int]] = []
        self._serial = 0  # of the last job submitted
        self._served = 0  # of the last job run (or dropped for a newer one)
        self._cond = threading.Condition()
        self._stop = False
        self._alive = False  # run() is looping (or about to)
        _live.add(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    # ---- called from the GUI thread -------------------------------------------------------------

    def submit(self, fn: Callable, key: str | None = None) -> int:
        """Queue ``fn(self)``; a pending job with the same ``key`` is dropped (the latest value wins).
        Returns the job's serial number: the first view with ``serial`` >= it includes the job."""
        with self._cond:
            if key is not None:
                self._jobs = [j for j in self._jobs if j[0] != key]
            self._serial += 1
            serial = self._serial
            self._jobs.append((key, fn, serial))
            start = not self._alive and not self._stop
            self._alive = self._alive or start
            self._cond.notify()
        if start:
            self.wait()  # a run() that just decided to end on idle
            self.start()
        return serial


    def stop(self, timeout_ms: int = 5000) -> None:
        with self._cond:
            self._stop = True
            self._jobs.clear()
            self._cond.notify()
        if self.isRunning() and not self.wait(timeout_ms):
            _zombies.append(self)

    # ---- the thread ------------------------------------------------------------------------------

    def run(self) -> None:
        while True:
            with self._cond:
                if not self._jobs and not self._stop:
                    self._cond.wait(IDLE_S)
                if self._stop or not self._jobs:
                    self._alive = False
                    return
                jobs, self._jobs = self._jobs, []
            self._emit(self.busy, True)
            t = time.perf_counter()
            before = self._tokens()
            for key, fn, serial in jobs:
                self._served = max(self._served, serial)
                try:
                    fn(self)
                except Exception as exc:  # a bad file, a bad value, an edit that does not apply
                    self._emit(self.failed, (key or "job").split(":")[0], _message(exc))
            if self.pipe is not None and self.pipe.source is not None:
                self._emit(self.view, self._snapshot(before, t))
            self._emit(self.busy, False)

    def _emit(self, signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the panel is gone
            self._stop = True

    def _tokens(self) -> dict[str, int]:
        if self.pipe is None:
            return {}
        return {s.name: _token(o) for s in self.pipe.stages if (o := self.pipe.cached(s.name)) is not None}

    def _snapshot(self, before: dict[str, int], t0: float) -> OcrView:
        pipe, error, result = self.pipe, "", None
        try:
            result = copy_result(pipe.run())
            self.model = pipe.classifier  # loaded once, shared by every later page
        except Exception as exc:
            error = _message(exc)
        try:
            out = pipe.output(self.stage)
            image, boxes, info = _to_uint8(out.image), [replace(b) for b in out.boxes], dict(out.info)
            token = _token(out)
            dropped = [tuple(int(x) for x in r) for r in out.data.dropped] if self.stage == "characters" else []
        except Exception as exc:
            error = error or _message(exc)
            image, boxes, info, token, dropped = None, [], {}, 0, []
        page = pipe.cached("page") or pipe.cached("load")  # the image later stages draw their boxes on
        after = self._tokens()
        ran = [name for name, tok in after.items() if before.get(name) != tok]
        focus, self.focus = self.focus, None
        return OcrView(self.generation, self.source, self.stage, image, token, boxes, info, pipe.timings, ran,
                       time.perf_counter() - t0, result, page.data[0] if page is not None else None,
                       pipe.params(), error, focus, self._served, dropped, after)

    # ---- jobs (run in the thread) ----------------------------------------------------------------

    def open_page(self, source, name: str) -> None:
        """A new pipeline with the current parameters; the old one stays if the new page fails."""
        pipe = OcrPipeline(model=self.model)
        pipe.set_params(self.params)
        pipe.open(source)
        pipe.output("load")  # raises a one-line ImageError for unreadable, empty or unsupported images
        self.pipe, self.source = pipe, name
        self.generation += 1

    def set_param(self, stage: str, name: str, value) -> None:
        pipe = self.pipe
        if pipe is None:  # no page yet: check the value on a pipeline that never runs
            pipe = OcrPipeline()
            pipe.set_params(self.params)
        pipe.set_param(stage, name, value)
        self.params = pipe.params()

    def index_of(self, rect: tuple) -> int:
        """The index of the result's box at ``rect`` (the GUI names boxes by place: indices shift)."""
        if self.pipe is None:
            raise ValueError("no page is open")
        for i, b in enumerate(self.pipe.run().boxes):
            if b.rect == tuple(rect):
                return i
        raise ValueError("that box is gone (the page was read again); select it again")

    def focus_on(self, index: int) -> None:
        self.focus = self.pipe.run().boxes[index].rect


def _message(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, ValueError) else f"{type(exc).__name__}: {text}"


__all__ = ["BOX_STAGES", "OcrThread", "OcrView", "copy_result"]
