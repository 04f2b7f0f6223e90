"""First-layer weights as 32x32 tiles, one per hidden unit, on a symmetric diverging colormap
(blue negative, white zero, red positive) with a colorbar. Hover names the unit and its value
range; clicking a tile shows it enlarged beside the grid (it keeps updating live). Inputs that are not
32x32 images (an attached script's own network) are a plain heatmap, one row per unit.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QPainterPath
from PyQt6.QtWidgets import QLabel, QVBoxLayout

from engine.data.dataset import SIDE
from engine.debug.tiles import GAP, tile_at, tile_grid, tile_layout, tile_origin, unit_images
from gui.widgets import theme
from gui.widgets.panel import Panel


class WeightsPanel(Panel):
    title = "Weights"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.W: np.ndarray | None = None
        self.selected: int | None = None
        self.levels = 0.0  # the colorbar's +- range
        self._fitted: tuple[int, int] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.caption = QLabel("first-layer weights")
        self.caption.setStyleSheet(theme.SUMMARY)
        layout.addWidget(self.caption)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(theme.BACKDROP)
        layout.addWidget(self.view, 1)
        self.info = QLabel("hover a tile for its unit and range; click to enlarge")
        self.info.setStyleSheet(theme.CAPTION_PADDED)
        layout.addWidget(self.info)

        self.cmap = theme.weight_colormap()  # CET-D1, the report's weight colours too
        self.grid_box = self.view.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.grid_box.setMouseEnabled(False, False)
        self.grid_item = pg.ImageItem(axisOrder="row-major")
        self.grid_item.setColorMap(self.cmap)
        self.grid_box.addItem(self.grid_item)
        # the gaps between tiles as lines of a fixed screen width: a 1-px gap of the image vanishes, unevenly,
        # when the grid is drawn smaller than its pixels (tiles merged into blocks on a 1366x768 screen)
        self.gaps = pg.QtWidgets.QGraphicsPathItem()
        self.gaps.setPen(pg.mkPen(theme.BACKDROP, width=2, cosmetic=True))
        self.grid_box.addItem(self.gaps)
        self.highlight = pg.QtWidgets.QGraphicsRectItem()
        self.highlight.setPen(pg.mkPen(theme.DARK_INK, width=2, cosmetic=True))
        self.highlight.hide()
        self.grid_box.addItem(self.highlight)
        self.colorbar = pg.ColorBarItem(colorMap=self.cmap, values=(-1, 1), interactive=False, width=14,
                                        label="weight")
        self.view.addItem(self.colorbar, row=0, col=1)

        zoom = self.view.addLayout(row=0, col=2)
        self.zoom_title = zoom.addLabel("click a tile", row=0, col=0, color=theme.INK, size="9pt")
        self.zoom_box = zoom.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.zoom_box.setMouseEnabled(False, False)
        self.zoom_item = pg.ImageItem(axisOrder="row-major")
        self.zoom_item.setColorMap(self.cmap)
        self.zoom_box.addItem(self.zoom_item)
        self.view.ci.layout.setColumnStretchFactor(0, 5)
        self.view.ci.layout.setColumnStretchFactor(2, 2)
        self.view.ci.layout.setColumnMaximumWidth(2, 180)  # the enlarged tile: the grid gets the room

        self.grid_item.hoverEvent = self._hover
        self.grid_item.mouseClickEvent = self._click

    # ---- data ----------------------------------------------------------------------------------

    def on_session(self, info) -> None:
        self.selected = None if self.W is None or self.W.shape != info.weights.shape else self.selected
        self.W = info.weights
        first = info.layers[0][0] if info.layers else "layer1"
        n_in, units = info.weights.shape
        self.caption.setText(f"{first} weights: {units} units \u00d7 32\u00d732 inputs \u00b7 blue < 0 < red, same "
                             "scale for every tile" if self.tiles else f"{first} weights: {units} units (rows) \u00d7 "
                             f"{n_in} inputs (columns) \u00b7 blue < 0 < red")
        self.request_refresh()

    def on_update(self, u) -> None:
        if self.W is not None and u.weights.shape == self.W.shape and np.array_equal(u.weights, self.W):
            return
        self.W = u.weights
        self.request_refresh()

    def refresh(self) -> None:
        if self.W is None:
            return
        grid = tile_grid(self.W) if self.tiles else self.W.T  # 32x32 pictures only for 1024 inputs
        m = self._scale()
        self.grid_item.setImage(grid, levels=(-m, m), autoLevels=False)
        if grid.shape != self._fitted:  # fit the view once per grid size (a new network)
            self._fitted = grid.shape
            self.grid_box.autoRange(padding=0.01)
            self._draw_gaps(self.W.shape[1], grid.shape)
        self._draw_zoom()

    def _draw_gaps(self, units: int, shape: tuple[int, int]) -> None:
        rows, cols = tile_layout(units)
        cell, path = SIDE + GAP, QPainterPath()
        for c in range(1, cols):  # (image pixel k spans k..k+1: a gap's middle is at c * cell - GAP / 2)
            path.moveTo(c * cell - GAP / 2, 0)
            path.lineTo(c * cell - GAP / 2, shape[0])
        for r in range(1, rows):
            path.moveTo(0, r * cell - GAP / 2)
            path.lineTo(shape[1], r * cell - GAP / 2)
        self.gaps.setPath(path)

    def _scale(self) -> float:
        """The symmetric color scale: max |w| rounded up to 2 significant digits, changed only when the
        weights outgrow it or shrink under 70 % of it (a steady colorbar is readable, and cheap)."""
        m = float(np.abs(self.W).max()) or 1.0
        if not (self.levels * 0.7 <= m <= self.levels):
            digits = 10 ** (np.floor(np.log10(m)) - 1)
            self.levels = float(np.ceil(m / digits) * digits)
            self.colorbar.setLevels((-self.levels, self.levels))
        return self.levels

    @property
    def tiles(self) -> bool:
        """The inputs are 32x32 images (one tile per unit); otherwise a plain heatmap, one row per unit."""
        return self.W is not None and self.W.shape[0] == SIDE * SIDE

    @property
    def grid_image(self) -> np.ndarray | None:
        return None if self.W is None else tile_grid(self.W) if self.tiles else self.W.T

    # ---- interaction ---------------------------------------------------------------------------

    def unit_at(self, x: float, y: float) -> int | None:
        """The unit under image coordinates (x = column, y = row), or None over a gap or outside."""
        if self.W is not None and not self.tiles:
            return int(y) if 0 <= x < self.W.shape[0] and 0 <= y < self.W.shape[1] else None
        hit = tile_at(x, y, self.W.shape[1]) if self.W is not None else None
        return None if hit is None else hit[0]

    def _hover(self, event) -> None:
        if event.isExit():
            self.info.setText("hover a tile for its unit and range; click to enlarge")
            return
        k = self.unit_at(event.pos().x(), event.pos().y())
        if k is not None:
            w = self.W[:, k]
            self.info.setText(f"unit {k}: weights {w.min():+.3f} \u2026 {w.max():+.3f}, mean |w| "
                              f"{np.abs(w).mean():.3f} \u00b7 click to enlarge")
            self.grid_item.setToolTip(f"unit {k}\n{w.min():+.3f} \u2026 {w.max():+.3f}")

    def _click(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            k = self.unit_at(event.pos().x(), event.pos().y())
            if k is not None:
                event.accept()
                self.select(k)

    def select(self, unit: int | None) -> None:
        self.selected = unit
        self._draw_zoom()

    def _draw_zoom(self) -> None:
        if self.selected is None or self.W is None or self.selected >= self.W.shape[1] or not self.tiles:
            self.highlight.hide()
            self.zoom_item.clear()
            self.zoom_title.setText("click a tile to enlarge it" if self.tiles or self.W is None else "")
            return
        k = self.selected
        img = unit_images(self.W[:, k:k + 1])[0]
        m = self.levels or 1.0
        self.zoom_item.setImage(img, levels=(-m, m), autoLevels=False)
        self.zoom_box.autoRange(padding=0.02)
        x, y = tile_origin(k, self.W.shape[1])
        self.highlight.setRect(QRectF(x - 0.5, y - 0.5, SIDE + 1, SIDE + 1))
        self.highlight.show()
        w = self.W[:, k]
        self.zoom_title.setText(f"unit {k} \u00b7 {w.min():+.3f} \u2026 {w.max():+.3f}")
