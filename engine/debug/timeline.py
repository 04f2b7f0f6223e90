"""Time travel over a session's snapshots: view the run as it was at any snapshot, branch a new
session from one with new hyperparameters, and keep snapshot memory under a byte cap.

Views are computed on demand from the snapshot's weights (nothing but weights and optimizer state
is stored per snapshot), with the same engine functions the live panels use, so a scrubbed view
and the live view of the same moment agree.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from engine.debug.stats import LayerStats, confusion_matrix, network_stats
from engine.errors import InputError
from engine.nn.gradcheck import loss_and_backprop
from engine.training.session import EpochEvent, History, Snapshot, TrainConfig, TrainingSession, thin

DEFAULT_MAX_BYTES = 256 * 2 ** 20
PROBE_ROWS = 256  # training rows used to measure gradients at a snapshot's weights
_SHAPE_FIELDS = ("hidden", "activation", "loss", "output")  # a branch keeps the network's shape


# ---- memory ------------------------------------------------------------------------------------

def snapshot_nbytes(snap: Snapshot) -> int:
    return sum(a.nbytes for a in snap.params.values()) + sum(a.nbytes for a in snap.opt_state.values())


def snapshots_nbytes(session: TrainingSession) -> int:
    """Bytes held by distinct snapshot arrays (a branch shares its parent's older snapshots)."""
    return sum(snapshot_nbytes(s) for s in {id(s): s for s in session.snapshots}.values())


def set_memory_cap(session: TrainingSession, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Keep the session's snapshots within ``max_bytes``: the cap becomes ``config.max_snapshots``
    (the session thins old snapshots beyond it after every new one). Returns that count.
    Call it between batches (the GUI's worker owns the session)."""
    params = sum(p.nbytes for p in session.net.params().values())
    per = max([params * (2 if session.config.momentum > 0 else 1)] + [snapshot_nbytes(s) for s in session.snapshots])
    count = int(max_bytes // per)
    if count < 3:  # session.thin cannot shrink fewer than 4 snapshots
        raise InputError(f"a snapshot cap of {max_bytes:,} bytes holds fewer than 3 snapshots of {per:,} bytes")
    session.config.max_snapshots = count
    snaps = session.snapshots
    while len(snaps) > count:  # thin exactly as the session does
        snaps = thin(snaps)
    session.snapshots = snaps
    return count


# ---- viewing a snapshot ----------------------------------------------------------------------------

@dataclass
class TimelineView:
    """Everything the panels show, as it was at one snapshot."""

    index: int  # position in session.snapshots
    snapshot: Snapshot
    batch_loss: list[float]  # per-batch metrics up to this step
    batch_acc: list[float]  # accuracy, or PSNR for an autoencoder
    epochs: list[EpochEvent]  # epochs completed by then
    layers: dict[str, LayerStats]  # gradient/saturation statistics of these weights on a probe batch
    valid_loss: float
    valid_acc: float  # accuracy, or mean PSNR in dB
    confusion: np.ndarray | None  # validation confusion matrix (None for an autoencoder)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.snapshot.params

    @property
    def step(self) -> int:
        return self.snapshot.step


def snapshot_steps(session: TrainingSession) -> list[int]:
    """The slider's ticks: global batch count of every snapshot."""
    return [s.step for s in session.snapshots]


def nearest(session: TrainingSession, step: int) -> int:
    """Index of the last snapshot at or before ``step`` (0 if none)."""
    steps = np.asarray(snapshot_steps(session))
    return max(int(np.searchsorted(steps, step, side="right")) - 1, 0)


def view(session: TrainingSession, index: int, probe_rows: int = PROBE_ROWS) -> TimelineView:
    snaps = session.snapshots
    if not -len(snaps) <= index < len(snaps):
        raise IndexError(f"snapshot {index} out of range (the session holds {len(snaps)})")
    index %= len(snaps)
    snap = snaps[index]
    h = session.history
    valid_loss, valid_acc, pred = session.evaluate(session.data.valid, snap.params)
    confusion = None if session.reconstruct else \
        confusion_matrix(session.data.valid.y, pred, session.data.n_classes)
    return TimelineView(index, snap, h.batch_loss[:snap.step], h.batch_acc[:snap.step],
                        [e for e in h.epochs if e.epoch <= snap.epoch], probe_stats(session, snap, probe_rows),
                        valid_loss, valid_acc, confusion)


def probe_stats(session: TrainingSession, snap: Snapshot, rows: int = PROBE_ROWS) -> dict[str, LayerStats]:
    """Per-layer statistics of one backward pass at the snapshot's weights on the first training rows
    (a fixed batch, so scrubbing compares like with like)."""
    net = session.net.astype(session.net.dtype)
    net.set_params(snap.params)
    train = session.data.train
    x = train.x[:rows]
    if len(x) == 0:
        return {}
    target = x if session.reconstruct else train.y[:rows]
    loss_and_backprop(net, x, target, session.config.loss)
    return network_stats(net)


# ---- branching -------------------------------------------------------------------------------------

def branch(session: TrainingSession, snapshot: int | Snapshot, **changes) -> TrainingSession:
    """A new session continuing from a snapshot with new hyperparameters (``lr``, ``momentum``,
    ``batch_size``, ``epochs``, ``lr_decay``, ``decay_every``, ``seed``...). Both keep their history:
    the branch starts with a copy of the original's up to the snapshot. ``lr`` is the schedule's
    base rate, as in TrainConfig. Changing the batch size mid-epoch resumes at the same example."""
    snap = session.snapshots[snapshot] if isinstance(snapshot, int) else snapshot
    if not any(s is snap for s in session.snapshots):
        raise InputError("that snapshot does not belong to this session (it may have been thinned)")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InputError(f"unknown setting(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    shape = [k for k in _SHAPE_FIELDS if k in changes and changes[k] != getattr(session.config, k)]
    if shape:
        raise InputError(f"a branch keeps the network's shape; cannot change {', '.join(shape)}")
    config = replace(session.config, **changes)
    new = TrainingSession(session.data, config, session.net.astype(session.net.dtype))
    h = session.history
    new.history = History(h.batch_loss[:snap.step], h.batch_acc[:snap.step],
                          [e for e in h.epochs if e.epoch <= snap.epoch])
    new.snapshots = [s for s in session.snapshots if s.step <= snap.step]  # shared, never mutated
    new.restore(snap)
    if config.batch_size != session.config.batch_size:
        new.batch = snap.batch * session.config.batch_size // config.batch_size
    return new
