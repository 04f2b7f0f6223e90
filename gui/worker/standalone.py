"""A worker of its own for a panel that stands alone (no window: tests, the OCR tab or the correction loop
on their own). It ends with the widget, with the application, or at the latest when Python exits: Qt aborts
the process when a QThread object is destroyed while its thread runs (a closed but undeleted panel's worker
collected at exit did that to the test process)."""
from __future__ import annotations

import atexit

from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication

from gui.worker.worker import Worker


def own_worker(widget, name: str) -> Worker:
    """A worker of its own for a panel that stands alone (no window: tests, the panel on its own); it ends
    with the widget, with the application, or at the latest when Python exits (Qt aborts the process when a
    QThread object is destroyed while its thread runs: a closed but undeleted panel's worker at exit)."""
    worker = Worker(name)
    widget.destroyed.connect(lambda *_: worker.shutdown())
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(worker.shutdown)
    atexit.register(_shutdown_if_alive, worker)  # (held till then: collected earlier, its thread would abort)
    return worker


def _shutdown_if_alive(worker) -> None:
    if not sip.isdeleted(worker) and not sip.isdeleted(worker.thread):
        worker.shutdown()


__all__ = ["own_worker"]
