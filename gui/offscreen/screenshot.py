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

from PyQt6.QtCore import QPointF, QSettings, qInstallMessageHandler
from PyQt6.QtWidgets import QApplication

from engine.data.dataset import Dataset
from engine.training.autoencoder import AutoencoderConfig
from engine.training.session import State, TrainConfig
from gui.app import APP, ORG, MainWindow, delete_closed_windows
from gui.widgets import theme
from gui.widgets.export import save_png

WINDOW_SIZE = (1600, 1000)
SIZES = ((1366, 768), (1920, 1080))  # every workspace is saved at each of these


def quiet_offscreen_warnings() -> None:
    """The offscreen platform says 'This plugin does not support propagateSizeHints()' for every dock;
    it is harmless and would bury what the command prints. Everything else still goes to stderr."""
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
    """Train ``steps`` batches and save window.png and <panel>.png into ``out``; returns the paths.
    On the way it sets a watchpoint (watchpoints.png is taken when it first fires), then runs a preset
    experiment, a gradient check, the autoencoder and a time-travel branch for the other panels."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    quiet_offscreen_warnings()
    app = QApplication.instance() or QApplication([APP])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    theme.configure_pyqtgraph()
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, data=data, config=config or TrainConfig())
        shots: dict[str, Path] = {}

        def grab(key: str) -> None:
            panel = window.show_panel(key)
            settle(app, 0.4)
            shots[key] = out / f"{key}.png"
            save_png(panel.grab(), shots[key])

        grab.shots = shots

        try:
            window.resize(*size)
            window.show()
            wait_until(app, lambda: window.info is not None or window.last_error, timeout_s, "the data")
            if window.info is None:
                raise OSError(window.last_error)
            if steps > 0:
                _train(app, window, steps, config, grab, timeout_s)
            paths = _training_panels(app, window, out)
            _extras(app, window, steps, grab, timeout_s)
            return paths + list(shots.values()) + _workspaces(app, window, out)
        finally:
            window.saved_step = window.step  # nothing to offer to save
            window.close()
            delete_closed_windows()  # this function's event loop has ended: Qt deletes the window now
            settings.sync()


def _train(app, window, steps: int, config: TrainConfig | None, grab, timeout_s: float) -> None:
    """``steps`` batches, with a watchpoint that fires on the way (its panel is taken there, highlighted)."""
    if "watchpoints" in window.panels:  # the loss first dips under this about two thirds of the way
        window.worker.watches.add(f"loss < {2.2 if steps >= 300 else 3.5}")
        settle(app, 0.2)
    wait_until(app, lambda: window.info is not None, 30, "the session")
    while window.step < steps and window.state not in (State.FINISHED, State.DIVERGED, State.STOPPED):
        before = window.step
        window.worker.start(config or window.controls.config(), max_batches=steps - window.step)
        wait_until(app, lambda: window.step > before, 60, "the start")
        wait_until(app, lambda: window.step >= steps or window.state != State.RUNNING, timeout_s, f"{steps} batches")
        wait_until(app, lambda: window.state != State.RUNNING, 30, "the pause")
        if window.state == State.PAUSED and window.message and "watchpoints" not in grab.shots:
            grab("watchpoints")  # at the batch that fired, highlighted
        if window.state == State.PAUSED and not window.message:
            break


def _training_panels(app, window, out: Path) -> list[Path]:
    """window.png, controls.png and the Train workspace's panels (a confusion cell and a weight tile chosen)."""
    settle(app)
    confusion = window.panels.get("confusion")
    if confusion is not None and confusion.most_confused() is not None:
        confusion.show_cell(*confusion.most_confused())
    weights = window.panels.get("weights")
    if weights is not None and weights.W is not None:
        weights.select(0)
    for key in ("curves", "weights", "gradients", "confusion"):
        window.show_panel(key)
    settle(app)
    paths = [out / "window.png", out / "controls.png"]
    save_png(window.grab(), paths[0])
    save_png(window.controls.grab(), paths[1])
    for key in ("curves", "weights", "gradients", "confusion"):
        if key in window.panels:
            window.show_panel(key)  # (weights and confusion share a frame: bring each to the front)
            settle(app, 0.2)
            paths.append(out / f"{key}.png")
            save_png(window.panels[key].grab(), paths[-1])
    return paths


def _workspaces(app, window, out: Path) -> list[Path]:
    """workspace-<name>-<W>x<H>.png: every workspace at every size in SIZES (live, not time travelling),
    its default front tabs; then workspace-<name>-<tab>-<W>x<H>.png with each other tab in front, so every
    panel is seen at the sizes people have."""
    if window.info is not None and window.info.view_step is not None and "timeline" in window.panels:
        window.panels["timeline"].live()
        wait_until(app, lambda: window.info.view_step is None, 30, "the live session")
    paths = []
    for w, h in SIZES:
        window.resize(w, h)
        for key, page in window.workspaces.pages.items():
            window.show_workspace(key)
            page.front_tabs()  # the default front tabs, whatever the per-panel grabs brought forward
            settle(app, 0.5)
            paths.append(out / f"workspace-{key}-{w}x{h}.png")
            save_png(window.grab(), paths[-1])
            for frame in page.frames:
                for tab in frame.keys[1:]:
                    frame.select(tab)
                    settle(app, 0.4)
                    paths.append(out / f"workspace-{key}-{tab}-{w}x{h}.png")
                    save_png(window.grab(), paths[-1])
                frame.select(frame.keys[0])
    window.show_workspace("train")
    return paths


def _inspect_tools(app, window, grab, timeout_s: float) -> None:
    """The "why" tools of the Inspect workspace: a drawn Z, the hidden space, top losses, an explanation."""
    panels = window.panels
    if "draw" in panels:
        draw = window.show_panel("draw")
        wait_until(app, lambda: draw.widget.net is not None, timeout_s, "the draw panel's network")
        draw.widget.canvas.strokes = [[QPointF(60, 40), QPointF(200, 40), QPointF(60, 220), QPointF(200, 220)]]
        draw.widget.canvas.changed.emit()
        wait_until(app, lambda: draw.widget.row is not None and draw.widget.background.idle, timeout_s, "the drawing")
        grab("draw")
        draw.widget.explain_requested.emit(draw.widget.row)
    for key, ready in (("hidden_map", lambda p: p.widget.map is not None),
                       ("top_losses", lambda p: p.widget.top is not None),
                       ("explain", lambda p: p.widget.result is not None)):
        if key in panels:
            panel = window.show_panel(key)
            wait_until(app, lambda: ready(panel) and panel.widget.background.idle, timeout_s, key)
            settle(app, 0.2)
            grab(key)


def _extras(app, window, steps: int, grab, timeout_s: float) -> None:
    """Exercise the debugger's other panels and take their pictures."""
    panels, worker = window.panels, window.worker
    small = steps < 300
    if "watchpoints" in panels and "watchpoints" not in grab.shots:
        grab("watchpoints")
    if "experiments" in panels:
        panels["experiments"].run_preset("activation", 1 if small else 3)
        wait_until(app, lambda: bool(panels["experiments"].finding), timeout_s, "the experiment")
        grab("experiments")
    if "gradcheck" in panels:
        panels["gradcheck"].run_check()
        wait_until(app, lambda: panels["gradcheck"].result is not None, timeout_s, "the gradient check")
        grab("gradcheck")
    if "autoencoder" in panels:
        ae = panels["autoencoder"]
        n_train = window.info.n_train
        worker.autoencoder.start(AutoencoderConfig(epochs=1, min_train=n_train) if small else AutoencoderConfig())
        target = 1 if small else 4
        wait_until(app, lambda: len(ae.epochs) >= target or ae.state.value in ("finished", "diverged"),
                   timeout_s, "the autoencoder")
        worker.autoencoder.pause()
        wait_until(app, lambda: ae.state.value != "running", 30, "the autoencoder's pause")
        grab("autoencoder")
    if "ocr" in panels:
        ocr = window.show_panel("ocr")  # opens the first sample page when first shown
        wait_until(app, lambda: ocr.view is not None and ocr.idle, timeout_s, "the OCR page")
        ocr.select([3])
        grab("ocr")
        if "ocr_explain" in panels:
            box = window.show_panel("ocr_explain")
            wait_until(app, lambda: box.widget.result is not None, timeout_s, "the box's explanation")
            grab("ocr_explain")
        if "correction" in panels:
            window.show_panel("correction")
            grab("correction")
    _inspect_tools(app, window, grab, timeout_s)
    if "timeline" in panels:
        tl = panels["timeline"]
        wait_until(app, lambda: len(tl.steps) >= 2, 30, "snapshots")
        tl.go_index(len(tl.steps) // 2)
        wait_until(app, lambda: window.info.view_step is not None, 30, "the past")
        tl.momentum.setValue(0.9)  # "what if momentum?": a branch that learns faster, not one that diverges
        tl.branch_here()
        wait_until(app, lambda: len(tl.branches) == 2, 30, "the branch")
        before = window.step
        window.worker.start(None, max_batches=max(steps // 3, 5))
        wait_until(app, lambda: window.step > before, 30, "the branch's start")
        wait_until(app, lambda: window.state != State.RUNNING, timeout_s, "the branch's batches")
        settle(app, 0.3)
        tl.go_index(max(len(tl.steps) // 3, 1))
        wait_until(app, lambda: window.info.view_step is not None, 30, "the past")
        grab("timeline")
