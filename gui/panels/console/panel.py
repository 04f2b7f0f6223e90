"""Console: the debugged script's own output (stdout and stderr, in order, as it prints), a Stop button,
and how it ended in one line -- "exited 0", "exited 1: ValueError: shapes (32,64) and (36,) not aligned"
-- with its traceback one click away.

The output comes from the worker's ``remote`` runner (gui/worker/runners/remote.py), which tails the log
the script writes into; a script that attached on its own prints in its own terminal, and the console
says so.
"""
from __future__ import annotations

from PyQt6.QtGui import QTextCursor
from PyQt6.QtWidgets import QPlainTextEdit, QVBoxLayout

from gui.widgets import theme
from gui.widgets.build import button, label, row
from gui.widgets.panel import Panel

MAX_LINES = 20_000  # older lines scroll away (the whole output stays in the script's log file)
IDLE_TEXT = ("No script yet. File \u2192 Debug a script\u2026 (Ctrl+D) runs one under the debugger; a script that "
             "calls backprop_studio.attach(params) attaches while the window is open.")


def _text_view(visible: bool = True) -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setReadOnly(True)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    view.setMaximumBlockCount(MAX_LINES)
    view.setStyleSheet(theme.CONSOLE)
    view.setVisible(visible)
    return view


class ConsolePanel(Panel):
    title = "Console"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.script = ""
        self.summary = ""  # how the script ended ("" while it runs)
        self.traceback = ""
        self.running = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.header = label(IDLE_TEXT, theme.SUMMARY, "The script under the debugger", wrap=True)
        self.stop_button = button("Stop", "End the script: at its next batch boundary, else interrupted, then "
                                  "terminated, then killed", self.stop, enabled=False)
        layout.addLayout(row((self.header, 1), self.stop_button))
        self.status = label("", theme.QUIET_BANNER, "How the script ended", wrap=True, selectable=True)
        self.status.hide()
        self.traceback_button = button("Show traceback", "The traceback of the exception that ended the script",
                                       self.toggle_traceback)
        self.traceback_button.hide()
        layout.addLayout(row((self.status, 1), self.traceback_button))
        self.traceback_view = _text_view(False)
        self.traceback_view.setToolTip("The traceback, as Python printed it")
        layout.addWidget(self.traceback_view, 1)
        self.text = _text_view()
        self.text.setToolTip("The script's stdout and stderr, as it prints them")
        layout.addWidget(self.text, 3)

    # ---- observing ---------------------------------------------------------------------------------

    def attach(self, worker) -> None:
        super().attach(worker)
        worker.remote.began.connect(self.on_began)
        worker.remote.output.connect(self.append)
        worker.remote.ended.connect(self.on_ended)

    def on_began(self, script: str, how: str) -> None:
        self.script, self.summary, self.traceback, self.running = script, "", "", True
        self.header.setText(f"<b>{script}</b> \u2014 {how}")
        self.stop_button.setEnabled(True)
        self.status.hide()
        self.traceback_button.hide()
        self.traceback_view.hide()
        if self.text.blockCount() > 1 or self.text.toPlainText():
            self.append("\n")
        self.append(f"\u2500\u2500 {script} \u2500\u2500\n")

    def append(self, text: str) -> None:
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        if at_end:
            bar.setValue(bar.maximum())

    def on_ended(self, summary: str, traceback: str) -> None:
        self.summary, self.traceback, self.running = summary, traceback, False
        self.stop_button.setEnabled(False)
        good = summary.endswith("exited 0") or "finished after" in summary
        self.status.setText(f"{self.script}: {summary}")
        self.status.setStyleSheet(theme.GOOD_BANNER if good else theme.QUIET_BANNER if summary.startswith("stopped")
                                  else theme.TROUBLE_BANNER)  # (stopped: by the Stop button)
        self.status.show()
        self.traceback_view.setPlainText(traceback)
        self.traceback_button.setVisible(bool(traceback))
        self.traceback_button.setText("Show traceback")

    # ---- commands ----------------------------------------------------------------------------------

    def stop(self) -> None:
        if self.worker is not None and self.running:
            self.stop_button.setEnabled(False)
            self.worker.remote.stop()

    def toggle_traceback(self) -> None:
        shown = not self.traceback_view.isVisible()
        self.traceback_view.setVisible(shown)
        self.traceback_button.setText("Hide traceback" if shown else "Show traceback")

    @property
    def output(self) -> str:
        return self.text.toPlainText()
