"""File -> Export report: the HTML report of the window's session, or of your script's run.

The worker thread owns the session, so the report is written there, at a batch boundary: the
session (with the window's experiment and autoencoder, when there are any) goes to a temporary
checkpoint that ``engine.report.html`` renders -- the same file ``python main.py report`` writes. While
the panels show an attached script (or the "Your script" workspace is shown) it is the script's run
instead, from its RemoteSession (``engine.report.script``: the same file as ``debug --headless --report``).
The window is told through a signal and offers to open the file in the system browser.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PyQt6.QtCore import QObject, QUrl, pyqtSignal
from PyQt6.QtGui import QDesktopServices
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from engine.errors import InputError
from engine.report.data import save_checkpoint
from engine.report.html import write_report
from engine.report.script import write_script_report
from gui.debugging import script_ran

REPORT_FILTER = "HTML reports (*.html);;All files (*)"


def write_session_report(session, path, experiment=None, autoencoder=None) -> Path:
    """Checkpoint -> report, through a temporary file (call it in the thread that owns the session)."""
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "session.npz")
        save_checkpoint(ckpt, session, experiment=experiment, autoencoder=autoencoder)
        return write_report(ckpt, path, source="the window's session")


class ReportExporter(QObject):
    """Queues the export on the worker; ``written`` (GUI thread) carries the path."""

    written = pyqtSignal(str)

    def __init__(self, worker, parent=None):
        super().__init__(parent)  # lives in the GUI thread: ``written`` is delivered there
        self.worker = worker

    def export(self, path: str, script: bool = False) -> None:
        """Write the report to ``path``: of the last script's run (``script``), else of the window's session."""
        w = self.worker

        def job():
            if w.session is None and not script:
                raise InputError("nothing to report yet")
            run = w.remote.report_run() if script else None
            w.busy.emit("writing the report \u2026")
            try:
                if run is not None:
                    write_script_report(run, path)
                else:
                    write_session_report(w.session, path, *w.other_runs())
            finally:
                w.busy.emit("")
            w.exported.emit(f"report written to {path}")
            self.written.emit(str(path))

        w.send(job)


def shows_script(window) -> bool:
    """The report is of the script: the panels show one, or the "Your script" workspace is the one shown."""
    return bool(window.info is not None and window.info.script) or (
        window.workspaces.current == "script" and bool(script_ran(window)))


def default_name(window) -> str:
    if shows_script(window):
        return Path(script_ran(window).split()[0]).stem + "-report.html"
    source = getattr(window.worker, "source", None)
    stem = Path(source).stem if source else "report"
    return str(Path(source).with_name(stem + ".html")) if source else "report.html"


def ask_export_report(window) -> None:
    """The Save dialog, then the export (errors arrive as the worker's usual one-line messages)."""
    path, _ = QFileDialog.getSaveFileName(window, "Export report", default_name(window), REPORT_FILTER)
    if path:
        exporter(window).export(path if path.lower().endswith((".html", ".htm")) else path + ".html",
                                shows_script(window))


def exporter(window) -> ReportExporter:
    """The window's one exporter (made on first use, connected to the offer to open the file)."""
    ex = getattr(window, "_report_exporter", None)
    if ex is None:
        ex = window._report_exporter = ReportExporter(window.worker, window)
        ex.written.connect(lambda path: offer_to_open(window, path))
    return ex


def offer_to_open(window, path: str) -> bool:
    """Ask whether to open the report in the system browser; True if it was opened."""
    answer = QMessageBox.question(window, "Report written", f"The report was written to\n{path}\n\n"
                                  "Open it in the browser?")
    if answer != QMessageBox.StandardButton.Yes:
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).resolve())))
