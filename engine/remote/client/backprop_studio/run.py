"""One attached run, as the script sees it: batches marked, figures logged, and the window's commands
obeyed at each batch boundary (pause blocks there; step lets exactly one batch through).

The loop's body is untouched. At every boundary (the next batch asked for, or the batch list used
up) the run measures the batch that just ended, queues its figures (sent about 20 times a second),
then looks for commands without waiting. Paused, it blocks on the connection, answering what the
window asks (weights, a snapshot, a restore, a gradient check) until it is resumed or stepped.
Big arrays go only when asked. If the window goes away, the run carries on detached.
"""
from __future__ import annotations

import atexit
import os
import sys
import time
import traceback

import numpy as np

from backprop_studio import wire
from backprop_studio.figures import Watch

FLUSH_S = 0.05  # figures are sent at most this often (and at every pause and epoch end)
POLL_S = 0.002  # the window's commands are looked for at most this often while running
SNAPSHOT_EVERY = 100  # batches between weight snapshots (plus one at every epoch end)
SNAPSHOT_BYTES = 256 << 20  # older snapshots are thinned to stay under this
# what a batch sends: one row of numbers (the chunk and row of its layers' figures included)
COLUMNS = ("s", "e", "b", "t", "loss", "acc", "chunk", "row")


class Stopped(SystemExit):
    """Raised in the script when the window's Stop reaches a batch boundary."""


class Run:
    """The connection and the control loop; ``NumpyRun`` and ``TorchRun`` say what to measure."""

    kind = "run"

    def __init__(self, conn, script: str):
        self.conn = conn
        self.script = script
        self.attached = True
        self.step = 0  # batches completed
        self.epoch = 0  # epochs completed
        self.batch = 0  # batches completed in the current epoch
        self.paused = False
        self.budget: int | None = None  # batches to run before pausing (a step)
        self.epoch_budget: int | None = None  # pause once this many epochs are complete (a step of one epoch)
        self.watching = False  # a watchpoint is armed: wait for the window's verdict after each batch
        self.pace: float | None = None
        self._due = 0.0
        self._table: list[tuple] = []  # per batch waiting to be sent: its COLUMNS
        self._extras: list[tuple[int, dict]] = []  # (row in the table, what else that batch says)
        self.loss = self.acc = None  # the batch's, as measure() found them
        self._last_flush = time.perf_counter()
        self._polled = 0.0
        self._in_batch = False
        self._batch_start = 0.0
        self._batch_logs: dict = {}
        self._epoch_open: dict | None = None  # the epoch that ended, open for its validation figures
        self._epoch_losses: list[float] = []
        self._epoch_accs: list[float] = []
        self._epoch_start = time.perf_counter()
        self._epoch_length: int | None = None  # len() of the batch list, sent when it changes
        self._length_sent: int | None = None
        self._want: set[str] = set()
        self.snapshots: list[dict] = []
        self._snapshots_changed = False
        self._finished = False
        self.watch = Watch()
        atexit.register(self._at_exit)
        self._excepthook = sys.excepthook
        sys.excepthook = self._on_uncaught

    # ---- the user's calls ---------------------------------------------------------------------------

    def batches(self, iterable):
        """Yields the user's batches, stopping at each boundary for the window."""
        if not self.attached:
            yield from iterable
            return
        self._epoch_length = len(iterable) if hasattr(iterable, "__len__") else None
        for item in iterable:
            self._boundary(item)
            yield item
        self._end_epoch()

    def begin_batch(self, item=None) -> None:
        """For loops that do not iterate a batch list: call once at the top of each batch."""
        if self.attached:
            self._boundary(item)

    def end_epoch(self) -> None:
        """For loops that use ``begin_batch``: call after an epoch's last batch."""
        if self.attached:
            self._end_epoch()

    def log(self, **figures) -> None:
        """Figures by name: per batch (loss, acc, ...) inside the loop, per epoch (valid_loss, valid_acc,
        ...) after it. Numbers only."""
        if not self.attached:
            return
        clean = {str(k): float(v) for k, v in figures.items() if _numeric(v)}  # NaN too: it is news
        (self._epoch_open["logs"] if self._epoch_open is not None else self._batch_logs).update(clean)

    def detach(self) -> None:
        """Send what is pending and let go of the window (the loop goes on as if it were never attached)."""
        if not self.attached:
            return
        self._finish_batch()
        self._close_epoch()
        self._send({"type": "bye", "step": self.step}, self._last_weights())  # the report's last weights: the final ones
        self._drop()

    # ---- what subclasses measure --------------------------------------------------------------------

    def hello(self) -> dict:
        return {}

    def measure(self, item) -> dict | None:
        """Capture the batch that just ended (its layers into ``watch``, its loss and accuracy into ``loss``
        and ``acc``, None where unknown); anything else it says, as a dict (None: nothing)."""
        self.loss = self.acc = None
        return None

    def snapshot_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def restore_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        pass

    def weights(self) -> dict[str, np.ndarray]:
        return {}

    def gradcheck(self, request: dict) -> tuple[dict, dict]:
        return {"problem": "no gradient check for this kind of run"}, {}

    def begin(self, item) -> None:
        """A batch starts (``item``: what the batch list yielded)."""

    # ---- boundaries ---------------------------------------------------------------------------------

    def _boundary(self, item) -> None:
        self._finish_batch()
        if self._epoch_open is not None:
            self._close_epoch()
            if self.watching and self.attached:
                self._verdict()
            if self.epoch_budget is not None and self.epoch >= self.epoch_budget:
                self.epoch_budget = None
                self.paused = True
        self._control()
        self._in_batch = True
        self._batch_start = time.perf_counter()
        self.begin(item)

    def _finish_batch(self) -> None:
        if not self._in_batch:
            return
        self._in_batch = False
        now = time.perf_counter()
        extra = self.measure(None)
        self.step += 1
        self.batch += 1
        loss, acc = self.loss, self.acc
        if extra or self._batch_logs or self.watching or self._epoch_length != self._length_sent:
            extra, loss, acc = self._extra(extra, loss, acc)
            self._extras.append((len(self._table), extra))
        w = self.watch
        self._table.append((self.step, self.epoch, self.batch - 1, now - self._batch_start, loss, acc, w.chunk,
                            w.rows - 1))
        if loss is not None:
            self._epoch_losses.append(loss)
        if acc is not None:
            self._epoch_accs.append(acc)
        if self.step % SNAPSHOT_EVERY == 0:
            self._take_snapshot(loss)
        if self.budget is not None:
            self.budget -= 1
            if self.budget <= 0:
                self.budget, self.paused = None, True
        if self.watching and self.attached:
            self._flush()
            self._verdict()
        elif now - self._last_flush >= FLUSH_S:
            self._flush()

    def _extra(self, extra: dict | None, loss, acc) -> tuple[dict, object, object]:
        """A batch that says more than its figures: what it logged (its own loss and accuracy win over the
        measured ones), the epoch's length when it changed, the lockstep flag."""
        extra, logs = dict(extra or {}), self._batch_logs
        self._batch_logs = {}
        loss, acc = logs.pop("loss", loss), logs.pop("acc", acc)
        extra.update(logs)
        if self._epoch_length != self._length_sent:  # the window's progress: batches per epoch
            self._length_sent = extra["n"] = self._epoch_length
        if self.watching:
            extra["w"] = 1  # sent in lockstep: the window answers it
        return extra, loss, acc

    def _end_epoch(self) -> None:
        self._finish_batch()
        mean = lambda v: float(np.mean(v)) if v else float("nan")
        self.epoch += 1
        self._epoch_open = {"type": "epoch", "epoch": self.epoch, "batches": self.batch,
                            "train_loss": mean(self._epoch_losses), "train_acc": mean(self._epoch_accs),
                            "seconds": time.perf_counter() - self._epoch_start, "logs": {}}
        self.batch, self._epoch_losses, self._epoch_accs = 0, [], []
        self._epoch_start = time.perf_counter()
        self._take_snapshot(None)
        if self.paused or self.budget is not None:
            self._control()  # a step that ended the epoch pauses right after its last batch

    def _close_epoch(self) -> None:
        if self._epoch_open is not None and self.attached:
            self._flush()
            if self.watching:
                self._epoch_open["w"] = 1
            self._send(self._epoch_open)
            self._send_snapshot_list()
        self._epoch_open = None

    # ---- commands -----------------------------------------------------------------------------------

    def _control(self) -> None:
        """Obey the window: read what it sent (never waiting), then block while paused, then keep the pace."""
        if not self.attached:
            return
        try:
            now = time.perf_counter()
            if self.paused or now - self._polled >= POLL_S:  # a look costs a system call: not every batch
                self._polled = now
                while self.conn.poll(0):
                    self._handle(self._recv())
            if self._want:
                self._answer_wants()
            while self.paused and self.attached:
                self._flush()
                self._send({"type": "paused", "step": self.step, "epoch": self.epoch, "batch": self.batch})
                while self.paused and self.attached:
                    self._handle(self._recv())
                    if self._want:
                        self._answer_wants()
                if self.attached:
                    self._send({"type": "resumed", "step": self.step})
        except (EOFError, OSError, wire.WireError):
            self._drop()
            return
        if self.pace and self.budget is None:
            now = time.perf_counter()
            if self._due > now:
                time.sleep(self._due - now)
            self._due = max(now, self._due) + 1.0 / self.pace

    def _verdict(self) -> None:
        """Lockstep (a watchpoint is armed): wait for the window to judge the batch just sent."""
        try:
            while self.attached and self.watching:
                msg = self._recv()
                if msg.get("type") == "go":
                    return
                self._handle(msg)
                if self.paused or msg.get("type") in ("pause", "stop"):
                    return
        except (EOFError, OSError, wire.WireError):
            self._drop()

    def _handle(self, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "pause":
            self.paused = True
        elif kind == "resume":
            self.paused, self.budget, self.epoch_budget = False, None, None
        elif kind == "step":
            self.paused, self.budget = False, max(1, int(msg.get("batches", 1)))
        elif kind == "step_epoch":
            # to the end of the epoch in progress; paused right at an epoch's end, the whole next one
            self.paused, self.epoch_budget = False, self.epoch + 1
        elif kind == "stop":
            self._flush()
            self._send({"type": "stopped", "step": self.step})
            self._drop()
            raise Stopped(f"stopped by backprop-studio at step {self.step}")
        elif kind == "pace":
            bps = msg.get("bps")
            self.pace = float(bps) if _number(bps) and bps > 0 else None
        elif kind == "watching":
            self.watching = bool(msg.get("on"))
        elif kind == "want":
            self._want.add(str(msg.get("what", "")))
        elif kind == "restore":
            self._restore(msg.get("step"))
        elif kind == "snapshot":
            self._send_snapshot(msg.get("step"))
        elif kind == "gradcheck":
            header, arrays = self.gradcheck(msg)
            self._send({"type": "gradcheck", "step": self.step, **header}, arrays)

    def _last_weights(self) -> dict[str, np.ndarray]:
        try:
            return self.weights()
        except Exception:  # noqa: BLE001 - the script's arrays at its exit, whatever state it left them in
            return {}

    def _answer_wants(self) -> None:
        if "weights" in self._want:
            self._send({"type": "weights", "step": self.step}, self.weights())
        self._want.clear()

    # ---- snapshots (time travel) --------------------------------------------------------------------

    def _take_snapshot(self, loss) -> None:
        arrays = {k: np.array(v, copy=True) for k, v in self.snapshot_arrays().items()}
        self.snapshots = [s for s in self.snapshots if s["step"] != self.step]
        self.snapshots.append({"step": self.step, "epoch": self.epoch, "batch": self.batch,
                               "loss": float(loss) if _number(loss) else None, "arrays": arrays})
        while sum(a.nbytes for s in self.snapshots for a in s["arrays"].values()) > SNAPSHOT_BYTES \
                and len(self.snapshots) > 3:  # every other one goes; the first and the latest stay
            self.snapshots = [self.snapshots[0], *self.snapshots[1:-1][1::2], self.snapshots[-1]]
        self._snapshots_changed = True

    def _send_snapshot_list(self) -> None:
        self._snapshots_changed = False
        self._send({"type": "snapshots", "list": [[s["step"], s["epoch"], s["batch"], s["loss"]]
                                                 for s in self.snapshots]})

    def _find(self, step):
        return next((s for s in self.snapshots if s["step"] == step), None)

    def _send_snapshot(self, step) -> None:
        s = self._find(step)
        self._send({"type": "snapshot", "step": step, "found": s is not None},
                   {k: v.astype(np.float32) for k, v in s["arrays"].items()} if s else None)

    def _restore(self, step) -> None:
        s = self._find(step)
        if s is None:
            self._send({"type": "restored", "step": step, "found": False})
            return
        self.restore_arrays(s["arrays"])
        self._send({"type": "restored", "step": step, "found": True, "at": self.step})

    # ---- the connection -----------------------------------------------------------------------------

    def _send(self, header: dict, arrays=None) -> None:
        if not self.attached:
            return
        try:
            self.conn.send_bytes(wire.encode(header, arrays))
        except (OSError, ValueError):
            self._drop()

    def _recv(self) -> dict:
        return wire.decode(self.conn.recv_bytes(wire.MAX_FRAME))[0]

    def _flush(self) -> None:
        if self._table and self.attached:
            names, arrays = self.watch.take()  # the waiting batches' figures, all at once
            table, extras = self._table, self._extras
            self._table, self._extras = [], []
            arrays["table"] = np.array(table, np.float64)  # a row per batch, as COLUMNS (a missing figure: NaN)
            arrays["has"] = np.array([(r[4] is not None, r[5] is not None) for r in table], bool)  # loss, acc
            self._send({"type": "batches", "columns": COLUMNS, "extras": extras, "figures": names}, arrays)
        if self._snapshots_changed and self.attached:
            self._send_snapshot_list()
        self._last_flush = time.perf_counter()

    def _drop(self) -> None:
        """The window is gone (closed, or it stopped us): carry on as if never attached."""
        if self.attached:
            self.attached, self.paused, self.watching, self.budget = False, False, False, None
            try:
                self.conn.close()
            except OSError:
                pass
            self.on_detach()

    def on_detach(self) -> None:
        pass

    def _at_exit(self) -> None:
        if self.attached and not self._finished:
            self._finished = True
            self.detach()

    def _on_uncaught(self, kind, value, tb) -> None:
        if self.attached and not isinstance(value, Stopped):
            self._finish_batch_safely()
            text = "".join(traceback.format_exception(kind, value, tb))
            self._send({"type": "crashed", "step": self.step, "summary": f"{kind.__name__}: {value}"[:500],
                        "traceback": text[-20000:]})
        self._excepthook(kind, value, tb)

    def _finish_batch_safely(self) -> None:
        try:
            self._flush()
        except Exception:  # noqa: BLE001, S110 - the script is already dying of its own error
            pass


def _numeric(v) -> bool:
    """A real number (NaN and inf included), not a bool."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _number(v) -> bool:
    try:
        return isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def script_name() -> str:
    main = sys.modules.get("__main__")
    return os.path.basename(getattr(main, "__file__", "") or (sys.argv[0] if sys.argv else "") or "python")
