"""Background work in the worker thread, next to the main session: the autoencoder and gradient checks
(side-by-side experiments are in gui/worker_experiments.py).

The autoencoder is a scheduler job (``wants_cpu`` / ``advance``, see gui/worker.py): it trains in slices
and sends coalesced updates at ``BACKGROUND_HZ``. A gradient check is one command that reports its
progress as it goes. Commands are called from the GUI thread and queued into the worker thread.
"""
from __future__ import annotations

import time

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from engine.autoencoder import AutoencoderConfig, make_session, reconstructions
from engine.gradcheck import TOLERANCE, weight_errors
from engine.session import BatchEvent, EpochEvent, State, StateEvent, TrainingSession
from gui.messages import AutoencoderInfo, AutoencoderUpdate, GradcheckResult, Reconstruction

BACKGROUND_HZ = 5
RECON_INTERVAL_S = 0.5  # reconstructions are recomputed at most this often while training
PER_WEIGHT_LIMIT = 1e-3  # engine.gradcheck.WeightCheck.passed: every weight's error under this


# ---- the autoencoder -----------------------------------------------------------------------------

class AutoencoderJob(QObject):
    changed = pyqtSignal(object)  # AutoencoderInfo
    updated = pyqtSignal(object)  # AutoencoderUpdate
    alone_slice_s = 0.2

    def __init__(self, worker):
        super().__init__(worker)
        self.worker = worker
        self.session: TrainingSession | None = None
        self.config = AutoencoderConfig()
        self.per_class = 2
        self.running = False
        self.generation = 0
        self._steps, self._losses, self._psnrs, self._epochs = [], [], [], []
        self._dirty = False
        self._last_emit = 0.0
        self._last_recon = 0.0

    # ---- commands (GUI thread) --------------------------------------------------------------------

    def start(self, config: AutoencoderConfig | None = None) -> None:
        """Train (building the session first if there is none, or if ``config`` differs and it is untrained)."""
        self.worker._queue(lambda: self._start(config))

    def pause(self) -> None:
        self.running = False
        self.worker._queue(self._emit)

    def reset(self, config: AutoencoderConfig | None = None) -> None:
        self.running = False
        self.worker._queue(lambda: self._build(config or self.config))

    def set_per_class(self, n: int) -> None:
        self.per_class = max(1, int(n))
        self.worker._queue(lambda: self._emit(recon=True))

    def halt(self) -> None:
        self.running = False
        if self.session is not None:
            self.session.stop()

    # ---- worker thread ----------------------------------------------------------------------------

    def wants_cpu(self) -> bool:
        return self.running and self.session is not None and not self.session.done

    def _start(self, config: AutoencoderConfig | None) -> None:
        s = self.session
        if s is None or (s.step == 0 and ((config is not None and config != self.config)
                                          or (self.worker.session is not None
                                              and s.data.name != self.worker.session.data.name))):
            self._build(config or self.config)
        self.running = not self.session.done
        self._emit()

    def _build(self, config: AutoencoderConfig) -> None:
        if self.worker.session is None:
            raise ValueError("open a dataset first: the autoencoder trains on the current data")
        data = self.worker.session.data
        self.worker.busy.emit(f"preparing the autoencoder on {data.name} \u2026")
        session = make_session(data, config)
        if self.session is not None:
            self.session.unsubscribe(self._on_event)
        self.session, self.config = session, config
        self.generation += 1
        self._steps, self._losses, self._psnrs, self._epochs = [], [], [], []
        session.subscribe(self._on_event)
        h = session.history
        self.changed.emit(AutoencoderInfo(
            self.generation, data.name, session.net.sizes, len(session.data.train), len(session.data.valid),
            session.batches_per_epoch, config.epochs, session.lr, session.state, session.step, session.epoch,
            np.asarray(h.batch_loss), np.asarray(h.batch_acc), list(h.epochs), self._recon()))

    def advance(self, deadline: float | None) -> None:
        s = self.session
        while not s.done:
            s.step_batch()
            if s.message:  # diverged
                self.running = False
                break
            if self.worker.slice_over(deadline):
                break
        if s.done:
            self.running = False
        now = time.perf_counter()
        if self._dirty or not self.running or now - self._last_emit >= 1.0 / BACKGROUND_HZ:
            self._emit(recon=not self.running or now - self._last_recon >= RECON_INTERVAL_S)

    def fail(self) -> None:
        self.running = False

    def _on_event(self, event) -> None:
        if isinstance(event, BatchEvent):
            self._steps.append(event.step)
            self._losses.append(event.loss)
            self._psnrs.append(event.acc)
        elif isinstance(event, EpochEvent):
            self._epochs.append(event)
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

class _Cancelled(Exception):
    pass


class GradcheckJob(QObject):
    progress = pyqtSignal(int, int)  # units done, units in the layer
    finished = pyqtSignal(object)  # GradcheckResult
    cancelled = pyqtSignal()

    def __init__(self, worker):
        super().__init__(worker)
        self.worker = worker
        self._cancel = False

    def run(self, layer: int, examples: int = 8) -> None:
        """Finite differences for every weight of layer ``layer`` (0-based) of the main session's
        network at its current weights, on its first ``examples`` training rows (float64)."""
        self._cancel = False
        self.worker._queue(lambda: self._run(layer, examples))

    def cancel(self) -> None:
        self._cancel = True

    def _run(self, layer: int, examples: int) -> None:
        s = self.worker.session
        if s is None:
            raise ValueError("open a dataset first")
        if not 0 <= layer < len(s.net.layers):
            raise ValueError(f"no layer {layer + 1} (the network has {len(s.net.layers)})")
        x = s.data.train.x[:examples]
        if len(x) == 0:
            raise ValueError("the training split is empty")
        target = x if s.reconstruct else s.data.train.y[:examples]
        L = s.net.layers[layer]
        self.worker.busy.emit(f"gradient check of {L.name} \u2026")
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if self._cancel or self.worker._stopping:
                raise _Cancelled()
            now = time.perf_counter()
            if now - last[0] > 0.05 or done == total:
                last[0] = now
                self.progress.emit(done, total)

        start = time.perf_counter()
        try:
            check = weight_errors(s.net, x, target, layer, s.config.loss, progress=progress)
        except _Cancelled:
            self.cancelled.emit()
            return
        errors = check.errors
        worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
        self.finished.emit(GradcheckResult(
            L.name, layer, L.activation, errors, check.tensor_error, float(errors.max()),
            (int(worst[0]), int(worst[1])), int(np.count_nonzero(errors >= PER_WEIGHT_LIMIT)), PER_WEIGHT_LIMIT,
            TOLERANCE, check.passed, s.step, len(x), time.perf_counter() - start,
            layer == 0 and L.W.shape[0] == 1024))
