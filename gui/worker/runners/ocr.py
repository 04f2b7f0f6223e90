"""The OCR tab's pipeline on the worker's scheduler (gui/worker/worker.py, engine/training/jobs.py): one ``OcrRunner`` owns
the tab's ``OcrPipeline`` (which is not thread-safe) and touches it only in the worker thread.

The panel submits commands (open a page, set a parameter, show a stage, edit the result) with ``submit``;
commands with the same key replace a pending one, so while a slider is dragged only its latest value runs.
They reach the worker as one message (``worker.send``); then an ``engine.training.jobs.ocr_job`` runs the stale
stages, one stage per scheduler unit, time-sliced with training like any job (pause / resume / stop
included). When it is over the runner sends one ``OcrView``: the shown stage's image, copies of the boxes
and of the result (the GUI never shares a mutable object with the worker thread).
"""
from __future__ import annotations

import itertools
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from engine.file_words import IMAGE, plain_words, reading
from engine.ocr import Box, OcrPipeline, OcrResult
from engine.training.jobs import JobState, ocr_job

SHARED_SLICE_S = 1.0  # beside training, the page takes turns this long: a re-run (well under 1 s) feels instant
BOX_STAGES = ("components", "characters", "lines", "crops", "classify", "text")
_tokens = itertools.count(1)


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
    return replace(r, boxes=[replace(b, top5=list(b.top5), context_top5=list(b.context_top5), members=list(b.members))
                          for b in r.boxes],
                   lines=list(r.lines), corrections=[dict(c) for c in r.corrections])


class OcrRunner(QObject):
    """Runs commands ``fn(runner)`` in order in the worker thread, then the stale stages as a job; ``view``
    when the job is over, ``failed(kind, message)`` for a command that failed, ``busy`` while it works,
    ``progress(done, total)`` after each stage."""

    view = pyqtSignal(object)
    failed = pyqtSignal(str, str)
    busy = pyqtSignal(bool)
    progress = pyqtSignal(int, int)

    def __init__(self, worker, model=None, stage: str = "load"):
        super().__init__()
        self.worker = worker
        self.model = model            # a path, a Classifier, or None: the default model
        self.pipe: OcrPipeline | None = None
        self.stage = stage
        self.source = ""
        self.generation = 0
        self.params: dict[str, dict] = {}  # kept across pages
        self.focus: tuple | None = None
        self.job = None               # the engine.training.jobs.GeneratorJob reading the page (worker thread)
        self._jobs: list[tuple[str | None, Callable, int]] = []
        self._serial = 0  # of the last command submitted
        self._served = 0  # of the last command run (or dropped for a newer one)
        self._lock = threading.Lock()
        self._sent = False  # a drain is queued in the worker
        self._before: dict[str, int] = {}
        self._t0 = 0.0

    # ---- called from the GUI thread -------------------------------------------------------------

    def submit(self, fn: Callable, key: str | None = None) -> int:
        """Queue ``fn(self)``; a pending command with the same ``key`` is dropped (the latest value wins).
        Returns its serial number: the first view with ``serial`` >= it includes the command."""
        with self._lock:
            if key is not None:
                self._jobs = [j for j in self._jobs if j[0] != key]
            self._serial += 1
            serial = self._serial
            self._jobs.append((key, fn, serial))
            send, self._sent = not self._sent, True
        if send:
            self.worker.send(self._drain)
        return serial

    def pause(self) -> None:
        self.worker.send(lambda: self.job is not None and self.job.pause())

    def resume(self) -> None:
        self.worker.send(lambda: self.job is not None and self.job.resume())

    def stop(self) -> None:
        """End the reading where it is: the view shows what was computed (later stages stay stale)."""
        def stop():
            if self.job is not None:
                self.job.stop()
                self._over(self.job)
        self.worker.send(stop)

    # ---- the worker thread -----------------------------------------------------------------------

    def _drain(self) -> None:
        with self._lock:
            jobs, self._jobs, self._sent = self._jobs, [], False
        if self.job is None:  # (a job in progress keeps its start: its stages count as ran)
            self._t0, self._before = time.perf_counter(), self._tokens()
        self.busy.emit(True)
        for key, fn, serial in jobs:
            self._served = max(self._served, serial)
            try:
                fn(self)
            except (ValueError, OSError) as exc:  # a bad file, a bad value, an edit that does not apply
                self.failed.emit((key or "job").split(":")[0], _message(exc))
            except Exception as exc:  # noqa: BLE001 -- a bug: the traceback dialog, the tab goes on
                self.worker.report(exc)
        if self.job is not None:  # its stages may be stale now: read again from the first stale one
            self.job.stop()
            self.worker.remove_job(self.job)
            self.job = None
        if self.pipe is None or self.pipe.source is None:
            self.busy.emit(False)
            return
        self.job = ocr_job(self.pipe, "OCR page")
        self.job.shared_slice_s = SHARED_SLICE_S
        self.worker.add_job(self.job, after_unit=self._after_unit)
        self.job.start()

    def _after_unit(self, job) -> None:
        if job is not self.job:
            return
        self.progress.emit(job.done, job.total)
        if job.state in (JobState.FINISHED, JobState.FAILED, JobState.STOPPED):
            self._over(job)

    def _over(self, job) -> None:
        self.worker.remove_job(job)
        self.job = None
        error = {JobState.FAILED: _message(job.error) if job.error else "",
                 JobState.STOPPED: "stopped: later stages were not run"}.get(job.state, "")
        self.view.emit(self._snapshot(error))
        self.busy.emit(False)

    def _tokens(self) -> dict[str, int]:
        if self.pipe is None:
            return {}
        return {s.name: _token(o) for s in self.pipe.stages if (o := self.pipe.cached(s.name)) is not None}

    def _snapshot(self, error: str) -> OcrView:
        """What is cached (nothing is computed here: a stopped or failed reading shows what it reached)."""
        pipe, result = self.pipe, None
        if pipe.result is not None:
            result = copy_result(pipe.result)
            self.model = pipe.classifier  # loaded once, shared by every later page
        out = pipe.cached(self.stage)
        if out is not None:
            image, boxes, info = _to_uint8(out.image), [replace(b) for b in out.boxes], dict(out.info)
            token = _token(out)
            dropped = [tuple(int(x) for x in r) for r in out.data.dropped] if self.stage == "characters" else []
        else:
            error = error or f"the {self.stage} stage was not reached"
            image, boxes, info, token, dropped = None, [], {}, 0, []
        page = pipe.cached("page") or pipe.cached("load")  # the image later stages draw their boxes on
        after = self._tokens()
        ran = [name for name, tok in after.items() if self._before.get(name) != tok]
        focus, self.focus = self.focus, None
        return OcrView(self.generation, self.source, self.stage, image, token, boxes, info, pipe.timings, ran,
                       time.perf_counter() - self._t0, result, page.data[0] if page is not None else None,
                       pipe.params(), error, focus, self._served, dropped, after)

    # ---- commands (run in the worker thread) ----------------------------------------------------------------

    def open_page(self, source, name: str) -> None:
        """A new pipeline with the current parameters; the old one stays if the new page fails."""
        pipe = OcrPipeline(model=self.model)
        pipe.set_params(self.params)
        with reading(source, IMAGE) if isinstance(source, (str, Path)) else nullcontext():
            pipe.open(source)
            pipe.output("load")  # a one-line ImageError for unreadable, empty or unsupported images
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
    """The user's words for a bad file or value (an OSError is named by its file, in plain words)."""
    if isinstance(exc, OSError) and not isinstance(exc, ValueError):
        return plain_words(exc.filename, exc) if exc.filename else (exc.strerror or str(exc))
    return str(exc).strip() or "that did not work"


__all__ = ["BOX_STAGES", "OcrRunner", "OcrView", "copy_result"]
