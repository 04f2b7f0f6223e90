"""The main window: workspaces of panels (gui/layout/workspaces.py) beside the Controls column, the status bar,
remembered settings, drag and drop. Its commands are QActions (gui/actions.py: one per command, shared by
menus, buttons and keys); every plot gets PNG/CSV export on right-click (gui/widgets/export.py); its
message boxes are gui/dialogs.py, its close gui/closing.py.

The window owns one ``Worker`` (gui/worker/worker.py) and wires it to the panels; the panels never see
each other (what they hand each other is wired in gui/views.py). Adding a view is one line in
``gui.views.PANELS`` (see /work/notes/window-api.md).
"""
from __future__ import annotations

import gc
import json
import math
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from PyQt6.QtCore import QByteArray, QSettings, QTimer
from PyQt6.QtWidgets import QApplication, QMainWindow, QMessageBox, QStyle

from engine.data.dataset import Dataset
from engine.training.position import moment
from engine.training.session import State, TrainConfig
from gui import debugging, dialogs, discard, views
from gui.actions import SHORTCUTS, ask_save_path, build_actions, build_menus
from gui.closing import close_window, delete_closed_windows, forget_deleted_windows
from gui.layout import window as docks
from gui.panels.training.controls import ControlsPanel
from gui.panels.training.curves import LiveLossPanel
from gui.views import PANELS
from gui.widgets import theme
from gui.widgets.panel import REFRESHES, Panel
from gui.worker.background import Background
from gui.worker.messages import Position, SessionInfo, Update
from gui.worker.worker import Worker

ORG = APP = "backprop-studio"
DEFAULT_DATA = "glyphs"
PAST_STYLE = theme.PAST_STATUS


def default_settings() -> QSettings:
    return QSettings(ORG, APP)


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, data: Dataset | str | None = None,
                 config: TrainConfig | None = None):
        """``data``: a Dataset, a spec ("glyphs" or a path), or None for the remembered one."""
        super().__init__()
        self.destroyed.connect(forget_deleted_windows)
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
        self.bug_box: QMessageBox | None = None
        self.last_error = ""
        self._requested_spec: str | None = None
        self._fell_back = False
        self._closed = False
        self._live_session = 0
        self._busy_text = ""
        self._shown_pause = ""  # the watchpoint pause whose panel was brought forward
        self.position: Position | None = None

        self.worker = Worker()
        self.actions = build_actions(self)
        self.controls = ControlsPanel(self.actions)
        self.live = LiveLossPanel()
        self.panels: dict[str, Panel] = {}
        self.workspaces = docks.build(self, PANELS, report=lambda text: self.statusBar().showMessage(text, 10000))
        build_menus(self)
        docks.build_status_bar(self)

        for panel in [self.controls, self.live, *self.panels.values()]:
            panel.attach(self.worker)
        self.controls.pace_changed.connect(lambda bps: self.worker.set_pace(bps or None))
        self.worker.session_changed.connect(self._on_session)
        self.worker.updated.connect(self._on_update)  # connected last: runs after every panel has drawn
        self.worker.state_changed.connect(self._on_state)
        self.worker.error.connect(self.show_error)
        self.worker.bug.connect(self.show_bug)
        for panel in self.panels.values():
            for background in panel.findChildren(Background):
                background.bug.connect(self.show_bug)
        self.worker.position.connect(self._on_position)
        self.worker.saved.connect(self._on_saved)
        self.worker.busy.connect(self._on_busy)
        self.worker.checked.connect(lambda checked: discard.adopt_if_agreed(self, checked))
        self.worker.exported.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.worker.experiments.log_opened.connect(self._on_log_opened)
        views.wire(self)
        debugging.follow_workspaces(self)  # "Your script" keeps the last script's run

        self.worker.remote.listen()  # a script run on its own attaches to this window (gui/debugging.py)

        self._restore_settings(config)
        self._update_actions()
        if isinstance(data, Dataset):
            self.worker.set_data(data, self._form_config())
        else:
            self.open_data(data or self.settings.value("data/spec", DEFAULT_DATA, str))

    # ---- settings ------------------------------------------------------------------------------

    def _restore_settings(self, config: TrainConfig | None) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        remembered = isinstance(geometry, QByteArray) and not geometry.isEmpty() and self.restoreGeometry(geometry)
        if not self.isMaximized() and not self.isFullScreen():
            docks.fit_to_screen(self, remembered)
        self.workspaces.restore(s)
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
        self.workspaces.save(s)
        try:
            s.setValue("config/values", json.dumps(asdict(self.controls.config())))
        except ValueError:
            pass
        s.sync()

    def reset_layout(self) -> None:
        """The current workspace's default layout."""
        self.workspaces.reset_layout()

    def show_workspace(self, key: str) -> None:
        self.workspaces.activate(key)

    def toggle_maximise(self) -> None:
        """Maximise the panel used last (it has, or last had, the focus), or restore the layout."""
        self.workspaces.toggle_maximise()

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
        """New weights with the form's settings; asks first when the trained model is not saved."""
        config = self._form_config()
        if config is not None and discard.keep_or_discard(
                self, "Reset: save the session first?", "Reset starts again from new weights."):
            self.worker.reset(config)

    def retrain(self, data: Dataset) -> None:
        """A new session on ``data`` (the Top losses edits applied) that starts training at once; asks
        first when the trained model is not saved."""
        config = self._form_config()
        if config is None or not discard.keep_or_discard(
                self, "Retrain: save the session first?", f"Retrain starts a new session on {data.name}."):
            return
        self.worker.set_data(data, config)
        self.worker.start(config)
        self.statusBar().showMessage(f"retraining on {data.name} \u2014 Space pauses", 8000)

    def open_data(self, spec: str) -> None:
        """Read a dataset; once it is known to be usable, it replaces the session (asking first when the
        trained model is not saved: gui/discard.py)."""
        self._requested_spec = spec
        self.statusBar().showMessage(f"opening {spec} \u2026")
        self.worker.open_data(spec, self._form_config() or TrainConfig(), confirm=True)

    def load_checkpoint(self, path: str) -> None:
        self.worker.load_checkpoint(path, confirm=True)

    def open_embedded(self) -> None:
        self.open_data(DEFAULT_DATA)

    def open_path(self, path: str) -> None:
        """A dropped file or folder: a script to debug (.py), saved params (.pickle), a run log (.json), a
        checkpoint if it is one, else a dataset."""
        if debugging.is_script(path):
            self.debug_script(path)
        elif debugging.is_weights(path):
            self.worker.open_weights(path)
        elif path.lower().endswith(".json"):
            self.worker.experiments.open_log(path)
        elif path.lower().endswith(".npz"):
            self._requested_spec = path
            self.worker.open_path(path, confirm=True)
        else:
            self.open_data(path)

    def debug_script(self, script: str, args: list[str] | None = None) -> None:
        """Run your own training script under the debugger (the "Your script" workspace)."""
        debugging.debug_script(self, script, args or [])

    def show_panel(self, key: str) -> Panel | None:
        """Bring a panel to the front (its workspace, and its tab if it is one); None if there is no such panel."""
        return self.workspaces.show_panel(key)

    def save(self) -> None:
        if self.checkpoint_path:
            self.worker.save_checkpoint(self.checkpoint_path)
        else:
            self.save_as()

    def save_as(self) -> None:
        path = ask_save_path(self)
        if path:
            self.worker.save_checkpoint(path)

    # ---- what the worker reports -----------------------------------------------------------------

    def _on_session(self, info: SessionInfo) -> None:
        self.info = info
        title = f"backprop-studio \u2014 {info.dataset}"
        if info.view_step is not None:  # time travel: the same session, shown as it was
            self.status_past.setText(f"\u21b6 viewing step {info.view_step:,}")
            self.status_past.setStyleSheet(PAST_STYLE)
            self.status_past.show()
            self.setWindowTitle(title + f" \u2014 viewing step {info.view_step:,}")
            shown = moment(info.view_step, info.batches_per_epoch, info.config.epochs)
            self.statusBar().showMessage(f"time travel: every panel shows {shown} \u2014 Alt+End returns to live", 8000)
            return
        self.status_past.hide()
        if self.statusBar().currentMessage().startswith("time travel"):
            self.statusBar().clearMessage()  # back to live: the time-travel message ends with it
        self._on_state(info.state, info.message)  # the announcement carries the state: no stale label
        if info.script:  # an attached script (gui/worker/remote_feed.py): its own title and words
            self._live_session = info.session_id
            self.checkpoint_path = ""
            self.setWindowTitle(f"backprop-studio \u2014 debugging {info.script}")
            self.status_rate.setText("")
            self.status_lr.setText("")
            self._update_actions()
            return
        new_session = info.session_id != self._live_session
        if new_session:  # a new or loaded session (not a return from the past)
            self._live_session = info.session_id
            self.step = self.saved_step = info.step
        self.checkpoint_path = info.source
        if self._requested_spec and not info.source:
            self.settings.setValue("data/spec", self._requested_spec)
        self._requested_spec = None
        branch = f" \u2014 {info.branch}" if info.branch and info.branch != "main" else ""
        self.setWindowTitle(title + (f" \u2014 {Path(info.source).name}" if info.source else "") + branch)
        if new_session:  # (back from the past: nothing new to say)
            ready = {State.IDLE: "ready \u2014 press Space to train", State.PAUSED: "paused \u2014 Space resumes",
                     State.FINISHED: "finished all epochs"}.get(info.state, info.state.value)
            self.statusBar().showMessage(f"loaded {info.source} \u2014 {ready}" if info.source else
                                         f"{info.dataset}: {info.n_train:,} training examples, {ready}", 8000)
        self.status_rate.setText("")
        self.status_lr.setText(f"lr {info.config.lr:g}")

    def _on_update(self, u: Update) -> None:
        # runs after every panel's on_update (connected last); the redraws are queued, one per pass
        try:
            if self.info is not None and u.generation == self.info.generation and self.info.view_step is None:
                rate = u.examples_per_s if self.state == State.RUNNING else None
                self.status_rate.setText(f"{rate:,.0f} examples/s" if rate else "")
                self.status_lr.setText(f"lr {u.lr:g}" if math.isfinite(u.lr) else "")
        finally:
            # paced by wall time, not the GUI thread's CPU time: with one GIL, the training loses more
            # than the GUI's CPU time while the GUI is busy (measured: 0.77-0.84x vs 0.9-0.98x)
            REFRESHES.when_idle(self.worker.ack)  # once every panel has redrawn it

    def _on_position(self, pos: Position) -> None:
        """The one source of truth for where training is: status bar, Controls progress, quit dialog."""
        self.position = pos
        if pos.view_step is None:
            self.step = pos.step
        self.status_pos.setText(("\u21b6 " if pos.view_step is not None else "") + pos.words())
        self.controls.show_position(pos)

    def _on_state(self, state: State, message: str) -> None:
        changed = state != self.state
        self.state, self.message = state, message
        self.controls.show_state(state, message)
        self._update_actions()
        if changed and state == State.RUNNING:
            self.statusBar().showMessage("training \u2014 Space pauses", 4000)  # replaces "ready ..."
        elif changed and state == State.PAUSED and not message:
            self.statusBar().showMessage("paused \u2014 Space resumes, \u2192 steps one batch", 8000)
        if state == State.DIVERGED:
            self.show_error(message or "training diverged", title="Training diverged \u2014 paused")
        elif state == State.PAUSED and message and message != self._shown_pause:
            self._shown_pause = message  # once per pause: not again when it is announced again (back from the past)
            self.statusBar().showMessage(f"\u2016 paused: {message}", 30000)
            self.show_panel("watchpoints")  # like a debugger at a breakpoint: show where and why
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
        for key in ("reset", "save", "save_as", "load", "export_log", "watch", "gradcheck", "snap_prev", "snap_next",
                    "live", "branch", "autoencoder"):
            a[key].setEnabled(has)
        script = has and bool(self.info.script)  # the script's run lives in the script: nothing of it to save here
        for key in ("save", "save_as", "export_log", "autoencoder") if script else ():
            a[key].setEnabled(False)

    def _on_saved(self, path: str) -> None:
        self.checkpoint_path = path
        self.saved_step = self.step
        self.statusBar().showMessage(f"saved {path}", 8000)
        if self.info is not None:
            self.setWindowTitle(f"backprop-studio \u2014 {self.info.dataset} \u2014 {Path(path).name}")

    def _on_log_opened(self, name: str) -> None:
        self.show_panel("experiments")
        self.statusBar().showMessage(f"opened the run log {name} in Experiments", 10000)

    def _on_busy(self, what: str) -> None:
        """What a job is doing; its end ("") clears it, so a message never outlives its job."""
        bar = self.statusBar()
        if what:
            self._busy_text = what
            bar.showMessage(what, 0 if what.endswith("\u2026") else 8000)
        elif bar.currentMessage() == self._busy_text:
            bar.clearMessage()

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
        self.error_box = dialogs.warning(self, title, message)

    def show_bug(self, summary: str, details: str) -> None:
        """A bug (not the user's fault): a dialog with the traceback and a "Copy details" button; the
        window keeps running."""
        self.last_error = summary
        self.statusBar().showMessage(f"\u26a0 {summary}", 20000)
        self.bug_box = dialogs.bug(self, summary, details)

    def info_box(self, title: str, text: str) -> None:
        dialogs.information(self, title, text)

    def show_shortcuts(self) -> None:
        self.info_box("Keyboard shortcuts", dialogs.shortcuts_table(SHORTCUTS))

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
        return self.info is not None and not self.info.script and self.step != self.saved_step

    def closeEvent(self, event) -> None:
        close_window(self, event)  # (gui/closing.py)


def settle_heap() -> None:
    """Once the window is built: its ~90,000 long-lived objects (Qt wrappers, plot items, modules) move out
    of the garbage collector's view. Training makes small objects on every batch, so full collections
    come every few seconds, and each one walked them all with the GIL held (~40 ms; ~20 ms after this)."""
    gc.freeze()


def run_app(argv: list[str] | None = None, data: str | None = None,
            debug: tuple[str, list[str]] | None = None) -> int:
    """Open the window (the no-subcommand entry point of main.py); ``debug``: (script, its arguments) to run
    under the debugger at once (`python main.py debug SCRIPT ARGS`)."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    theme.configure_pyqtgraph()
    window = MainWindow(data=data)
    window.show()
    # Ctrl+C in the terminal closes the window the normal way (stop the worker, offer to save):
    # Python only sees the signal when it gets control, so a timer hands it control 5x a second.
    # (Before the script starts: a Ctrl+C once it has attached must never find the default handler.)
    signal.signal(signal.SIGINT, lambda *_: window.close())
    if debug is not None:
        window.debug_script(*debug)
    settle_heap()
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(200)
    code = app.exec()
    delete_closed_windows()
    return code
