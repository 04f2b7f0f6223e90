"""Closing the window: pause, offer to save what was trained since the last save, stop the worker, and let
Qt -- not the garbage collector -- delete the window. A script under the debugger is not paused: it is let
go (Worker.shutdown) and finishes on its own.

Closed windows are held (``_CLOSED``) until Qt has deleted them. A window's Python objects form reference
cycles (slots that capture a panel, panels that hold the window's worker). Were the garbage collector to
collect them, it would first empty every wrapper's __dict__ and only then delete the C++ widgets, whose
destruction calls Python overrides such as pyqtgraph's LabelItem.sizeHint on the emptied wrappers:
"AttributeError: 'LabelItem' object has no attribute '_sizeHint'" on stderr, at a moment that depends on
when a collection happens to run. So a closed window deletes itself through Qt (deleteLater, every
wrapper intact) and stays reachable until that has happened.
"""
from __future__ import annotations

from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QEvent
from PyQt6.QtWidgets import QMessageBox

from engine.training.session import State
from gui.actions import ask_save_path

_CLOSED: list = []  # MainWindow


def forget_deleted_windows() -> None:
    _CLOSED[:] = [w for w in _CLOSED if not sip.isdeleted(w)]


def delete_closed_windows() -> None:
    """Delete closed windows now: for callers whose event loop has ended or never ran (run_app after
    exec, the screenshot and bench commands), where deferred deletions would never happen."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    forget_deleted_windows()


def close_window(w, event) -> None:
    """``w.closeEvent``: ask to save unsaved training (Save / Discard / Cancel), then close for good."""
    if w._closed:
        event.accept()
        return
    was_running = w.state == State.RUNNING
    script = w.info is not None and bool(w.info.script)  # an attached script goes on without the window
    pos = w.worker.pause_and_wait(10.0) if w.info is not None and not script else None
    if pos is not None:
        w._on_position(pos)  # the exact count, not the last one drawn
    if w.dirty and not _saved_or_discarded(w, event, was_running):
        return
    w._save_settings()
    w._closed = True
    w.worker.shutdown()
    _CLOSED.append(w)  # until Qt has deleted it
    w.deleteLater()
    event.accept()


def _saved_or_discarded(w, event, was_running: bool) -> bool:
    """The question; False (the event ignored) when the window stays open: Cancel, or a save that failed."""
    answer = QMessageBox.question(
        w, "Close backprop-studio", f"Save the session ({w.step:,} batches trained) before closing?",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
    if answer == QMessageBox.StandardButton.Cancel:
        event.ignore()
        if was_running:
            w.toggle_run()
        return False
    if answer == QMessageBox.StandardButton.Save:
        path = w.checkpoint_path or ask_save_path(w)
        problem = w.worker.save_and_wait(path) if path else "no file chosen"
        if problem:
            event.ignore()
            w.show_error(f"not closed: could not save ({problem})")
            return False
    return True


__all__ = ["close_window", "delete_closed_windows", "forget_deleted_windows"]
