"""The main window: docks for the panels, menus and shortcuts (one QAction per command, shared by
menus, buttons and keys), the status bar, remembered settings, drag and drop, and a clean close.

The window owns one ``Worker`` (gui/worker.py) and wires it to the panels; the panels never see
each other. Adding a view is one line in ``PANELS``.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import pyqtgraph as pg
from PyQt6.QtCore import QByteArray, QSettings, Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QStyle,
                             QWidget)

from engine.dataset import Dataset
from engine.session import State, TrainConfig
from gui.panels import REFRESHES, Panel
from gui.panels.confusion import ConfusionPanel
from gui.panels.controls import ControlsPanel
from gui.panels.curves import CurvesPanel
from gui.panels.gradients import GradientsPanel
from gui.panels.weights import WeightsPanel
from gui.worker import SessionInfo, Update, Worker

ORG = APP = "backprop-studio"
DEFAULT_DATA = "glyphs"
CHECKPOINT_FILTER = "Checkpoints (*.npz);;All files (*)"
DATA_FILTER = "Datasets (*.mat *.npz);;All files (*)"


@dataclass(frozen=True)
class PanelSpec:
    key: str
    factory: Callable[[], Panel]
    tab_with: str | None = None  # None: one of the tiles of the main grid; else a tab beside that panel


# The views, in grid order (2 x 2: curves | weights / gradients | confusion). Adding a view is one line,
# e.g. PanelSpec("ocr", OcrPanel, tab_with="confusion").
PANELS: list[PanelSpec] = [
    PanelSpec("curves", CurvesPanel),
    PanelSpec("weights", WeightsPanel),
    PanelSpec("gradients", GradientsPanel),
    PanelSpec("confusion", ConfusionPanel),
]

SHORTCUTS = [("Space", "start / pause"), ("\u2192", "step one batch"), ("Shift+\u2192", "step one epoch"),
             ("Ctrl+R", "reset with the form's settings"), ("Ctrl+O", "open a dataset"),
             ("Ctrl+L", "load a checkpoint"), ("Ctrl+S", "save a checkpoint"), ("Ctrl+Shift+S", "save as"),
             ("Ctrl+Q", "quit"), ("F1", "this list")]


def default_settings() -> QSettings:
    return QSettings(ORG, APP)


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, data: Dataset | str | None = None,
                 config: TrainConfig | None = None):
        """``data``: a Dataset, a spec ("glyphs" or a path), or None for the remembered one."""
        super().__init__()
        self.settings = settings if settings is not None else default_settings()
        self.setWindowTitle("backprop-studio")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.state = State.IDLE
        self.message = ""
        self.info: SessionInfo | None = None
        self.step = 0
        self.saved_step = 0
        self.checkpoint_path = ""
        self.error_box: QMessageBox | None = None
        self.last_error = ""
        self._requested_spec: str | None = None
        self._fell_back = False
        self._closed = False

        self.worker = Worker()
        self.actions = self._make_actions()
        self.controls = ControlsPanel(self.actions)
        self.panels: dict[str, Panel] = {}
        self.docks: dict[str, QDockWidget] = {}
        self._make_docks()
        self._make_menus()
        self._make_status_bar()

        for panel in [self.controls, *self.panels.values()]:
            panel.attach(self.worker)
        self.worker.session_changed.connect(self._on_session)
        self.worker.updated.connect(self._on_update)  # connected last: runs after every panel has drawn
        self.worker.state_changed.connect(self._on_state)
        self.worker.error.connect(self.show_error)
        self.worker.saved.connect(self._on_saved)
        self.worker.busy.connect(self._on_busy)

        self._restore_settings(config)
        self._update_actions()
        if isinstance(data, Dataset):
            self.worker.set_data(data, self._form_config())
        else:
            self.open_data(data or self.settings.value("data/spec", DEFAULT_DATA, str))

    # ---- construction --------------------------------------------------------------------------

    def _make_actions(self) -> dict[str, QAction]:
        style = self.style()
        icon = style.standardIcon
        px = QStyle.StandardPixmap

        def act(key, text, shortcut, tip, slot, pixmap=None):
            a = QAction(text, self)
            if pixmap is not None:
                a.setIcon(icon(pixmap))
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
                         if shortcut else tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        return {
            "start": act("start", "Start", "Space", "Start or pause training", self.toggle_run, px.SP_MediaPlay),
            "step_batch": act("step_batch", "Step batch", "Right", "Train exactly one batch", self.step_batch,
                              px.SP_MediaSeekForward),
            "step_epoch": act("step_epoch", "Step epoch", "Shift+Right", "Train to the end of the current epoch",
                              self.step_epoch, px.SP_MediaSkipForward),
            "reset": act("reset", "Reset", "Ctrl+R", "New weights with the form's settings, on the same data",
                         self.reset, px.SP_BrowserReload),
            "open_data": act("open_data", "Open data\u2026", "Ctrl+O",
                             "Open a NIST36 folder, .mat, .npz or image folder", self.ask_open_data),
            "embedded": act("embedded", "Embedded", "", "Go back to the embedded generated glyphs",
                            lambda: self.open_data(DEFAULT_DATA)),
            "open_folder": act("open_folder", "Open data folder\u2026", "Ctrl+Shift+O",
                               "Open a NIST36 folder of .mat files or a folder of class subfolders of images",
                               self.ask_open_folder),
            "load": act("load", "Load checkpoint\u2026", "Ctrl+L", "Continue a saved session", self.ask_load),
            "save": act("save", "Save checkpoint", "Ctrl+S", "Save the session (weights, optimizer, history)",
                        self.save, px.SP_DialogSaveButton),
            "save_as": act("save_as", "Save checkpoint as\u2026", "Ctrl+Shift+S", "Save the session to a new file",
                           self.save_as),
            "quit": act("quit", "Quit", "Ctrl+Q", "Close the window (offers to save)", self.close),
            "shortcuts": act("shortcuts", "Keyboard shortcuts", "F1", "List the keyboard shortcuts",
                             self.show_shortcuts),
        }

    def _make_docks(self) -> None:
        controls = QDockWidget("Controls", self)
        controls.setObjectName("dock_controls")
        controls.setWidget(self.controls)
        controls.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.controls.setMinimumWidth(270)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, controls)
        self.docks["controls"] = controls
        tiles = []
        for spec in PANELS:
            panel = spec.factory()
            dock = QDockWidget(panel.title, self)
            dock.setObjectName(f"dock_{spec.key}")
            dock.setWidget(panel)
            self.panels[spec.key], self.docks[spec.key] = panel, dock
            if spec.tab_with is None:
                tiles.append(dock)
            else:
                self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
                self.tabifyDockWidget(self.docks[spec.tab_with], dock)
                self.docks[spec.tab_with].raise_()
        self.setCentralWidget(QWidget())  # empty: the docks are the window
        self.centralWidget().hide()
        self._lay_out_tiles(tiles)

    def _lay_out_tiles(self, tiles: list[QDockWidget]) -> None:
        if not tiles:
            return
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, tiles[0])
        cols = tiles[:2]
        if len(tiles) > 1:
            self.splitDockWidget(tiles[0], tiles[1], Qt.Orientation.Horizontal)
        for i, dock in enumerate(tiles[2:]):
            above = cols[i % len(cols)]
            self.splitDockWidget(above, dock, Qt.Orientation.Vertical)
            cols[i % len(cols)] = dock
        if len(tiles) >= 3:  # the lower row (gradients, confusion) has more to show
            self.resizeDocks([tiles[0], tiles[2]], [400, 560], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["controls"], *tiles[:2]], [290, 640, 640], Qt.Orientation.Horizontal)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        a = self.actions
        file = bar.addMenu("&File")
        for key in ("open_data", "open_folder", "embedded", None, "load", "save", "save_as", None, "quit"):
            file.addSeparator() if key is None else file.addAction(a[key])
        train = bar.addMenu("&Train")
        for key in ("start", "step_batch", "step_epoch", None, "reset"):
            train.addSeparator() if key is None else train.addAction(a[key])
        view = bar.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction("Reset layout", self.reset_layout)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a["shortcuts"])
        help_menu.addAction("About", lambda: self._info_box(
            "About backprop-studio", "A visual debugger for small NumPy neural networks.\n"
                                     "Drop a dataset or a checkpoint on the window to open it."))

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_pos = QLabel("")
        self.status_rate = QLabel("")
        self.status_lr = QLabel("")
        for w, tip in ((self.status_pos, "completed epochs and the batch within the current epoch"),
                       (self.status_rate, "training throughput over the last seconds"),
                       (self.status_lr, "current learning rate")):
            w.setToolTip(tip)
            w.setMinimumWidth(90)
            bar.addPermanentWidget(w)

    # ---- settings ------------------------------------------------------------------------------

    def _restore_settings(self, config: TrainConfig | None) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1480, 940)
        self._default_state = self.saveState()
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        if config is None:
            stored = s.value("config/values", "", str)
            try:
                config = TrainConfig(**json.loads(stored)) if stored else None
            except (ValueError, TypeError):
                config = None
        self.controls.set_config(config or TrainConfig())

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        try:
            s.setValue("config/values", json.dumps(asdict(self.controls.config())))
        except ValueError:
            pass
        s.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.show()

    def _dir(self, key: str) -> str:
        return self.settings.value(f"dirs/{key}", str(Path.home()), str)

    # ---- commands ------------------------------------------------------------------------------

    def _form_config(self) -> TrainConfig | None:
        try:
            return self.controls.config()
        except ValueError as exc:
            self.show_error(str(exc))
            return None

    def toggle_run(self) -> None:
        if self.state == State.RUNNING:
            self.worker.pause()
            return
        if not self.actions["start"].isEnabled():
            return
        config = self._form_config()
        if config is not None:
            self.worker.start(config)

    def step_batch(self) -> None:
        if self.actions["step_batch"].isEnabled():
            self.worker.step_batch()

    def step_epoch(self) -> None:
        if self.actions["step_epoch"].isEnabled():
            self.worker.step_epoch()

    def reset(self) -> None:
        config = self._form_config()
        if config is not None:
            self.worker.reset(config)

    def open_data(self, spec: str) -> None:
        self._requested_spec = spec
        self.statusBar().showMessage(f"opening {spec} \u2026")
        self.worker.open_data(spec, self._form_config() or TrainConfig())

    def open_path(self, path: str) -> None:
        """A dropped file or folder: a checkpoint if it is one, else a dataset."""
        if path.lower().endswith(".npz"):
            self._requested_spec = path
            self.worker.open_path(path)
        else:
            self.open_data(path)

    def ask_open_data(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a dataset", self._dir("data"), DATA_FILTER)
        if path:
            self.settings.setValue("dirs/data", str(Path(path).parent))
            self.open_data(path)

    def ask_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a dataset folder", self._dir("data"))
        if path:
            self.settings.setValue("dirs/data", str(Path(path).parent))
            self.open_data(path)

    def ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a checkpoint", self._dir("checkpoints"), CHECKPOINT_FILTER)
        if path:
            self.settings.setValue("dirs/checkpoints", str(Path(path).parent))
            self.worker.load_checkpoint(path)

    def _ask_save_path(self) -> str:
        start = self.checkpoint_path or str(Path(self._dir("checkpoints")) / "session.npz")
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", start, CHECKPOINT_FILTER)
        if path and not path.lower().endswith(".npz"):
            path += ".npz"
        if path:
            self.settings.setValue("dirs/checkpoints", str(Path(path).parent))
        return path

    def save(self) -> None:
        if self.checkpoint_path:
            self.worker.save_checkpoint(self.checkpoint_path)
        else:
            self.save_as()

    def save_as(self) -> None:
        path = self._ask_save_path()
        if path:
            self.worker.save_checkpoint(path)

    # ---- what the worker reports -----------------------------------------------------------------

    def _on_session(self, info: SessionInfo) -> None:
        self.info = info
        self.step = self.saved_step = info.step
        self.checkpoint_path = info.source
        if self._requested_spec and not info.source:
            self.settings.setValue("data/spec", self._requested_spec)
        self._requested_spec = None
        title = f"backprop-studio \u2014 {info.dataset}"
        self.setWindowTitle(title + (f" \u2014 {Path(info.source).name}" if info.source else ""))
        self.statusBar().showMessage(
            f"loaded {info.source}" if info.source else f"{info.dataset}: {info.n_train:,} training examples, "
                                                        f"ready \u2014 press Space to train", 8000)
        self._show_position(info.epoch, info.batch, info.batches_per_epoch, info.config.epochs, None,
                            info.config.lr)

    def _on_update(self, u: Update) -> None:
        # runs after every panel's on_update (connected last); the redraws are queued, one per pass
        try:
            if self.info is not None and u.generation == self.info.generation:
                self.step = u.step
                self._show_position(u.epoch, u.batch, u.batches_per_epoch, self.info.config.epochs,
                                    u.examples_per_s if u.state == State.RUNNING else None, u.lr)
        finally:
            # paced by wall time, not the GUI thread's CPU time: with one GIL, the training loses more
            # than the GUI's CPU time while the GUI is busy (measured: 0.77-0.84x vs 0.9-0.98x)
            REFRESHES.when_idle(self.worker.ack)  # once every panel has redrawn it

    def _show_position(self, epoch, batch, bpe, epochs, rate, lr) -> None:
        self.status_pos.setText(f"epoch {epoch}/{epochs} \u00b7 batch {batch}/{bpe}")
        self.status_rate.setText(f"{rate:,.0f} examples/s" if rate else "")
        self.status_lr.setText(f"lr {lr:g}")

    def _on_state(self, state: State, message: str) -> None:
        self.state, self.message = state, message
        self.controls.show_state(state, message)
        self._update_actions()
        if state == State.DIVERGED:
            self.show_error(message or "training diverged", title="Training diverged \u2014 paused")
        elif state == State.PAUSED and message:
            self.statusBar().showMessage(f"paused: {message}", 15000)
        elif state == State.FINISHED:
            self.statusBar().showMessage("finished all epochs", 8000)

    def _update_actions(self) -> None:
        a, s = self.actions, self.state
        has = self.info is not None
        over = s in (State.FINISHED, State.DIVERGED, State.STOPPED)
        running = s == State.RUNNING
        a["start"].setEnabled(has and not over)
        a["start"].setText("Pause" if running else ("Resume" if s == State.PAUSED else "Start"))
        a["start"].setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if running else QStyle.StandardPixmap.SP_MediaPlay))
        a["start"].setToolTip(("Pause at the next batch boundary" if running else "Start training") + " (Space)")
        for key in ("step_batch", "step_epoch"):
            a[key].setEnabled(has and not over and not running)
        for key in ("reset", "save", "save_as", "load"):
            a[key].setEnabled(has)

    def _on_saved(self, path: str) -> None:
        self.checkpoint_path = path
        self.saved_step = self.step
        self.statusBar().showMessage(f"saved {path}", 8000)
        if self.info is not None:
            self.setWindowTitle(f"backprop-studio \u2014 {self.info.dataset} \u2014 {Path(path).name}")

    def _on_busy(self, what: str) -> None:
        if what:
            self.statusBar().showMessage(what)

    def show_error(self, message: str, title: str = "backprop-studio") -> None:
        """A message that does not block: the status bar plus a window-modal box."""
        self.last_error = message
        self.statusBar().showMessage(f"\u26a0 {message}", 20000)
        if self.info is None and self._requested_spec and self._requested_spec != DEFAULT_DATA \
                and not self._fell_back:
            self._fell_back = True  # the remembered data is gone: start on the embedded set instead
            self.open_data(DEFAULT_DATA)
        else:
            self._requested_spec = None
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.error_box = box

    def _info_box(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, self)
        box.open()

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
        self._info_box("Keyboard shortcuts", f"<table>{rows}</table>")

    # ---- drag and drop -------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.open_path(urls[0].toLocalFile())

    # ---- closing -------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self.info is not None and self.step != self.saved_step

    def closeEvent(self, event) -> None:
        if self._closed:
            event.accept()
            return
        if self.dirty:
            was_running = self.state == State.RUNNING
            self.worker.pause()
            answer = QMessageBox.question(
                self, "Close backprop-studio", f"Save the session ({self.step:,} batches trained) before closing?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                if was_running:
                    self.toggle_run()
                return
            if answer == QMessageBox.StandardButton.Save:
                path = self.checkpoint_path or self._ask_save_path()
                problem = self.worker.save_and_wait(path) if path else "no file chosen"
                if problem:
                    event.ignore()
                    self.show_error(f"not closed: could not save ({problem})")
                    return
        self._save_settings()
        self._closed = True
        self.worker.shutdown()
        event.accept()


def run_app(argv: list[str] | None = None, data: str | None = None) -> int:
    """Open the window (the no-subcommand entry point of main.py)."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    pg.setConfigOptions(background="w", foreground="#222")
    window = MainWindow(data=data)
    window.show()
    return app.exec()
