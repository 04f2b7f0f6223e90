"""A gradient check of one layer, in the worker thread next to the main session.

An engine job (engine/training/jobs.py) in the worker's scheduler; this runner turns its progress into
messages and its result into a ``GradcheckResult``.
"""
from __future__ import annotations

import time

from PyQt6.QtCore import QObject, pyqtSignal

from engine.errors import InputError
from engine.nn.gradcheck import PER_WEIGHT_LIMIT, TOLERANCE
from engine.training.jobs import JobState, gradcheck_job
from gui.worker.messages import GradcheckResult


class GradcheckRunner(QObject):
    """A gradient check of one layer: an engine.training.jobs.gradcheck_job (one unit per column of W) in the
    worker's scheduler, so it can be paused, resumed, stepped and cancelled like any other job."""

    progress = pyqtSignal(int, int)  # units done, units in the layer
    finished = pyqtSignal(object)  # GradcheckResult
    cancelled = pyqtSignal()

    def __init__(self, worker):
        super().__init__(worker)
        self.worker = worker
        self.job = None
        self._meta = None
        self._last = 0.0

    # ---- commands (GUI thread: messages) ----------------------------------------------------------

    def run(self, layer: int, examples: int = 8) -> None:
        """Finite differences for every weight of layer ``layer`` (0-based) of the main session's
        network at its current weights, on its first ``examples`` training rows (float64)."""
        self.worker.send(lambda: self._run(layer, examples))

    def cancel(self) -> None:
        self.worker.send(self._cancel)

    def pause(self) -> None:
        self.worker.send(lambda: self.job is not None and self.job.pause())

    def resume(self) -> None:
        self.worker.send(lambda: self.job is not None and self.job.resume())

    # ---- worker thread ----------------------------------------------------------------------------

    def _run(self, layer: int, examples: int) -> None:
        if self.worker.remote.active:  # the attached script's own check (runners/remote.py)
            self.worker.remote.gradcheck(layer, examples)
            return
        s = self.worker.session
        if s is None:
            raise InputError("open a dataset first")
        if not 0 <= layer < len(s.net.layers):
            raise InputError(f"no layer {layer + 1} (the network has {len(s.net.layers)})")
        x = s.data.train.x[:examples]
        if len(x) == 0:
            raise InputError("the training split is empty")
        self._cancel(announce=False)
        target = x if s.reconstruct else s.data.train.y[:examples]
        L = s.net.layers[layer]
        self.worker.busy.emit(f"gradient check of {L.name} \u2026")
        self.job = gradcheck_job(s.net, x, target, layer, s.config.loss, f"gradient check of {L.name}")
        self._meta = (L.name, layer, L.activation, s.step, len(x), time.perf_counter(), L.W.shape[0])
        self.worker.add_job(self.job, self._after_unit)
        self.job.start()

    def _cancel(self, announce: bool = True) -> None:
        if self.worker.remote.active and announce:
            self.worker.remote.cancel_gradcheck()
        if self.job is not None and not self.job.over:
            self.job.stop()
            self.worker.remove_job(self.job)
            self.job = None
            if announce:
                self.cancelled.emit()
                self.worker.busy.emit("gradient check cancelled")

    def _after_unit(self, job) -> None:
        now = time.perf_counter()
        p = job.progress()
        if now - self._last > 0.05 or p.done == p.total:
            self._last = now
            self.progress.emit(p.done, p.total)
        if job.state == JobState.FINISHED:
            self.worker.remove_job(job)
            self.job = None
            self._finished(job.result)
        elif job.state == JobState.FAILED:
            self.worker.remove_job(job)
            self.job = None
            self.cancelled.emit()

    def _finished(self, check) -> None:
        name, layer, activation, step, n, start, n_in = self._meta
        errors = check.errors
        self.finished.emit(GradcheckResult(
            name, layer, activation, errors, check.tensor_error, float(errors.max()), check.worst, check.over(),
            PER_WEIGHT_LIMIT, TOLERANCE, check.passed, step, n, time.perf_counter() - start,
            layer == 0 and n_in == 1024))
        self.worker.busy.emit(f"gradient check of {name}: {'PASS' if check.passed else 'FAIL'}")
