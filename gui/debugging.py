"""The window's side of debugging your own code (issue 19): File -> Debug a script..., Train with my
implementation..., Open weights..., and a .py or .pickle dropped on the window.

A script runs in its own interpreter, attached to this window (the worker's ``remote`` runner,
gui/worker/runners/remote.py), and the "Your script" workspace shows it. "Train with my implementation"
first runs ``python main.py check`` on the chosen nn.py in a process of its own (the user's code never
runs in the window's), shows its report, then trains the worked example (resources/examples/run_q3.py)
with those functions under the debugger.

The "Your script" workspace keeps the last script's run: showing it (Ctrl+6) brings that run back to every
panel, after a Reset too, until another script starts; the other workspaces show the built-in session again
once the script has ended (``follow_workspaces``).
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

from PyQt6.QtCore import QProcess, QTimer
from PyQt6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

import engine

ROOT = Path(engine.__file__).resolve().parent.parent  # the project the window runs from
EXAMPLE = ROOT / "resources" / "examples" / "run_q3.py"
SCRIPT_FILTER = "Python scripts (*.py);;All files (*)"
WEIGHTS_FILTER = "Saved params (*.pickle *.pkl);;All files (*)"
CHECK_TIMEOUT_MS = 120_000
# `python main.py check PATH`, without needing main.py: prints the report; exit 0 / 1 / 2 (not such a module)
CHECK = ("import sys\nfrom engine.errors import InputError\nfrom engine.remote.check import check_module\n"
         "try:\n    r = check_module(sys.argv[1])\nexcept (InputError, OSError) as e:\n"
         "    print(f'error: {e}')\n    sys.exit(2)\nprint('\\n'.join(r.lines()))\nsys.exit(0 if r.passed else 1)\n")


def is_script(path: str) -> bool:
    return path.lower().endswith(".py")


def is_weights(path: str) -> bool:
    return path.lower().endswith((".pickle", ".pkl"))


def _dir(w, key: str) -> str:
    return w.settings.value(f"dirs/{key}", str(Path.home()), str)


def _remember(w, key: str, path: str) -> None:
    w.settings.setValue(f"dirs/{key}", str(Path(path).parent))


def script_ran(w) -> str:
    """The last script that ran in window ``w`` ("" if none has): its name and arguments, as the console shows them."""
    console = w.panels.get("console")
    return console.script if console is not None else ""


def follow_workspaces(w) -> None:
    """Showing "Your script" shows the last script's run; another workspace, the built-in session once the script
    has ended (the worker decides: gui/worker/runners/remote.py ``show``). A new built-in session (Reset, Open)
    made while "Your script" is shown goes to Train, which says how to come back."""
    w.workspaces.changed.connect(lambda key: w.worker.remote.show(key == "script"))
    w.worker.session_changed.connect(lambda info: _builtin_shown(w, info))


def _builtin_shown(w, info) -> None:
    if info.script or info.view_step is not None or w.workspaces.current != "script" or not script_ran(w):
        return
    w.show_workspace("train")
    w.statusBar().showMessage(f"{info.dataset}: the built-in engine's new session is in Train; Ctrl+6 shows your "
                              "script's last run again", 10000)


def debug_script(w, script: str, args: list[str]) -> None:
    """Run ``script`` with ``args`` attached to window ``w``, and show the Your script workspace."""
    w.show_workspace("script")
    w.worker.remote.debug(str(script), list(args))
    w.statusBar().showMessage(f"starting {Path(script).name} \u2026", 8000)


def ask_debug_script(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Debug a script", _dir(w, "scripts"), SCRIPT_FILTER)
    if not path:
        return
    _remember(w, "scripts", path)
    key = f"scripts/args/{Path(path).name}"
    text, ok = QInputDialog.getText(w, "Debug a script", f"Arguments for {Path(path).name} (as on a command line):",
                                    text=w.settings.value(key, "", str))
    if not ok:
        return
    try:
        args = shlex.split(text)
    except ValueError as exc:
        w.show_error(f"the arguments cannot be read ({exc})")
        return
    w.settings.setValue(key, text)
    debug_script(w, path, args)


def ask_open_weights(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Open weights", _dir(w, "weights"), WEIGHTS_FILTER)
    if path:
        _remember(w, "weights", path)
        w.worker.open_weights(path)


def ask_train_with_mine(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Train with my implementation: choose your nn.py", _dir(w, "nn"),
                                          SCRIPT_FILTER)
    if path:
        _remember(w, "nn", path)
        check_then_train(w, path)


def check_then_train(w, nn_path: str, epochs: int | None = None) -> QProcess:
    """Check ``nn_path`` in a process of its own, show the report, and offer to train the worked example
    with it (``w.check_box``); a file that is not such a module is one error message."""
    proc = QProcess(w)
    proc.setWorkingDirectory(str(ROOT))
    proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
    w.statusBar().showMessage(f"checking {Path(nn_path).name} \u2026")

    def finished(code, _status=None):
        text = bytes(proc.readAllStandardOutput()).decode("utf-8", "replace").strip()
        proc.deleteLater()
        w.statusBar().clearMessage()
        if code not in (0, 1) or _status == QProcess.ExitStatus.CrashExit:
            last = text.splitlines()[-1].removeprefix("error: ") if text else ""
            w.show_error(last if code == 2 and last else f"{nn_path}: the check did not finish (its process ended "
                         f"with {code}{'' if limit.isActive() else f', stopped after {CHECK_TIMEOUT_MS // 1000} s'})")
            return
        _offer_training(w, nn_path, text, code == 0, epochs)

    limit = QTimer(proc)  # a module that hangs on import is ended (the timer goes with the process object)
    limit.setSingleShot(True)
    limit.timeout.connect(proc.kill)
    limit.start(CHECK_TIMEOUT_MS)
    proc.finished.connect(finished)
    proc.errorOccurred.connect(lambda _e: w.show_error(f"the check of {nn_path} could not run: {proc.errorString()}"))
    proc.start(sys.executable, ["-c", CHECK, str(Path(nn_path).resolve())])
    w.check_process = proc
    return proc


def _offer_training(w, nn_path: str, report: str, passed: bool, epochs: int | None) -> None:
    name = Path(nn_path).name
    box = QMessageBox(QMessageBox.Icon.Information if passed else QMessageBox.Icon.Warning,
                      f"Check of {name}", (f"Every function of {name} passed." if passed else
                                           f"Some functions of {name} do not do what the exercise asks.")
                      + f"\n\n{report}\n\nTrain the worked example (run_q3.py) with these functions under the "
                        "debugger?", parent=w)
    train = box.addButton("Train with it", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    args = ["--nn", str(Path(nn_path).resolve())] + (["--epochs", str(epochs)] if epochs else [])
    train.clicked.connect(lambda: debug_script(w, str(EXAMPLE), args))
    box.open()
    w.check_box = box


__all__ = ["ask_debug_script", "ask_open_weights", "ask_train_with_mine", "check_then_train", "debug_script",
           "follow_workspaces", "is_script", "is_weights", "script_ran"]
