"""What the worker sends to the panels: plain dataclasses, built in the training thread between two
batches (copies, never arrays the training is writing), delivered by Qt signals.

Main session: ``SessionInfo`` (redraw from scratch) then ``Update`` (what changed). Time travel uses
the same two messages, so every panel shows a past moment without knowing it is one: a
``SessionInfo`` with ``view_step`` set, followed by an ``Update`` holding the batches up to then.
Background work (experiments, the autoencoder, gradient checks) has its own messages below.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.debug.stats import LayerStats
from engine.training.position import Position, epoch_and_batch  # noqa: F401 -- the panels' position, from here too
from engine.training.session import EpochEvent, State, TrainConfig

RATE_WINDOW_S = 2.0  # examples/s is measured over this much recent training time


@dataclass
class SessionInfo:
    """Everything a panel needs to (re)draw from scratch: sent when a session is created or loaded."""

    generation: int  # increases with every new session; updates carry it too
    dataset: str
    classes: tuple[str, ...]
    config: TrainConfig
    layers: list[tuple[str, str, int]]  # (name, activation, units)
    n_train: int
    n_valid: int
    batches_per_epoch: int
    step: int
    epoch: int
    batch: int
    state: State
    message: str
    batch_loss: np.ndarray  # whole history (a loaded checkpoint brings its curves along)
    batch_acc: np.ndarray
    epochs: list[EpochEvent]
    weights: np.ndarray  # first-layer W copy (inputs x units)
    confusion: np.ndarray | None  # validation confusion at the last epoch end (None before the first)
    source: str = ""  # file the session came from ("" for a new one)
    view_step: int | None = None  # time travel: the snapshot's step being shown (None: the live session)
    branch: str = ""  # the session's name on the timeline ("main", "branch 1", ...)
    session_id: int = 0  # the same for every announcement of one session (e.g. back from time travel)
    script: str = ""  # an attached script's name ("" for the engine's own session: gui/worker/remote_feed.py)

    @property
    def total_batches(self) -> int:
        return self.config.epochs * self.batches_per_epoch


@dataclass
class Update:
    """What changed since the previous update (coalesced over any number of batches)."""

    generation: int
    state: State
    step: int
    epoch: int  # completed epochs
    batch: int  # next batch within the epoch
    batches_per_epoch: int
    total_batches: int
    lr: float
    steps: np.ndarray  # global step of each new batch
    losses: np.ndarray
    accs: np.ndarray
    grads: dict[str, np.ndarray]  # layer -> mean |dL/dW| of each new batch
    stats: dict[str, LayerStats]  # mean over the last (<= REPORT_BATCHES) new batches, or the last known
    report: list[str]  # engine.debug.stats.vanishing_gradient_report on ``stats``
    histograms: dict[str, tuple[np.ndarray, np.ndarray]]  # hidden layer -> (counts, edges) of the last batch
    activations: dict[str, str]  # layer -> activation name
    epochs: list[EpochEvent]  # epochs completed since the previous update
    confusion: np.ndarray | None  # set when an epoch ended since the previous update
    weights: np.ndarray
    examples_per_s: float
    eta_s: float | None  # None when not running
    traces: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # watchpoint -> (steps, values)
    snapshots: list[int] | None = None  # snapshot steps, when they changed since the previous update
    snapshot_bytes: int = 0
    findings: list[tuple[str, bool]] | None = None  # an attached script's diagnosis: (words, a problem?)

    @property
    def progress(self) -> float:
        return self.step / self.total_batches if self.total_batches else 1.0


@dataclass
class Checked:
    """A file the worker read and found usable (a dataset, a checkpoint), waiting for the window's yes before
    it replaces the session: nothing is discarded for a file that cannot be used."""

    what: str  # the file (or dataset name), for the question
    adopt: Callable[[], None]  # (worker thread) make it the session: Worker.adopt sends it


@dataclass
class Pending:
    """Batch events since the last Update, kept as they came (the listener must stay cheap: it runs
    once per batch inside the training loop)."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    accs: list[float] = field(default_factory=list)
    layers: list[dict[str, LayerStats]] = field(default_factory=list)
    epochs: list[EpochEvent] = field(default_factory=list)
    traces: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    first_time: float = 0.0  # perf_counter() at the first and the last batch: the rate's clock, not the
    last_time: float = 0.0  # flush's (a flush may come long after a pause, or start after a slow start)


class Rate:
    """Examples per second over the last few seconds of training (pauses do not count). Fed once per
    Update with the examples trained since the previous one (not per batch: the listener stays cheap)."""

    def __init__(self, window_s: float = RATE_WINDOW_S):
        self.window_s = window_s
        self.marks: deque[tuple[float, int]] = deque()
        self.total = 0  # examples in marks[1:]
        self.value = 0.0

    def restart(self) -> None:
        """Forget the marks: the next run's rate counts from its own first batch."""
        self.marks.clear()
        self.total = 0

    def add_batches(self, first: float, last: float, n: int) -> None:
        """``n`` examples trained between ``first`` and ``last`` (the times of their first and last batch)."""
        if not self.marks:
            self.marks.append((first, 0))
        self.add(last, n)

    def add(self, now: float, n: int) -> None:
        if self.marks:
            self.total += n
        self.marks.append((now, n))
        while len(self.marks) > 2 and now - self.marks[0][0] > self.window_s:
            self.marks.popleft()
            self.total -= self.marks[0][1]
        span = now - self.marks[0][0]
        if span > 0:
            self.value = self.total / span


# ---- watchpoints and time travel (main session) --------------------------------------------------

@dataclass
class WatchInfo:
    """One watchpoint as the list shows it. ``hits`` are engine.debug.watch.Hit (step, epoch, batch, value,
    message); ``trace`` is the watched value at every batch (or epoch end) seen so far."""

    expr: str
    label: str
    op: str  # "<", ">", ... or "is"
    threshold: float
    change: str  # "", "drop" or "rise"
    per_epoch: bool
    hits: list
    trace: tuple[np.ndarray, np.ndarray]  # (steps, values)
    error: str = ""  # why it cannot watch the current session (e.g. no such layer); it is then inactive


@dataclass
class WatchList:
    generation: int  # the session generation the traces belong to
    watches: list[WatchInfo]
    batches_per_epoch: int
    error: str = ""  # why the last add was refused ("" if it was not)
    rejected: str = ""  # the refused expression
    epochs: int = 0  # planned epochs (for the position's words)


@dataclass
class BranchInfo:
    name: str
    color: int  # index into the run palette
    parent: str  # "" for the first run
    at_step: int  # where it branched off its parent
    config: TrainConfig
    batch_loss: np.ndarray
    valid_acc: tuple[np.ndarray, np.ndarray]  # (epoch, accuracy) per completed epoch
    batches_per_epoch: int
    current: bool


@dataclass
class TimelineInfo:
    generation: int
    branches: list[BranchInfo]
    snapshots: list[int]  # steps of the current branch's snapshots
    step: int  # the current branch's live step
    view_step: int | None  # the moment being shown (None: live)
    snapshot_bytes: int
    cap_bytes: int


# ---- background work -----------------------------------------------------------------------------

@dataclass
class RunInfo:
    """One run of the comparison view: a live experiment run or a run log opened from a file."""

    name: str
    color: int
    config: TrainConfig
    live: bool
    status: str  # running / paused / finished / diverged / stopped / log
    step: int
    total: int
    epoch: int
    batches_per_epoch: int
    batch_loss: np.ndarray
    batch_acc: np.ndarray
    epochs: list[EpochEvent]
    reconstruct: bool = False  # "acc" is PSNR in dB
    message: str = ""


@dataclass
class RunDelta:
    steps: np.ndarray
    losses: np.ndarray
    accs: np.ndarray
    epochs: list[EpochEvent]
    status: str
    step: int
    epoch: int
    message: str = ""


@dataclass
class ExperimentInfo:
    generation: int
    title: str
    runs: list[RunInfo]
    running: bool
    finding: str


@dataclass
class ExperimentUpdate:
    generation: int
    runs: dict[str, RunDelta]
    running: bool
    done: bool
    finding: str


@dataclass
class Reconstruction:
    labels: list[str]
    originals: np.ndarray  # (k, 32, 32) upright, in [0, 1]
    outputs: np.ndarray  # (k, 32, 32)
    psnr: np.ndarray  # (k,) dB
    step: int


@dataclass(frozen=True)
class AutoencoderEpoch:
    """One autoencoder epoch in its own terms: the engine keeps the PSNR in its accuracy fields (so its
    curves, checks and logs work unchanged); the autoencoder's views read it from here."""

    epoch: int
    train_loss: float
    valid_loss: float
    train_psnr_db: float
    valid_psnr_db: float
    seconds: float


def autoencoder_epoch(e: EpochEvent) -> AutoencoderEpoch:
    return AutoencoderEpoch(e.epoch, e.train_loss, e.valid_loss, e.train_acc, e.valid_acc, e.seconds)


@dataclass
class AutoencoderInfo:
    generation: int
    dataset: str
    sizes: list[int]
    n_train: int
    n_valid: int
    batches_per_epoch: int
    epochs_total: int
    lr: float
    state: State
    step: int
    epoch: int
    batch_loss: np.ndarray
    batch_psnr: np.ndarray
    epochs: list[AutoencoderEpoch]
    recon: Reconstruction | None
    message: str = ""


@dataclass
class AutoencoderUpdate:
    generation: int
    state: State
    step: int
    epoch: int
    lr: float
    steps: np.ndarray
    losses: np.ndarray
    psnrs: np.ndarray
    epochs: list[AutoencoderEpoch]
    recon: Reconstruction | None
    message: str = ""


@dataclass
class GradcheckResult:
    layer: str
    index: int
    activation: str
    errors: np.ndarray  # per-weight relative error, shaped like W (inputs x units)
    tensor_error: float
    max_error: float
    worst: tuple[int, int]  # (input, unit) of the largest error
    over: int  # weights whose error is >= the per-weight limit
    limit: float  # per-weight limit (engine.nn.gradcheck.WeightCheck.passed)
    tolerance: float  # tensor tolerance
    passed: bool
    step: int  # the session step whose weights were checked
    examples: int
    seconds: float
    tiles: bool  # the inputs are 32x32 images: show one tile per unit
    lines: list[str] = field(default_factory=list)  # an attached script's check: every layer's PASS/FAIL in words
