"""RemoteSession: an attached script seen as a training session.

It reads the script's frames (``pump``, never blocking), keeps the same history a TrainingSession
keeps, announces the same events (BatchEvent, EpochEvent, StateEvent) to its listeners, checks the
same watchpoints, and turns commands (pause, step, step epoch, resume, pace, stop, restore, gradient
check) into frames for the script, which obeys them at its next batch boundary.

While a watchpoint is armed the script waits after each batch for this side's verdict, so a
watchpoint stops it at exactly the first batch where it holds (``watching``).
"""
from __future__ import annotations

import math
import time
from array import array
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from backprop_studio import wire
from backprop_studio.figures import unpack
from backprop_studio.run import COLUMNS

from engine.debug.stats import LayerStats
from engine.remote.diagnose import Finding, diagnose
from engine.training.session import BatchEvent, EpochEvent, History, PauseReason, State, StateEvent

KEEP_FIRST, KEEP_LAST = 50, 2000  # batch records kept for the diagnosis: the start and the recent past
DIAGNOSE_EVERY_S = 0.5
SERIES = ("grad_mean_abs", "saturation", "update_ratio")  # per layer, every batch of the run (the report's)


@dataclass
class GradcheckReport:
    """What the script's gradient check found, per layer (errors: per weight, NaN where not sampled)."""
    step: int
    rows: int
    layers: list[dict]
    errors: dict[str, np.ndarray]
    problem: str = ""
    reduction: str = ""

    @property
    def passed(self) -> bool:
        return not self.problem and all(l.get("passed") for l in self.layers)

    def lines(self) -> list[str]:
        if self.problem:
            return [f"gradient check: {self.problem}"]
        out = []
        for l in self.layers:
            parts = [f"{k} {l[k]['tensor_error']:.1e}" for k in ("W", "b") if k in l]
            words = "; ".join(l[k]["words"] for k in ("W", "b") if k in l and not l[k]["passed"])
            out.append(f"{'PASS' if l.get('passed') else 'FAIL'}  {l['name']}: relative error "
                       + ", ".join(parts) + (f" \u2014 {words}" if words else ""))
        return out


@dataclass
class Crash:
    summary: str
    traceback: str
    step: int


@dataclass
class SnapshotInfo:
    step: int
    epoch: int
    batch: int
    loss: float | None


class RemoteSession:
    """One attached script (``conn``, the ``hello`` it sent). Call ``pump`` often from one thread."""

    def __init__(self, conn, hello: dict, watching: bool = False):
        self.conn, self.hello = conn, hello
        self.script = str(hello.get("script", "script"))
        self.kind = str(hello.get("kind", "numpy"))
        self.state = State.RUNNING
        self.pause_reason: PauseReason | None = None
        self.message = ""
        self.step = self.epoch = self.batch = 0
        self.batches_per_epoch = 0  # the batch list's length once the script says it (0: not known yet)
        self.history = History()
        self.records: list[dict] = []
        self._rows = 0  # the script's batch size, as it last said
        self._first: list[dict] = []
        self.layers: list[dict] = [dict(l) for l in hello.get("layers", [])]
        self.latest: dict[str, dict] = {}  # per layer: the last batch's figures
        self.findings: list[Finding] = []
        self.checks: list = []  # watchpoints (engine.debug.watch), called as check(self, event)
        self.weights: dict[str, np.ndarray] = {}
        self.weights_step = -1
        self.first_weights: tuple[int, dict[str, np.ndarray]] | None = None  # (step, arrays): the first received
        self.series_steps = array("q")  # every batch's step, and per layer its SERIES figures (NaN: not sent)
        self.series: dict[str, dict[str, array]] = {}
        self.snapshots: list[SnapshotInfo] = []
        self.snapshot_arrays: dict[int, dict[str, np.ndarray]] = {}
        self.gradcheck: GradcheckReport | None = None
        self.gradcheck_progress: tuple[str, int, int] | None = None
        self.crash: Crash | None = None
        self.restored: list[tuple[int, int]] = []  # (snapshot step, at step)
        self.listeners: list = []
        self.connected = True
        self.watching = watching
        self._want_weights = False
        self._diagnosed = 0.0
        self._next_pause = PauseReason.USER  # why the next "paused" from the script is a pause
        self.data = None  # no dataset on this side: class_acc watchpoints are refused

    # ---- what TrainingSession observers look at ----------------------------------------------------

    @property
    def net(self):
        """Enough of a network for watchpoints and labels: its layers' names and activations in order."""
        return SimpleNamespace(layers=[SimpleNamespace(name=l["name"], activation=l.get("activation", ""))
                                       for l in self.layers])

    @property
    def done(self) -> bool:
        return self.state in (State.FINISHED, State.STOPPED, State.DIVERGED)

    def subscribe(self, listener) -> None:
        self.listeners.append(listener)

    def _emit(self, event) -> None:
        for listener in list(self.listeners):
            listener(event)

    def _set_state(self, state: State, message: str = "", reason: PauseReason | None = None) -> None:
        self.state, self.message, self.pause_reason = state, message, reason
        self._emit(StateEvent(state, message, reason))

    # ---- commands (frames to the script) ------------------------------------------------------------

    def _send(self, header: dict) -> bool:
        if not self.connected:
            return False
        try:
            self.conn.send_bytes(wire.encode(header))
            return True
        except (OSError, ValueError):
            self._lost()
            return False

    def pause(self) -> None:
        self._next_pause = PauseReason.USER
        self._send({"type": "pause"})

    def resume(self) -> None:
        self.message = ""
        self._send({"type": "resume"})

    def step_batch(self, n: int = 1) -> None:
        self._next_pause = PauseReason.BUDGET
        self._send({"type": "step", "batches": int(n)})

    def step_epoch(self) -> None:
        self._next_pause = PauseReason.BUDGET
        self._send({"type": "step_epoch"})

    def stop(self) -> None:
        self._send({"type": "stop"})

    def set_pace(self, bps: float | None) -> None:
        self._send({"type": "pace", "bps": bps})

    def set_watching(self, on: bool) -> None:
        """Lockstep while a watchpoint is armed (each batch waits for the verdict); free running otherwise."""
        if on != self.watching:
            self.watching = on
            self._send({"type": "watching", "on": on})

    def want_weights(self) -> None:
        """Ask for the weights once (they come at the next boundary, or now if paused)."""
        if not self._want_weights:
            self._want_weights = self._send({"type": "want", "what": "weights"})

    def restore(self, step: int) -> None:
        self._send({"type": "restore", "step": int(step)})

    def request_snapshot(self, step: int) -> None:
        self._send({"type": "snapshot", "step": int(step)})

    def run_gradcheck(self, rows: int = 4, weights: int = 2048) -> None:
        self.gradcheck, self.gradcheck_progress = None, ("", 0, 1)
        self._send({"type": "gradcheck", "rows": int(rows), "weights": int(weights)})

    def close(self) -> None:
        """Let the script go (it carries on detached)."""
        if self.connected:
            try:
                self.conn.close()
            finally:
                self.connected = False

    # ---- frames from the script -------------------------------------------------------------------

    def pump(self, budget_s: float = 0.02) -> int:
        """Read what has arrived, for at most ``budget_s``; the number of frames handled."""
        n, end = 0, time.perf_counter() + budget_s
        while self.connected:
            try:
                if not self.conn.poll(0):
                    break
                header, arrays = wire.decode(self.conn.recv_bytes(wire.MAX_FRAME))
            except (EOFError, OSError):
                self._lost()
                break
            except wire.WireError as exc:
                self._lost(f"the script sent a frame that is not ours ({exc})")
                break
            self._handle(header, arrays)
            n += 1
            if time.perf_counter() > end:
                break
        if self.records and time.perf_counter() - self._diagnosed > DIAGNOSE_EVERY_S:
            self.refresh_findings()
        return n

    def refresh_findings(self) -> None:
        self._diagnosed = time.perf_counter()
        self.findings = diagnose(self._first + self.records[len(self._first):] if len(self.records) < KEEP_LAST
                                 else self._first + self.records, self.layers, self.hello)

    def _handle(self, h: dict, arrays: dict) -> None:
        kind = h.get("type")
        if kind == "batches":
            records = _records(h, arrays.pop("table", None), arrays.pop("has", None))
            names = h.get("figures") if isinstance(h.get("figures"), dict) else {}
            chunks = _chunks(names, arrays)
            for r in records:
                self._batch(_with_figures(r, chunks))
        elif kind == "epoch":
            self._epoch(h)
        elif kind == "paused":
            self.step = int(h.get("step", self.step))
            self.epoch, self.batch = int(h.get("epoch", self.epoch)), int(h.get("batch", self.batch))
            reason = self._next_pause
            self._set_state(State.PAUSED, self.message if reason == PauseReason.WATCHPOINT else "", reason)
            self._next_pause = PauseReason.USER
        elif kind == "resumed":
            self._set_state(State.RUNNING)
        elif kind == "weights":
            self._want_weights = False
            self.weights, self.weights_step = arrays, int(h.get("step", 0))
            if self.first_weights is None and arrays:
                self.first_weights = (self.weights_step, arrays)
        elif kind == "snapshots":
            self.snapshots = [SnapshotInfo(*row) for row in h.get("list", []) if isinstance(row, list) and len(row) == 4]
        elif kind == "snapshot" and h.get("found"):
            self.snapshot_arrays[int(h["step"])] = arrays
        elif kind == "restored" and h.get("found"):
            self.restored.append((int(h["step"]), int(h.get("at", self.step))))
        elif kind == "gradcheck_progress":
            self.gradcheck_progress = (str(h.get("layer", "")), int(h.get("done", 0)), int(h.get("total", 1)))
        elif kind == "gradcheck":
            self.gradcheck_progress = None
            self.gradcheck = GradcheckReport(int(h.get("step", 0)), int(h.get("rows", 0)), list(h.get("layers", [])),
                                             {k[len("errors/"):]: v for k, v in arrays.items()},
                                             str(h.get("problem", "")), str(h.get("reduction", "")))
        elif kind == "crashed":
            self.crash = Crash(str(h.get("summary", "")), str(h.get("traceback", "")), int(h.get("step", 0)))
        elif kind == "stopped":
            self._set_state(State.STOPPED, f"stopped at step {h.get('step', self.step)}")
            self.close()
        elif kind == "bye":  # (also after a crash: the script's exit handlers run)
            if arrays:  # the weights as the script ended
                self.weights, self.weights_step = arrays, int(h.get("step", self.step))
            if self.crash is not None:
                self._set_state(State.STOPPED, f"{self.script} raised {self.crash.summary}")
            else:
                self._set_state(State.FINISHED, f"{self.script} finished after {self.step:,} batches")
            self.close()

    def _batch(self, r: dict) -> None:
        if isinstance(r.get("rows"), int):  # sent when it changes: every record carries it (the feed's rate)
            self._rows = r["rows"]
        elif self._rows:
            r["rows"] = self._rows
        if "layers" in r and isinstance(r["layers"], list):
            self.layers = [dict(l) for l in r["layers"] if isinstance(l, dict) and "name" in l]
        if isinstance(r.get("n"), int) and r["n"] > 0:
            self.batches_per_epoch = r["n"]
        # as TrainingSession: epoch = epochs completed, batch = the next batch within the epoch
        self.step, self.epoch, self.batch = int(r.get("s", self.step + 1)), int(r.get("e", self.epoch)), int(r.get("b", 0)) + 1
        figures = r.get("L", {}) if isinstance(r.get("L"), dict) else {}
        self.latest = figures
        self._keep_series(figures)
        loss, acc = _f(r.get("loss")), _f(r.get("acc"))
        self.history.batch_loss.append(loss)
        self.history.batch_acc.append(acc)
        self.records.append(r)
        if len(self._first) < KEEP_FIRST:
            self._first.append(r)
        if len(self.records) > KEEP_LAST + KEEP_FIRST:
            del self.records[:len(self.records) - KEEP_LAST]
        event = BatchEvent(self.step, self.epoch, self.batch - 1, loss, acc, _f(r.get("lr")), layer_stats(figures))
        self._emit(event)
        if r.get("w") or self.checks:
            self._judge(event, answer=bool(r.get("w")))

    def _keep_series(self, figures: dict) -> None:
        """This batch's SERIES figures per layer, kept for the whole run (a few floats a batch)."""
        self.series_steps.append(self.step)
        for name in [*self.series, *(n for n in figures if n not in self.series)]:
            per = self.series.get(name)
            if per is None:
                per = self.series[name] = {k: array("d", [math.nan]) * (len(self.series_steps) - 1) for k in SERIES}
            f = figures.get(name)
            for k in SERIES:
                per[k].append(_f(f.get(k)) if isinstance(f, dict) else math.nan)

    def _epoch(self, h: dict) -> None:
        logs = h.get("logs", {}) if isinstance(h.get("logs"), dict) else {}
        pick = lambda *names: next((_f(logs[n]) for n in names if n in logs), math.nan)
        own = lambda key, *names: v if math.isfinite(v := _f(h.get(key))) else pick(*names)
        e = EpochEvent(int(h.get("epoch", self.epoch + 1)), own("train_loss", "train_loss"),
                       own("train_acc", "train_acc", "acc"),
                       pick("valid_loss", "val_loss"), pick("valid_acc", "val_acc", "valid_accuracy"),
                       _f(h.get("seconds")), epoch_stats(self.records, int(h.get("epoch", 0)) - 1))
        e.logs = logs
        self.history.epochs.append(e)
        self.epoch, self.batch = e.epoch, 0
        self.batches_per_epoch = self.batches_per_epoch or max(0, int(h.get("batches", 0)))
        self._emit(e)
        if h.get("w") or self.checks:
            last = BatchEvent(self.step, e.epoch - 1, max(0, int(h.get("batches", 1)) - 1), e.train_loss, e.train_acc,
                              math.nan, e.layers)
            self._judge(last, answer=bool(h.get("w")))

    def _judge(self, event: BatchEvent, answer: bool) -> None:
        """Watchpoints on this batch. ``answer``: the script sent it in lockstep and waits for the verdict."""
        for check in self.checks:
            message = check(self, event)
            if message:
                self.message, self._next_pause = message, PauseReason.WATCHPOINT
                self._send({"type": "pause"})
                return
        if answer:
            self._send({"type": "go"})

    def _lost(self, why: str = "") -> None:
        self.connected = False
        if not self.done:
            if self.crash is not None:
                self._set_state(State.STOPPED, f"{self.script} raised {self.crash.summary}")
            else:
                self._set_state(State.FINISHED, why or f"{self.script} ended after {self.step:,} batches")


def _records(h: dict, table, has) -> list[dict]:
    """A frame's batches as records, from its table (a row of COLUMNS per batch) and the few extra fields some
    batches carry; nothing from a table that does not add up."""
    if not (isinstance(table, np.ndarray) and isinstance(has, np.ndarray) and table.ndim == 2
            and table.shape[1] == len(COLUMNS) and has.shape == (len(table), 2) and h.get("columns") == list(COLUMNS)):
        return []
    counters = table[:, [0, 1, 2, 6, 7]]
    if not (np.abs(counters) < 2.0 ** 53).all():  # (NaN fails too) whole numbers a step counter can hold
        return []
    extras = {e[0]: e[1] for e in h.get("extras", []) if isinstance(e, list) and len(e) == 2
              and isinstance(e[0], int) and isinstance(e[1], dict)}
    out = []
    for i, ((s, e, b, t, loss, acc, chunk, row), (has_loss, has_acc)) in enumerate(zip(table.tolist(), has.tolist())):
        r = {"s": int(s), "e": int(e), "b": int(b), "t": t, "Lk": [int(chunk), int(row)]}
        if has_loss:
            r["loss"] = loss
        if has_acc:
            r["acc"] = acc
        if i in extras:
            r.update(extras[i])
        out.append(r)
    return out


def _chunks(names: dict, arrays: dict) -> dict[str, list[dict]]:
    """Per chunk of a frame: every batch's layer figures, unpacked once for the whole chunk."""
    by_chunk: dict[str, dict] = {}
    for key, a in arrays.items():
        chunk, _, figure = key.partition(":")
        by_chunk.setdefault(chunk, {})[figure] = a
    out = {}
    for chunk, figures in by_chunk.items():
        layer_names = names.get(chunk)
        try:
            out[chunk] = unpack([str(n) for n in layer_names], figures) if isinstance(layer_names, list) else []
        except (KeyError, IndexError, TypeError, ValueError):
            out[chunk] = []  # a frame that does not add up: its batches without their figures
    return out


def _with_figures(r: dict, chunks: dict[str, list[dict]]) -> dict:
    """The record with its layers' figures (``L``), from the chunk and row it names."""
    at = r.pop("Lk", None)
    if isinstance(at, list) and len(at) == 2 and isinstance(at[1], int):
        rows = chunks.get(str(at[0]), [])
        r["L"] = rows[at[1]] if 0 <= at[1] < len(rows) else {}
    return r


def _f(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def layer_stats(figures: dict) -> dict[str, LayerStats]:
    """The engine's per-layer figures from the script's (what the gradient views draw)."""
    return {name: LayerStats(_f(f.get("grad_mean_abs")), _f(f.get("grad_to_weight")),
                             _f(f.get("saturation", 0.0)), _f(f.get("dead", 0.0)))
            for name, f in figures.items() if isinstance(f, dict)}


def epoch_stats(records: list[dict], epoch: int) -> dict[str, LayerStats]:
    """Mean per-layer figures over an epoch's batches (those still kept)."""
    rows = [r.get("L", {}) for r in records if r.get("e") == epoch]
    names = {n for f in rows for n in f}

    def mean(n, k):
        values = [v for f in rows if n in f and math.isfinite(v := _f(f[n].get(k)))]
        return float(np.mean(values)) if values else math.nan
    return {n: LayerStats(mean(n, "grad_mean_abs"), mean(n, "grad_to_weight"), mean(n, "saturation"),
                          mean(n, "dead")) for n in sorted(names)}


