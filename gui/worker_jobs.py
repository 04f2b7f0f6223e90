"""Background work in the worker thread, next to the main session: the autoencoder and gradient checks
(side-by-side experiments are in gui/worker_experiments.py).

Both are engine jobs (engine/jobs.py) in the worker's scheduler; these wrappers turn their progress into
messages (coalesced to ``BACKGROUND_HZ``). Commands are called from the GUI thread and sent to the worker
thread as messages, in order.
"""
from __future__ import annotations

import time

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from engine.autoencoder import AutoencoderConfig, make_session, reconstructions
from engine.errors import InputError
from engine.gradcheck import TOLERANCE
from engine.jobs import JobState, SessionJob, gradcheck_job
from engine.session import BatchEvent, EpochEvent, State, StateEvent, TrainingSession
from gui.messages import AutoencoderInfo, AutoencoderUpdate, GradcheckResult, Reconstruction, autoencoder_epoch

BACKGROUND_HZ = 5
RECON_INTERVAL_S = 0.5  # reconstructions are recomputed at most this often while training
PER_WEIGHT_LIMIT = 1e-3  # engine.gradcheck.WeightCheck.passed: every weight's error under this


# ---- the autoencoder -----------------------------------------------------------------------------

class AutoencoderRunner(QObject):
    """The autoencoder: an engine.jobs.SessionJob on its own session, in the worker's scheduler. Every
    command is a message to the worker thread, so a Pause sent after a Start is applied after it."""

    changed = pyqtSignal(object)  # AutoencoderInfo
    updated = pyqtSignal(object)  # AutoencoderUpdate

    def __init__(self, worker):
        super().__init__(worker)
        self.worker = worker
        self.session: TrainingSession | None = None
        self.job: SessionJob | None = None
        self.config = AutoencoderConfig()
        self.per_class = 2
        self.generation = 0
        self._steps, self._losses, self._psnrs, self._epochs = [], [], [], []
        self._dirty = False
        self._last_emit = 0.0
        self._last_recon = 0.0

    # ---- commands (GUI thread: messages) ----------------------------------------------------------

    def start(self, config: AutoencoderConfig | None = None) -> None:
        """Train (building the session first if there is none, or if ``config`` differs and it is untrained)."""
        self.worker.send(lambda: self._start(config))

    def pause(self) -> None:
        self.worker.send(self._pause)

    def step(self) -> None:
        """One batch, running or not."""
        self.worker.send(self._step)

    def reset(self, config: AutoencoderConfig | None = None) -> None:
        self.worker.send(lambda: self._build(config or self.config))

    def set_per_class(self, n: int) -> None:
        n = max(1, int(n))
        self.worker.send(lambda: self._set_per_class(n))

    # ---- worker thread ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.wants_cpu

    def _start(self, config: AutoencoderConfig | None) -> None:
        s = self.session
        if s is None or (s.step == 0 and ((config is not None and config != self.config)
                                          or (self.worker.session is not None
                                              and s.data.name != self.worker.session.data.name))):
            self._build(config or self.config)
        self.job.start()
        self._emit()

    def _pause(self) -> None:
        if self.job is not None:
            self.job.pause()
            self._emit()

    def _step(self) -> None:
        if self.job is not None:
            self.job.step()
            self._emit()

    def _set_per_class(self, n: int) -> None:
        self.per_class = n
        self._emit(recon=True)

    def _build(self, config: AutoencoderConfig) -> None:
        if self.worker.session is None:
            raise InputError("open a dataset first: the autoencoder trains on the current data")
        data = self.worker.session.data
        self.worker.busy.emit(f"preparing the autoencoder on {data.name} \u2026")
        session = make_session(data, config)
        if self.job is not None:
            self.job.stop()
            self.worker.remove_job(self.job)
        if self.session is not None:
            self.session.unsubscribe(self._on_event)
        self.session, self.config = session, config
        self.job = SessionJob(session, "autoencoder")
        self.job.alone_slice_s = 0.2
        self.worker.add_job(self.job, self._after_unit)
        self.generation += 1
        self._steps, self._losses, self._psnrs, self._epochs = [], [], [], []
        session.subscribe(self._on_event)
        h = session.history
        self.changed.emit(AutoencoderInfo(
            self.generation, data.name, session.net.sizes, len(session.data.train), len(session.data.valid),
            session.batches_per_epoch, config.epochs, session.lr, session.state, session.step, session.epoch,
            np.asarray(h.batch_loss), np.asarray(h.batch_acc), [autoencoder_epoch(e) for e in h.epochs],
            self._recon()))
        self.worker.busy.emit(f"autoencoder ready on {data.name}")

    def _after_unit(self, job) -> None:
        now = time.perf_counter()
        if self._dirty or not job.wants_cpu or now - self._last_emit >= 1.0 / BACKGROUND_HZ:
            self._emit(recon=not job.wants_cpu or now - self._last_recon >= RECON_INTERVAL_S)

    def _on_event(self, event) -> None:
        if isinstance(event, BatchEvent):
            self._steps.append(event.step)
            self._losses.append(event.loss)
            self._psnrs.append(event.acc)  # the session's "acc" is the PSNR for squared error
        elif isinstance(event, EpochEvent):
            self._epochs.append(autoencoder_epoch(event))
            self._dirty = True
        elif isinstance(event, StateEvent):
            self._dirty = True

    def _recon(self) -> Reconstruction | None:
        s = self.session
        if s is None or len(s.data.valid) == 0:
            return None
        r = reconstructions(s, self.per_class)
        self._last_recon = time.perf_counter()
        return Reconstruction(r.labels, r.originals, r.outputs, r.psnr, s.step)

    def _emit(self, recon: bool = True) -> None:
        s = self.session
        if s is None:
            return
        state = State.RUNNING if self.running else s.state
        self.updated.emit(AutoencoderUpdate(
            self.generation, state, s.step, s.epoch, s.lr, np.asarray(self._steps, np.int64),
            np.asarray(self._losses), np.asarray(self._psnrs), self._epochs, self._recon() if recon else None,
            s.message))
        self._steps, self._losses, self._psnrs, self._epochs = [], [], [], []
        self._dirty = False
        self._last_emit = time.perf_counter()


# ---- gradient checks -----------------------------------------------------------------------------

class GradcheckRunner(QObject):
    """A gradient check of one layer: an engine.jobs.gradcheck_job (one unit per column of W) in the
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
        worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
        self.finished.emit(GradcheckResult(
            name, layer, activation, errors, check.tensor_error, float(errors.max()),
            (int(worst[0]), int(worst[1])), int(np.count_nonzero(errors >= PER_WEIGHT_LIMIT)), PER_WEIGHT_LIMIT,
            TOLERANCE, check.passed, step, n, time.perf_counter() - start, layer == 0 and n_in == 1024))
        self.worker.busy.emit(f"gradient check of {name}: {'PASS' if check.passed else 'FAIL'}")
