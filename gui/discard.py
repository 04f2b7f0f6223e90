"""Nothing is discarded silently: before the window replaces a session that has trained since it was last
saved -- Reset, Retrain with edits, another dataset or checkpoint, closing -- it says so and offers to save
(Save / Discard / Cancel). A file is read and checked first (the worker's ``checked``), so the question is
never asked for a file that cannot be used.
"""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import QMessageBox

from engine.training.position import moment
from engine.words import count
from gui.actions import ask_save_path

Button = QMessageBox.StandardButton


def trained_words(w) -> str:
    """What the question says about the session: the batches trained, in the status bar's words
    (engine.training.position), where it was saved, and the moment the panels show while time travelling."""
    pos = w.position
    if pos is None:
        return f"It has trained {count(w.step, 'batch', 'batches')}."
    text = f"It has trained {count(w.step, 'batch', 'batches')} ({moment(w.step, pos.batches_per_epoch, pos.epochs)})"
    text += ", not saved yet." if not w.checkpoint_path else f"; {w.checkpoint_path} holds step {w.saved_step:,}."
    if pos.view_step is not None:
        text += f"\nThe panels show the past: {pos.words()}."
    return text


def ask(w, title: str, doing: str) -> str:
    """'save', 'discard' or 'cancel' (QMessageBox.question: tests answer it). The text asks the question itself
    (some platforms show no title bar on a sheet)."""
    question = doing if doing.endswith("?") else f"{doing} Save the session first?"
    answer = QMessageBox.question(w, title, f"{question}\n\n{trained_words(w)}", Button.Save | Button.Discard
                                  | Button.Cancel, Button.Save)
    return {Button.Save: "save", Button.Discard: "discard"}.get(answer, "cancel")


def save_now(w) -> bool:
    """Save the session where it is (asking for a file if it has none); False if it was not saved."""
    path = w.checkpoint_path or ask_save_path(w)
    problem = w.worker.save_and_wait(path) if path else "no file chosen"
    if problem:
        w.show_error(f"nothing was discarded: could not save ({problem})")
        return False
    w._on_saved(path)
    return True


def keep_or_discard(w, title: str, doing: str) -> bool:
    """Whether to go ahead with replacing the session: yes when nothing unsaved would be lost, else the
    user's answer (Save first, Discard, or Cancel: no)."""
    if not w.dirty:
        return True
    answer = ask(w, title, doing)
    return answer == "discard" or (answer == "save" and save_now(w))


def adopt_if_agreed(w, checked) -> None:
    """A file the worker read and found usable (``Worker.checked``): it replaces the session, after the
    question if the current one has unsaved training."""
    name = Path(checked.what).name or checked.what
    if keep_or_discard(w, "Open: save the session first?", f"{name} replaces the session."):
        w.worker.adopt(checked)
    else:
        w._requested_spec = None
        w.statusBar().showMessage(f"kept the session; {checked.what} was not opened", 8000)


__all__ = ["adopt_if_agreed", "ask", "keep_or_discard", "save_now", "trained_words"]
