"""The window's message boxes: a user's error (window-modal, never blocking), a bug with its traceback and
"Copy details", information (the keyboard shortcuts)."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QMessageBox


def warning(parent, title: str, message: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


def bug(parent, summary: str, details: str) -> QMessageBox:
    """A bug (not the user's fault): the traceback under "Show Details", a button that copies it."""
    box = QMessageBox(QMessageBox.Icon.Critical, "backprop-studio \u2014 internal error",
                      f"{summary}\n\nThis is a bug in backprop-studio, not a problem with your data. "
                      "The window keeps working; please report the details.", QMessageBox.StandardButton.Ok, parent)
    box.setDetailedText(details)
    copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
    copy.clicked.disconnect()  # keep the box open after copying
    copy.clicked.connect(lambda: QApplication.clipboard().setText(f"{summary}\n\n{details}"))
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


def information(parent, title: str, text: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.open()
    return box


def shortcuts_table(shortcuts) -> str:
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in shortcuts)
    return f"<table>{rows}</table>"


__all__ = ["bug", "information", "shortcuts_table", "warning"]
