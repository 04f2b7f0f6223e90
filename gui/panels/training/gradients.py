"""Gradients: is every layer learning? Per-layer mean |dL/dW| over time on a log axis, the fraction
of saturated units per layer, histograms of the hidden activations, and, in words with the numbers,
the engine's verdict (``engine.debug.stats.vanishing_gradient_report``), e.g. "layer1 gradients are 120x
smaller than the output layer's; 91 % of its sigmoid units are saturated".
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

from gui.widgets import theme
from gui.widgets.panel import Panel
from gui.widgets.plots import LogAxis, Series, StableRange, cache_axes, plot_title, style_plot
from gui.widgets.theme import layer_color

OK_STYLE, WARN_STYLE = theme.GOOD_BANNER, theme.WARNING_BANNER
TINY = 1e-30  # log axis floor for a gradient that is exactly zero


def versus(ratio: float, short: bool = False) -> str:
    """How a layer's gradient compares with the output layer's, ``ratio`` = output / layer: '2.9× smaller than',
    'about as large as' (within 1.5×: "1.1× below" said less than nothing), '3.0× larger than'."""
    if not np.isfinite(ratio):
        return "zero" if short else "zero, unlike"
    if 1 / 1.5 < ratio < 1.5:
        return "about the same" if short else "about as large as"
    words = f"{ratio:,.1f}\u00d7 smaller" if ratio >= 1.5 else f"{1 / ratio:,.1f}\u00d7 larger"
    return words if short else words + " than"


class GradientsPanel(Panel):
    title = "Gradients"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.generation = -1
        self.batches_per_epoch = 1
        self.layers: list[tuple[str, str, int]] = []
        self.x = Series()
        self.grads: dict[str, Series] = {}
        self.stats = {}
        self.report: list[str] = []
        self.findings: list[tuple[str, bool]] | None = None  # an attached script's diagnosis (words, a problem?)
        self.histograms = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.words = QLabel("no batches yet")
        self.words.setWordWrap(True)
        self.words.setTextFormat(Qt.TextFormat.RichText)
        self.words.setStyleSheet(OK_STYLE)
        self.words.setToolTip("The engine's reading of the gradient statistics over the last updates\n"
                              "(the same words the CLI prints)")
        layout.addWidget(self.words)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["layer", "mean |\u2207W|", "vs output", "saturated", "\u2016\u2207W\u2016/\u2016W\u2016"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setStyleSheet(theme.SMALL_TABLE)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Per layer, averaged over the batches since the last update:\n"
                              "mean |dL/dW|, how many times smaller than the output layer's,\n"
                              "fraction of saturated sigmoid/tanh units (dead units for ReLU),\n"
                              "and the relative size of one gradient step")
        layout.addWidget(self.table)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(300)  # three plots that stay readable (the frame scrolls below this)
        self.view.setBackground("w")
        layout.addWidget(self.view, 1)
        # no legend boxes: a layer has the same color in every plot as its name in the table
        self.grad_plot = self.view.addPlot(row=1, col=0, colspan=2, axisItems={"left": LogAxis("left")})
        self.grad_plot.setTitle(plot_title("mean |\u2207W| per layer, log scale (colors as in the table)", bold=False))
        self.grad_plot.setLogMode(y=True)
        self.grad_plot.setLabel("bottom", "epoch")
        self.grad_plot.showGrid(x=True, y=True, alpha=0.25)
        self.sat_plot = self.view.addPlot(row=2, col=0)
        self.sat_plot.setTitle(plot_title("saturated / dead units %", bold=False))
        self.sat_plot.setYRange(0, 100, padding=0.02)
        self.sat_plot.setMouseEnabled(False, False)
        self.sat_plot.hideButtons()
        self.hist_plot = self.view.addPlot(row=2, col=1)
        self.hist_plot.setTitle(plot_title("activations (last batch)", bold=False))
        self.hist_plot.setLabel("left", "share of units")
        self.hist_plot.getAxis("left").enableAutoSIPrefix(False)
        for p in (self.grad_plot, self.sat_plot, self.hist_plot):
            style_plot(p, xlabel=None, grid=False)
        cache_axes(self.grad_plot, self.sat_plot, self.hist_plot)
        self.x_range = StableRange(self.grad_plot, "x", zero=True, headroom=0.1)
        self.log_range = StableRange(self.grad_plot, "y", headroom=0.2)  # in log10 units
        self.hist_plot.disableAutoRange(axis="x")
        self.hist_edges: tuple[float, float] | None = None
        self.hist_y = StableRange(self.hist_plot, "y", zero=True, headroom=0.1)
        self.view.ci.layout.setRowStretchFactor(1, 3)
        self.view.ci.layout.setRowStretchFactor(2, 2)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.hist_curves: dict[str, pg.PlotDataItem] = {}
        self.bars: pg.BarGraphItem | None = None
        self.bar_labels: list[pg.TextItem] = []

    # ---- data ----------------------------------------------------------------------------------

    def on_session(self, info) -> None:
        self.generation = info.generation
        self.batches_per_epoch = max(info.batches_per_epoch, 1)
        self.layers = list(info.layers)
        self.x.clear()
        self.grads = {name: Series() for name, _, _ in self.layers}
        self.stats, self.report, self.histograms, self.findings = {}, [], {}, None
        # an attached script: the update's size ||dW||/||W|| (what its learning rate did), not the gradient's
        self.table.horizontalHeaderItem(4).setText("\u2016\u0394W\u2016/\u2016W\u2016" if info.script
                                                   else "\u2016\u2207W\u2016/\u2016W\u2016")
        for item in self.curves.values():
            self.grad_plot.removeItem(item)
        for item in self.hist_curves.values():
            self.hist_plot.removeItem(item)
        self.curves, self.hist_curves = {}, {}
        for i, (name, act, units) in enumerate(self.layers):
            c = self.grad_plot.plot([], [], pen=pg.mkPen(layer_color(i), width=1.5))
            c.setDownsampling(auto=True, method="mean")
            c.setClipToView(True)
            self.curves[name] = c
            if name != "output":
                self.hist_curves[name] = self.hist_plot.plot(
                    [], [], stepMode="center", pen=pg.mkPen(layer_color(i), width=2))
        hidden = self.layers[:-1]
        self.sat_plot.getAxis("bottom").setTicks([[(i, name) for i, (name, _, _) in enumerate(hidden)]])
        self.sat_plot.setXRange(-0.6, max(len(hidden), 1) - 0.4, padding=0)
        self.table.setRowCount(len(self.layers))
        self.table.clearContents()
        for r in (self.x_range, self.log_range, self.hist_y):
            r.release()
        self.hist_edges = None
        if self.bars is not None:
            self.sat_plot.removeItem(self.bars)
            self.bars = None
        for t in self.bar_labels:
            self.sat_plot.removeItem(t)
        self.bar_labels = []
        self.words.setText("no batches yet: press Start or \u2192 to train")
        self.words.setStyleSheet(OK_STYLE)
        self.request_refresh()

    def on_update(self, u) -> None:
        if u.generation != self.generation:
            return
        if len(u.steps):
            self.x.extend(u.steps / self.batches_per_epoch)
            for name, values in u.grads.items():
                if name in self.grads:
                    self.grads[name].extend(np.maximum(values, TINY))
        if u.stats:
            self.stats, self.report = u.stats, u.report
        if u.findings is not None:
            self.findings = u.findings
        if u.histograms:
            self.histograms = u.histograms
        self.request_refresh()

    def refresh(self) -> None:
        x = self.x.values
        lo, hi = np.inf, -np.inf
        for name, c in self.curves.items():
            y = self.grads[name].values
            c.setData(x[:len(y)], y)
            if len(y):
                lo, hi = min(lo, float(y.min())), max(hi, float(y.max()))
        if len(x):
            self.x_range.fit(0.0, max(float(x[-1]), 1.0))
        if hi > 0:
            self.log_range.fit(np.log10(lo), np.log10(hi))
        self._draw_words()
        self._draw_table()
        self._draw_saturation()
        self._draw_histograms()

    def _draw_words(self) -> None:
        if not self.stats:
            return
        if self.findings is not None:  # an attached script: the diagnosis of its loop (engine/remote/diagnose.py)
            problems = [w for w, bad in self.findings if bad]
            lines = problems or [w for w, _ in self.findings] or ["no problem seen in your loop's figures so far"]
            self.words.setStyleSheet(WARN_STYLE if problems else OK_STYLE)
            items = "<br>".join(f"\u2022 {html.escape(line, quote=False)}" for line in lines)
            head = "\u26a0 What your loop's figures show" if problems else "\u2713 Your loop looks healthy"
            self.words.setText(f"{head}<br><span style='font-weight:normal'>{items}</span>")
            return
        if self.report:
            self.words.setStyleSheet(WARN_STYLE)
            items = "<br>".join(f"\u2022 {html.escape(line, quote=False)}" for line in self.report)
            self.words.setText(f"\u26a0 Vanishing gradients<br><span style='font-weight:normal'>{items}</span>")
        else:
            self.words.setStyleSheet(OK_STYLE)
            ref = self.stats.get("output")
            worst = min((s.grad_mean_abs for n, s in self.stats.items() if n != "output"), default=None)
            ratio = (f" (the smallest hidden-layer gradient is {versus(ref.grad_mean_abs / worst)} the output "
                     "layer's)") if ref and worst else ""
            self.words.setText(f"\u2713 Every layer is receiving gradient{ratio}.")

    def _draw_table(self) -> None:
        ref = self.stats.get("output")
        for row, (name, act, units) in enumerate(self.layers):
            s = self.stats.get(name)
            if s is None:
                continue
            ratio = ref.grad_mean_abs / s.grad_mean_abs if ref and s.grad_mean_abs > 0 else float("inf")
            sat = s.dead if act == "relu" else s.saturation
            sat_text = f"{100 * sat:.0f} %" + (" dead" if act == "relu" else "") if act != "softmax" else "\u2014"
            cells = [f"{name} ({act} {units})", f"{s.grad_mean_abs:.2e}",
                     "\u2014" if name == "output" else versus(ratio, short=True), sat_text, f"{s.grad_to_weight:.2e}"]
            for col, text in enumerate(cells):
                item = self.table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    if col == 0:
                        item.setForeground(pg.mkColor(layer_color(row)))
                    self.table.setItem(row, col, item)
                if item.text() != text:
                    item.setText(text)
                alarm = (col == 2 and name != "output" and ratio >= 10) or (col == 3 and act != "softmax" and sat >= 0.8)
                if item.data(Qt.ItemDataRole.UserRole) != alarm:
                    item.setData(Qt.ItemDataRole.UserRole, alarm)
                    item.setBackground(pg.mkColor(theme.ALARM_CELL if alarm else theme.WHITE))
        h = self.table.horizontalHeader().height() + sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        if self.table.height() != h + 4:
            self.table.setFixedHeight(h + 4)

    def _draw_saturation(self) -> None:
        if not self.stats:
            return
        values = []
        for name, act, _ in self.layers[:-1]:  # the softmax output has no saturation to speak of
            s = self.stats.get(name)
            values.append(0.0 if s is None else 100 * (s.dead if act == "relu" else s.saturation))
        if self.bars is None:
            brushes = [pg.mkBrush(layer_color(i)) for i in range(len(values))]
            self.bars = pg.BarGraphItem(x=np.arange(len(values)), height=values, width=0.6, brushes=brushes,
                                        pen=pg.mkPen(None))
            self.sat_plot.addItem(self.bars)
            for i in range(len(values)):
                t = pg.TextItem("", color=theme.INK, anchor=(0.5, 1.0))
                self.sat_plot.addItem(t)
                self.bar_labels.append(t)
        else:
            self.bars.setOpts(height=values)
        for i, (t, v) in enumerate(zip(self.bar_labels, values)):
            text = f"{v:.0f} %"
            if t.textItem.toPlainText() != text:
                t.setText(text)
            t.setPos(i, min(v, 88) + 2)

    def _draw_histograms(self) -> None:
        lo, hi, top = np.inf, -np.inf, 0.0
        for name, c in self.hist_curves.items():
            if name in self.histograms:
                counts, edges = self.histograms[name]
                share = counts / (counts.sum() or 1)
                c.setData(edges, share)
                lo, hi, top = min(lo, float(edges[0])), max(hi, float(edges[-1])), max(top, float(share.max()))
        if top > 0:
            if (lo, hi) != self.hist_edges:  # fixed for sigmoid/tanh; follows the data for ReLU
                self.hist_edges = (lo, hi)
                self.hist_plot.setXRange(lo, hi, padding=0.02)
            self.hist_y.fit(0.0, top)
