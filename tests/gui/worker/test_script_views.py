"""The views over an attached script after it ran (issue 19): File -> Export report writes the script's run when
the script is shown (the HTML parsed back for its figures); "Your script" keeps the last run after a Reset;
Explain shows the script's network where its shapes fit the window's data, and says so plainly where not."""
from __future__ import annotations

import base64
import re
import struct
import textwrap
import threading
from html import unescape

import numpy as np
from helpers import ROOT
from PyQt6.QtGui import QDesktopServices
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from engine.training.session import State

RUN_Q3 = ROOT / "resources" / "examples" / "run_q3.py"
ROWS = ["--rows", "320"]  # 10 batches an epoch
ATTACH_S = 60_000


def in_worker(worker, fn, timeout=20.0):
    done, out = threading.Event(), []
    worker.send(lambda: (out.append(fn()), done.set()))
    assert done.wait(timeout), "the worker did not answer"
    return out[0]


def finished(qtbot, w, epochs: int = 3):
    """Debug the worked example for ``epochs`` epochs in window ``w`` and wait until it has exited."""
    w.debug_script(str(RUN_Q3), ["--epochs", str(epochs), *ROWS])
    console = w.panels["console"]
    qtbot.waitUntil(lambda: console.summary != "" and w.info is not None and bool(w.info.script)
                    and w.step == 10 * epochs, timeout=ATTACH_S)
    return console


def export(qtbot, window, tmp_path, monkeypatch, name="report"):
    out = tmp_path / name
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: asked.append(a) or
                                                              QMessageBox.StandardButton.No))
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: True))
    window.actions["export_report"].trigger()
    qtbot.waitUntil(lambda: bool(asked), timeout=30_000)
    return out.with_suffix(".html").read_text(encoding="utf-8")


def test_export_report_writes_the_scripts_run_while_it_is_shown(qtbot, window, children, tmp_path, monkeypatch):
    console = finished(qtbot, window)
    assert console.summary == "exited 0" and window.actions["export_report"].isEnabled()
    html = export(qtbot, window, tmp_path, monkeypatch)
    remote = window.worker.remote
    epochs, steps, weights_step = in_worker(window.worker, lambda: (
        list(remote.session.history.epochs), list(remote.session.series_steps), remote.session.weights_step))

    assert "<title>Debugging report: run_q3.py</title>" in html and '<section id="confusion">' not in html
    outcome = unescape(re.search(r'id="outcome">([^<]+)', html)[1])
    assert outcome.startswith("run_q3.py ran 30 batches (3 epochs)") and outcome.endswith("; exited 0.")
    assert "run_q3.py --epochs 3 --rows 320" in unescape(html)
    rows = re.findall(r'<tr data-epoch="(\d+)">(.*?)</tr>', html)
    assert [int(e) for e, _ in rows] == [1, 2, 3]
    assert float(re.findall(r'data-value="([^"]+)"', rows[-1][1])[3]) == epochs[-1].valid_acc  # as logged
    assert steps == list(range(1, 31))
    for figure in ("grad_mean_abs", "saturation", "update_ratio"):  # one line per layer over the 30 batches
        block = re.search(rf'<div data-figure="{figure}">(.*?)</figure></div>', html, re.S)[1]
        lines = re.findall(r'<polyline class="line s0[^"]*" points="([^"]+)"', block)
        assert "layer1" in block and sum(len(p.split()) for p in lines) >= 28, figure
    shown = [int(v) for v in re.findall(r'<figure data-step="(\d+)">', html)]
    assert shown[-1] == weights_step and len(shown) >= 1
    png = base64.b64decode(re.search(r'<figure data-step="\d+"><img class="pix" src="data:image/png;base64,([^"]+)"',
                                     html)[1][:40])
    assert struct.unpack(">II", png[16:24]) == (263, 263)  # 64 units as 8x8 tiles of 32x32 (1 px gaps)
    assert "report written to" in window.statusBar().currentMessage()


def test_reset_keeps_the_scripts_run_for_its_workspace(qtbot, window, children, tmp_path, monkeypatch):
    finished(qtbot, window)
    assert window.workspaces.current == "script"
    confusion = window.panels["confusion"]  # (in Train and Inspect): no matrix is coming, and it says so
    assert confusion.view.matrix is None and "your script" in confusion.view.empty
    assert "run_q3.py" in confusion.caption.text()
    window.reset()  # a new built-in session: it goes to Train, which says how to come back
    qtbot.waitUntil(lambda: not window.info.script and window.workspaces.current == "train", timeout=20_000)
    assert "Ctrl+6" in window.statusBar().currentMessage() and window.step == 0
    window.actions["ws_script"].trigger()  # Ctrl+6: the script's last run again, in every panel
    qtbot.waitUntil(lambda: bool(window.info.script) and window.step == 30, timeout=20_000)
    assert window.state == State.FINISHED and window.panels["gradients"].findings is not None
    qtbot.waitUntil(lambda: len(window.panels["curves"].batch_loss.values) == 30, timeout=20_000)  # its curves
    assert "Debugging report: run_q3.py" in export(qtbot, window, tmp_path, monkeypatch, "again")

    window.show_workspace("train")  # the script has ended: Train is the built-in engine's again
    qtbot.waitUntil(lambda: not window.info.script and window.info.step == 0, timeout=20_000)
    assert "first epoch" in confusion.view.empty and "first epoch" in confusion.caption.text()
    html = export(qtbot, window, tmp_path, monkeypatch, "builtin")
    assert '<section id="confusion">' in html and "Debugging report" not in html


def test_explain_shows_the_scripts_network_while_the_script_is_shown(qtbot, window, children):
    window.worker.set_pace(40)
    window.debug_script(str(RUN_Q3), ["--epochs", "200", *ROWS])
    qtbot.waitUntil(lambda: window.info is not None and bool(window.info.script) and window.step >= 3, timeout=ATTACH_S)
    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.PAUSED, timeout=30_000)
    session = window.worker.remote.session
    step = window.step
    qtbot.waitUntil(lambda: in_worker(window.worker, lambda: session.weights_step) == step, timeout=20_000)
    theirs = in_worker(window.worker, lambda: session.weights["Wlayer1"].copy())
    explain = window.show_panel("explain")  # in Inspect: the live script is still the one shown
    explain.fetch()
    qtbot.waitUntil(lambda: explain.view is not None and explain.note.isVisible()
                    and f"step {step:,}" in explain.note.text(), timeout=20_000)
    assert window.info.script and explain.note.text().startswith("Your script's network: run_q3.py's weights")
    assert np.allclose(explain.view.net.layers[0].W, theirs) and explain.widget.net is explain.view.net


OTHER_SHAPE = textwrap.dedent("""
    import numpy as np
    import backprop_studio as studio

    rng = np.random.default_rng(0)
    params = {"Whidden": rng.normal(0, 0.1, (20, 8)), "bhidden": np.zeros(8)}
    run = studio.attach(params)
    for i in run.batches(list(range(100000))):
        params["grad_Whidden"] = rng.normal(size=(20, 8))
        params["Whidden"] -= 1e-3 * params["grad_Whidden"]
""")


def test_explain_says_plainly_it_shows_the_built_in_network_when_the_scripts_does_not_fit(qtbot, window, children,
                                                                                          tmp_path):
    path = tmp_path / "other.py"
    path.write_text(OTHER_SHAPE)
    window.worker.set_pace(40)
    window.debug_script(str(path))
    qtbot.waitUntil(lambda: window.info is not None and bool(window.info.script) and window.step >= 3, timeout=ATTACH_S)
    explain = window.show_panel("explain")
    explain.fetch()
    qtbot.waitUntil(lambda: explain.view is not None and explain.note.text().startswith("The built-in network"),
                    timeout=20_000)
    assert "1024\u201364\u201336" in explain.note.text() and "not your script's" in explain.note.text()
    assert explain.view.net.sizes == [1024, 64, 36] and window.info.script
