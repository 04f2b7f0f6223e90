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

from engine.training.session import State
from gui import discard

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
        w._on_position(pos)  # the exact count, not the last one drawn (time travelling: the moment shown)
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
    answer = discard.ask(w, "Close backprop-studio", "Save the session before closing?")
    if answer == "cancel" or (answer == "save" and not discard.save_now(w)):
        event.ignore()
        if was_running and answer == "cancel":
            w.toggle_run()
        return False
    return True


__all__ = ["close_window", "delete_closed_windows", "forget_deleted_windows"]
