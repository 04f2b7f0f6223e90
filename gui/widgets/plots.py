"""Plot helpers every panel shares: one plot style (title, axes, grid), cached axes, a range that changes
rarely, a readable log axis, and the growable series the curves are kept in."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QGraphicsItem

from gui.widgets import theme


def plot_title(text: str, size: str = "10pt", bold: bool = True) -> str:
    """A plot's rich-text title in the window's style (``text`` may hold more rich text)."""
    return f"<span style='font-size:{size}; color:{theme.INK}'>" + (f"<b>{text}</b>" if bold else text) + "</span>"


def style_plot(plot: pg.PlotItem, title: str | None = None, ylabel: str | None = None, xlabel: str | None = "epoch",
               grid: bool = True) -> None:
    """The window's plot style: a title (rich text, e.g. from ``plot_title``), axis labels, a light grid and
    axes in the theme's greys."""
    if title is not None:
        plot.setTitle(title)
    if xlabel is not None:
        plot.setLabel("bottom", xlabel)
    if ylabel is not None:
        plot.setLabel("left", ylabel)
    if grid:
        plot.showGrid(x=True, y=True, alpha=0.25)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).setTextPen(theme.AXIS_TEXT)
        plot.getAxis(axis).setPen(theme.AXIS_LINE)


class Series:
    """A growable float array (amortised O(1) append of chunks)."""

    def __init__(self, capacity: int = 1024):
        self.data = np.empty(capacity)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def extend(self, values) -> None:
        values = np.asarray(values, float)
        need = self.n + len(values)
        if need > len(self.data):
            grown = np.empty(max(need, 2 * len(self.data)))
            grown[:self.n] = self.data[:self.n]
            self.data = grown
        self.data[self.n:need] = values
        self.n = need

    def set(self, values) -> None:
        self.n = 0
        self.extend(values)

    @property
    def values(self) -> np.ndarray:
        return self.data[:self.n]


def cache_axes(*plots: pg.PlotItem) -> None:
    """Draw each axis (its tick labels and grid lines) once into a pixmap and blit that on repaints.
    A plot's grid is drawn by its axes, so without this every new curve point repaints all the tick
    text (pyqtgraph replays it from a QPicture): measured the GUI thread's largest cost while training.
    The pixmap is redrawn whenever the axis changes (range, size, ticks)."""
    for plot in plots:
        for name in ("left", "bottom", "right", "top"):
            plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class StableRange:
    """An axis range that follows the data but changes rarely: pyqtgraph repaints an axis (its costliest
    part) whenever the range moves, and auto-range would move it on every update. The range grows
    to a rounded size with headroom when data leaves it and shrinks when data fills under half of it.
    Zooming or panning by hand hands the axis to the user until the plot's 'A' button is pressed."""

    def __init__(self, plot, axis: str = "y", zero: bool = False, headroom: float = 0.25):
        self.plot, self.axis, self.zero, self.headroom = plot, axis, zero, headroom
        self.range: tuple[float, float] | None = None
        self.manual = False
        plot.disableAutoRange(axis=axis)
        plot.vb.sigRangeChangedManually.connect(self._by_hand)
        plot.autoBtn.clicked.connect(self.release)

    def _by_hand(self, *_):
        self.manual = True

    def release(self, *_):
        self.manual, self.range = False, None
        self.plot.disableAutoRange(axis=self.axis)

    def reset(self) -> None:
        """Forget the range and the user's zoom; a 0-based axis shows 0..1 until data arrives."""
        self.release()
        if self.zero:
            (self.plot.setXRange if self.axis == "x" else self.plot.setYRange)(0.0, 1.0, padding=0)

    def fit(self, lo: float, hi: float) -> None:
        if self.manual or not (math.isfinite(lo) and math.isfinite(hi)):
            return
        if self.zero:
            lo = min(lo, 0.0)
        r = self.range
        span = max(hi - lo, 1e-12)
        if r is not None and r[0] <= lo and hi <= r[1] and span >= 0.5 * (r[1] - r[0]):
            return
        pad = self.headroom * span
        step = 10 ** math.floor(math.log10(span + 2 * pad)) / 2  # round to half a decade of the span
        new_lo = lo if self.zero and lo == 0 else math.floor((lo - pad) / step) * step
        new_hi = math.ceil((hi + pad) / step) * step
        self.range = (new_lo, new_hi)
        if self.axis == "x":
            self.plot.setXRange(new_lo, new_hi, padding=0)
        else:
            self.plot.setYRange(new_lo, new_hi, padding=0)


class LogAxis(pg.AxisItem):
    """A log-scale axis with labels that never pile up: decades (1e-4, 0.001, 0.01 ...), thinned to what
    fits, plus 2x and 5x when under ~2 decades are in view and there is room. (pyqtgraph's own log axis
    labels every 0.1 of a decade, so a short range shows 0.5/0.6/0.7/0.8 on top of each other.)"""

    PX_PER_LABEL = 24

    def tickValues(self, minVal, maxVal, size):
        if not self.logMode or not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return super().tickValues(minVal, maxVal, size)
        room = max(2, int(size / self.PX_PER_LABEL))
        lo, hi = math.floor(minVal), math.ceil(maxVal)
        decades = [float(d) for d in range(lo, hi + 1) if minVal <= d <= maxVal]
        major = decades[::max(1, math.ceil(len(decades) / room))]
        minor = []
        for mults in ((2, 5), (5,), (2,)):  # 2x and 5x if they fit, else only one of them: at least two labels
            minor = [d + math.log10(m) for d in range(lo - 1, hi + 1) for m in mults
                     if minVal <= d + math.log10(m) <= maxVal]
            if len(major) + len(minor) <= room:
                break
        else:
            minor = []
        if not major and not minor:  # inside one decade and no room: its two ends
            major = [minVal, maxVal]
        return [(1.0, major), (0.3, minor)]

    def tickStrings(self, values, scale, spacing):
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        out = []
        for v in values:
            x = 10.0 ** v
            exp = math.floor(math.log10(x) + 1e-9)
            out.append(f"{x:.2g}" if -2 <= exp <= 2 else f"{x / 10 ** exp:.0f}e{exp}")
        return out
