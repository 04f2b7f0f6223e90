"""The OCR tab's files: open dialogs (the last folder is remembered), the sample pages, dropped
files, truth for a page, and the exports (text, text + corrections as JSON, crops as training rows).
"""
from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QFileDialog, QMenu, QMessageBox

import resources
from engine.file_words import ROWS, reading
from engine.files import atomic_write
from engine.images import IMAGE_SUFFIXES
from engine.ocr import edit
from engine.ocr.evaluate import read_truth
from engine.words import count
from gui.widgets import theme
from gui.widgets.theme import span

SAMPLES = resources.PAGES  # shipped in the package: an installed wheel's window has them too
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
TRAIN_HINT = ("Train with them added to the OCR training set, e.g.\n"
              "    python main.py train --data ocr-train+{name} --hidden 1024 --activation tanh --save model.npz\n"
              "(the README has the full command that made the default model).")


def _settings(panel) -> QSettings:
    return panel.settings if panel.settings is not None else QSettings()


def last_dir(panel, key: str = "open") -> str:
    return _settings(panel).value(f"ocr/dir_{key}", str(Path.home()), str)


def remember_dir(panel, path: str, key: str = "open") -> None:
    _settings(panel).setValue(f"ocr/dir_{key}", str(Path(path).resolve().parent))


def short(path: str, n: int = 48) -> str:
    return path if len(path) <= n else "\u2026" + path[-(n - 1):]


def samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.png"))


def first_sample() -> Path | None:
    found = samples()
    return found[0] if found else None


def samples_menu(panel, open_path) -> QMenu:
    menu = QMenu(panel)
    try:
        truth = read_truth(SAMPLES)
    except ValueError:
        truth = {}
    for path in samples():
        lines = truth.get(path.name, [])
        action = QAction(f"{path.name}  \u2014  {' / '.join(lines)[:40]}" if lines else path.name, menu)
        action.setToolTip(str(path))
        action.triggered.connect(lambda _=False, p=str(path): open_path(p, remember=False))
        menu.addAction(action)
    if menu.isEmpty():
        menu.addAction("(no samples in resources/pages)").setEnabled(False)
    return menu


def ask_image(panel) -> str:
    path, _ = QFileDialog.getOpenFileName(panel, "Open an image for OCR", last_dir(panel), IMAGE_FILTER)
    return path


def dropped_image(event) -> str | None:
    urls = event.mimeData().urls() if event.mimeData() is not None else []
    if urls and urls[0].isLocalFile() and urls[0].toLocalFile().lower().endswith(IMAGE_SUFFIXES):
        return urls[0].toLocalFile()
    return None


def truth_for(source: str) -> list[str] | None:
    """The lines of truth.json beside an image file, if it lists it."""
    path = Path(source)
    if not source or not (path.parent / "truth.json").is_file():
        return None
    try:
        return read_truth(path.parent).get(path.name)
    except ValueError:
        return None


def describe(view) -> str:
    r = view.result
    name = Path(view.source).name if view.source else "image"
    size = ""
    if view.page is not None:
        h, w = view.page.shape[:2]
        size = f"{w}\u00d7{h}"
        if r is not None and abs(r.scale - 1.0) > 1e-6:
            size = f"{r.source_shape[1]}\u00d7{r.source_shape[0]}, read at {size}"
    return f"<b>{name}</b> " + span(f"({size})", theme.FAINT)


def crop(page: np.ndarray | None, box, margin: float = 0.15) -> np.ndarray | None:
    """The work image around a box (as ``OcrPipeline.crop``, from the view's copy of the page)."""
    if page is None or box is None:
        return None
    m = int(round(margin * max(box.height, box.width)))
    return page[max(box.row0 - m, 0):box.row1 + m, max(box.col0 - m, 0):box.col1 + m]


# ---- messages --------------------------------------------------------------------------------

def show_error(panel, message: str) -> None:
    """Non-blocking: the tab's status, the window's status bar and a window-modal box."""
    panel.status.setText("\u26a0 " + message.splitlines()[0][:80])
    window = panel.window()
    bar = getattr(window, "statusBar", None)
    if callable(bar) and window is not panel:
        bar().showMessage("\u26a0 OCR: " + message.replace("\n", " "), 15000)
    if panel.error_box is not None:
        panel.error_box.close()
    box = QMessageBox(QMessageBox.Icon.Warning, "OCR", message, QMessageBox.StandardButton.Ok, panel)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    panel.error_box = box


def ask_discard(panel, what: str, n: int) -> str:
    """'discard', 'export' or 'cancel'. (QMessageBox.question: tests patch it.)"""
    answer = QMessageBox.question(
        panel, "OCR: discard corrections?",
        f"To {what} the page is read again, which discards your {count(n, 'correction')}.\n\n"
        "Save = export the text and corrections (JSON) first; Discard = go ahead; Cancel = keep them.",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Save)
    return {QMessageBox.StandardButton.Save: "export", QMessageBox.StandardButton.Discard: "discard"}.get(
        answer, "cancel")


def _info(panel, text: str) -> None:
    panel.status.setText(text.splitlines()[0])
    window = panel.window()
    if callable(getattr(window, "statusBar", None)) and window is not panel:
        window.statusBar().showMessage("OCR: " + text.splitlines()[0], 10000)


# ---- exports ---------------------------------------------------------------------------------

def export_menu(panel) -> QMenu:
    menu = QMenu(panel)
    for text, tip, slot in (
            ("Text\u2026", "The recognized lines as a .txt file", lambda: export_text(panel)),
            ("Text + corrections (JSON)\u2026", "Lines, boxes with top-5 (source pixels) and the log of your "
             "corrections", lambda: export_json(panel)),
            (None, None, None),
            ("Add corrected crops to training data\u2026", "Append the network inputs of the boxes you corrected "
             "to an .npz of training rows", lambda: export_rows(panel, only_corrected=True)),
            ("Add all crops to training data\u2026", "Append every box (after checking the whole page) to an .npz "
             "of training rows", lambda: export_rows(panel, only_corrected=False))):
        if text is None:
            menu.addSeparator()
            continue
        action = menu.addAction(text)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _=False, f=slot: f())
    menu.setToolTipsVisible(True)
    return menu


def _stem(panel) -> str:
    return Path(panel.source).stem if panel.source else "page"


def _save_path(panel, title: str, name: str, filt: str, suffix: str, confirm: bool = True) -> str:
    options = QFileDialog.Option(0) if confirm else QFileDialog.Option.DontConfirmOverwrite
    path, _ = QFileDialog.getSaveFileName(panel, title, str(Path(last_dir(panel, "export")) / name), filt,
                                          options=options)
    if path and not path.lower().endswith(suffix):
        path += suffix
    if path:
        remember_dir(panel, path, "export")
    return path


def _need_result(panel) -> bool:
    if panel.result is None:
        show_error(panel, "Nothing to export: open an image first.")
        return False
    return True


def export_text(panel, path: str | None = None) -> bool:
    if not _need_result(panel):
        return False
    path = path or _save_path(panel, "Export the text", f"{_stem(panel)}.txt", "Text (*.txt);;All files (*)", ".txt")
    if not path:
        return False
    try:
        with atomic_write(path, "w") as f:
            f.write(panel.result.text + "\n")
    except OSError as exc:
        show_error(panel, f"Could not write {path}: {exc.strerror or exc}")
        return False
    _info(panel, f"saved the text to {path}")
    return True


def export_json(panel, path: str | None = None) -> bool:
    if not _need_result(panel):
        return False
    path = path or _save_path(panel, "Export text and corrections", f"{_stem(panel)}.ocr.json",
                              "JSON (*.json);;All files (*)", ".json")
    if not path:
        return False
    try:
        with atomic_write(path, "w") as f:
            f.write(json.dumps(edit.export_json(panel.result, panel.source or None), indent=1))
    except OSError as exc:
        show_error(panel, f"Could not write {path}: {exc.strerror or exc}")
        return False
    _info(panel, f"saved the text, boxes and {count(len(panel.result.corrections), 'correction')} to {path}")
    return True


def export_rows(panel, only_corrected: bool, path: str | None = None) -> int:
    """Append training rows to an .npz (created if needed); the number of rows written (-1: not written)."""
    if not _need_result(panel):
        return -1
    rows, _ = edit.training_rows(panel.result, only_corrected)
    if len(rows) == 0:
        show_error(panel, "No corrected boxes to add yet: correct a character first (or use \u201cAdd all "
                   "crops\u201d once the page reads right)." if only_corrected else "The page has no characters.")
        return -1
    path = path or _save_path(panel, "Add crops to training rows (appends)", "ocr-rows.npz",
                              "Training rows (*.npz);;All files (*)", ".npz", confirm=False)
    if not path:
        return -1
    try:
        with reading(path, ROWS) if Path(path).exists() else nullcontext():  # (an existing file is read first)
            n = edit.save_training_rows(path, panel.result, only_corrected)
    except (ValueError, OSError) as exc:
        show_error(panel, f"Could not add the crops: {exc}")
        return -1
    with np.load(path) as f:
        total = len(f["y"])
    text = f"added {count(n, 'row')} to {path} (now {total:,})"
    _info(panel, text)
    if not getattr(panel, "quiet", False):
        QMessageBox(QMessageBox.Icon.Information, "OCR: training rows", text + ".\n\n"
                    + TRAIN_HINT.format(name=path), QMessageBox.StandardButton.Ok, panel).open()
    return n
