"""The OCR tab's page view: a stage's image with zoom and pan, boxes drawn over it, hover, click
(Ctrl/Shift+click adds to the selection) and a draw mode in which a left-drag draws a new box.

Coordinates: x = column, y = row, in work-image pixels (the y axis points down), so a box
(row0, col0, row1, col1) is the rectangle x in [col0, col1), y in [row0, row1).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QFont, QPainterPath
from PyQt6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.widgets import theme
from gui.widgets.theme import swatch

HIGH, MID, LOW, CORRECTED, NEUTRAL, SELECTED = (theme.HIGH, theme.MID, theme.LOW, theme.CORRECTED, theme.NEUTRAL,
                                                theme.SELECTED)
HINT = "wheel: zoom \u00b7 drag: pan \u00b7 click: select \u00b7 right-click: view all, export"
MIN_LABEL_PX = 26  # a typical box must be this tall on screen for the labels to show
MAX_LABELS = 400  # characters written above their boxes (a noisy components stage can have thousands of boxes)


def confidence_color(confidence: float, low: float, high: float = 0.9, corrected: bool = False) -> str:
    if corrected:
        return CORRECTED
    return HIGH if confidence >= high else MID if confidence >= low else LOW


def legend_html(low: float, high: float = 0.9) -> str:
    sw = swatch
    return (sw(HIGH, f"\u2265 {high:.0%}") + sw(MID, f"{low:.0%}\u2013{high:.0%}") + sw(LOW, f"&lt; {low:.0%}")
            + sw(CORRECTED, "corrected") + sw(SELECTED, "selected"))


class PageBox(pg.ViewBox):
    """A ViewBox that reports left clicks and, in draw mode, draws a rectangle with a left-drag."""

    clicked = pyqtSignal(float, float, object)        # x, y, keyboard modifiers
    drawn = pyqtSignal(float, float, float, float)    # row0, col0, row1, col1

    def __init__(self):
        super().__init__(lockAspect=True, invertY=True)
        self.draw_mode = False
        self.band = QGraphicsRectItem()
        self.band.setPen(pg.mkPen(SELECTED, width=2, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.band.setBrush(QBrush(QColor(21, 101, 255, 40)))
        self.band.setZValue(30)
        self.band.hide()
        self.addItem(self.band, ignoreBounds=True)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.clicked.emit(p.x(), p.y(), ev.modifiers())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if not (self.draw_mode and ev.button() == Qt.MouseButton.LeftButton):
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        a, b = self.mapSceneToView(ev.buttonDownScenePos()), self.mapSceneToView(ev.scenePos())
        rect = QRectF(a, b).normalized()
        if ev.isFinish():
            self.band.hide()
            self.drawn.emit(rect.top(), rect.left(), rect.bottom(), rect.right())
        else:
            self.band.setRect(rect)
            self.band.show()


class PageView(QWidget):
    """An image with boxes: ``show_boxes(rects, colors, labels)``, ``select(rects)``; clicks and drawn
    rectangles are the signals of ``box`` (a PageBox); ``hovered`` follows the mouse."""

    hovered = pyqtSignal(float, float)  # x, y in image pixels (NaN when the mouse leaves)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        top = QHBoxLayout()
        top.setContentsMargins(2, 0, 2, 0)
        self.legend = QLabel()
        self.legend.setToolTip("Box colors: the network's confidence in each character (the low limit is set "
                               "beside the recognized text)")
        self.legend.setStyleSheet(theme.SMALL_DARK)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.legend, 1)
        lay.addLayout(top)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(theme.PAGE_BACKDROP)
        self.graphics.setToolTip(HINT)
        self.graphics.setAcceptDrops(False)  # a dropped file goes to the tab
        self.graphics.setMinimumSize(130, 130)
        self.box = PageBox()
        self.graphics.addItem(self.box)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image_item)
        self.paths: list[QGraphicsPathItem] = []
        self.labels: list[pg.TextItem] = []
        self.selection: list[QGraphicsRectItem] = []
        self.hover = QGraphicsRectItem()
        self.hover.setPen(pg.mkPen(theme.INK, width=1, style=Qt.PenStyle.DotLine, cosmetic=True))
        self.hover.setZValue(25)
        self.hover.hide()
        self.box.addItem(self.hover, ignoreBounds=True)
        lay.addWidget(self.graphics, 1)
        self.token = None
        self.shape: tuple[int, ...] | None = None
        self.ranges: dict[tuple, QRectF] = {}
        self.rects: list[tuple[int, int, int, int]] = []
        self.graphics.scene().sigMouseMoved.connect(self._moved)
        self.box.sigRangeChanged.connect(lambda *_: self._label_visibility())
        self.set_legend(legend_html(0.6))
        self.inside_labels = False  # labels in the box's lower right corner (the crops mosaic) instead of above

    # ---- content --------------------------------------------------------------------------------

    def set_legend(self, html_text: str) -> None:
        self.legend.setText(html_text)

    def set_image(self, image: np.ndarray | None, token) -> None:
        """Show an image (uint8). Each image size keeps its own zoom: going to the crops mosaic and back
        returns to the same place on the page."""
        if token == self.token and token is not None:
            return
        self.token = token
        if image is None:
            self.image_item.clear()
            return
        self.image_item.setImage(image, levels=(0, 255), autoLevels=False)
        shape = image.shape[:2]
        if shape != self.shape:
            if self.shape is not None:
                self.ranges[self.shape] = self.box.viewRect()
            self.shape = shape
            if shape in self.ranges:
                self.box.setRange(self.ranges[shape], padding=0)
            else:
                self.fit()

    def new_page(self) -> None:
        """Forget the zoom of the previous page."""
        self.ranges.clear()
        self.shape = None

    def fit(self) -> None:
        if self.shape is not None:
            h, w = self.shape[:2]
            self.box.setRange(QRectF(0, 0, w, h), padding=0.02)

    def fit_rect(self, r0: float, c0: float, r1: float, c1: float) -> None:
        self.box.setRange(QRectF(c0, r0, c1 - c0, r1 - r0), padding=0.02)

    def show_boxes(self, rects, colors, labels=None, widths=None, visible: bool = True) -> None:
        """Boxes (row0, col0, row1, col1), one color each, optionally a label each (drawn above the box).
        Hidden boxes (``visible`` False) are not drawn but still answer hover and clicks."""
        for item in self.paths + self.labels:
            self.box.removeItem(item)
        self.paths, self.labels = [], []
        self.rects = [tuple(r) for r in rects]
        if not visible:
            return
        groups: dict[tuple[str, float], QPainterPath] = {}
        for k, (r, color) in enumerate(zip(self.rects, colors)):
            path = groups.setdefault((color, widths[k] if widths else 2.0), QPainterPath())
            path.addRect(QRectF(r[1], r[0], r[3] - r[1], r[2] - r[0]))
        for (color, width), path in groups.items():
            item = QGraphicsPathItem(path)
            item.setPen(pg.mkPen(color, width=width, cosmetic=True))
            item.setZValue(10)
            self.box.addItem(item, ignoreBounds=True)
            self.paths.append(item)
        if labels and len(self.rects) <= MAX_LABELS:
            font = QFont()
            font.setPointSize(9)
            font.setBold(True)
            for r, color, text in zip(self.rects, colors, labels):
                if not text:
                    continue
                inside = self.inside_labels
                t = pg.TextItem(text, color="w", anchor=(1, 1) if inside else (0, 1), fill=pg.mkBrush(color))
                t.setFont(font)
                t.setPos(r[3] - 1, r[2] - 1) if inside else t.setPos(r[1], r[0])
                t.setZValue(15)
                self.box.addItem(t, ignoreBounds=True)
                self.labels.append(t)
            self._label_visibility()

    def _label_visibility(self) -> None:
        """Characters above the boxes only while the boxes are big enough on screen to tell them apart."""
        if not self.labels:
            return
        try:
            _, py = self.box.viewPixelSize()
        except Exception:  # not laid out yet
            return
        heights = sorted(r[2] - r[0] for r in self.rects)
        visible = py > 0 and heights[len(heights) // 2] / py >= MIN_LABEL_PX
        for t in self.labels:
            t.setVisible(visible)

    def select(self, rects) -> None:
        """Outline the selected boxes (row0, col0, row1, col1)."""
        for item in self.selection:
            self.box.removeItem(item)
        self.selection = []
        for r0, c0, r1, c1 in rects:
            pad = max(2.0, 0.06 * max(r1 - r0, c1 - c0))
            item = QGraphicsRectItem(QRectF(c0 - pad, r0 - pad, c1 - c0 + 2 * pad, r1 - r0 + 2 * pad))
            item.setPen(pg.mkPen(SELECTED, width=3, cosmetic=True))
            item.setBrush(QBrush(QColor(21, 101, 255, 35)))
            item.setZValue(20)
            self.box.addItem(item, ignoreBounds=True)
            self.selection.append(item)

    def show_hover(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.rects):
            self.hover.hide()
            return
        r0, c0, r1, c1 = self.rects[index]
        self.hover.setRect(QRectF(c0 - 1, r0 - 1, c1 - c0 + 2, r1 - r0 + 2))
        self.hover.show()

    def center_on(self, index: int) -> None:
        """Pan (without zooming) so that box ``index`` is in view."""
        if not 0 <= index < len(self.rects):
            return
        r0, c0, r1, c1 = self.rects[index]
        view = self.box.viewRect()
        if not view.contains(QRectF(c0, r0, c1 - c0, r1 - r0)):
            self.box.translateBy(x=(c0 + c1) / 2 - view.center().x(), y=(r0 + r1) / 2 - view.center().y())

    def set_draw_mode(self, on: bool) -> None:
        self.box.draw_mode = on
        self.graphics.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    # ---- mouse ----------------------------------------------------------------------------------

    def _moved(self, pos: QPointF) -> None:
        if self.box.sceneBoundingRect().contains(pos):
            p = self.box.mapSceneToView(pos)
            self.hovered.emit(p.x(), p.y())
        else:
            self.hovered.emit(float("nan"), float("nan"))

    def index_at(self, x: float, y: float) -> int | None:
        """The smallest drawn box containing the point."""
        hits = [k for k, (r0, c0, r1, c1) in enumerate(self.rects) if r0 <= y < r1 and c0 <= x < c1]
        return min(hits, key=lambda k: (self.rects[k][2] - self.rects[k][0]) * (self.rects[k][3] - self.rects[k][1])) \
            if hits else None

    def view_to_widget(self, x: float, y: float) -> QPointF:
        """A point of the image in the graphics widget's viewport coordinates (for tests and tooltips)."""
        scene = self.box.mapViewToScene(QPointF(x, y))
        return QPointF(self.graphics.mapFromScene(scene))


__all__ = ["PageView", "confidence_color", "legend_html", "swatch"]
