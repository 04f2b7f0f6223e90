"""TrainingSession: the one object that trains, and that everything else observes.

It owns the network, the data and the optimizer, and is a small state machine (idle -> running <->
paused -> finished | diverged | stopped). ``step_batch``, ``step_epoch`` and ``run`` do the work in the
caller's thread; ``pause`` and ``stop`` may be called from any other thread and take effect at the next batch boundary. Every batch and epoch is announced to
listeners as a small dataclass event; the GUI worker coalesces them, the CLI prints them.

Objectives: ``loss="cross_entropy"`` (softmax classifier, the default) or ``"squared_error"``
(an autoencoder: the target is the input x itself, the output layer is as wide as the input).
For squared error every "acc" field (BatchEvent.acc, EpochEvent.train_acc/valid_acc,
History.batch_acc) holds the mean per-image PSNR in dB (peak 1.0) instead of an accuracy,
so curves, checks and logs work unchanged.

Determinism: epoch e visits the training set in the order ``default_rng([seed, e])`` and batch b
of it draws its dropout masks from ``default_rng([seed, e, b, DROPOUT_STREAM])``, so a checkpoint
(params, optimizer state, epoch, batch) resumes to bit-identical training.

Regularization: ``weight_decay`` is L2 in the objective (the gradient gets n * weight_decay * W per
batch of n; see ``Network.add_weight_decay``): it is what the gradient check verifies and what the
gradient views show, and with momentum it is classic L2, the same as SGD's coupled weight decay.
The reported loss is the data loss only, so runs with and without decay compare on one scale.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Callable

import numpy as np

from engine.data.dataset import Dataset, Split
from engine.debug.stats import LayerStats, StatsMean, confusion_matrix, divergence_report, network_stats
from engine.errors import InputError
from engine.nn.activations import ACTIVATIONS
from engine.nn.losses import cross_entropy, softmax_cross_entropy, squared_error
from engine.nn.network import Network
from engine.nn.optim import LRSchedule, make_optimizer

DROPOUT_STREAM = 1  # tells the dropout seeds apart from the data-order seeds


@dataclass
class TrainConfig:
    hidden: tuple[int, ...] = (64,)
    activation: str = "sigmoid"
    lr: float = 3e-3
    batch_size: int = 32
    epochs: int = 50
    seed: int = 0
    momentum: float = 0.0
    lr_decay: float = 1.0  # multiply the learning rate by this ...
    decay_every: int = 0  # ... every this many epochs (0: constant)
    snapshot_every: int = 100  # batches between weight snapshots (plus one at every epoch end)
    max_snapshots: int = 200  # older snapshots are thinned beyond this
    loss: str = "cross_entropy"  # or "squared_error": reconstruct the input (autoencoder)
    output: str = ""  # output activation; "" picks softmax for cross-entropy, sigmoid for squared error
    weight_decay: float = 0.0  # L2 strength per example (see the module docstring)
    dropout: float = 0.0  # probability of dropping each hidden unit in training (inverted dropout)

    def __post_init__(self):
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.loss not in ("cross_entropy", "squared_error"):
            raise InputError(f"unknown loss {self.loss!r}; choose cross_entropy or squared_error")
        if not self.output:
            self.output = "softmax" if self.loss == "cross_entropy" else "sigmoid"
        if self.loss == "cross_entropy" and self.output != "softmax":
            raise InputError(f"cross-entropy needs a softmax output, got {self.output!r}")
        checks = [(self.lr > 0 and np.isfinite(self.lr), f"learning rate must be positive, got {self.lr}"),
                  (self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}"),
                  (self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}"),
                  (0 < self.lr_decay < np.inf, f"the learning-rate decay must be a positive factor, got {self.lr_decay}"),
                  (self.decay_every >= 0, f"decay every must be >= 0 epochs (0: never), got {self.decay_every}"),
                  (self.seed >= 0, f"the seed must be >= 0, got {self.seed}"),
                  (all(h >= 1 for h in self.hidden), f"hidden sizes must be positive, got {self.hidden}"),
                  (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
                  (self.activation in ACTIVATIONS, f"unknown activation {self.activation!r}; choose from "
                                                   f"{', '.join(ACTIVATIONS)}"),
                  (0 <= self.weight_decay < np.inf, f"weight decay must be >= 0, got {self.weight_decay}"),
                  (0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}"),
                  (self.max_snapshots >= 3, "max_snapshots must be at least 3 (first, middle, latest)")]
        for ok, message in checks:
            if not ok:
                raise InputError(message)


class State(str, Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    DIVERGED = "diverged"
    STOPPED = "stopped"


class PauseReason(str, Enum):
    """Why training paused, typed (the message says the details): the window reacts to each differently."""
    USER = "user"  # Pause pressed (or a stop between two slices of time)
    WATCHPOINT = "watchpoint"  # a check in ``session.checks`` held
    DIVERGENCE = "divergence"  # the loss became NaN/inf (the session is over)
    BUDGET = "budget"  # a requested number of batches (or an epoch) was done


@dataclass(slots=True)
class BatchEvent:
    step: int  # global batch count after this batch (1-based)
    epoch: int  # 0-based epoch this batch belongs to
    batch: int  # 0-based batch index within the epoch
    loss: float  # mean loss per example on this batch (cross-entropy, or squared error summed over pixels)
    acc: float  # accuracy, or mean per-image PSNR in dB for squared error
    lr: float
    layers: dict[str, LayerStats]


_DONE = (State.DIVERGED, State.STOPPED)  # states that end training for good
_ACTIVE = (State.RUNNING, State.PAUSED)


@dataclass
class EpochEvent:
    epoch: int  # 1-based count of completed epochs
    train_loss: float  # mean per example over the epoch's batches
    train_acc: float
    valid_loss: float
    valid_acc: float
    seconds: float
    layers: dict[str, LayerStats]  # mean over the epoch's batches

    def as_json(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "layers"}
        d["layers"] = {k: {"grad_mean_abs": v.grad_mean_abs, "saturation": v.saturation}
                       for k, v in self.layers.items()}
        return d


@dataclass
class StateEvent:
    state: State
    message: str = ""
    reason: PauseReason | None = None  # for PAUSED and DIVERGED


@dataclass
class Snapshot:
    """Weights and optimizer state at one moment, enough to view it or branch from it."""

    step: int
    epoch: int
    batch: int
    params: dict[str, np.ndarray]
    opt_state: dict[str, np.ndarray]
    loss: float  # last batch loss before the snapshot (nan at step 0)


@dataclass
class History:
    batch_loss: list[float] = field(default_factory=list)
    batch_acc: list[float] = field(default_factory=list)
    epochs: list[EpochEvent] = field(default_factory=list)


Listener = Callable[[object], None]
Check = Callable[["TrainingSession", BatchEvent], "str | None"]


class TrainingSession:
    def __init__(self, data: Dataset, config: TrainConfig | None = None, network: Network | None = None):
        self.config = config or TrainConfig()
        self.data = data
        self.reconstruct = self.config.loss == "squared_error"  # target is the input itself
        data.check_trainable(classify=not self.reconstruct)
        self.net = network or Network.mlp(data.n_inputs, self.config.hidden,
                                          data.n_inputs if self.reconstruct else data.n_classes,
                                          self.config.activation, self.config.output, seed=self.config.seed)
        self.optimizer = make_optimizer(self.config.momentum)
        self.schedule = LRSchedule(self.config.lr, self.config.lr_decay, self.config.decay_every)
        self.state = State.IDLE
        self.message = ""  # why we are paused/diverged (a watchpoint, a diagnosis)
        self.pause_reason: PauseReason | None = None  # the same, typed
        self.step = 0
        self.epoch = 0  # completed epochs
        self.batch = 0  # next batch within the current epoch
        self.history = History()
        self.snapshots: list[Snapshot] = []
        self.valid_pred: np.ndarray | None = None  # predictions on the validation set at the last epoch end
        self.checks: list[Check] = []
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()  # one batch at a time, whichever thread asks
        self._interrupt = threading.Event()  # pause/stop: leave run()/step_epoch() at the next boundary
        self._stop = threading.Event()
        self._epoch_stats = StatsMean()
        self._epoch_loss = 0.0
        self._epoch_correct = 0
        self._epoch_seen = 0
        self._epoch_start = time.perf_counter()
        self._order: np.ndarray | None = None
        self.take_snapshot()

    # ---- observing ---------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _set_state(self, state: State, message: str = "") -> None:
        self.state, self.message = state, message
        self.pause_reason = (PauseReason.DIVERGENCE if state == State.DIVERGED else
                             (PauseReason.WATCHPOINT if message else PauseReason.USER) if state == State.PAUSED
                             else None)
        self._emit(StateEvent(state, message, self.pause_reason))

    def set_state(self, state: State, message: str = "") -> None:
        """For a driver that steps batch by batch itself (engine.training.jobs.SessionJob): announce the state."""
        self._set_state(state, message)

    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.data.train) // self.config.batch_size)

    @property
    def done(self) -> bool:
        return self.epoch >= self.config.epochs or self.state in (State.DIVERGED, State.STOPPED)

    @property
    def lr(self) -> float:
        return self.schedule.at(self.epoch)

    # ---- commands (pause/stop are safe from any thread) -----------------------------------------

    def pause(self) -> None:
        self._interrupt.set()

    def stop(self) -> None:
        self._stop.set()
        self._interrupt.set()

    def run(self, max_batches: int | None = None) -> State:
        """Train until the last epoch, a pause/stop request, a watchpoint or divergence."""
        if self.done:
            return self.state
        self._set_state(State.RUNNING)
        n = 0
        while not self._interrupt.is_set() and not self.done and (max_batches is None or n < max_batches):
            self.step_batch()
            n += 1
        return self._settle()

    def step_epoch(self) -> State:
        """Run batches until the current epoch ends (exactly one epoch from an epoch boundary)."""
        if self.done:
            return self.state
        start = self.epoch
        while self.epoch == start and not self._interrupt.is_set() and not self.done:
            self.step_batch()
        return self._settle()

    def _settle(self) -> State:
        # A pause request is consumed here, not cleared on entry: one sent just before run() or
        # step_epoch() started must still stop it.
        self._interrupt.clear()
        if self._stop.is_set() and self.state not in (State.DIVERGED,):
            self._set_state(State.STOPPED)
        elif self.state == State.FINISHED or (self.state in (State.DIVERGED, State.PAUSED) and self.message):
            pass  # already announced (with its reason)
        else:
            self._set_state(State.PAUSED)
        return self.state

    def step_batch(self) -> BatchEvent | None:
        """One SGD step on the next batch, with full instrumentation. This is the hot path: every
        statistic is measured on every batch, so the bookkeeping around the matrix products is
        kept to plain attribute reads (see ``python main.py bench``)."""
        with self._lock:
            config = self.config
            if self.epoch >= config.epochs or self.state in _DONE:
                return None
            if self.message or self.state not in _ACTIVE:
                self.state, self.message = State.PAUSED, ""
            train, bs = self.data.train, config.batch_size
            if self.batch == 0 or self._order is None:
                self._order = np.random.default_rng([config.seed, self.epoch]).permutation(len(train))
                self._epoch_start = time.perf_counter()
                self._batches, self._lr = -(-len(train) // bs), self.schedule.at(self.epoch)
            idx = self._order[self.batch * bs:(self.batch + 1) * bs]
            n, net = len(idx), self.net
            ws = net.workspace(n)
            x, y = ws.gather(train.x, train.y, idx)

            masks = None
            if config.dropout:
                rng = np.random.default_rng([config.seed, self.epoch, self.batch, DROPOUT_STREAM])
                masks = net.dropout_masks(n, config.dropout, rng)
            if self.reconstruct:
                out = net.forward(x, masks, into=ws)
                loss, d_out = squared_error(out, x)
                correct = float(row_psnr(x, out).sum())  # "correct" sums per-image PSNR here
                dz = net.layers[-1].activation_grad(d_out)
            elif net.layers[-1].activation == "softmax":
                loss, correct, dz = softmax_cross_entropy(net.forward(x, masks, True, ws), y, ws.dz)
            else:  # a network given from outside whose outputs are probabilities already
                loss, correct, dz = cross_entropy(net.forward(x, masks, into=ws), y)
            lr = self._lr
            if not math.isfinite(loss):
                self._diverge(BatchEvent(self.step + 1, self.epoch, self.batch, loss / n, float("nan"), lr, {}))
                return None
            net.backward_preact(dz, into=ws)
            if config.weight_decay:
                net.add_weight_decay(n * config.weight_decay)
            stats = network_stats(net)
            self.optimizer.step(net.packed_pairs() if self.optimizer.stateless else net.flat_pairs(), lr)

            self.step += 1
            event = BatchEvent(self.step, self.epoch, self.batch, loss / n, correct / n, lr, stats)
            self.history.batch_loss.append(event.loss)
            self.history.batch_acc.append(event.acc)
            self._epoch_stats.add(stats)
            self._epoch_loss += loss
            self._epoch_correct += correct
            self._epoch_seen += n
            self.batch += 1
            self._emit(event)
            if self.batch >= self._batches:
                self._end_epoch()
                if self.state == State.DIVERGED:
                    return event
                if self.epoch >= config.epochs:
                    self._set_state(State.FINISHED)
            elif config.snapshot_every and self.step % config.snapshot_every == 0:
                self.take_snapshot()
            for check in self.checks:
                reason = check(self, event)
                if reason:
                    self._interrupt.set()
                    self._set_state(State.PAUSED, reason)
                    break
            return event

    def _diverge(self, event: BatchEvent, where: str = "") -> None:
        """Stop for good with a diagnosis; a watchpoint on the loss (e.g. 'loss is nan') still
        reports first. Layer statistics are not measured on this batch (no backward pass)."""
        reasons = []
        for check in self.checks:
            try:
                reasons.append(check(self, event))
            except KeyError:
                pass
        reason = next((r for r in reasons if r), "")
        self._set_state(State.DIVERGED, (f"{reason}; " if reason else "")
                        + f"diverged at {where or f'epoch {self.epoch + 1}, batch {self.batch + 1}'}: "
                        + divergence_report(self.net, event.loss, self.lr))

    def _end_epoch(self) -> None:
        valid_loss, valid_acc, self.valid_pred = self.evaluate(self.data.valid)
        if not (np.isfinite(valid_loss) and np.isfinite(valid_acc)):  # the held-out rows can explode first
            self._diverge(BatchEvent(self.step, self.epoch, self.batch - 1, valid_loss, valid_acc, self.lr, {}),
                          f"the end of epoch {self.epoch + 1} (on the validation rows)")
            return
        self.epoch += 1
        self.batch = 0
        event = EpochEvent(self.epoch, self._epoch_loss / max(self._epoch_seen, 1),
                           self._epoch_correct / max(self._epoch_seen, 1), valid_loss, valid_acc,
                           time.perf_counter() - self._epoch_start, self._epoch_stats.mean())
        self._epoch_stats, self._epoch_loss, self._epoch_correct, self._epoch_seen = StatsMean(), 0.0, 0, 0
        self.history.epochs.append(event)
        self.take_snapshot()
        self._emit(event)

    # ---- inspection --------------------------------------------------------------------------

    def evaluate(self, split: Split, params: dict[str, np.ndarray] | None = None):
        """(mean loss, accuracy, predictions) on a split, optionally with other (snapshot) weights.
        For squared error: (mean loss, mean PSNR in dB, per-image PSNR)."""
        if len(split) == 0:
            return float("nan"), float("nan"), np.zeros(0, np.float64 if self.reconstruct else np.int64)
        net = self.net
        if params is not None:
            net = self.net.astype(self.net.dtype)
            net.set_params(params)
        probs = net.predict(split.x)
        if self.reconstruct:
            per_image = row_psnr(split.x, probs)
            return squared_error(probs, split.x)[0] / len(split), float(per_image.mean()), per_image
        loss, correct, _ = cross_entropy(probs, split.y)
        return loss / len(split), correct / len(split), probs.argmax(axis=1)

    def confusion(self) -> np.ndarray:
        """Validation confusion matrix at the last epoch end (computed now if there was none)."""
        if self.reconstruct:
            raise ValueError("an autoencoder session has no confusion matrix")
        if self.valid_pred is None:
            self.valid_pred = self.evaluate(self.data.valid)[2]
        return confusion_matrix(self.data.valid.y, self.valid_pred, self.data.n_classes)

    def misclassified(self, true_class: int, pred_class: int) -> np.ndarray:
        """Indices into the validation split of one confusion-matrix cell."""
        self.confusion()
        return np.flatnonzero((self.data.valid.y == true_class) & (self.valid_pred == pred_class))

    # ---- snapshots ---------------------------------------------------------------------------

    def take_snapshot(self) -> Snapshot:
        snap = Snapshot(self.step, self.epoch, self.batch, {k: v.copy() for k, v in self.net.params().items()},
                        {k: v.copy() for k, v in self.optimizer.state().items()},
                        self.history.batch_loss[-1] if self.history.batch_loss else float("nan"))
        if self.snapshots and self.snapshots[-1].step == snap.step:
            self.snapshots[-1] = snap
        else:
            self.snapshots.append(snap)
        if len(self.snapshots) > self.config.max_snapshots:
            self.snapshots = thin(self.snapshots)
        return snap

    def restore(self, snap: Snapshot) -> None:
        """Go back to a snapshot (weights, optimizer, position); later history is dropped."""
        with self._lock:
            self.net.set_params(snap.params)
            self.optimizer.load_state({k: v.copy() for k, v in snap.opt_state.items()})
            self.step, self.epoch, self.batch = snap.step, snap.epoch, snap.batch
            del self.history.batch_loss[snap.step:]
            del self.history.batch_acc[snap.step:]
            del self.history.epochs[snap.epoch:]
            self.snapshots = [s for s in self.snapshots if s.step <= snap.step]
            self._order, self.valid_pred = None, None
            self._epoch_stats, self._epoch_loss, self._epoch_correct, self._epoch_seen = StatsMean(), 0.0, 0, 0
            self._stop.clear()
            self._interrupt.clear()
            self.state, self.message = State.PAUSED, ""


def row_psnr(original: np.ndarray, reconstruction: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """Per-row PSNR in dB, 10 log10(peak^2 / MSE); a perfect row is capped at 100 dB, not inf."""
    diff = np.asarray(original, np.float64) - np.asarray(reconstruction, np.float64)
    mse = np.einsum("ij,ij->i", diff, diff) / diff.shape[1]
    return 10.0 * np.log10(peak * peak / np.maximum(mse, peak * peak * 1e-10))


def thin(snaps: list[Snapshot]) -> list[Snapshot]:
    """Halve the density of the older half, keep the first and the recent half:
    memory stays bounded while the whole run stays scrubbable."""
    half = len(snaps) // 2
    return [snaps[0]] + snaps[1:half][1::2] + snaps[half:]
