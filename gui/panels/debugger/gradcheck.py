"""Gradient check: finite differences against backprop for every weight of a chosen layer, at the
session's current weights (``engine.nn.gradcheck.weight_errors``, run by the worker with progress).
The relative error of each weight is a heatmap on a log scale -- one 32x32 tile per unit for the first
layer, so an error shows *where* in the image it is -- with the largest error, the tensor's error
and PASS/FAIL. Hover a pixel for its weight and error.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout

from engine.data.dataset import SIDE
from engine.debug.tiles import tile_at, tile_grid, tile_origin
from engine.eta import Eta
from engine.words import count
from gui.widgets import theme
from gui.widgets.panel import Panel
from gui.widgets.theme import span

LOG_RANGE = (-12.0, 0.0)  # log10 relative error shown: 1e-12 (float64 roundoff) .. 1 (completely wrong)
CMAP = "inferno"
PASS_STYLE, FAIL_STYLE, IDLE_STYLE = theme.PASS_BADGE, theme.FAIL_BADGE, theme.IDLE_BADGE


def log_errors(errors: np.ndarray) -> np.ndarray:
    return np.log10(np.maximum(np.asarray(errors, np.float64), 10 ** LOG_RANGE[0]))


class GradcheckPanel(Panel):
    title = "Gradient check"

    modest = True  # a tab: must not make its tile grow at the others' expense

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result = None  # GradcheckResult
        self.layers: list[tuple[str, str, int]] = []
        self.n_inputs = 1024
        self.running = False
        self.eta: Eta | None = None  # the running check's time left
        self.image: np.ndarray | None = None  # what the heatmap shows (log10 error)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        self.layer = QComboBox()
        self.layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer.setMinimumContentsLength(14)
        self.layer.setToolTip("The layer whose every weight is checked")
        row.addWidget(self.layer, 1)
        row.addWidget(QLabel("examples"))
        self.examples = QSpinBox()
        self.examples.setRange(1, 256)
        self.examples.setValue(8)
        self.examples.setToolTip("Training rows the loss is summed over (float64, central differences, eps 1e-6)")
        row.addWidget(self.examples)
        self.run_button = QPushButton("Run check")
        self.run_button.setToolTip("Compare backprop with finite differences for every weight of the layer (Ctrl+G)")
        self.run_button.clicked.connect(self.run_check)
        layout.addLayout(row)
        row = QHBoxLayout()  # the buttons on their own row: the panel fits a narrow column
        row.addWidget(self.run_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the check")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress.setToolTip("Units checked so far")
        self.progress.setMaximumHeight(14)
        layout.addWidget(self.progress)

        verdict = QHBoxLayout()
        self.badge = QLabel("\u2014")
        self.badge.setStyleSheet(IDLE_STYLE)
        self.badge.setToolTip("PASS: the tensor's relative error is under the tolerance and every weight's under 1e-3")
        verdict.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        self.summary = QLabel("Choose a layer and press Run check: every weight's gradient is recomputed by "
                              "finite differences and compared with backprop.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setStyleSheet(theme.BODY)
        verdict.addWidget(self.summary, 1)
        layout.addLayout(verdict)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(theme.BACKDROP)
        self.box = self.view.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.box.setMouseEnabled(False, False)
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.cmap = pg.colormap.get(CMAP)
        self.heat.setColorMap(self.cmap)
        self.box.addItem(self.heat)
        self.worst_box = pg.QtWidgets.QGraphicsRectItem()
        self.worst_box.setPen(pg.mkPen(theme.WORST, width=2, cosmetic=True))
        self.worst_box.hide()
        self.box.addItem(self.worst_box)
        self.colorbar = pg.ColorBarItem(colorMap=self.cmap, values=LOG_RANGE, interactive=False, width=14,
                                        label="log\u2081\u2080 relative error")
        self.view.addItem(self.colorbar, row=0, col=1)
        self.box.export_columns = self._columns
        layout.addWidget(self.view, 1)
        self.info = QLabel("hover the heatmap for a weight's error")
        self.info.setStyleSheet(theme.CAPTION_STYLE)
        layout.addWidget(self.info)
        self.heat.hoverEvent = self._hover

    # ---- observing ---------------------------------------------------------------------------

    def attach(self, worker) -> None:
        super().attach(worker)
        worker.gradcheck.progress.connect(self.on_progress)
        worker.gradcheck.finished.connect(self.on_result)
        worker.gradcheck.cancelled.connect(self.on_cancelled)
        worker.error.connect(lambda _msg: self.running and self._done("check failed"))

    def on_session(self, info) -> None:
        if info.view_step is not None:
            return
        names = [f"{name} ({act}, {self.n_in(i, info)}\u00d7{units})" for i, (name, act, units) in enumerate(info.layers)]
        if names != [self.layer.itemText(i) for i in range(self.layer.count())]:
            keep = self.layer.currentIndex()
            self.layer.clear()
            self.layer.addItems(names)
            self.layer.setCurrentIndex(keep if 0 <= keep < len(names) else 0)
        self.layers = info.layers
        self.n_inputs = info.weights.shape[0]

    @staticmethod
    def n_in(i: int, info) -> int:
        return info.weights.shape[0] if i == 0 else info.layers[i - 1][2]

    # ---- commands ----------------------------------------------------------------------------

    def run_check(self) -> None:
        if self.worker is None or self.running or self.layer.count() == 0:
            return
        self.running = True
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("starting \u2026")
        self.eta = Eta()
        self.worker.gradcheck.run(self.layer.currentIndex(), self.examples.value())

    def cancel(self) -> None:
        if self.worker is not None and self.running:
            self.worker.gradcheck.cancel()

    def on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        eta = self.eta.words(done / total) if self.eta is not None and total else ""
        self.progress.setFormat(f"{done} / {count(total, 'unit')}" + (f" \u00b7 {eta}" if eta else ""))

    def on_cancelled(self) -> None:
        self._done("cancelled")

    def _done(self, text: str) -> None:
        self.running = False
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setFormat(text)

    def on_result(self, r) -> None:
        self.result = r
        checked = np.isfinite(r.errors)  # (an attached script's check samples whole units: NaN elsewhere)
        self._done(f"{count(int(checked.any(axis=0).sum()), 'unit')} in {r.seconds:.1f} s")
        self.progress.setValue(self.progress.maximum())
        self.badge.setText("PASS" if r.passed else "FAIL")
        self.badge.setStyleSheet(PASS_STYLE if r.passed else FAIL_STYLE)
        i, j = r.worst
        where = f"unit {j}, pixel (x {i // SIDE}, y {i % SIDE})" if r.tiles else f"input {i} \u2192 unit {j}"
        n = int(checked.sum())
        self.summary.setText(
            f"<b>{r.layer}</b> ({r.activation}) at step {r.step:,}: largest per-weight error "
            f"<b>{r.max_error:.2e}</b> ({where}) \u00b7 tensor error <b>{r.tensor_error:.2e}</b> "
            f"(tolerance {r.tolerance:.0e}) \u00b7 {r.over:,} of {n:,} weights \u2265 {r.limit:.0e}"
            "<br>" + span(f"{count(r.examples, 'example')} \u00b7 float64 central differences vs backprop \u00b7 "
                          f"{r.seconds:.1f} s", theme.HINT_TEXT)
            + ("<br>" + html.escape(" \u00b7 ".join(r.lines), quote=False) if r.lines else ""))  # a script's layers
        self.request_refresh()

    # ---- drawing -----------------------------------------------------------------------------

    def refresh(self) -> None:
        r = self.result
        if r is None:
            return
        logs = log_errors(r.errors)
        self.image = tile_grid(logs) if r.tiles else logs.T  # tiles: one per unit; else units down, inputs across
        self.heat.setImage(self.image, levels=LOG_RANGE, autoLevels=False)
        self.box.autoRange(padding=0.01)
        i, j = r.worst
        if r.tiles:
            x0, y0 = tile_origin(j, r.errors.shape[1])
            x, y = x0 + i // SIDE, y0 + i % SIDE  # NIST column-major rows: x = i // 32
        else:
            x, y = i, j
        self.worst_box.setRect(QRectF(x - 1.5, y - 1.5, 4, 4))
        self.worst_box.show()

    def _hover(self, event) -> None:
        r = self.result
        if r is None or event.isExit():
            return
        x, y = event.pos().x(), event.pos().y()
        if r.tiles:
            hit = tile_at(x, y, r.errors.shape[1])
            if hit is None:
                return
            unit, px, py = hit
            i = px * SIDE + py  # upright (row py, column px) is NIST row-major index px * 32 + py
            text = f"unit {unit}, pixel (x {px}, y {py})"
        else:
            i, unit = int(x), int(y)
            if not (0 <= i < r.errors.shape[0] and 0 <= unit < r.errors.shape[1]):
                return
            text = f"input {i} \u2192 unit {unit}"
        e = float(r.errors[i, unit])
        self.info.setText(f"{text}: relative error {e:.2e}" + (" \u2014 over the limit" if e >= r.limit else ""))

    def _columns(self) -> dict[str, list]:
        """CSV: one column per unit, one row per input (the raw relative errors, not the log)."""
        if self.result is None:
            return {}
        e = self.result.errors
        return {f"unit {j}": [float(v) for v in e[:, j]] for j in range(e.shape[1])}

    @property
    def flagged(self) -> bool:
        """The view says FAIL (for tests)."""
        return self.result is not None and not self.result.passed and self.badge.text() == "FAIL"

