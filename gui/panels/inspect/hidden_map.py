"""The hidden space: the last hidden layer's activations on the validation set, projected on their first
two principal axes (``engine.debug.explain.hidden_map``), one dot per sample coloured by its true class, a
cross where the network is wrong. Hover for label and prediction, click to see the sample.

Give it data once (``set_data``) and a network whenever the weights change (``set_model``: as training
runs or the timeline is scrubbed); the projection is recomputed off the GUI thread, latest weights win,
and the axes keep their orientation from one frame to the next.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.data.dataset import to_image
from engine.debug.explain import HiddenMap, hidden_map
from engine.words import count
from gui.widgets import theme
from gui.widgets.pixmaps import to_pixmap
from gui.widgets.theme import class_color, class_hex
from gui.worker.background import Background


def class_legend(classes, columns: int = 6) -> str:
    """A grid of the class names, each after a dot in its colour; then what a cross means."""
    n = len(classes)
    cells = [f"<td><span style='color:{class_hex(k, n)}'>\u25cf</span>{c}</td>" for k, c in enumerate(classes)]
    rows = "".join("<tr>" + "".join(cells[i:i + columns]) + "</tr>" for i in range(0, n, columns))
    return (f"<table cellspacing='0' cellpadding='0' style='font-size:10px'>{rows}</table>"
            + theme.span("\u2716", theme.MISREAD) + " misclassified")


class HiddenMapPanel(QWidget):
    title = "Hidden space"
    sample_clicked = pyqtSignal(int)  # index into the data given to set_data

    def __init__(self, parent=None):
        super().__init__(parent)
        self.net, self.classes = None, ()
        self.x = self.y = None
        self.map: HiddenMap | None = None
        self.background = Background(self)
        self.background.ready.connect(self._show)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumWidth(240)  # (beside the 140-px legend column in a 1366-wide Inspect frame)
        self.plot.setAspectLocked(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.scatter = pg.ScatterPlotItem(size=7, hoverable=True, tip=self._tip, hoverSize=11,
                                          hoverPen=pg.mkPen("k", width=1.5))
        self.scatter.sigClicked.connect(self._clicked)
        self.plot.addItem(self.scatter)
        self.labels: list[pg.TextItem] = []
        layout.addWidget(self.plot, 1)
        side = QVBoxLayout()
        self.sample_view = QLabel()
        self.sample_view.setFixedSize(72, 72)
        self.sample_view.setStyleSheet(theme.PICTURE)
        side.addWidget(self.sample_view)
        self.sample_text = QLabel("click a dot")
        self.sample_text.setWordWrap(True)
        self.sample_text.setFixedWidth(140)
        side.addWidget(self.sample_text)
        side.addStretch(1)
        self.legend = QLabel("")  # which colour is which class (and what a cross is)
        self.legend.setStyleSheet(theme.CAPTION_STYLE)
        self.legend.setFixedWidth(140)
        self.legend.setToolTip("The dots' colours: each sample's true class")
        side.addWidget(self.legend)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setFixedWidth(140)
        self.caption.setStyleSheet(theme.CAPTION_STYLE)
        side.addWidget(self.caption)
        layout.addLayout(side)

    # ---- commands ----------------------------------------------------------------------------------------

    def set_data(self, x: np.ndarray, y: np.ndarray, classes) -> None:
        self.x, self.y, self.classes = np.asarray(x), np.asarray(y), tuple(classes)
        self.map = None
        self.legend.setText(class_legend(self.classes))
        self.legend.setMinimumHeight(self.legend.sizeHint().height())  # every class, never clipped
        self._request()

    def set_model(self, net) -> None:
        """New weights (a training step, a scrubbed snapshot): recompute the map."""
        self.net = net
        self._request()

    def _request(self) -> None:
        if self.net is None or self.x is None:
            return
        net, x, y, previous = self.net, self.x, self.y, self.map
        self.background.submit(lambda: hidden_map(net, x, y, previous))

    # ---- drawing -----------------------------------------------------------------------------------------

    def _show(self, m) -> None:
        if isinstance(m, Exception):
            self.caption.setText(f"could not project: {m}")
            return
        self.map = m
        n = len(self.classes)
        colors = [class_color(k, n) for k in range(n)]
        spots = [{"pos": p, "data": i, "brush": pg.mkBrush(*colors[c], 200),
                  "pen": pg.mkPen(theme.MISREAD, width=1.5) if w else pg.mkPen(None),
                  "symbol": "x" if w else "o", "size": 9 if w else 7}
                 for i, (p, c, w) in enumerate(zip(m.points, m.y, m.wrong))]
        self.scatter.setData(spots)
        for t in self.labels:
            self.plot.removeItem(t)
        self.labels = []
        for c in np.unique(m.y):  # each class's name at its centre
            centre = m.points[m.y == c].mean(0)
            t = pg.TextItem(self.classes[c], color=colors[c], anchor=(0.5, 0.5))
            t.setFont(pg.QtGui.QFont("sans", 11, pg.QtGui.QFont.Weight.Bold))
            t.setPos(*centre)
            self.plot.addItem(t)
            self.labels.append(t)
        self.caption.setText(f"PCA of the last hidden layer on {count(len(m.y), 'sample')}; axes hold "
                             f"{m.explained[0]:.0%} and {m.explained[1]:.0%} of the variance. "
                             f"x = misclassified ({int(m.wrong.sum()):,}).")

    def _tip(self, x, y, data) -> str:
        if self.map is None:
            return ""
        i = int(data)
        c, p = self.classes[self.map.y[i]], self.classes[self.map.pred[i]]
        return f"sample {i}: label {c}, predicted {p}" + ("" if c == p else "  (wrong)")

    def _clicked(self, item, points, event=None) -> None:
        if len(points):
            self.select(int(points[0].data()))

    def select(self, i: int) -> None:
        self.sample_view.setPixmap(to_pixmap(to_image(self.x[i]), 72))
        self.sample_text.setText(self._tip(0, 0, i))
        self.sample_clicked.emit(i)
