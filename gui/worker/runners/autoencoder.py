"""The autoencoder, in the worker thread next to the main session.

An engine job (engine/training/jobs.py) in the worker's scheduler; this runner turns its progress into
messages (coalesced to ``BACKGROUND_HZ``). Commands are called from the GUI thread and sent to the worker
thread as messages, in order.
"""
from __future__ import annotations

import time

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from engine.errors import InputError
from engine.training.autoencoder import AutoencoderConfig, make_session, reconstructions
from engine.training.jobs import SessionJob
from engine.training.session import BatchEvent, EpochEvent, State, StateEvent, TrainingSession
from gui.worker.messages import AutoencoderInfo, AutoencoderUpdate, Reconstruction, autoencoder_epoch

BACKGROUND_HZ = 5
RECON_INTERVAL_S = 0.5  # reconstructions are recomputed at most this often while training


# ---- the autoencoder -----------------------------------------------------------------------------

class AutoencoderRunner(QObject):
    """The autoencoder: an engine.training.jobs.SessionJob on its own session, in the worker's scheduler. Every
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
