"""The user's own training script under the debugger, in the worker thread (issue 19).

``RemoteRunner`` owns the window's ``Host`` (engine/remote/host.py: a private socket the window always
listens on, in the rendezvous folder, so a script run on its own attaches), the ``Child`` it starts for
"Debug a script" (engine/remote/child.py: the script in its own interpreter, its output in a log), and
the attached ``RemoteSession`` (engine/remote/session.py). A timer in the worker thread pumps them, never
blocking: the window stays responsive while the script is busy, paused or hung. What the panels see is
built by ``RemoteFeed`` (gui/worker/remote_feed.py); the console gets the script's output and how it ended.

While the panels show the script (``active``), the worker hands it the window's commands: pause,
resume, step a batch or an epoch, pace, the gradient check (runners/gradcheck.py), time travel and
restore (timeline.py). Closing the window lets the script go on without it (``close``).
"""
from __future__ import annotations

import math
import signal
import sys
import time

import numpy as np
from backprop_studio import link
from PyQt6.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot

from engine.errors import InputError
from engine.nn.gradcheck import PER_WEIGHT_LIMIT
from engine.remote.child import last_traceback, start
from engine.remote.host import Host, private_folder
from engine.remote.session import RemoteSession
from engine.remote.weights import to_network
from engine.report.script import ScriptRun
from engine.training.session import State
from gui.worker.messages import GradcheckResult
from gui.worker.remote_feed import RemoteFeed

BUSY_MS, IDLE_MS = 20, 100  # the timer: with a script to follow, and only listening
PUMP_S = 0.015  # frames read per tick, at most this long
OUTPUT_S = 0.1  # the script's output is read (and appended to the console) at most this often
WEIGHTS_S = 0.5  # the first layer's weights are asked for at most this often while the script runs
STOP_ESCALATION_S = (3.0, 6.0, 9.0)  # after Stop: SIGINT, SIGTERM, SIGKILL for a script that does not stop
GRADCHECK_WEIGHTS = 8192  # weights sampled per tensor (every one of a smaller tensor): about 3 s for the example


class RemoteRunner(QObject):
    output = pyqtSignal(str)  # the script's stdout and stderr, as they come
    began = pyqtSignal(str, str)  # the script, how it came ("started by the window, pid N" / "attached on its own")
    ended = pyqtSignal(str, str)  # how it ended in one line ("exited 0", "exited 1: ValueError: ..."), traceback

    def __init__(self, worker):
        super().__init__(worker)
        self.worker = worker
        self.host: Host | None = None
        self.child = None  # engine.remote.child.Child
        self.session: RemoteSession | None = None
        self.feed: RemoteFeed | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        self._due = math.inf  # perf_counter time of the next tick (the worker's long passes end for it)
        self._weights_asked = 0.0
        self._weights_fresh = False  # the weights shown are the script's at its current step
        self._seen: tuple = (None, None)  # (the weights received, the state) at the last tick
        self._stop_at: float | None = None
        self._signalled = 0.0  # the escalation step reached after Stop
        self._read_at = 0.0
        self._check: tuple | None = None  # the gradient check asked for: (layer index, name, start)
        self._travel: int | None = None  # the snapshot asked for
        self._told_end = True
        self.args: list[str] | None = None  # the attached script's arguments if the window started it, else None
        self.summary = ""  # how the attached (or last attached) script ended ("" while it runs)
        self._started: tuple | None = None  # (the child, its arguments) the window started last
        self._mine = None  # the child that is the attached script (None: it attached on its own)

    # ---- commands (GUI thread: messages to the worker) ----------------------------------------------

    def listen(self) -> None:
        """Listen for scripts (the window's rendezvous folder; a private one if another window has it)."""
        self.worker.send(self._listen)

    def debug(self, script: str, args: list[str]) -> None:
        """Run ``python SCRIPT ARGS`` attached to this window."""
        self.worker.send(lambda: self._debug(script, list(args)))

    def stop(self) -> None:
        """End the script: at its next batch boundary, else interrupted, terminated, killed."""
        self.worker.send(self._stop)

    # ---- worker thread ------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """The panels show the script: the window's run commands are its."""
        return self.feed is not None and self.feed.active

    def due(self) -> bool:
        return time.perf_counter() >= self._due

    def _listen(self) -> None:
        if self.host is not None:
            return
        try:
            self.host = Host(link.rendezvous())
        except OSError:  # another window listens there: scripts started by this one still attach
            self.host = Host(private_folder())
        self._schedule()

    def _debug(self, script: str, args: list[str]) -> None:
        self._listen()
        if self.child is not None and self.child.returncode is None:
            raise InputError(f"{self.child.script.name} is still running: stop it first (one script at a time)")
        if self.session is not None and self.session.connected:
            raise InputError(f"{self.session.script} is attached: stop it first (one script at a time)")
        self.child = start(script, args, self.host.env)
        self._told_end, self._started = False, (self.child, list(args))
        self._stop_at = None
        self.began.emit(" ".join([self.child.script.name, *args]), f"started by the window, pid {self.child.pid}")
        self._schedule()

    def _stop(self) -> None:
        if self.session is not None and self.session.connected:
            self.session.stop()
        if self.child is not None and self.child.returncode is None:
            self._stop_at = time.perf_counter()
            if self.session is None or not self.session.connected:
                self.child.signal(signal.SIGINT)  # not attached (yet): a KeyboardInterrupt now

    def _schedule(self) -> None:
        busy = self.child is not None or (self.session is not None and self.session.connected)
        ms = BUSY_MS if busy else IDLE_MS
        self._due = time.perf_counter() + ms / 1000
        self._timer.start(ms)

    @pyqtSlot()  # (a slot: called in this object's thread, the worker's, not where it was connected)
    def _tick(self) -> None:
        if self.worker.is_stopping() or self.host is None:
            return
        try:
            self._accept()
            self._read_output()
            s = self.session
            if s is not None and s.connected:
                self._follow(s)
            self._escalate()
            self._check_end()
        except Exception as exc:  # noqa: BLE001 -- shown as a bug; the window (and the timer) go on
            self.worker.report(exc)
        finally:
            self._schedule()

    def _accept(self) -> None:
        attached = self.host.poll({"watching": bool(self.worker.watches.points), "pace": self.worker.pace,
                                   "want": ["weights"]})  # its weights at step 0: the tiles' and the report's first
        while self.host.refused:
            self.worker.exported.emit(f"refused {self.host.refused.pop(0)}: the window is debugging "
                                      f"{self.host.busy_with} (one script at a time); it runs without the debugger")
        if attached is None:
            return
        main = self.worker.main
        if main is not None and main.wants_cpu:
            main.pause()  # the engine's run waits while the panels follow the script
        mine = self.child is not None and self.child.returncode is None and attached.hello.get("pid") == self.child.pid
        s = self.session = RemoteSession(attached.conn, attached.hello, watching=bool(self.worker.watches.points))
        name = f"{s.script} (pid {attached.hello.get('pid', '?')})"
        self.feed = RemoteFeed(self.worker, s, s.script)
        self._mine = self.child if mine else None
        self.args, self.summary = (self._started[1] if mine and self._started else None), ""
        if not mine:
            self.child = None  # (one started by the window that has not attached yet goes on on its own)
            self._told_end = False
            self.began.emit(name, "attached on its own: its output stays in its own terminal")
        self.worker.watches.bind(s)
        self._weights_asked, self._weights_fresh = 0.0, False
        self._check = self._travel = None
        self.feed.announce()
        self.worker.exported.emit(f"debugging {name}: Space pauses, \u2192 steps one batch")

    def _read_output(self, now: bool = False) -> bool:
        """The script's new output, at most every OUTPUT_S (a script that prints every batch is one
        append to the console per pass, not hundreds)."""
        if self.child is not None and (now or time.perf_counter() - self._read_at >= OUTPUT_S):
            self._read_at = time.perf_counter()
            text = self.child.read()
            if text:
                self.output.emit(text)
                return True
        return False

    def _follow(self, s: RemoteSession) -> None:
        s.pump(PUMP_S)
        s.set_watching(bool(s.checks))
        now = time.perf_counter()
        if s.state != self._seen[1]:
            self._weights_fresh = False  # paused (or on again): the weights of exactly this step
        if s.weights is not self._seen[0] and s.state != State.RUNNING and self.feed is not None:
            self.feed.flush(force=True)  # drawn while paused too (running, the next update has them)
        self._seen = (s.weights, s.state)
        due = s.state == State.RUNNING and now - self._weights_asked > WEIGHTS_S
        if self.active and (not self._weights_fresh or due):
            self._weights_asked, self._weights_fresh = now, True
            s.want_weights()
        self._gradcheck_news(s)
        if self._travel is not None and self._travel in s.snapshot_arrays:
            step, self._travel = self._travel, None
            if self.active:
                self.feed.announce(view_step=step, arrays=s.snapshot_arrays.pop(step))
        while s.restored:
            step, at = s.restored.pop(0)
            self.worker.exported.emit(f"restored the weights of step {step:,} into the script's params (at its step "
                                      f"{at:,}); Space resumes from there")
        if self.feed is not None:
            self.feed.flush(force=not s.connected)
        if not s.connected:
            self.host.release()

    def _escalate(self) -> None:
        """A script that has not stopped after Stop: SIGINT, then SIGTERM, then SIGKILL."""
        if self._stop_at is None or self.child is None or self.child.returncode is not None:
            return
        waited = time.perf_counter() - self._stop_at
        for after, sig in zip(STOP_ESCALATION_S, (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)):
            if waited >= after and self._signalled < after:
                self._signalled = after
                self.child.signal(sig)

    def _check_end(self) -> None:
        """Say how the script ended, once: its exit (a child) or its goodbye (a script on its own)."""
        if self._told_end:
            return
        s = self.session
        if self.child is not None:
            if self.child.returncode is None or (s is not None and s.connected):
                return  # (its last frames are read first: the goodbye, a crash)
            while self._read_output(now=True):  # all of it (a read takes at most 1 MB)
                pass
            crash = s.crash if s is not None else None
            summary = self.child.summary()
            if crash is not None and ":" not in summary:
                summary += f": {crash.summary}"
            elif s is not None and s.state == State.STOPPED and crash is None:
                summary = f"{s.message} \u00b7 {summary}"
            elif self._stop_at is not None:  # Stop, before it attached or while it hung
                summary = f"stopped \u00b7 {summary}"
            self._end(summary, crash.traceback if crash is not None else last_traceback(self.child.tail()))
        elif s is not None and not s.connected:
            crash = s.crash
            self._end(f"raised {crash.summary}" if crash else s.message or "ended", crash.traceback if crash else "")

    def _end(self, summary: str, traceback: str) -> None:
        self._told_end, self._stop_at, self._signalled = True, None, 0.0
        if self.child is None or self.child is self._mine:  # (not a child's that never attached: another's run)
            self.summary = summary
        if self.host is not None:
            self.host.release()
        self.ended.emit(summary, traceback)

    def show(self, script: bool) -> None:
        """(GUI thread) The panels show the last script's run again (``script``: the "Your script" workspace,
        after a Reset too), or the built-in session again once that run has ended (the other workspaces)."""
        self.worker.send(lambda: self._show(script))

    def _show(self, script: bool) -> None:
        w = self.worker
        if script and self.feed is not None and not self.feed.active:
            if w.main is not None and w.main.wants_cpu:
                w.main.pause()  # as when a script attaches: the engine's run waits while the panels follow it
            self.feed.announce()
        elif not script and self.active and not self.session.connected and w.session is not None:
            w.timeline.view_index = None
            w.feed.announce()

    def report_run(self) -> ScriptRun:
        """(worker thread) The last script's run, for its HTML report (engine/report/script.py)."""
        if self.session is None:
            raise InputError("no script has attached to this window yet: File \u2192 Debug a script\u2026 (Ctrl+D)")
        return ScriptRun.of(self.session, self.args, self.summary)

    def network(self, data) -> tuple[object | None, str]:
        """(worker thread) The script's network with its weights as last received, when it fits ``data`` (its
        inputs and classes): (an engine Network, whose weights they are); else (None, why not)."""
        s = self.session
        if not s.weights:
            return None, f"{s.script}'s weights have not arrived yet"
        try:
            net, _ = to_network(s.weights, f"{s.script}'s weights", [l.get("activation") or "" for l in s.layers],
                                [l["name"] for l in s.layers])
        except InputError as exc:
            return None, str(exc)
        if (net.sizes[0], net.sizes[-1]) != (data.n_inputs, data.n_classes):
            shape = " \u2192 ".join(map(str, net.sizes))
            return None, (f"{s.script}'s {shape} network does not fit the window's "
                          f"data ({data.name}: {data.n_inputs} inputs, {data.n_classes} classes)")
        return net, f"{s.script}'s weights at step {s.weights_step:,} (as last received), on the window's data ({data.name})"

    # ---- the window's commands, for the script (worker thread, while ``active``) ---------------------

    def _live(self) -> None:
        if self.feed.view_step is not None:
            self.feed.announce()

    def pause(self) -> None:
        self.session.pause()

    def resume(self) -> None:
        self._live()
        self.session.resume()

    def step_batch(self) -> None:
        if self.session.state != State.RUNNING:
            self._live()
            self.session.step_batch()

    def step_epoch(self) -> None:
        self._live()
        self.session.step_epoch()

    def set_pace(self, bps: float | None) -> None:
        self.session.set_pace(bps)

    def travel(self, step: int | None) -> None:
        """Show the script's snapshot at ``step`` (None: back to live); the script pauses meanwhile."""
        s = self.session
        if step is None:
            self._travel = None
            self._live()
            return
        if not s.connected:
            raise InputError(f"{s.script} has ended: its snapshots ended with it")
        if s.state == State.RUNNING:
            s.pause()
        self._travel = int(step)
        s.request_snapshot(int(step))

    def restore(self, step: int | None) -> None:
        """Write the snapshot at ``step`` back into the script's params dict (it continues from there)."""
        if step is None:
            raise InputError("choose a snapshot on the timeline first: restore writes its weights back")
        if not self.session.connected:
            raise InputError(f"{self.session.script} has ended: there is no script to restore into")
        if self.session.state == State.RUNNING:
            self.session.pause()
        self.session.restore(int(step))
        self._live()
        self._weights_fresh = False

    def gradcheck(self, layer: int, rows: int) -> None:
        """The script's own gradient check (through its forward, backwards and loss), shown for ``layer``."""
        s = self.session
        if not s.connected:
            raise InputError(f"{s.script} has ended: its gradient check runs in the script")
        if not 0 <= layer < len(s.layers):
            raise InputError(f"no layer {layer + 1} (the script's network has {len(s.layers)})")
        self._check = (layer, s.layers[layer]["name"], time.perf_counter())
        s.run_gradcheck(rows, GRADCHECK_WEIGHTS)
        self.worker.busy.emit(f"gradient check of {s.script}'s backward pass \u2026 (the script waits for it)")

    def cancel_gradcheck(self) -> None:
        self._check = None
        self.worker.gradcheck.cancelled.emit()

    def _gradcheck_news(self, s: RemoteSession) -> None:
        if self._check is None:
            return
        if s.gradcheck is None:
            if s.gradcheck_progress is not None:
                _, done, total = s.gradcheck_progress
                self.worker.gradcheck.progress.emit(done, total)
            return
        report, (layer, name, started) = s.gradcheck, self._check
        self._check = None
        self.worker.busy.emit("")
        if report.problem:
            self.worker.gradcheck.cancelled.emit()
            raise InputError(f"gradient check: {report.problem}")
        self.worker.gradcheck.finished.emit(check_result(report, layer, name, s, time.perf_counter() - started))

    # ---- the window closes ---------------------------------------------------------------------------

    @pyqtSlot()
    def halt(self) -> None:
        """The worker thread ends (called in it): no more ticks."""
        self._timer.stop()
        self._due = math.inf


    def close(self) -> None:
        """(GUI thread, after the worker thread has ended) Let the script go: it carries on as if it had never
        been attached. Stop listening."""
        if self.session is not None:
            self.session.close()
        if self.host is not None:
            self.host.close()
            self.host = None
        if self.child is not None and self.child.returncode is None:
            print(f"backprop-studio: {self.child.script.name} (pid {self.child.pid}) goes on without the window; "
                  f"its output: {self.child.log_path}", file=sys.stderr)


def check_result(report, layer: int, name: str, s: RemoteSession, seconds: float) -> GradcheckResult:
    """The script's gradient check as the gradient-check panel shows one: the chosen layer's per-weight
    errors (NaN where a weight was not sampled), with every layer's PASS/FAIL in words."""
    entry = next((l for l in report.layers if l.get("name") == name), {})
    W = entry.get("W", {})
    errors = report.errors.get(name)
    shape = tuple(s.layers[layer].get("shape") or (1, 1))
    errors = np.asarray(errors, np.float64) if errors is not None else np.full(shape, np.nan)
    sampled = int(np.isfinite(errors).sum())
    worst = tuple(W.get("worst", (0, 0)))[:2]
    dtype = next((l.get("dtype", "") for l in s.hello.get("layers", []) if l.get("name") == name), "float64")
    tolerance = 2e-2 if dtype == "float32" else 1e-5  # (backprop_studio.numpy_run.EPS: float32's steps are coarse)
    words = report.lines() + [f"{sampled:,} of {errors.size:,} weights of {name} checked \u00b7 on {report.rows} rows "
                              "of the last batch \u00b7 through the script's own forward, backwards and loss"]
    return GradcheckResult(name, layer, s.layers[layer].get("activation", ""), errors,
                           float(W.get("tensor_error", math.nan)), float(W.get("max_error", math.nan)),
                           worst if len(worst) == 2 else (0, 0),
                           int(np.count_nonzero(errors >= PER_WEIGHT_LIMIT)), PER_WEIGHT_LIMIT, tolerance,
                           bool(entry.get("passed")), report.step, report.rows, seconds,
                           layer == 0 and errors.shape[0] == 1024, words)
