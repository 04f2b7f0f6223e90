"""The Console panel: the debugged script's output live, how it ended in one line (a crash in the middle of a
batch, one before it attached), its traceback a click away, Stop for a script that never reaches a batch
boundary, a .py dropped on the window, a missing script in words; and "Train with my implementation": the
check's report, then the worked example trained with the user's functions, whose gradient check fails on
the layer their bug breaks and passes on the other."""
from __future__ import annotations

import textwrap

from helpers import ROOT
from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDropEvent
from PyQt6.QtWidgets import QMessageBox

from engine.training.session import State
from gui import debugging

CRASH = textwrap.dedent("""
    import numpy as np
    import backprop_studio as studio

    params = {"Wlayer1": np.ones((4, 3)) * 0.1, "blayer1": np.zeros(3)}
    run = studio.attach(params)
    for i, batch in enumerate(run.batches(list(range(50)))):
        print("batch", i, flush=True)
        if i == 5:
            raise ValueError("boom in the middle of batch 5")
""")


def script(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def ended(qtbot, console, timeout=60_000) -> str:
    qtbot.waitUntil(lambda: console.summary != "", timeout=timeout)
    return console.summary


def test_a_crashing_script_shows_its_traceback(qtbot, window, children, tmp_path):
    console = window.panels["console"]
    window.debug_script(str(script(tmp_path, "crash.py", CRASH)))
    assert ended(qtbot, console).startswith("exited 1: ValueError: boom in the middle of batch 5")
    assert "batch 5" in console.output and "batch 6" not in console.output  # its own output, in order
    assert console.status.isVisible() and "ValueError" in console.status.text()
    assert not console.traceback_view.isVisible() and console.traceback_button.isVisible()
    console.traceback_button.click()  # the traceback, a click away
    assert console.traceback_view.isVisible()
    text = console.traceback_view.toPlainText()
    assert text.startswith("Traceback (most recent call last)") and 'raise ValueError("boom' in text
    assert window.state == State.STOPPED and window.step == 5  # the batches it finished before raising


def test_a_script_that_fails_before_attaching_and_a_missing_one(qtbot, window, children, tmp_path):
    console = window.panels["console"]
    window.debug_script(str(script(tmp_path, "bad_import.py", "import no_such_module_here\n")))
    assert ended(qtbot, console).startswith("exited 1: ModuleNotFoundError")
    assert "no_such_module_here" in console.traceback
    window.debug_script(str(tmp_path / "missing.py"))
    qtbot.waitUntil(lambda: "missing.py" in window.last_error, timeout=10_000)
    assert "\n" not in window.last_error and window.error_box.isVisible()


def test_stop_ends_a_script_that_never_reaches_a_batch(qtbot, window, children, tmp_path):
    hang = script(tmp_path, "hang.py", "import time\nprint('waiting', flush=True)\nwhile True:\n    time.sleep(0.1)\n")
    console = window.panels["console"]
    window.debug_script(str(hang))
    qtbot.waitUntil(lambda: "waiting" in console.output, timeout=60_000)
    assert console.stop_button.isEnabled()
    console.stop_button.click()  # not attached: interrupted at once
    assert ended(qtbot, console) == "stopped \u00b7 killed by SIGINT" and "KeyboardInterrupt" in console.traceback
    assert children[0].returncode not in (None, 0)


def test_a_dropped_script_is_debugged(qtbot, window, children, tmp_path):
    path = script(tmp_path, "quick.py", "print('hello from the script')\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))
    console = window.panels["console"]
    assert ended(qtbot, console) == "exited 0"
    assert "hello from the script" in console.output and window.workspaces.current == "script"


def test_train_with_my_implementation_checks_then_trains_with_it(qtbot, window, children, tmp_path):
    nn = (ROOT / "resources" / "examples" / "nn.py").read_text()
    wrong = "params['grad_W' + name] = X.T @ delta_pre"
    assert wrong in nn
    mine = script(tmp_path, "nn.py", nn.replace(wrong, "params['grad_W' + name] = X.T @ delta"))  # forgot f'(a)
    debugging.check_then_train(window, str(mine), epochs=200)
    qtbot.waitUntil(lambda: getattr(window, "check_box", None) is not None and window.check_box.isVisible(),
                    timeout=120_000)
    box = window.check_box
    assert box.icon() == QMessageBox.Icon.Warning and "FAIL  backwards" in box.text() and "PASS  forward" in box.text()
    next(b for b in box.buttons() if b.text() == "Train with it").click()
    qtbot.waitUntil(lambda: window.info is not None and window.info.script.startswith("run_q3.py")
                    and window.step >= 2, timeout=60_000)
    assert "--nn" in children[0].proc.args and str(mine) in children[0].proc.args
    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.PAUSED, timeout=30_000)
    panel = window.show_panel("gradcheck")
    panel.examples.setValue(2)
    panel.run_check()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    lines = panel.result.lines
    assert panel.flagged and any(line.startswith("FAIL") and "layer1" in line for line in lines)
    assert any(line.startswith("PASS") and "output" in line for line in lines)  # its bug is only in layer1


def test_a_module_that_is_not_one_is_one_error_message(qtbot, window, tmp_path):
    debugging.check_then_train(window, str(script(tmp_path, "broken.py", "def forward(:\n")))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=120_000)
    assert "broken.py" in window.last_error and "\n" not in window.last_error
    assert getattr(window, "check_box", None) is None
