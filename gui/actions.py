"""The window's commands as QActions (one per command, shared by menus, buttons and keys), its menus,
the keyboard-shortcut list, the debugger commands (which bring their panel forward) and the file
dialogs behind the File menu.

Each action calls a method of the main window (``MainWindow`` in gui/app.py) or one of the dialog
functions below, which end in a worker command.
"""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QStyle

from gui import debugging
from gui.layout.workspaces import WORKSPACES
from gui.report_export import ask_export_report

CHECKPOINT_FILTER = "Checkpoints (*.npz);;All files (*)"
DATA_FILTER = "Datasets (*.mat *.npz);;All files (*)"
LOG_FILTER = "Run logs (*.json);;All files (*)"

SHORTCUTS = [("Space", "start / pause"), ("\u2192", "step one batch"), ("Shift+\u2192", "step one epoch"),
             ("Ctrl+R", "reset with the form's settings"), ("Ctrl+O", "open a dataset"),
             ("Ctrl+I", "open an image in the OCR workspace"),
             ("Ctrl+D", "debug a script of your own (your loop, your functions, under the debugger)"),
             ("Ctrl+Shift+W", "open the exercise's saved weights (a .pickle params dict) as a network"),
             ("Ctrl+L", "load a checkpoint"), ("Ctrl+S", "save a checkpoint"), ("Ctrl+Shift+S", "save as"),
             ("Ctrl+Shift+L", "open a run log (JSON) for comparison"), ("Ctrl+Shift+E", "export the run log (JSON)"),
             ("Ctrl+E", "export a report (one HTML file)"),
             ("Ctrl+B", "add a watchpoint"), ("Ctrl+G", "gradient check of the chosen layer"),
             ("Alt+\u2190 / Alt+\u2192", "previous / next snapshot (time travel)"), ("Alt+End", "back to live"),
             ("Ctrl+Shift+B", "branch from the moment shown"),
             ("Ctrl+Shift+Space", "start / pause the autoencoder"),
             ("Ctrl+1 \u2026 Ctrl+6", "workspaces: Train, Inspect, Experiments, Autoencoder, OCR, Your script (its last run)"),
             ("Ctrl+M", "maximise the panel with the focus / restore the layout"),
             ("Ctrl+Shift+R", "reset the workspace's layout"),
             ("Ctrl+Q", "quit"), ("F1", "this list"),
             ("OCR: PageUp / PageDown", "previous / next stage (click the page first)"),
             ("OCR: click, Ctrl+click", "select a box, several boxes"),
             ("OCR: F2", "correct the selected box (type, Enter: next box)"),
             ("OCR: Delete, M, D", "delete, merge, draw a box"),
             ("OCR: B, F, Esc", "boxes on/off, fit the page, clear the selection")]


def build_actions(w) -> dict[str, QAction]:
    """All actions of window ``w``, added to it so their shortcuts work anywhere in the window."""
    px = QStyle.StandardPixmap

    def act(text, shortcut, tip, slot, pixmap=None):
        a = QAction(text, w)
        if pixmap is not None:
            a.setIcon(w.style().standardIcon(pixmap))
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
                     if shortcut else tip)
        a.setStatusTip(tip)
        a.triggered.connect(lambda _=False: slot())
        w.addAction(a)
        return a

    return {
        "start": act("Start", "Space", "Start or pause training", w.toggle_run, px.SP_MediaPlay),
        "step_batch": act("Step batch", "Right", "Train exactly one batch", w.step_batch, px.SP_MediaSeekForward),
        "step_epoch": act("Step epoch", "Shift+Right", "Train to the end of the current epoch", w.step_epoch,
                          px.SP_MediaSkipForward),
        "reset": act("Reset", "Ctrl+R", "New weights with the form's settings, on the same data", w.reset,
                     px.SP_BrowserReload),
        "open_data": act("Open data\u2026", "Ctrl+O", "Open a NIST36 folder, .mat, .npz or image folder",
                         lambda: ask_open_data(w)),
        "embedded": act("Embedded", "", "Go back to the embedded generated glyphs", w.open_embedded),
        "open_folder": act("Open data folder\u2026", "Ctrl+Shift+O",
                           "Open a NIST36 folder of .mat files or a folder of class subfolders of images",
                           lambda: ask_open_folder(w)),
        "load": act("Load checkpoint\u2026", "Ctrl+L", "Continue a saved session", lambda: ask_load(w)),
        "save": act("Save checkpoint", "Ctrl+S", "Save the session (weights, optimizer, history)", w.save,
                    px.SP_DialogSaveButton),
        "save_as": act("Save checkpoint as\u2026", "Ctrl+Shift+S", "Save the session to a new file", w.save_as),
        "open_log": act("Open run log\u2026", "Ctrl+Shift+L",
                        "Open a run log (.json) and show it in Experiments, next to other runs", lambda: ask_open_log(w)),
        "export_log": act("Export run log\u2026", "Ctrl+Shift+E",
                          "Save the session's full log (config, every batch and epoch, layer statistics) as JSON",
                          lambda: ask_export_log(w)),
        "export_report": act("Export report\u2026", "Ctrl+E",
                             "Write the session as one self-contained HTML report (curves, diagnosis, weights, "
                             "confusion, watchpoints) and offer to open it in the browser",
                             lambda: ask_export_report(w)),
        "quit": act("Quit", "Ctrl+Q", "Close the window (offers to save)", w.close),
        "watch": act("Add watchpoint\u2026", "Ctrl+B", "Break training when a condition holds",
                     lambda: focus_watchpoints(w)),
        "gradcheck": act("Gradient check", "Ctrl+G", "Check backprop against finite differences for a layer",
                         lambda: run_gradcheck(w)),
        "snap_prev": act("Previous snapshot", "Alt+Left", "Time travel: one snapshot back", lambda: travel(w, -1)),
        "snap_next": act("Next snapshot", "Alt+Right", "Time travel: one snapshot forward", lambda: travel(w, +1)),
        "live": act("Back to live", "Alt+End", "Time travel: back to the live session", lambda: travel(w, None)),
        "branch": act("Branch from here", "Ctrl+Shift+B",
                      "Continue from the moment shown with the Timeline's settings (both runs are kept)",
                      lambda: branch(w)),
        "autoencoder": act("Start/pause autoencoder", "Ctrl+Shift+Space", "Train the autoencoder in the background",
                           lambda: toggle_autoencoder(w)),
        "shortcuts": act("Keyboard shortcuts", "F1", "List the keyboard shortcuts", w.show_shortcuts),
        "open_image": act("Open image\u2026", "Ctrl+I", "Open a photo or scan of a page in the OCR workspace",
                          lambda: open_image(w)),
        "debug_script": act("Debug a script\u2026", "Ctrl+D", "Run your own training script under the debugger: "
                            "pause, step and look inside your loop", lambda: debugging.ask_debug_script(w)),
        "train_mine": act("Train with my implementation\u2026", "", "Check your nn.py (the exercise's functions), "
                          "then train the worked example with it under the debugger",
                          lambda: debugging.ask_train_with_mine(w)),
        "open_weights": act("Open weights\u2026", "Ctrl+Shift+W", "Open the exercise's saved weights (a pickled "
                            "params dict, e.g. q3_weights.pickle) as a network", lambda: debugging.ask_open_weights(w)),
        "maximise": act("Maximise panel", "Ctrl+M", "Maximise the panel with the focus, or restore the layout",
                        w.toggle_maximise),
        "reset_layout": act("Reset layout", "Ctrl+Shift+R", "The workspace's default layout", w.reset_layout),
        **{f"ws_{spec.key}": act(spec.title, spec.shortcut, spec.tip,
                                 lambda key=spec.key: w.show_workspace(key)) for spec in WORKSPACES},
    }


def build_menus(w) -> None:
    bar = w.menuBar()
    a = w.actions

    def menu(title, keys):
        m = bar.addMenu(title)
        for key in keys:
            m.addSeparator() if key is None else m.addAction(a[key])
        return m

    menu("&File", ("open_data", "open_folder", "embedded", "open_image", None, "debug_script", "train_mine",
                   "open_weights", None, "load", "save", "save_as", None,
                   "open_log", "export_log", "export_report", None, "quit"))
    menu("&Train", ("start", "step_batch", "step_epoch", None, "reset", None, "autoencoder"))
    menu("&Debug", ("watch", "gradcheck", None, "snap_prev", "snap_next", "live", "branch"))
    menu("&View", (*(f"ws_{spec.key}" for spec in WORKSPACES), None, "maximise", "reset_layout"))
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a["shortcuts"])
    help_menu.addAction("About", lambda: w.info_box(
        "About backprop-studio", "A visual debugger for small NumPy neural networks.\n"
                                 "Drop a dataset, a checkpoint or a run log on the window to open it."))


# ---- debugger commands: bring the panel forward and act through it ------------------------------------

def focus_watchpoints(w) -> None:
    panel = w.show_panel("watchpoints")
    if panel is not None:
        panel.focus_input()

def run_gradcheck(w) -> None:
    panel = w.show_panel("gradcheck")
    if panel is not None and w.info is not None:
        panel.run_check()

def travel(w, delta: int | None) -> None:
    """Time travel by ``delta`` snapshots (None: back to live)."""
    panel = w.panels.get("timeline")
    if panel is None or w.info is None:
        return
    if delta is None:
        panel.live()
    else:
        w.show_panel("timeline")
        panel.go_index(panel.slider.value() + delta)

def branch(w) -> None:
    panel = w.show_panel("timeline")
    if panel is not None and w.info is not None:
        panel.branch_here()

def open_image(w) -> None:
    panel = w.show_panel("ocr")
    if panel is not None:
        panel.ask_open()

def toggle_autoencoder(w) -> None:
    panel = w.show_panel("autoencoder")
    if panel is not None and w.info is not None:
        panel.toggle()


# ---- file dialogs ------------------------------------------------------------------------------

def _dir(w, key: str) -> str:
    return w.settings.value(f"dirs/{key}", str(Path.home()), str)


def _remember(w, key: str, path: str) -> None:
    w.settings.setValue(f"dirs/{key}", str(Path(path).parent))


def ask_open_data(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Open a dataset", _dir(w, "data"), DATA_FILTER)
    if path:
        _remember(w, "data", path)
        w.open_data(path)


def ask_open_folder(w) -> None:
    path = QFileDialog.getExistingDirectory(w, "Open a dataset folder", _dir(w, "data"))
    if path:
        _remember(w, "data", path)
        w.open_data(path)


def ask_load(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Load a checkpoint", _dir(w, "checkpoints"), CHECKPOINT_FILTER)
    if path:
        _remember(w, "checkpoints", path)
        w.load_checkpoint(path)


def ask_save_path(w) -> str:
    start = w.checkpoint_path or str(Path(_dir(w, "checkpoints")) / "session.npz")
    path, _ = QFileDialog.getSaveFileName(w, "Save checkpoint", start, CHECKPOINT_FILTER)
    if path and not path.lower().endswith(".npz"):
        path += ".npz"
    if path:
        _remember(w, "checkpoints", path)
    return path


def ask_open_log(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Open a run log", _dir(w, "logs"), LOG_FILTER)
    if path:
        _remember(w, "logs", path)
        w.worker.experiments.open_log(path)


def ask_export_log(w) -> None:
    name = (w.info.dataset if w.info else "run").replace("/", "_")
    path, _ = QFileDialog.getSaveFileName(w, "Export the run log", str(Path(_dir(w, "logs")) / f"{name}.json"),
                                          LOG_FILTER)
    if path and not path.lower().endswith(".json"):
        path += ".json"
    if path:
        _remember(w, "logs", path)
        w.worker.export_log(path)
