"""Watchpoints: breakpoints for training. Type a condition (``grad(layer1) < 1e-6``,
``saturation(layer1) > 90%``, ``loss is nan``, ``valid_acc drop > 0.05``, ``class_acc(Q) < 0.5``); the
engine pauses training at the first batch where it holds. The list shows each one's state; a hit is
highlighted here (a banner with the trigger and the batch, the row, a marker on the plot of the
watched value) and in the status bar, while the other panels show the network as it is at that batch.

Syntax is checked as you type (``engine.debug.watch.parse``); layer and class names are checked by the
worker against the session when you add it, and a refusal is shown under the field.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
)

from engine.debug.watch import parse
from engine.training.position import moment
from engine.training.session import State
from engine.words import count
from gui.widgets import theme
from gui.widgets.build import button, label, row
from gui.widgets.panel import Panel
from gui.widgets.plots import LogAxis, StableRange, plot_title, style_plot
from gui.widgets.theme import span

EXAMPLES = ["loss is nan", "grad(layer1) < 1e-4", "saturation(layer1) > 90%", "dead(layer1) > 50%",
            "loss > 5", "valid_acc drop > 0.05", "class_acc(Q) < 0.5", "train_loss rise > 0.1"]
HIT_STYLE, LAST_STYLE, HINT_STYLE, ERROR_STYLE = theme.HIT_BANNER, theme.QUIET_BANNER, theme.HINT, theme.HINT_ERROR
HIT_COLOR, TRACE_COLOR, THRESHOLD_COLOR = theme.HIT, theme.TRACE, theme.THRESHOLD


def _row_color(hot: bool, w) -> str:
    """A watchpoint's row: the one that fired, one that cannot watch this session, the others."""
    return theme.HIT_ROW if hot else (theme.WARNING[1] if w.error else theme.WHITE)


def describe_hit(hit, batches_per_epoch: int, epochs: int | None = None) -> str:
    """'step 662 · epoch 3/50 · batch 162/250': the status bar's words (engine.training.position)."""
    return moment(hit.step, batches_per_epoch, epochs or None)


class WatchpointsPanel(Panel):
    title = "Watchpoints"

    modest = True  # a tab: must not make its tile grow at the others' expense

    def __init__(self, parent=None):
        super().__init__(parent)
        self.watches = []  # WatchInfo
        self.traces: dict[str, tuple[list, list]] = {}  # expr -> (steps, values), grown by updates
        self.selected: str | None = None
        self.bpe = 1
        self.epochs = 0
        self.last_hit = None  # (expr, Hit)
        self.state = State.IDLE
        self.message = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self._input_row())
        self.feedback = label("", HINT_STYLE, wrap=True)
        layout.addWidget(self.feedback)
        self.banner = label("", tip="The last watchpoint that paused training: its trigger, value and batch",
                            wrap=True, selectable=True)
        self.banner.hide()
        layout.addWidget(self.banner)
        layout.addWidget(self._table())
        self.remove_button = button("Remove", "Stop watching the selected condition (Delete)", self.remove_selected)
        self.count_label = label("", HINT_STYLE)
        layout.addLayout(row(self.remove_button, 1, self.count_label))
        QShortcut(QKeySequence.StandardKey.Delete, self.table, self.remove_selected,
                  context=Qt.ShortcutContext.WidgetShortcut)
        layout.addWidget(self._plot_view(), 1)
        self._validate("")
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + 26)
        self._draw()

    def _input_row(self) -> QHBoxLayout:
        """The condition's field, a menu of examples, Add."""
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("break when\u2026  e.g. grad(layer1) < 1e-6   saturation(layer1) > 90%   loss is nan")
        self.edit.setToolTip("A condition checked after every batch (per-epoch metrics at epoch ends); training\n"
                             "pauses at the first batch where it holds. Enter adds it.\n"
                             "Metrics: loss, acc, lr, grad(LAYER), saturation(LAYER), dead(LAYER),\n"
                             "train_loss, train_acc, valid_loss, valid_acc, class_acc(CLASS);\n"
                             "forms: METRIC < 0.5, METRIC > 90%, METRIC is nan, valid_acc drop > 0.05")
        self.edit.textChanged.connect(self._validate)
        self.edit.returnPressed.connect(self.add_current)
        self.examples = QToolButton()
        self.examples.setText("Examples")
        self.examples.setToolTip("Fill in an example condition")
        self.examples.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.examples)
        for text in EXAMPLES:
            menu.addAction(text, lambda t=text: (self.edit.setText(t), self.edit.setFocus()))
        self.examples.setMenu(menu)
        self.add_button = button("Add", "Watch this condition (Enter)", self.add_current)
        return row((self.edit, 1), self.examples, self.add_button)

    def _table(self) -> QTableWidget:
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["condition", "state", "hits", "now"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Watchpoints: select one to plot its value; Delete removes it")
        self.table.itemSelectionChanged.connect(self._on_select)
        return self.table

    def _plot_view(self) -> pg.GraphicsLayoutWidget:
        """The watched value over the run, its hits, its threshold and the last hit's batch."""
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.view.setMinimumHeight(150)  # tall enough to read (a short frame scrolls instead of squashing it)
        self.plot = self.view.addPlot(axisItems={"left": LogAxis("left")})
        style_plot(self.plot)
        self.curve = self.plot.plot([], [], pen=pg.mkPen(TRACE_COLOR, width=1.2), name="value")
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.hits_item = self.plot.plot([], [], pen=None, symbol="d", symbolSize=14, symbolBrush=HIT_COLOR,
                                        symbolPen=pg.mkPen("w", width=1.5), name="hits")
        self.threshold = pg.InfiniteLine(angle=0, pen=pg.mkPen(THRESHOLD_COLOR, width=1.5, style=Qt.PenStyle.DashLine),
                                         label="threshold", labelOpts={"position": 0.02, "color": theme.AXIS_TEXT,
                                                                    "anchors": [(0, 1), (0, 1)]})
        self.threshold.hide()
        self.plot.addItem(self.threshold)
        self.hit_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(HIT_COLOR, width=1.5), label="",
                                        labelOpts={"position": 0.9, "color": HIT_COLOR, "fill": theme.LEGEND_FILL,
                                                   "anchors": [(1, 0), (1, 0)]})
        self.hit_line.hide()
        self.plot.addItem(self.hit_line)
        self.x_range = StableRange(self.plot, "x", zero=True, headroom=0.1)
        return self.view

    # ---- observing ---------------------------------------------------------------------------

    def attach(self, worker) -> None:
        super().attach(worker)
        worker.watches.changed.connect(self.on_watches)
        worker.state_changed.connect(self.on_state)

    def on_watches(self, wl) -> None:
        self.bpe = max(wl.batches_per_epoch, 1)
        self.epochs = wl.epochs
        self.watches = wl.watches
        self.traces = {w.expr: (list(w.trace[0]), list(w.trace[1])) for w in wl.watches}
        if wl.error:
            self.feedback.setText(f"\u2716 {wl.error}")
            self.feedback.setStyleSheet(ERROR_STYLE)
        elif self.edit.text().strip() and any(w.expr == " ".join(self.edit.text().split()) for w in wl.watches):
            self.edit.clear()
        if self.selected not in self.traces:
            self.selected = self.watches[-1].expr if self.watches else None
        latest = max(((w.expr, h) for w in self.watches for h in w.hits), key=lambda eh: eh[1].step, default=None)
        self.last_hit = latest
        self._fill_table()
        self.request_refresh()

    def on_update(self, u) -> None:
        if not u.traces:
            return
        for expr, (steps, values) in u.traces.items():
            if expr in self.traces:
                s, v = self.traces[expr]
                s.extend(steps.tolist())
                v.extend(values.tolist())
        if self.selected in u.traces:
            self.request_refresh()
        if self.table.rowCount():
            self._fill_now()

    def on_state(self, state: State, message: str) -> None:
        self.state, self.message = state, message
        self._draw_banner()

    # ---- commands ----------------------------------------------------------------------------

    def add_current(self) -> None:
        text = " ".join(self.edit.text().split())
        if not text or self.worker is None:
            return
        try:
            parse(text)
        except ValueError as exc:
            self.feedback.setText(f"\u2716 {exc}")
            self.feedback.setStyleSheet(ERROR_STYLE)
            return
        self.feedback.setText(f"adding '{text}' \u2026")
        self.feedback.setStyleSheet(HINT_STYLE)
        self.worker.watches.add(text)

    def remove_selected(self) -> None:
        if self.selected and self.worker is not None:
            self.worker.watches.remove(self.selected)

    def focus_input(self) -> None:
        self.edit.setFocus()
        self.edit.selectAll()

    def _validate(self, text: str) -> None:
        text = " ".join(text.split())
        if not text:
            self.feedback.setText("Conditions pause training at the first batch where they hold.")
            self.feedback.setStyleSheet(HINT_STYLE)
            self.add_button.setEnabled(False)
            return
        try:
            w = parse(text)
        except ValueError as exc:
            self.feedback.setText(f"\u2716 {exc}")
            self.feedback.setStyleSheet(ERROR_STYLE)
            self.add_button.setEnabled(False)
            return
        when = "at epoch ends" if w.per_epoch else "after every batch"
        self.feedback.setText(f"\u2714 checks {w.label}{' ' + w.change if w.change else ''} {when} \u2014 Enter to add")
        self.feedback.setStyleSheet(theme.HINT_OK)
        self.add_button.setEnabled(True)

    def _on_select(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.watches):
            self.selected = self.watches[rows[0].row()].expr
            self.request_refresh()

    # ---- drawing -----------------------------------------------------------------------------

    def _fill_table(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.watches))
        hit_expr = self.last_hit[0] if self.last_hit else None
        for r, w in enumerate(self.watches):
            if w.error:
                state = f"inactive: {w.error}"
            elif w.hits:
                state = f"hit at {describe_hit(w.hits[-1], self.bpe, self.epochs)}: {w.hits[-1].value:.4g}"
            else:
                state = "armed (at epoch ends)" if w.per_epoch else "armed"
            cells = [w.expr, state, str(len(w.hits)), ""]
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                item.setText(text)
                item.setToolTip(w.hits[-1].message if w.hits and c == 1 else text)
                hot = w.expr == hit_expr and self.state == State.PAUSED and bool(self.message)
                item.setBackground(pg.mkColor(_row_color(hot, w)))
            if w.expr == self.selected:
                self.table.selectRow(r)
        self.table.blockSignals(False)
        self._fill_now()
        rows = min(max(len(self.watches), 1), 4)  # fit the rows: the plot gets the rest
        self.table.setFixedHeight(self.table.horizontalHeader().height() + rows * 22 + 4)
        hits = sum(len(w.hits) for w in self.watches)
        self.count_label.setText(f"{len(self.watches)} watched \u00b7 {count(hits, 'hit')}")
        self.remove_button.setEnabled(bool(self.watches))
        self._draw_banner()

    def _fill_now(self) -> None:
        for r, w in enumerate(self.watches):
            values = self.traces.get(w.expr, ([], []))[1]
            item = self.table.item(r, 3)
            if item is not None:
                item.setText(f"{values[-1]:.4g}" if values else "\u2014")

    def _draw_banner(self) -> None:
        if self.last_hit is None:
            self.banner.hide()
            return
        expr, hit = self.last_hit
        live = self.state == State.PAUSED and self.message == hit.message
        prefix = "\u2016 Paused at " if live else "Last hit: "
        self.banner.setText(f"{prefix}{describe_hit(hit, self.bpe, self.epochs)}<br><span style='font-weight:normal'>"
                            f"{html.escape(hit.message)}</span>")
        self.banner.setStyleSheet(HIT_STYLE if live else LAST_STYLE)
        self.banner.show()
        for r, w in enumerate(self.watches):
            hot = live and w.expr == expr
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setBackground(pg.mkColor(_row_color(hot, w)))

    def refresh(self) -> None:
        self._draw()

    def _draw(self) -> None:
        w = next((w for w in self.watches if w.expr == self.selected), None)
        if w is None:
            self.curve.setData([], [])
            self.hits_item.setData([], [])
            self.threshold.hide()
            self.hit_line.hide()
            self.plot.setTitle(span("add a watchpoint to plot the value it watches", theme.FAINT))
            return
        steps, values = self.traces.get(w.expr, ([], []))
        x = np.asarray(steps, float) / self.bpe
        y = np.asarray(values, float)
        log = w.label.startswith("grad") and len(y) and np.all(y[np.isfinite(y)] > 0)
        self.plot.setLogMode(y=bool(log))
        self.curve.setData(x, y, symbol="o" if w.per_epoch else None, symbolSize=6,
                           symbolBrush=TRACE_COLOR, connect="finite")
        what = f"{w.label} {w.change}".strip()
        self.plot.setTitle(plot_title(f"<b>{html.escape(what)}</b> {'per epoch' if w.per_epoch else 'per batch'} "
                                      f"\u00b7 breaks when {html.escape(w.expr)}", bold=False))
        self.plot.setLabel("left", what)
        if w.op != "is" and np.isfinite(w.threshold) and (not log or w.threshold > 0):
            self.threshold.setPos(np.log10(w.threshold) if log else w.threshold)
            self.threshold.show()
            self.threshold.label.setFormat(f"threshold {w.threshold:g}")  # (a hidden label is not updated)
        else:
            self.threshold.hide()
        hx = np.asarray([h.step for h in w.hits], float) / self.bpe
        hy = np.asarray([h.value for h in w.hits], float)
        finite = np.isfinite(hy) & ((hy > 0) if log else True)
        self.hits_item.setData(hx[finite], hy[finite])
        if w.hits:
            last = w.hits[-1]
            self.hit_line.setPos(last.step / self.bpe)
            self.hit_line.show()
            self.hit_line.label.setFormat(f"hit at {describe_hit(last, self.bpe, self.epochs)}")
        else:
            self.hit_line.hide()
        if len(x):
            self.x_range.fit(0.0, max(float(x[-1]), 1.0))

    @property
    def marker_steps(self) -> list[int]:
        """Steps of the hits drawn on the plot (for tests)."""
        w = next((w for w in self.watches if w.expr == self.selected), None)
        return [h.step for h in w.hits] if w else []
