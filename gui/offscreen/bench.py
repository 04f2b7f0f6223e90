"""GUI benchmark: training throughput with the window open and updating vs headless, in one run,
and the event loop's lag while training (how late a 10 ms timer fires, p99).

Both sides train the same network on the same data (engine.bench.training's NIST-sized random set) with the
same config, timed by the same listener (first to last batch event), interleaved ``repeats`` times;
the best run of each side counts. A run is the reference exercise's: 50 epochs of NIST36's 10,800
training rows (16,900 batches). The window draws its first curves at once when training starts and
then spaces its redraws out to about 5 % of the time (``gui.worker.events``), so a much shorter run
weighs that start more than a user's run does (measured side by side: 0.87x for 6,000 batches, 0.92x
for 16,900 and for 20,000). ``main.py bench --gui`` prints ``lines()`` or ``as_json()``.
"""
from __future__ import annotations

import gc
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer
from PyQt6.QtWidgets import QApplication

from engine.bench.training import random_nist_sized
from engine.data.dataset import Dataset, Split
from engine.training.session import BatchEvent, State, TrainConfig, TrainingSession
from gui.app import MainWindow, delete_closed_windows, settle_heap
from gui.offscreen.screenshot import quiet_offscreen_warnings
from gui.widgets import theme
from gui.widgets.panel import REFRESHES

TIMER_MS = 10
TARGET_RATIO, TARGET_LAG_MS = 0.9, 50.0


@dataclass
class GuiBench:
    gui_examples_per_s: float
    headless_examples_per_s: float
    lag_p99_ms: float
    batches: int = 0
    repeats: int = 0

    @property
    def ratio(self) -> float:
        return self.gui_examples_per_s / self.headless_examples_per_s if self.headless_examples_per_s else 0.0

    def as_json(self) -> dict:
        return {"gui_examples_per_s": self.gui_examples_per_s,
                "headless_examples_per_s": self.headless_examples_per_s, "lag_p99_ms": self.lag_p99_ms}

    def lines(self) -> list[str]:
        ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
        return [f"headless training   {self.headless_examples_per_s:10,.0f} examples/s",
                f"GUI training        {self.gui_examples_per_s:10,.0f} examples/s   gui/headless = {self.ratio:.2f}\u00d7"
                f"  (target \u2265 {TARGET_RATIO}\u00d7: {ok(self.ratio >= TARGET_RATIO)})",
                f"event-loop lag p99  {self.lag_p99_ms:10.1f} ms           (target \u2264 {TARGET_LAG_MS:.0f} ms:"
                f" {ok(self.lag_p99_ms <= TARGET_LAG_MS)})",
                f"({self.batches} batches per run, best of {self.repeats} interleaved runs)"]


class Stopwatch:
    """Listener timing the batches of one run: examples per second from the first to the last."""

    def __init__(self):
        self.times: list[float] = []
        self.batch_size = 0

    def __call__(self, event) -> None:
        if isinstance(event, BatchEvent):
            self.times.append(time.perf_counter())

    def examples_per_s(self, batch_size: int) -> float:
        if len(self.times) < 2:
            return 0.0
        return (len(self.times) - 1) * batch_size / (self.times[-1] - self.times[0])


def bench_data(n_train: int | None = None) -> Dataset:
    data = random_nist_sized()
    if n_train is not None:
        t = data.train
        data = Dataset(data.name, data.classes, Split(t.x[:n_train], t.y[:n_train]), data.valid, data.test)
    return data


def headless_run(data: Dataset, config: TrainConfig, batches: int) -> float:
    session = TrainingSession(data, config)
    watch = Stopwatch()
    session.subscribe(watch)
    session.run(max_batches=batches)
    return watch.examples_per_s(config.batch_size)


REFERENCE_RUN_BATCHES = 50 * 338  # 50 epochs of 10,800 rows in batches of 32


def bench_gui(batches: int = REFERENCE_RUN_BATCHES, repeats: int = 5, n_train: int | None = None) -> GuiBench:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    quiet_offscreen_warnings()
    app = QApplication.instance() or QApplication(["backprop-studio-bench"])
    theme.configure_pyqtgraph()
    data = bench_data(n_train)
    config = TrainConfig(epochs=10_000)
    best_gui = best_headless = 0.0
    lags: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "bench.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, data=data, config=config)
        window.resize(1600, 1000)
        window.show()
        settle_heap()  # as run_app does
        loop = QEventLoop()
        try:
            _wait(app, lambda: window.info is not None)
            for _ in range(repeats):
                best_headless = max(best_headless, headless_run(data, config, batches))

                generation = window.info.generation
                window.worker.reset(config)
                _wait(app, lambda: window.info.generation != generation and window.state == State.IDLE)
                _wait_drawn(app)  # the new session's redraw belongs to the reset, not to the training timed
                watch = Stopwatch()
                window.worker.session.subscribe(watch)  # the worker thread is idle: safe to add
                clock = QElapsedTimer()
                timer = QTimer()
                timer.setTimerType(Qt.TimerType.PreciseTimer)
                run_lags: list[float] = []

                def tick():
                    run_lags.append(max(0.0, clock.nsecsElapsed() / 1e6 - TIMER_MS))
                    clock.restart()

                def on_state(state, _message):
                    if state != State.RUNNING:
                        loop.quit()

                timer.timeout.connect(tick)
                window.worker.state_changed.connect(on_state)
                clock.start()
                timer.start(TIMER_MS)
                window.worker.start(config, max_batches=batches)
                loop.exec()
                timer.stop()
                window.worker.state_changed.disconnect(on_state)
                lags.extend(run_lags[1:])
                best_gui = max(best_gui, watch.examples_per_s(config.batch_size))
        finally:
            window.saved_step = window.step
            window.close()
            delete_closed_windows()  # this function's event loop has ended: Qt deletes the window now
            gc.unfreeze()  # a process that goes on (a test) collects its garbage as before
    return GuiBench(best_gui, best_headless, float(np.percentile(lags, 99)) if lags else float("nan"),
                    batches, repeats)


def _wait_drawn(app) -> None:
    """Until every panel has redrawn what it was sent (gui.panels.REFRESHES ran dry)."""
    drawn = []
    REFRESHES.when_idle(lambda: drawn.append(True))
    _wait(app, lambda: bool(drawn))


def _wait(app, condition, timeout_s: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the GUI did not get ready")
        app.processEvents()
        time.sleep(0.002)
