"""The window as an application: bad files, checkpoints, drag and drop, settings, closing, screenshots."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from helpers import ROOT
from PyQt6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PyQt6.QtGui import QDropEvent
from PyQt6.QtWidgets import QMessageBox

from engine.training.checkpoint import load_session
from engine.training.session import State, TrainConfig


def wait_state(qtbot, window, *states, timeout=20_000):
    qtbot.waitUntil(lambda: window.state in states, timeout=timeout)


def drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_corrupt_files_show_an_error_and_keep_the_session(qtbot, window, tmp_path):
    window.step_batch()
    qtbot.waitUntil(lambda: window.step == 1, timeout=10_000)
    session, generation = window.worker.session, window.info.generation
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip archive" * 10)
    for opener in (lambda: window.open_path(str(bad)), lambda: window.worker.load_checkpoint(str(bad)),
                   lambda: window.open_data(str(tmp_path / "missing.mat"))):
        window.last_error = ""
        opener()
        qtbot.waitUntil(lambda: window.last_error != "", timeout=10_000)
        assert window.error_box is not None and window.error_box.isVisible()
        assert window.worker.session is session and window.info.generation == generation
    assert "corrupt.npz" in window.error_box.text() or "missing.mat" in window.error_box.text()
    window.step_batch()  # still trains
    qtbot.waitUntil(lambda: window.step == 2, timeout=10_000)


def test_checkpoint_roundtrip_and_drop_to_load(qtbot, window, tmp_path):
    path = tmp_path / "run.npz"
    window.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 1 and window.state == State.PAUSED, timeout=20_000)
    saved_at = window.step
    window.worker.save_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.checkpoint_path == str(path), timeout=10_000)
    assert not window.dirty
    assert load_session(path, window.worker.session.data).step == saved_at

    window.reset()
    qtbot.waitUntil(lambda: window.step == 0, timeout=10_000)
    drop(window, path)
    qtbot.waitUntil(lambda: window.info.source == str(path), timeout=10_000)
    assert window.step == saved_at and window.state == State.PAUSED
    assert window.panels["curves"].point_counts == {"batch": saved_at, "epoch": 1}  # history comes along
    assert window.panels["confusion"].matrix is not None
    assert "run.npz" in window.windowTitle()


def test_a_damaged_checkpoint_opened_in_the_window_is_a_message(qtbot, window, tmp_path):
    """The window's openers go through the engine's checked readers: a checkpoint whose stored step is a
    string is one message naming the field, and the session stays."""
    path = tmp_path / "run.npz"
    window.step_batch()
    qtbot.waitUntil(lambda: window.step == 1, timeout=10_000)
    window.worker.save_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.checkpoint_path == str(path), timeout=10_000)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta["position"]["step"] = "12"
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    session = window.worker.session
    for opener in (lambda: window.open_path(str(path)), lambda: drop(window, path)):
        window.last_error = ""
        opener()
        qtbot.waitUntil(lambda: window.last_error != "", timeout=10_000)
        assert "position.step is the string '12'" in window.error_box.text()
        assert window.worker.session is session


def test_dropping_a_dataset_file_opens_it(qtbot, window, tmp_path, data):
    path = tmp_path / "letters.npz"
    np.savez(path, x=data.train.x[:200], y=data.train.y[:200])
    drop(window, path)
    qtbot.waitUntil(lambda: window.info.dataset == "letters", timeout=10_000)
    assert window.info.n_train == 160  # pooled and split 80/10/10 by the engine


def test_settings_are_remembered(qtbot, make_window, settings):
    from gui.app import MainWindow

    window = make_window(TrainConfig(lr=0.01, hidden=(32, 16), epochs=7))
    window.close()
    second = MainWindow(settings, data=window.worker.session.data)  # no config given: the remembered one
    cfg = second.controls.config()
    assert (cfg.lr, cfg.hidden, cfg.epochs) == (0.01, (32, 16), 7)
    assert not second.saveGeometry().isEmpty()
    # nothing was written to the user's settings
    assert QSettings("backprop-studio", "backprop-studio").value("config/values") is None


def test_close_mid_training_offers_to_save_and_stops_the_thread(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window(TrainConfig(epochs=100_000))
    asked = []

    def question(*args, **kwargs):
        asked.append(args)
        return QMessageBox.StandardButton.Save

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    window.checkpoint_path = str(tmp_path / "on_close.npz")  # where Save goes without a file dialog
    window.toggle_run()
    wait_state(qtbot, window, State.RUNNING)
    qtbot.waitUntil(lambda: window.step > 5, timeout=20_000)
    window.close()
    assert asked, "closing with unsaved training must offer to save"
    assert window.worker.thread.isFinished()
    saved = load_session(tmp_path / "on_close.npz", window.worker.session.data)
    assert saved.step >= 5
    # the dialog names exactly the batches that were saved (one source of truth, not the last drawn)
    assert f"It has trained {saved.step:,} batches (step {saved.step:,} \u00b7 epoch" in asked[0][2]


def test_close_cancel_keeps_the_window(qtbot, window, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Cancel))
    window.step_batch()
    qtbot.waitUntil(lambda: window.step == 1, timeout=10_000)
    window.close()
    assert window.isVisible() and window.worker.thread.isRunning()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    window.close()
    assert window.worker.thread.isFinished()


CLOSE_SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PyQt6.QtCore import QSettings, QTimer
    from PyQt6.QtWidgets import QApplication, QMessageBox
    from helpers import prototype_dataset
    from engine.training.session import TrainConfig
    from gui.app import MainWindow
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    app = QApplication([])
    w = MainWindow(QSettings({ini!r}, QSettings.Format.IniFormat), data=prototype_dataset(n_train=384, n_valid=144, noise=0.6), config=TrainConfig(epochs=1000))
    w.show()
    def go():
        if w.info is None:
            return QTimer.singleShot(20, go)
        w.toggle_run()
        QTimer.singleShot(700, w.close)
        QTimer.singleShot(900, app.quit)
    QTimer.singleShot(0, go)
    app.exec()
    print("step", w.step, "running", w.worker.thread.isRunning())
    del w
""")


def test_closing_mid_training_leaves_no_qthread_warning(tmp_path):
    script = CLOSE_SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests"), ini=str(tmp_path / "s.ini"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert "QThread" not in out.stderr and "Destroyed while thread" not in out.stderr, out.stderr
    assert "running False" in out.stdout
    assert int(out.stdout.split("step ")[1].split()[0]) > 0  # it was training when closed


def test_screenshot_saves_every_panel(qtbot, tmp_path, data):
    from gui.offscreen.screenshot import screenshot

    paths = screenshot(tmp_path / "shots", steps=15, data=data, size=(1200, 800))
    names = {p.name for p in paths}
    from gui.layout.workspaces import WORKSPACES
    from gui.offscreen.screenshot import SIZES
    tabs = {"train": ["confusion"], "inspect": ["draw", "top_losses", "hidden_map", "explain"],
            "ocr": ["ocr_explain", "correction"], "script": ["gradcheck", "timeline", "watchpoints"]}
    # (every panel behind a tab, at every size too)
    assert names == {f"workspace-{ws}-{tab}-{w}x{h}.png" for ws, keys in tabs.items() for tab in keys
                     for w, h in SIZES} | {"window.png", "controls.png", "curves.png", "weights.png", "gradients.png", "confusion.png",
                     "watchpoints.png", "timeline.png", "experiments.png", "gradcheck.png", "autoencoder.png",
                     "ocr.png", "draw.png", "hidden_map.png", "top_losses.png", "explain.png", "ocr_explain.png",
                     "correction.png"} | {f"workspace-{ws.key}-{w}x{h}.png" for ws in WORKSPACES for w, h in SIZES}
    for p in paths:
        assert p.stat().st_size > 2000, p


def test_bench_reports_the_three_numbers(qtbot):
    from gui.offscreen.bench import bench_gui

    result = bench_gui(batches=60, repeats=1, n_train=1024)
    keys = set(result.as_json())
    assert keys == {"gui_examples_per_s", "headless_examples_per_s", "lag_p99_ms"}
    assert result.gui_examples_per_s > 0 and result.headless_examples_per_s > 0
    text = "\n".join(result.lines())  # the ratio the numbers give, and each target judged
    assert f"gui/headless = {result.gui_examples_per_s / result.headless_examples_per_s:.2f}\u00d7" in text
    assert f"{result.lag_p99_ms:10.1f} ms" in text and text.count("ok") + text.count("MISSED") == 2


def test_main_without_a_subcommand_opens_the_window(monkeypatch):
    import gui.app
    import main

    monkeypatch.setattr(gui.app, "run_app", lambda: 7)
    assert main.main([]) == 7


def test_screenshot_command_rejects_bad_input(tmp_path, capsys):
    import main

    assert main.main(["screenshot", "--out", str(tmp_path), "--steps", "-1"]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_closed_window_is_deleted_by_qt_not_by_the_garbage_collector(qtbot, make_window):
    """The garbage collector empties a wrapper's __dict__ before the C++ widget is deleted, and that
    deletion calls Python overrides (pyqtgraph's sizeHint) on the emptied wrappers: an exception on
    stderr whenever a collection happens to find a closed window (the suite flaked on it under load).
    A closed window must stay reachable until Qt itself has deleted it."""
    import gc
    import weakref

    from PyQt6 import sip

    window = make_window()
    window.close()
    ref = weakref.ref(window)
    del window
    gc.collect()
    assert ref() is not None, "the collector took a closed window whose widgets Qt had not deleted"
    qtbot.waitUntil(lambda: ref() is None or sip.isdeleted(ref()), timeout=5_000)
    qtbot.wait(50)  # PyQt's slot proxies of the deleted widgets are themselves deleted later
    gc.collect()
    assert ref() is None, "a window Qt has deleted is still held"
