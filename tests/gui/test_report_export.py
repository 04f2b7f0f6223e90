"""File -> Export report: the window writes the same HTML file as `python main.py report` and offers
to open it in the system browser."""
from __future__ import annotations

import re

from PyQt6.QtGui import QAction, QDesktopServices, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from engine.training.session import State
from gui.actions import SHORTCUTS
from gui.report_export import ask_export_report


def _export(qtbot, window, tmp_path, monkeypatch, answer, trigger):
    """Train one epoch, export through ``trigger`` with the dialogs answered; returns (path, opened urls)."""
    window.worker.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 1 and window.state == State.PAUSED, timeout=20_000)
    out = tmp_path / "exported"  # no suffix: .html is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    asked, opened = [], []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: asked.append(a) or answer))
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    trigger()
    qtbot.waitUntil(lambda: bool(asked), timeout=20_000)
    return out.with_suffix(".html"), opened


def test_file_menu_export_report_is_ctrl_e(window):
    action = window.actions["export_report"]
    assert action.shortcut() == QKeySequence("Ctrl+E")
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert action in file_menu.actions()
    assert [k for k, _ in SHORTCUTS].count("Ctrl+E") == 1  # F1 lists it
    assert [a for a in window.findChildren(QAction) if a.shortcut() == QKeySequence("Ctrl+E")] == [action]


def test_export_report_writes_the_sessions_report_and_offers_to_open_it(qtbot, window, tmp_path, monkeypatch):
    path, opened = _export(qtbot, window, tmp_path, monkeypatch, QMessageBox.StandardButton.Yes,
                           window.actions["export_report"].trigger)
    text = path.read_text(encoding="utf-8")
    last = window.worker.session.history.epochs[-1]
    assert re.search(r'data-key="valid_acc"[^>]*data-value="([^"]+)"', text)[1] == repr(last.valid_acc)
    assert '<section id="confusion">' in text and "After 1 of 2,000 epochs" in text
    assert "From the window&#x27;s session," in text
    assert [u.toLocalFile() for u in opened] == [str(path.resolve())]
    assert "report written to" in window.statusBar().currentMessage()


def test_declining_to_open_leaves_the_browser_closed(qtbot, window, tmp_path, monkeypatch):
    path, opened = _export(qtbot, window, tmp_path, monkeypatch, QMessageBox.StandardButton.No,
                           lambda: ask_export_report(window))
    assert path.exists() and opened == []


def test_a_checkpoint_saved_from_the_window_keeps_its_experiment_for_the_report(qtbot, window, tmp_path):
    """Ctrl+S and the quit dialog save what Export report shows: the side-by-side experiment too."""
    from engine.training.checkpoint import read_checkpoint

    panel = window.show_panel("experiments")
    panel.run_preset("learning-rate", 50)
    qtbot.waitUntil(lambda: len(panel.runs) == 3 and all(r.step > 3 for r in panel.runs.values()), timeout=20_000)
    window.worker.experiments.stop()
    path = tmp_path / "with_experiment.npz"
    assert window.worker.save_and_wait(str(path)) == ""
    meta, _ = read_checkpoint(path)
    assert [r["name"] for r in meta["report"]["experiment"]["runs"]] == [r for r in panel.runs]
