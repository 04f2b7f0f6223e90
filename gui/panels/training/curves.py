"""Live curves: loss and accuracy per epoch (train and valid) over the per-batch values.

The x axis is epochs for both, so batch points sit between the epoch points they make up
(batch k of an epoch is drawn at epoch + k / batches_per_epoch). Batch curves can hold hundreds of
thousands of points; pyqtgraph draws only what is in view, decimated to the pixel width.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QLabel, QVBoxLayout

from engine.words import count
from gui.widgets import theme
from gui.widgets.panel import Panel
from gui.widgets.plots import Series, StableRange, cache_axes, plot_title, style_plot
from gui.widgets.theme import BATCH_COLOR, TRAIN_COLOR, VALID_COLOR, span

LOSS_TITLE = "Loss (cross-entropy per example)"
LEGEND = "".join(f"&nbsp;&nbsp;{span(text, color)}" for text, color in (
    ("\u2014 batch", BATCH_COLOR), ("\u25cf train", TRAIN_COLOR), ("\u25a0 valid", VALID_COLOR)))


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _style_plot(plot: pg.PlotItem, title: str, ylabel: str) -> None:
    # the legend lives in the title, where it can never cover a curve
    style_plot(plot, plot_title(f"<b>{title}</b>{LEGEND}", bold=False), ylabel)
    plot.setMenuEnabled(True)


class CurvesPanel(Panel):
    title = "Curves"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.batches_per_epoch = 1
        self.batch_x, self.batch_loss, self.batch_acc = Series(), Series(), Series()
        self.epoch_x = Series(64)
        self.train_loss, self.valid_loss, self.train_acc, self.valid_acc = (Series(64) for _ in range(4))
        self.generation = -1
        self.epochs_drawn = -1  # epoch points on the plots (-1: redraw them)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.summary = QLabel("no epochs yet")
        self.summary.setStyleSheet(theme.SUMMARY)
        self.summary.setToolTip("The last completed epoch (the same numbers the CLI prints)")
        layout.addWidget(self.summary)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(260)  # two plots that stay readable (the frame scrolls below this)
        self.view.setBackground("w")
        self.view.setToolTip("Drag to pan, wheel to zoom, right-click for options; 'A' button re-fits")
        layout.addWidget(self.view, 1)

        self.loss_plot = self.view.addPlot(row=0, col=0)
        _style_plot(self.loss_plot, LOSS_TITLE, "loss")
        self.loss_title = LOSS_TITLE
        self.acc_plot = self.view.addPlot(row=1, col=0)
        _style_plot(self.acc_plot, "Accuracy", "accuracy %")
        self.acc_plot.setXLink(self.loss_plot)
        cache_axes(self.loss_plot, self.acc_plot)
        self.acc_plot.setYRange(0, 100, padding=0.02)
        self.acc_plot.enableAutoRange(axis="y", enable=False)
        self.x_range = StableRange(self.loss_plot, "x", zero=True, headroom=0.1)
        self.loss_range = StableRange(self.loss_plot, "y", zero=True, headroom=0.05)

        def batch_curve(plot, name):
            c = plot.plot([], [], pen=pg.mkPen(BATCH_COLOR, width=1), name=name)
            c.setAlpha(0.8, False)
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
            return c

        def epoch_curve(plot, color, name, symbol):
            return plot.plot([], [], pen=pg.mkPen(color, width=2.5), symbol=symbol, symbolSize=7,
                             symbolBrush=color, symbolPen=pg.mkPen("w", width=1), name=name)

        self.batch_loss_curve = batch_curve(self.loss_plot, "batch")
        self.train_loss_curve = epoch_curve(self.loss_plot, TRAIN_COLOR, "train", "o")
        self.valid_loss_curve = epoch_curve(self.loss_plot, VALID_COLOR, "valid", "s")
        self.batch_acc_curve = batch_curve(self.acc_plot, "batch")
        self.train_acc_curve = epoch_curve(self.acc_plot, TRAIN_COLOR, "train", "o")
        self.valid_acc_curve = epoch_curve(self.acc_plot, VALID_COLOR, "valid", "s")

    # ---- data ----------------------------------------------------------------------------------

    def on_session(self, info) -> None:
        self.generation = info.generation
        self.batches_per_epoch = max(info.batches_per_epoch, 1)
        title = "Loss (as your script computes it)" if info.script else LOSS_TITLE  # (it may sum over the batch)
        if title != self.loss_title:
            self.loss_title = title
            self.loss_plot.setTitle(plot_title(f"<b>{title}</b>{LEGEND}", bold=False))
        n = len(info.batch_loss)
        self.batch_x.set(np.arange(1, n + 1) / self.batches_per_epoch)
        self.batch_loss.set(info.batch_loss)
        self.batch_acc.set(100 * np.asarray(info.batch_acc))
        for s in (self.epoch_x, self.train_loss, self.valid_loss, self.train_acc, self.valid_acc):
            s.clear()
        self.epochs_drawn = -1
        self._add_epochs(info.epochs)
        self.x_range.release()
        self.loss_range.release()
        self.request_refresh()

    def on_update(self, u) -> None:
        if u.generation != self.generation:
            return
        if len(u.steps):
            self.batch_x.extend(u.steps / self.batches_per_epoch)
            self.batch_loss.extend(u.losses)
            self.batch_acc.extend(100 * u.accs)
        self._add_epochs(u.epochs)
        if len(u.steps) or u.epochs:
            self.request_refresh()

    def _add_epochs(self, epochs) -> None:
        if not epochs:
            return
        self.epoch_x.extend([e.epoch for e in epochs])
        self.train_loss.extend([e.train_loss for e in epochs])
        self.valid_loss.extend([e.valid_loss for e in epochs])
        self.train_acc.extend([100 * e.train_acc for e in epochs])
        self.valid_acc.extend([100 * e.valid_acc for e in epochs])
        e = epochs[-1]
        self.summary.setText(
            f"<b>epoch {e.epoch}</b> &nbsp; train loss {e.train_loss:.4f} \u00b7 acc {100 * e.train_acc:.1f} %"
            f" &nbsp;|&nbsp; " + span(f"<b>valid loss {e.valid_loss:.4f} \u00b7 acc {100 * e.valid_acc:.1f} %</b>",
                                      VALID_COLOR) + f" &nbsp; ({_duration(e.seconds)})")

    def refresh(self) -> None:
        bx = self.batch_x.values
        self.batch_loss_curve.setData(bx, self.batch_loss.values)
        self.batch_acc_curve.setData(bx, self.batch_acc.values)
        ex = self.epoch_x.values
        if self.epochs_drawn != len(ex):  # (symbols are costly to re-set; epochs come rarely)
            self.epochs_drawn = len(ex)
            self.train_loss_curve.setData(ex, self.train_loss.values)
            self.valid_loss_curve.setData(ex, self.valid_loss.values)
            self.train_acc_curve.setData(ex, self.train_acc.values)
            self.valid_acc_curve.setData(ex, self.valid_acc.values)
        x_hi = max(bx[-1] if len(bx) else 0.0, ex[-1] if len(ex) else 0.0, 1.0)
        self.x_range.fit(0.0, x_hi)
        y = self.batch_loss.values
        if len(y):
            self.loss_range.fit(0.0, float(np.nanmax(np.where(np.isfinite(y), y, np.nan))) if np.isfinite(y).any()
                                else 1.0)
        if not self.epoch_x.n:
            self.summary.setText(f"no epochs yet \u00b7 {count(self.batch_x.n, 'batch', 'batches')}")

    @property
    def point_counts(self) -> dict[str, int]:
        return {"batch": self.batch_x.n, "epoch": self.epoch_x.n}


class LiveLossPanel(Panel):
    """A small live loss curve under the Controls, so every workspace has the run's curve at hand
    (the batch loss, thinned to at most ``MAX_POINTS`` by keeping every k-th batch, and the epochs)."""

    title = "Live loss"
    MAX_POINTS = 2000

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 0, 8, 8)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot_widget.setMinimumHeight(130)
        self.plot_widget.setMaximumHeight(170)
        plot = self.plot = self.plot_widget.getPlotItem()
        plot.setTitle(plot_title(f"<b>loss</b> (batches, {span('valid', VALID_COLOR)})", size="9pt", bold=False))
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getAxis("bottom").setHeight(18)
        plot.getAxis("left").setWidth(34)
        self.batch_curve = plot.plot(pen=pg.mkPen(BATCH_COLOR, width=1))
        self.valid_curve = plot.plot(pen=pg.mkPen(VALID_COLOR, width=2), symbol="s", symbolSize=4,
                                     symbolBrush=VALID_COLOR, symbolPen=None)
        lay.addWidget(self.plot_widget)
        self.generation = -1
        self.bpe = 1
        self.every = 1
        self.x, self.y, self.ex, self.ey = Series(), Series(), Series(), Series()

    def on_session(self, info) -> None:
        self.generation = info.generation
        self.bpe = max(info.batches_per_epoch, 1)
        self.every = max(1, -(-len(info.batch_loss) // self.MAX_POINTS))
        loss = np.asarray(info.batch_loss, float)
        self.x.set(np.arange(1, len(loss) + 1)[::self.every] / self.bpe)
        self.y.set(loss[::self.every])
        self.ex.set([e.epoch for e in info.epochs])
        self.ey.set([e.valid_loss for e in info.epochs])
        self.plot.enableAutoRange()  # a new session: the ranges start over
        self.request_refresh()

    def on_update(self, u) -> None:
        if u.generation != self.generation:
            return
        if len(u.steps):
            keep = u.steps % self.every == 0
            self.x.extend(u.steps[keep] / self.bpe)
            self.y.extend(u.losses[keep])
            if self.x.n > self.MAX_POINTS:  # thin what is there, keep every other point from now on
                self.every *= 2
                self.x.set(self.x.values[1::2])
                self.y.set(self.y.values[1::2])
        if u.epochs:
            self.ex.extend([e.epoch for e in u.epochs])
            self.ey.extend([e.valid_loss for e in u.epochs])
        if len(u.steps) or u.epochs:
            self.request_refresh()

    def refresh(self) -> None:
        self.batch_curve.setData(self.x.values, self.y.values)
        self.valid_curve.setData(self.ex.values, self.ey.values)
