"""What the worker tells the panels about an attached script: the messages the engine's session gets
(``SessionInfo``, ``Update``, ``Position``, ``TimelineInfo``; gui/worker/events.py), built from an
``engine.remote.session.RemoteSession``, so Curves, Weights, Gradients, Controls, Watchpoints and the
Timeline show the user's own loop without knowing it is one. It runs in the worker thread, for the
runner (gui/worker/runners/remote.py).

The script is another process: its frames arrive about 20 times a second, and updates go out at most
``EMIT_S`` apart. The first layer's weights (the only big array the panels draw) are asked for only
as often as they are drawn. An announcement takes a new generation of the window's shared counter,
so the engine's messages and the script's are never mixed in a panel.
"""
from __future__ import annotations

import math
import time

import numpy as np

from engine.debug.stats import LayerStats
from engine.training.session import BatchEvent, EpochEvent, State, StateEvent, TrainConfig
from gui.worker.messages import BranchInfo, Pending, Position, SessionInfo, TimelineInfo, Update

EMIT_S = 0.1  # between two updates (the panels redraw at most 10 times a second)
RECENT = 64  # batches the table's figures are averaged over (as the engine's gradient words)


def _mean(records: list[dict], layer: str, key: str) -> float:
    values = [v for r in records if isinstance(v := r.get("L", {}).get(layer, {}).get(key), (int, float))
              and math.isfinite(v)]
    return float(np.mean(values)) if values else math.nan


class RemoteFeed:
    """The panels' messages about one attached script (``session``)."""

    def __init__(self, worker, session, script: str):
        self.worker, self.session, self.script = worker, session, script
        self.generation = -1
        self.view_step: int | None = None  # the snapshot the panels show (None: live)
        self.pending = Pending()
        self.grads: dict[str, list[float]] = {}  # layer -> mean |dW| of every batch, for a redraw from scratch
        self.last_emit = 0.0
        self._snap_mark: tuple | None = None
        self._shown_state: tuple | None = None
        self._shape: tuple = ()  # (batches per epoch, layers) as last announced
        session.subscribe(self.on_event)

    @property
    def active(self) -> bool:
        """The panels follow this script (nothing else was announced since)."""
        return self.generation == self.worker.feed.generation

    # ---- what the panels are told ---------------------------------------------------------------

    def layers(self) -> list[tuple[str, str, int]]:
        return [(l["name"], l.get("activation", "") or "sigmoid", int((l.get("shape") or [0, 0])[-1]))
                for l in self.session.layers]

    def first_weights(self, arrays: dict | None = None) -> np.ndarray:
        """The first layer's W as last received (zeros of its shape before the first arrival)."""
        s = self.session
        shape = tuple(s.layers[0].get("shape") or (1, 1)) if s.layers else (1, 1)
        W = (arrays if arrays is not None else s.weights).get("W" + s.layers[0]["name"]) if s.layers else None
        return np.asarray(W, np.float32) if W is not None and W.shape == shape else np.zeros(shape, np.float32)

    @property
    def config(self) -> TrainConfig:
        """The engine session's settings, passed along untouched (the script's own are in its code): the
        Controls form keeps what the user set there."""
        return self.worker.session.config if self.worker.session is not None else TrainConfig()

    @property
    def bpe(self) -> int:
        return max(1, self.session.batches_per_epoch or self.session.batch)

    def position(self) -> Position:
        s = self.session
        if self.view_step is not None:
            snap = next((i for i in s.snapshots if i.step == self.view_step), None)
            epoch, batch = (snap.epoch, snap.batch) if snap else (s.epoch, s.batch)
            return Position(self.view_step, epoch, batch, self.bpe, 0, self.view_step)
        return Position(s.step, s.epoch, s.batch, self.bpe, 0)

    def announce(self, view_step: int | None = None, arrays: dict | None = None) -> None:
        """Every panel redraws from scratch: the script live, or (time travel) one of its snapshots."""
        w, s = self.worker, self.session
        w.feed.generation += 1
        self.generation, self.view_step, self.pending = w.feed.generation, view_step, Pending()
        self._shape = (self.bpe, self.layers())
        pos = self.position()
        n = pos.step
        epochs = [e for e in s.history.epochs if e.epoch <= pos.epoch]
        layers = self.layers()
        classes = tuple(str(i) for i in range(layers[-1][2])) if layers else ()
        rows = next((r["rows"] for r in reversed(s.records) if isinstance(r.get("rows"), int)), 0)
        empty = np.zeros(0, np.float64)
        w.session_changed.emit(SessionInfo(
            self.generation, self.script, classes, self.config, layers, rows * self.bpe, 0, self.bpe, n, pos.epoch,
            pos.batch, s.state, "" if view_step is not None else s.message, empty, empty, epochs,
            self.first_weights(arrays), None, "", view_step, "", id(s), script=self.script))
        if n:
            grads = {k: np.asarray(v[:n], np.float64) for k, v in self.grads.items()}
            w.updated.emit(self._update(np.arange(1, n + 1), np.asarray(s.history.batch_loss[:n], np.float64),
                                        np.asarray(s.history.batch_acc[:n], np.float64), grads, [],
                                        self.first_weights(arrays), s.records[-RECENT:] if view_step is None else []))
        self.last_emit = time.perf_counter()
        w.position.emit(pos)
        w.state_changed.emit(s.state, "" if view_step is not None else s.message)
        self._shown_state = (s.state, s.message)
        self.publish_timeline()
        w.watches.publish()

    def _update(self, steps, losses, accs, grads, epochs, weights, recent) -> Update:
        s = self.session
        stats = {n: LayerStats(_mean(recent, n, "grad_mean_abs"), _mean(recent, n, "update_ratio"),
                               _mean(recent, n, "saturation"), _mean(recent, n, "dead"))
                 for n, _, _ in self.layers()} if recent else {}
        lr = next((r["lr"] for r in reversed(recent) if isinstance(r.get("lr"), (int, float))), math.nan)
        timed = [r for r in recent[-50:] if isinstance(r.get("t"), (int, float)) and isinstance(r.get("rows"), int)]
        seconds = sum(r["t"] for r in timed)
        rate = sum(r["rows"] for r in timed) / seconds if seconds > 0 and s.state == State.RUNNING else 0.0
        snapshots = None
        mark = (len(s.snapshots), s.snapshots[-1].step if s.snapshots else -1)
        if mark != self._snap_mark:
            self._snap_mark, snapshots = mark, [i.step for i in s.snapshots]
        findings = [(f.words, not f.words.endswith(": consistent")) for f in s.findings]
        return Update(self.generation, s.state, s.step, s.epoch, s.batch, self.bpe, 0, lr, np.asarray(steps, np.int64),
                      losses, accs, grads, stats, [], {}, {n: a for n, a, _ in self.layers()}, epochs, None, weights,
                      rate, None, {k: (np.asarray(st, np.int64), np.asarray(v, float))
                                   for k, (st, v) in self.pending.traces.items()}, snapshots, 0, findings=findings)

    def flush(self, force: bool = False) -> None:
        """An Update with what arrived since the last one (at most every EMIT_S unless forced)."""
        p = self.pending
        if not self.active or self.view_step is not None:
            return
        if self._shape != (self.bpe, self.layers()):  # the first batch told the epoch's length and the activations
            self.announce()
            return
        if not force and (not (p.steps or p.epochs) or time.perf_counter() - self.last_emit < EMIT_S):
            return
        self.pending = Pending()
        s = self.session
        grads = {k: np.asarray(v[len(v) - len(p.steps):], np.float64) for k, v in self.grads.items()} if p.steps else {}
        self.last_emit = time.perf_counter()
        self.worker.updated.emit(self._update(p.steps, np.asarray(p.losses, np.float64), np.asarray(p.accs, np.float64),
                                              grads, p.epochs, self.first_weights(), s.records[-RECENT:]))
        self.worker.position.emit(self.position())

    def publish_timeline(self) -> None:
        s, w = self.session, self.worker
        h = s.history
        valid = (np.asarray([e.epoch for e in h.epochs], float), np.asarray([e.valid_acc for e in h.epochs], float))
        branch = BranchInfo(self.script, 0, "", 0, self.config, np.asarray(h.batch_loss, np.float64), valid, self.bpe,
                            True)
        w.timeline.changed.emit(TimelineInfo(self.generation, [branch], [i.step for i in s.snapshots], s.step,
                                             self.view_step, 0, 0))

    # ---- the session's events (during pump) ------------------------------------------------------

    def on_event(self, event) -> None:
        w, s = self.worker, self.session
        if type(event) is BatchEvent:
            p = self.pending
            p.steps.append(event.step)
            p.losses.append(event.loss)
            p.accs.append(event.acc)
            for name, _, _ in self.layers():
                stats = event.layers.get(name)
                self.grads.setdefault(name, [math.nan] * (event.step - 1)).append(
                    stats.grad_mean_abs if stats is not None else math.nan)
            if self.active and w.watches.points:
                w.watches.observe_batch(s, event, p)
        elif isinstance(event, EpochEvent):
            self.pending.epochs.append(event)
            if self.active:
                w.watches.observe_epoch(s, event, self.pending)
        elif isinstance(event, StateEvent) and self.active and self.view_step is None:
            self.flush(force=True)
            if (event.state, event.message) != self._shown_state:
                self._shown_state = (event.state, event.message)
                w.state_changed.emit(event.state, event.message)
            if event.state == State.PAUSED and event.message:
                w.watches.publish()  # the hit
            if event.state != State.RUNNING:
                self.publish_timeline()
