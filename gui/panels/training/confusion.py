"""Validation confusion matrix (``engine.debug.stats.confusion_matrix`` via the session), updated at each
epoch end. Rows are true classes, columns predictions; each cell is shaded by its share of the row
(green on the diagonal, red off it). Clicking a cell lists those validation samples with their
true and predicted labels.
"""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPoint, QRect, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap
from PyQt6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from engine.debug.confusion import confused_pairs, summarize
from engine.words import count, plural
from gui.layout.reflow import Reflow
from gui.widgets import theme
from gui.widgets.panel import Panel
from gui.widgets.pixmaps import sample_pixmap


def _mix(c0: QColor, c1: QColor, t: float) -> QColor:
    t = float(min(max(t, 0.0), 1.0))
    return QColor(int(c0.red() + (c1.red() - c0.red()) * t), int(c0.green() + (c1.green() - c0.green()) * t),
                  int(c0.blue() + (c1.blue() - c0.blue()) * t))


WHITE, GREEN, RED = QColor(theme.WHITE), QColor(theme.CORRECT), QColor(theme.WRONG)  # the report's too

SCRIPT_EMPTY = "no confusion matrix for your script:\nits validation data stay in it"


class MatrixView(QWidget):
    """Paints a k x k count matrix with its class labels and axis titles ("true", "predicted"); emits
    cell_clicked(true, pred). Its minimum size keeps every cell at least MIN_CELL px, so the labels stay
    readable (a short frame scrolls instead)."""

    cell_clicked = pyqtSignal(int, int)
    WAITING = "the confusion matrix appears\nat the end of the first epoch"
    MARGIN = 22  # the class labels
    TITLE = 15  # the axis titles beyond them
    MIN_CELL = 9

    def __init__(self, parent=None):
        super().__init__(parent)
        self.matrix: np.ndarray | None = None
        self.empty = self.WAITING  # what an empty view says
        self.classes: tuple[str, ...] = ()
        self.selected: tuple[int, int] | None = None
        self.hover: tuple[int, int] | None = None
        self._cache = None
        self.setMouseTracking(True)
        self.setMinimumSize(260, 260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(520, 520)

    def set_matrix(self, matrix: np.ndarray | None, classes, empty: str = WAITING) -> None:
        self.matrix, self.classes, self.empty = matrix, tuple(classes), empty
        side = max(260, self.TITLE + self.MARGIN + 2 + self.MIN_CELL * len(self.classes))
        self.setMinimumSize(side, side)
        self.update()

    def _geometry(self) -> tuple[float, int, int]:
        k = len(self.classes) or 1
        x0 = self.MARGIN + self.TITLE
        side = min(self.width(), self.height()) - x0 - 2
        cell = max(side / k, 1.0)
        return cell, x0, x0

    def cell_rect(self, i: int, j: int) -> QRect:
        cell, x0, y0 = self._geometry()
        return QRect(int(x0 + j * cell), int(y0 + i * cell), int(x0 + (j + 1) * cell) - int(x0 + j * cell),
                     int(y0 + (i + 1) * cell) - int(y0 + i * cell))

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        if self.matrix is None:
            return None
        cell, x0, y0 = self._geometry()
        j, i = int((pos.x() - x0) // cell), int((pos.y() - y0) // cell)
        k = len(self.matrix)
        return (i, j) if 0 <= i < k and 0 <= j < k and pos.x() >= x0 and pos.y() >= y0 else None

    def paintEvent(self, event) -> None:
        # the cells only change at epoch ends: paint them once into a pixmap, then just blit it
        key = (id(self.matrix), self.empty, self.width(), self.height())
        if self._cache is None or self._cache[0] != key:
            pixmap = QPixmap(self.size())
            painter = QPainter(pixmap)
            self._paint_cells(painter)
            painter.end()
            self._cache = (key, pixmap)
        p = QPainter(self)
        p.drawPixmap(0, 0, self._cache[1])
        for cell_ij, color in ((self.hover, theme.HOVER_CELL), (self.selected, theme.BLACK)):
            if cell_ij is not None:
                p.setPen(QPen(QColor(color), 2))
                p.drawRect(self.cell_rect(*cell_ij).adjusted(0, 0, -1, -1))

    def _paint_cells(self, p: QPainter) -> None:
        p.fillRect(self.rect(), QColor(theme.WHITE))
        if self.matrix is None:
            p.setPen(QColor(theme.FAINT))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty)
            return
        m = self.matrix
        k = len(m)
        cell, x0, y0 = self._geometry()
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros(m.shape), where=rows > 0)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, min(9.0, cell * 0.6)))
        p.setFont(font)
        show_counts = cell >= 14
        for i in range(k):
            for j in range(k):
                r = self.cell_rect(i, j)
                if i == j:
                    color = _mix(WHITE, GREEN, 0.15 + 0.85 * share[i, j]) if m[i, j] else QColor(theme.EMPTY_DIAGONAL)
                else:
                    color = _mix(WHITE, RED, min(1.0, 0.25 + 2.5 * share[i, j])) if m[i, j] else WHITE
                p.fillRect(r, color)
                if show_counts and m[i, j]:
                    dark = (i == j and share[i, j] > 0.45) or (i != j and share[i, j] > 0.2)
                    p.setPen(QColor(theme.WHITE) if dark else QColor(theme.AXIS_TEXT))
                    p.drawText(r, Qt.AlignmentFlag.AlignCenter, str(int(m[i, j])))
        p.setPen(QPen(QColor(theme.GRID_LINE), 1))
        for t in range(k + 1):
            p.drawLine(int(x0 + t * cell), y0, int(x0 + t * cell), int(y0 + k * cell))
            p.drawLine(x0, int(y0 + t * cell), int(x0 + k * cell), int(y0 + t * cell))
        p.setPen(QColor(theme.INK))
        for t, name in enumerate(self.classes):
            p.drawText(QRect(int(x0 + t * cell), self.TITLE, int(cell) + 1, y0 - self.TITLE - 2),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, name)
            p.drawText(QRect(self.TITLE, int(y0 + t * cell), x0 - self.TITLE - 3, int(cell) + 1),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
        self._paint_titles(p, x0, y0, int(k * cell))

    def _paint_titles(self, p: QPainter, x0: int, y0: int, extent: int) -> None:
        """"predicted →" over the columns, "true ↓" beside the rows (rotated)."""
        font = QFont(self.font())
        font.setPointSizeF(8.5)
        font.setBold(True)
        p.setFont(font)
        p.setPen(QColor(theme.HINT_TEXT))
        p.drawText(QRect(x0, 0, extent, self.TITLE), Qt.AlignmentFlag.AlignCenter, "predicted \u2192")
        p.save()
        p.translate(0, y0 + extent)
        p.rotate(-90)
        p.drawText(QRect(0, 0, extent, self.TITLE), Qt.AlignmentFlag.AlignCenter, "\u2190 true")
        p.restore()

    def mouseMoveEvent(self, event) -> None:
        ij = self.cell_at(event.position().toPoint())
        if ij != self.hover:
            self.hover = ij
            self.update()
        if ij is not None:
            i, j = ij
            n = int(self.matrix[i, j])
            total = int(self.matrix[i].sum())
            what = "correct" if i == j else f"predicted {self.classes[j]}"
            QToolTip.showText(event.globalPosition().toPoint(),
                              f"true {self.classes[i]}, {what}: {n} of {total}" + ("" if i == j or not n else
                                                                                     "\nclick to see them"), self)

    def leaveEvent(self, event) -> None:
        self.hover = None
        self.update()

    def mousePressEvent(self, event) -> None:
        ij = self.cell_at(event.position().toPoint())
        if ij is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = ij
            self.update()
            self.cell_clicked.emit(*ij)


class ConfusionPanel(Panel):
    title = "Confusion"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.generation = -1
        self.classes: tuple[str, ...] = ()
        self.matrix: np.ndarray | None = None
        self.epoch = 0
        self.script = ""  # the attached script's name ("": the engine's own session)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.caption = QLabel("validation confusion")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet(theme.SUMMARY)
        layout.addWidget(self.caption)
        self.view = MatrixView()
        self.view.setToolTip("rows: true class, columns: prediction; click a cell to see its samples")
        self.view.cell_clicked.connect(self.show_cell)
        side_box = QWidget()
        side = QVBoxLayout(side_box)
        side.setContentsMargins(0, 0, 0, 0)
        self.samples_title = QLabel("click a cell to see its samples")
        self.samples_title.setWordWrap(True)
        self.samples_title.setStyleSheet(theme.SMALL_INK)
        side.addWidget(self.samples_title)
        self.samples = QListWidget()
        self.samples.setViewMode(QListWidget.ViewMode.IconMode)
        self.samples.setIconSize(QSize(64, 64))
        self.samples.setGridSize(QSize(84, 96))
        self.samples.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.samples.setMovement(QListWidget.Movement.Static)
        self.samples.setToolTip("validation samples of the selected cell, as 'true \u2192 predicted'")
        self.samples.setMinimumWidth(150)
        self.samples.setMinimumHeight(110)  # (under the matrix in a narrow frame: still a row of samples)
        side.addWidget(self.samples, 1)
        # the sample list beside the matrix when the frame is wide enough, under it when not (never sideways)
        self.body = Reflow(self.view, side_box, stretch=(3, 2))
        layout.addWidget(self.body, 1)

    def on_session(self, info) -> None:
        self.generation = info.generation
        self.classes = info.classes
        self.epoch = info.epoch
        self.script = info.script  # an attached script's validation data stay in the script: no matrix
        self.samples.clear()
        self.samples_title.setText("click a cell to see its samples")
        self.view.selected = None
        self._set(info.confusion)

    def on_update(self, u) -> None:
        if u.generation != self.generation or u.confusion is None:
            return
        self.epoch = u.epoch
        self._set(u.confusion)
        if self.view.selected is not None:
            self.show_cell(*self.view.selected)

    def _set(self, matrix) -> None:
        self.matrix = matrix
        self.view.set_matrix(matrix, self.classes, SCRIPT_EMPTY if self.script else MatrixView.WAITING)
        if matrix is None:
            self.caption.setText(f"validation confusion: none for {self.script} (its validation data stay in it)"
                                 if self.script else "validation confusion: after the first epoch")
            return
        s = summarize(matrix)  # the report names the same pairs, in the same order (engine/debug/confusion.py)
        pairs = [f"{self.classes[i]}\u2192{self.classes[j]} ({n})" for i, j, n in s.pairs]
        weakest = ", ".join(f"{self.classes[c]} {100 * acc:.0f} %" for c, acc in s.weakest)
        self.caption.setText(
            f"<b>validation \u00b7 epoch {self.epoch} \u00b7 {count(s.total, 'sample')} \u00b7 accuracy {100 * s.accuracy:.1f} %"
            f"</b><br>weakest: {weakest}" + (f" \u00b7 most confused: {', '.join(pairs)}" if pairs else ""))

    def most_confused(self) -> tuple[int, int] | None:
        pairs = confused_pairs(self.matrix, 1) if self.matrix is not None else []
        return pairs[0][:2] if pairs else None

    def show_cell(self, true_class: int, pred_class: int) -> None:
        self.view.selected = (true_class, pred_class)
        self.view.update()
        images, idx = self.worker.feed.samples(true_class, pred_class) if self.worker else ([], [])
        t, p = self.classes[true_class], self.classes[pred_class]
        kind = "correctly classified" if true_class == pred_class else "misclassified"
        self.samples_title.setText(f"<b>true {t} \u2192 predicted {p}</b>: {len(idx)} {kind} validation "
                                   f"{plural(len(idx), 'sample')}")
        self.samples.clear()
        for img, i in zip(images, idx):
            item = QListWidgetItem(QIcon(sample_pixmap(img)), f"{t} \u2192 {p}\n#{int(i)}")
            item.setToolTip(f"validation sample {int(i)}: true {t}, predicted {p}; double-click to explain it")
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.samples.addItem(item)
