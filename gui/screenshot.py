"""``python main.py screenshot --out DIR [--steps N]``: train N batches in an offscreen window and save
one PNG per panel plus one of the whole window (for the README, and for looking at every panel
without a display). Uses throwaway settings, so it never touches the user's.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from engine.dataset import Dataset
from engine.session import State, TrainConfig

WINDOW_SIZE = (1600, 1000)


def quiet_offscreen_warnings() -> None:
    """The offscreen platform says 'This plugin does not support propagateSizeHints()' for every dock;
    it is harmless and would bury what the command prints. Everything else still goes to stderr."""
    from PyQt6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message):
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)


def wait_until(app, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.005)


def settle(app, seconds: float = 0.3) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def screenshot(out: str | os.PathLike, steps: int = 750, data: Dataset | str = "glyphs",
               config: TrainConfig | None = None, size: tuple[int, int] = WINDOW_SIZE,
               timeout_s: float = 600.0) -> list[Path]:
    """Train ``steps`` batches and save window.png and <panel>.png into ``out``; returns the paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from gui.app import APP, ORG, MainWindow

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    quiet_offscreen_warnings()
    app = QApplication.instance() or QApplication([APP])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    pg.setConfigOptions(background="w", foreground="#222")
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, data=data, config=config or TrainConfig())
        try:
            window.resize(*size)
            window.show()
            wait_until(app, lambda: window.info is not None or window.last_error, timeout_s, "the data")
            if window.info is None:
                raise OSError(window.last_error)
            if steps > 0:
                window.worker.start(config or window.controls.config(), max_batches=steps)
                wait_until(app, lambda: window.step >= steps or window.state in (
                    State.FINISHED, State.DIVERGED, State.STOPPED), timeout_s, f"{steps} batches")
                wait_until(app, lambda: window.state != State.RUNNING, 30, "the pause")
            settle(app)
            confusion = window.panels.get("confusion")
            if confusion is not None and confusion.most_confused() is not None:
                confusion.show_cell(*confusion.most_confused())
            weights = window.panels.get("weights")
            if weights is not None and weights.W is not None:
                weights.select(0)
            settle(app)
            paths = [out / "window.png"]
            window.grab().save(str(paths[0]))
            for key, dock in window.docks.items():
                path = out / f"{key}.png"
                dock.widget().grab().save(str(path))
                paths.append(path)
            return paths
        finally:
            window.saved_step = window.step  # nothing to offer to save
            window.close()
            settings.sync()
