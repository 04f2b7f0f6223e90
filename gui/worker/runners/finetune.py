"""The correction loop's fine-tune on the worker's scheduler: an ``engine.ocr.finetune.Finetune`` as a job of
one unit per batch, time-sliced with everything else and stoppable.

``start(finetune)`` (GUI thread) first reads the base set on the background thread (gui/worker/background.py:
building it the first time takes about a minute, which must stall neither training nor any other job), then
sends the job to the worker. Signals: ``base_progress(fraction)`` while the base set is built (a loader that
takes ``progress=``); ``base_ready(corrections, base rows)`` once it is read; ``progressed(batch losses,
[(epoch, base valid accuracy)])`` with what is new after each unit (the first report starts with the accuracy
before fine-tuning) and ``advanced(units done, units in all)``; ``finished(Finetune or exception)`` at the end,
RuntimeError("stopped") when it was stopped.
"""
from __future__ import annotations

import inspect

from PyQt6.QtCore import QObject, pyqtSignal

from engine.ocr.finetune import Finetune
from engine.training.jobs import GeneratorJob, JobState
from gui.worker.background import Background


class FinetuneRunner(QObject):
    """Commands in (``start``, ``stop``, from the GUI thread), signals out; it lives in the GUI thread, its job
    in the worker's."""

    base_progress = pyqtSignal(float)  # share of the base set built (from the background thread)
    base_ready = pyqtSignal(int, int)  # corrections, base rows mixed in
    advanced = pyqtSignal(int, int)  # units of the fine-tune done, in all (from the worker thread)
    progressed = pyqtSignal(object, object)  # new batch losses, [(epoch, base valid acc)] (from the worker thread)
    finished = pyqtSignal(object)  # Finetune, or the exception that stopped it

    def __init__(self, worker, parent=None):
        super().__init__(parent)
        self.worker = worker
        self.finetune: Finetune | None = None
        self.job: GeneratorJob | None = None
        self._seen = (0, -1)  # batch losses and epochs already reported (-1: not even the start)
        self._stopped = False
        self.reader = Background(self)  # reads the base set
        self.reader.ready.connect(self._base_read)

    # ---- commands (GUI thread) ----------------------------------------------------------------------------

    def start(self, ft: Finetune) -> None:
        self.finetune, self._seen, self._stopped = ft, (0, -1), False
        load = ft.base_loader
        if "progress" in inspect.signature(load).parameters:  # (the default loader builds the set: minutes)
            self.reader.submit(lambda: load(progress=self.base_progress.emit))
        else:
            self.reader.submit(load)

    def stop(self) -> None:
        self._stopped = True
        self.worker.send(self._stop)

    def _base_read(self, base) -> None:
        ft = self.finetune
        if isinstance(base, Exception):
            self.finished.emit(base)
        elif ft is None or self._stopped:
            self.finished.emit(RuntimeError("stopped"))
        else:
            ft.base_loader = lambda: base
            self.base_ready.emit(len(ft.y), ft.cfg.base_rows)
            self.worker.send(lambda: self._start_job(ft))

    # ---- the worker thread --------------------------------------------------------------------------------

    def _start_job(self, ft: Finetune) -> None:
        if self._stopped:
            self.finished.emit(RuntimeError("stopped"))
            return
        job = self.job = GeneratorJob(ft.steps(), ft.total, "fine-tune", "batch")
        self.worker.add_job(job, self._after_unit)
        job.start()

    def _after_unit(self, job) -> None:
        self._report(self.finetune)
        if job.state in (JobState.FINISHED, JobState.FAILED, JobState.STOPPED):
            self._over(job)

    def _stop(self) -> None:
        job = self.job
        if job is not None and not job.over:
            job.stop()
            self._over(job)

    def _over(self, job) -> None:
        self.worker.remove_job(job)
        self.job = None
        self.finished.emit(self.finetune if job.state == JobState.FINISHED else job.error or RuntimeError("stopped"))

    def _report(self, ft: Finetune) -> None:
        """What is new since the last report: batch losses, and the base set's accuracy per epoch."""
        s = ft.session
        if s is None:
            return
        n_loss, n_epochs = self._seen
        losses = s.history.batch_loss[n_loss:]
        epochs = [(e.epoch, e.valid_acc) for e in s.history.epochs[max(n_epochs, 0):]]
        if n_epochs < 0:  # the base accuracy before fine-tuning starts the forgetting curve
            epochs = [(0, s.evaluate(s.data.valid)[1])] + epochs
        if losses or epochs:
            self._seen = (n_loss + len(losses), len(s.history.epochs))
            self.progressed.emit(list(losses), epochs)
            self.advanced.emit(1 + s.step, ft.total)


__all__ = ["FinetuneRunner"]
