"""Draw to test: draw a character with the mouse and watch the network read it, live.

The canvas only records strokes and rasterizes them to an ink mask; the mask goes through the OCR's own
``normalize_mask`` (so a drawing is read exactly like a page crop) and ``engine.debug.explain.layer_outputs``,
off the GUI thread and throttled, so drawing never waits for the network. A drawing can be labelled and
kept as a training row (``rows``: engine.data.edits.Rows), like an OCR correction.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6.QtCore import QPointF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PyQt6.QtWidgets import QFileDialog, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from engine.data.dataset import from_image
from engine.data.edits import Rows, append_rows
from engine.debug.explain import layer_outputs
from engine.errors import InputError
from engine.file_words import ROWS, reading
from engine.ocr.normalize import normalize_mask
from engine.words import count
from gui.layout.reflow import Reflow
from gui.widgets import theme
from gui.widgets.build import button, row
from gui.widgets.pixmaps import ScaledPicture, to_pixmap
from gui.worker.background import Background


class Canvas(QWidget):
    """Strokes drawn with the mouse; ``changed`` after every mouse move that adds ink, clear or undo.
    Strokes are kept in SIDE x SIDE units whatever size the canvas is shown at (DISPLAY: it fits a short
    frame), so a drawing reads the same at any size."""

    changed = pyqtSignal()
    SIDE = 256
    DISPLAY = 200  # px on screen: with its buttons under it, it fits a 1366x768 Inspect frame
    PEN = 18  # in SIDE units: the training data's stroke/height ratio (3 px of 26) for a ~200-unit character

    def __init__(self, parent=None):
        super().__init__(parent)
        self.strokes: list[list[QPointF]] = []
        self.setFixedSize(self.DISPLAY, self.DISPLAY)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def _at(self, event) -> QPointF:
        return event.position() * (self.SIDE / self.width())

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.strokes.append([self._at(event)])
            self.update()
            self.changed.emit()

    def mouseMoveEvent(self, event) -> None:
        if self.strokes and event.buttons() & Qt.MouseButton.LeftButton:
            self.strokes[-1].append(self._at(event))
            self.update()
            self.changed.emit()

    def clear(self) -> None:
        self.strokes.clear()
        self.update()
        self.changed.emit()

    def undo(self) -> None:
        if self.strokes:
            self.strokes.pop()
            self.update()
            self.changed.emit()

    def _paint(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor("black"), self.PEN, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        for stroke in self.strokes:
            if len(stroke) == 1:
                painter.drawPoint(stroke[0])
            else:
                path = QPainterPath(stroke[0])
                for p in stroke[1:]:
                    path.lineTo(p)
                painter.drawPath(path)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        p.setPen(QColor(theme.GRID_LINE))
        p.drawRect(0, 0, self.width() - 1, self.height() - 1)
        p.scale(self.width() / self.SIDE, self.height() / self.SIDE)
        self._paint(p)

    def mask(self) -> np.ndarray:
        """The ink as a boolean (SIDE, SIDE) array (True = ink)."""
        img = QImage(self.SIDE, self.SIDE, QImage.Format.Format_Grayscale8)
        img.fill(255)
        p = QPainter(img)
        self._paint(p)
        p.end()
        ptr = img.constBits()
        ptr.setsize(img.sizeInBytes())
        a = np.frombuffer(ptr, np.uint8).reshape(self.SIDE, img.bytesPerLine())[:, :self.SIDE]
        return a < 128


def _activation_picture(a: np.ndarray, cols: int = 32) -> np.ndarray:
    """One layer's activations as a gray grid (dark = high), scaled to the layer's own range."""
    n = len(a)
    cols = min(cols, n)
    rows = -(-n // cols)
    grid = np.full(rows * cols, np.nan)
    grid[:n] = a
    lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
    out = 1.0 - (grid - lo) / max(hi - lo, 1e-12)
    return np.nan_to_num(out, nan=1.0).reshape(rows, cols)


class DrawPanel(QWidget):
    """Canvas | normalized input, top-5, every layer's activations; label + add to the training rows."""

    title = "Draw"
    analyzed = pyqtSignal(object)    # the normalized NIST-layout row, after each analysis
    row_added = pyqtSignal(object, int)  # row, class index
    explain_requested = pyqtSignal(object)  # row: show it in the Explain panel

    def __init__(self, parent=None, throttle_ms: int = 60):
        super().__init__(parent)
        self.net, self.classes = None, ()
        self.row: np.ndarray | None = None
        self.outputs: dict[str, np.ndarray] = {}
        self.rows = Rows()
        self.background = Background(self)
        self.background.ready.connect(self._show)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(throttle_ms)
        self.timer.timeout.connect(self._analyze)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        left_box, right_box = QWidget(), QWidget()
        left, right = QVBoxLayout(left_box), QVBoxLayout(right_box)
        for lay in (left, right):
            lay.setContentsMargins(0, 0, 0, 0)
        self.canvas = Canvas()
        self.canvas.changed.connect(self._changed)
        left.addWidget(self.canvas)
        self.explain_button = QPushButton("Explain")
        self.explain_button.setToolTip("Explain the drawing's reading in the Explain panel")
        self.explain_button.clicked.connect(lambda: self.row is not None and self.explain_requested.emit(self.row))
        self.label_edit = QLineEdit()
        self.label_edit.setMaxLength(1)
        self.label_edit.setFixedWidth(32)
        self.label_edit.setToolTip("the drawn character's class, for Add")
        self.label_edit.returnPressed.connect(self.add_row)
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("keep the drawing, with the label on its left, as a training row")
        self.add_button.clicked.connect(self.add_row)
        self.save_button = QPushButton("Save rows\u2026")
        self.save_button.setToolTip("append the collected rows to an .npz: train with --data ocr-train+rows.npz")
        self.save_button.clicked.connect(self.ask_save_rows)
        left.addLayout(row(button("Clear", "wipe the canvas", self.canvas.clear),
                           button("Undo", "take back the last stroke", self.canvas.undo), self.explain_button))
        left.addLayout(row(QLabel("label"), self.label_edit, self.add_button, self.save_button))
        left.addStretch(1)
        self.input_view = QLabel()
        self.input_view.setFixedSize(96, 96)
        self.input_view.setStyleSheet(theme.PICTURE)
        self.input_view.setToolTip("the network's input: the drawing normalized as an OCR crop (32x32)")
        self.top5 = QLabel("draw a character")
        self.top5.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.top5.setStyleSheet(theme.MONO)
        self.top5.setToolTip("the network's five most likely classes")
        top = row(self.input_view, self.top5)
        top.setStretch(1, 1)
        right.addLayout(top)
        self.layers_box = QVBoxLayout()
        right.addLayout(self.layers_box)
        right.addStretch(1)
        # the network's side beside the canvas when the frame is wide enough, under it when not
        self.body = Reflow(left_box, right_box, spacing=8, stretch=(0, 1))
        outer.addWidget(self.body)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        outer.addStretch(1)
        self.layer_views: list[tuple[QLabel, ScaledPicture]] = []

    # ---- commands ----------------------------------------------------------------------------------------

    def set_model(self, net, classes) -> None:
        self.net, self.classes = net, tuple(classes)
        self._changed()

    def add_row(self) -> None:
        """Keep the current drawing as a training row labelled with the typed class."""
        label = self.label_edit.text().strip().upper()
        if self.row is None or not self.canvas.strokes:
            self.status.setText("draw a character first")
            return
        if label not in self.classes:
            self.status.setText(f"type the character's class first (one of {''.join(self.classes)})")
            return
        y = self.classes.index(label)
        self.rows.add(self.row, y, "drawn")
        self.status.setText(f"added a drawn {label}: {count(len(self.rows), 'training row')} collected")
        self.row_added.emit(self.row.copy(), y)

    def save_rows(self, path) -> int:
        """Append the collected rows to an .npz (``--data ocr-train+rows.npz``); rows written."""
        if not Path(path).exists():
            return append_rows(path, self.rows.x, self.rows.y, self.classes)
        with reading(path, ROWS):  # an existing file is read first: its problem in plain words
            return append_rows(path, self.rows.x, self.rows.y, self.classes)

    def ask_save_rows(self) -> None:

        if not len(self.rows):
            self.status.setText("no rows yet: draw a character, type its label, Add")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Append drawn rows to", "drawn_rows.npz", "Training rows (*.npz)")
        if path:
            try:
                n = self.save_rows(path)
            except (InputError, OSError) as exc:
                self.status.setText(f"could not save: {exc}")
                return
            self.status.setText(f"appended {count(n, 'row')} to {path}")

    # ---- live analysis -----------------------------------------------------------------------------------

    def _changed(self) -> None:
        if not self.timer.isActive():
            self.timer.start()  # at most one analysis per interval while the pen moves

    def _analyze(self) -> None:
        if self.net is None:
            return
        mask, net = self.canvas.mask(), self.net
        if not mask.any():
            self.row, self.outputs = None, {}
            self.input_view.clear()
            self.top5.setText("draw a character")
            return

        def work():
            row = from_image(normalize_mask(mask))
            return row, layer_outputs(net, row)

        self.background.submit(work)

    def _show(self, result) -> None:
        if isinstance(result, Exception):
            self.status.setText(f"could not read the drawing: {result}")
            return
        if not self.canvas.strokes:
            return  # cleared while it was computing
        self.row, self.outputs = result
        self.input_view.setPixmap(to_pixmap(self.row.reshape(32, 32).T, 96))
        probs = list(self.outputs.values())[-1][0]
        order = np.argsort(-probs, kind="stable")[:5]
        self.top5.setText("\n".join(f"{self.classes[i]} {probs[i]:6.1%}" for i in order))
        names = list(self.outputs)
        while len(self.layer_views) < len(names):
            caption, view = QLabel(), ScaledPicture(min_width=96)
            caption.setStyleSheet(theme.CAPTION_STYLE)
            caption.setWordWrap(True)  # (a narrow frame: two lines, never cut)
            view.setToolTip("each unit's activation on the drawing, dark = high (scaled to the layer's range)")
            self.layers_box.addWidget(caption)
            self.layers_box.addWidget(view)
            self.layer_views.append((caption, view))
        acts = dict(zip(names, self.net.activations))
        for (caption, view), name in zip(self.layer_views, names):
            a = self.outputs[name][0]
            caption.setText(f"{name}: {len(a)} units, {acts[name]}, range [{a.min():.2f}, {a.max():.2f}]")
            view.set_image(_activation_picture(a))
        self.analyzed.emit(self.row)
