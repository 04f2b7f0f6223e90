"""Time travel: a slider over the session's snapshots. Scrubbing pauses training and every panel
(weights, confusion, gradients, curves, controls) shows the run as it was at that snapshot; the right
end of the slider is the live session. "Branch from here" continues from the moment shown with new
hyperparameters: the branch becomes the session that Start trains, and every branch stays on this
panel's plot (switch between them in the list). Snapshot memory is bounded by a cap.

Everything shown comes from ``engine.debug.timeline`` through the worker (``worker.timeline``).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QSlider,
    QToolButton,
    QVBoxLayout,
)

from engine.training.position import moment
from engine.words import count
from gui.widgets import theme
from gui.widgets.build import button, dspin, label, row, spin, widget_of
from gui.widgets.inputs import LogSpinBox
from gui.widgets.panel import Panel
from gui.widgets.plots import StableRange, plot_title, style_plot
from gui.widgets.theme import run_color

LIVE_STYLE, PAST_STYLE = theme.LIVE_BANNER, theme.PAST_BANNER
BRANCH_TIP = ("Continue from the moment shown with these settings; the original run is\nkept and both stay on the "
              "plot (Ctrl+Shift+B)")


def _mb(n: int) -> str:
    return f"{n / 2 ** 20:,.1f} MB"


class TimelinePanel(Panel):
    title = "Timeline"

    modest = True  # a tab: must not make its tile grow at the others' expense

    def __init__(self, parent=None):
        super().__init__(parent)
        self.generation = -1
        self.steps: list[int] = []  # snapshot steps of the current branch
        self.live_step = 0
        self.view_step: int | None = None
        self.branches = []  # BranchInfo
        self.current_loss: list[float] = []  # the current branch's batch losses, grown by updates
        self.bpe = 1
        self.config = None
        self.script = False  # an attached script's run (gui/worker/remote_feed.py)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.where = label("no session yet", tip="The moment every panel is showing", wrap=True)
        layout.addWidget(self.where)
        layout.addLayout(self._slider_row())
        self.slider_label = label("", theme.MUTED_SMALL)
        layout.addWidget(self.slider_label)
        self.branch_form = widget_of(self._branch_form())
        layout.addWidget(self.branch_form)
        self.branch_button = button("Branch from here", BRANCH_TIP, self.branch_here)
        self.runs_row = widget_of(self._runs_row())
        layout.addWidget(self.runs_row)
        layout.addLayout(self._memory_row())  # (its own row: the panel fits a 1366-pixel screen's Inspect column)
        layout.addWidget(self._plot_view(), 1)
        self._show_where()

    def _slider_row(self) -> QHBoxLayout:
        self.first_button = self._tool("\u21e4", "The first snapshot (step 0)", lambda: self.go_index(0))
        self.prev_button = self._tool("\u25c0", "The previous snapshot (Alt+Left)", self.previous)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setToolTip("Scrub through the snapshots: the panels show the run as it was.\n"
                               "The right end is the live session. Moving it pauses training.")
        self.slider.valueChanged.connect(self._slid)
        self.next_button = self._tool("\u25b6", "The next snapshot (Alt+Right)", self.next)
        self.live_button = button("Live", "Back to the live session (Alt+End)", self.live)
        return row(self.first_button, self.prev_button, (self.slider, 1), self.next_button, self.live_button)

    def _branch_form(self) -> QHBoxLayout:
        """The branch's settings: lr, momentum, batch size, epochs."""
        self.lr = LogSpinBox(1e-6, 1e3)
        self.lr.setToolTip("Learning rate of the branch (arrows step 1-2-5)")
        self.momentum = dspin(0.0, 0.99, 0.1, tip="SGD momentum of the branch")
        self.batch_size = spin(1, 4096, tip="Batch size of the branch (it resumes at the same example)")
        self.epochs = spin(1, 100_000, tip="Total epochs of the branch (counted from the start of the run)")
        fields = (("lr", self.lr), ("momentum", self.momentum), ("batch", self.batch_size), ("epochs", self.epochs))
        return row(*(item for text, w in fields for item in (text, (w, 1))), spacing=4, margins=(0, 0, 0, 0))

    def _runs_row(self) -> QHBoxLayout:
        self.branch_box = QComboBox()
        self.branch_box.setToolTip("The runs on this timeline; choosing one makes the panels follow it and Start "
                                   "train it")
        self.branch_box.setMinimumContentsLength(18)
        self.branch_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.branch_box.activated.connect(lambda i: self.switch(self.branch_box.itemData(i)))
        return row("Run", (self.branch_box, 1), margins=(0, 0, 0, 0))

    def _memory_row(self) -> QHBoxLayout:
        self.memory = label("", theme.CAPTION_STYLE, "Memory held by the snapshots of every run (shared ones counted "
                            "once)")
        self.cap = spin(1, 65536, 256, "Snapshot memory cap per run: older snapshots are thinned (the first and "
                        "the\nrecent half kept) so long runs stay scrubbable in bounded memory", suffix=" MB")
        self.cap.editingFinished.connect(self._cap_edited)
        self.cap_label = label("cap")
        return row(self.branch_button, 1, self.memory, self.cap_label, self.cap)

    def _plot_view(self) -> pg.GraphicsLayoutWidget:
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.plot = self.view.addPlot()
        style_plot(self.plot, plot_title("<b>Batch loss of every run</b> \u00b7 the line marks the moment shown",
                                         bold=False), "loss")
        self.plot.addLegend(offset=(-10, 10), labelTextColor=theme.INK, brush=pg.mkBrush(theme.LEGEND_FILL))
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen(theme.INK, width=2), label="",
                                      labelOpts={"position": 0.95, "color": theme.INK, "fill": theme.LEGEND_FILL})
        self.plot.addItem(self.cursor)
        self.x_range = StableRange(self.plot, "x", zero=True, headroom=0.1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.marks: list = []
        return self.view

    def _tool(self, text, tip, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # ---- observing ---------------------------------------------------------------------------

    def attach(self, worker) -> None:
        super().attach(worker)
        worker.timeline.changed.connect(self.on_timeline)

    def on_session(self, info) -> None:
        self.generation = info.generation
        self.bpe = max(info.batches_per_epoch, 1)
        self._show_script(bool(info.script))
        self.view_step = info.view_step
        if info.view_step is None:
            self.live_step = info.step
        if info.config is not None and (self.config is None or info.view_step is None):
            self.config = info.config
            self._fill_form(info.config)

    def on_timeline(self, t) -> None:
        self.branches = t.branches
        self.live_step, self.view_step = t.step, t.view_step
        current = next((b for b in t.branches if b.current), None)
        self.current_loss = list(current.batch_loss) if current is not None else []
        if current is not None:
            self.bpe = max(current.batches_per_epoch, 1)
        self._set_steps(t.snapshots)
        self._show_memory(len(t.snapshots), t.snapshot_bytes)
        self.cap.blockSignals(True)
        self.cap.setValue(max(1, int(round(t.cap_bytes / 2 ** 20))))
        self.cap.blockSignals(False)
        self._fill_branches()
        self.request_refresh()

    def on_update(self, u) -> None:
        if u.generation != self.generation:
            return
        self.live_step = u.step
        if len(u.steps):
            self.current_loss.extend(u.losses.tolist())
        if u.snapshots is not None:
            self._set_steps(u.snapshots)
            self._show_memory(len(u.snapshots), u.snapshot_bytes)
        if len(u.steps) or u.snapshots is not None:
            self.request_refresh()

    # ---- commands ----------------------------------------------------------------------------

    @property
    def position_step(self) -> int | None:
        """The snapshot step under the slider (None at the live end)."""
        i = self.slider.value()
        return self.steps[i] if i < len(self.steps) else None

    def go_index(self, i: int) -> None:
        self.slider.setValue(max(0, min(i, self.slider.maximum())))

    def previous(self) -> None:
        self.go_index(self.slider.value() - 1)

    def next(self) -> None:
        self.go_index(self.slider.value() + 1)

    def live(self) -> None:
        self.go_index(self.slider.maximum())
        if self.worker is not None and self.view_step is not None:
            self.worker.timeline.travel(None)

    def go_step(self, step: int) -> None:
        """Move to the last snapshot at or before ``step``."""
        i = max(0, int(np.searchsorted(self.steps, step, side="right")) - 1)
        self.go_index(i)

    def _slid(self, i: int) -> None:
        self._show_where(i)
        if self.worker is not None:
            self.worker.timeline.travel(self.position_step)

    def branch_here(self) -> None:
        if self.worker is None:
            return
        changes = {"lr": self.lr.value(), "momentum": self.momentum.value(), "batch_size": self.batch_size.value(),
                   "epochs": self.epochs.value()}
        if self.config is not None:
            changes = {k: v for k, v in changes.items() if v != getattr(self.config, k)}
        self.worker.timeline.branch(self.position_step, **changes)

    def switch(self, name: str) -> None:
        if self.worker is not None and name:
            self.worker.timeline.switch(name)

    def _cap_edited(self) -> None:
        if self.worker is not None:
            self.worker.timeline.set_cap(self.cap.value())

    # ---- drawing -----------------------------------------------------------------------------

    def _show_script(self, script: bool) -> None:
        """An attached script's run has one line and its own settings: the moment shown is written back into
        its params dict instead of branching (gui/worker/runners/remote.py)."""
        self.script = script
        for w in (self.branch_form, self.runs_row, self.cap_label, self.cap):
            w.setVisible(not script)
        self.branch_button.setText("Restore into the script" if script else "Branch from here")
        self.branch_button.setToolTip("Write the weights of the moment shown back into your script's params dict "
                                      "(in place); it continues from there when you resume (Ctrl+Shift+B)" if script
                                      else BRANCH_TIP)

    def _show_memory(self, n: int, nbytes: int) -> None:
        self.memory.setText(f"{count(n, 'snapshot')}, kept by the script" if self.script
                            else f"{count(n, 'snapshot')} \u00b7 {_mb(nbytes)}")

    def _fill_form(self, config) -> None:
        self.lr.setValue(config.lr)
        self.momentum.setValue(config.momentum)
        self.batch_size.setValue(config.batch_size)
        self.epochs.setValue(config.epochs)

    def _set_steps(self, steps: list[int]) -> None:
        was_live = self.slider.value() >= len(self.steps)
        self.steps = list(steps)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self.steps))
        if self.view_step is not None:
            self.slider.setValue(max(0, int(np.searchsorted(self.steps, self.view_step, side="right")) - 1))
        elif was_live or self.view_step is None:
            self.slider.setValue(len(self.steps))
        self.slider.blockSignals(False)
        self._show_where()

    def _moment(self, step: int) -> str:
        """'step 491 · epoch 2/50 · batch 241/250': the status bar's words (engine.training.position)."""
        if step <= 0:
            return "step 0 (before training)"
        return moment(step, self.bpe, self.config.epochs if self.config is not None else None)

    def _show_where(self, i: int | None = None) -> None:
        i = self.slider.value() if i is None else i
        if self.view_step is None and (i >= len(self.steps)):
            self.where.setText(f"<b>Live</b> at {self._moment(self.live_step)} \u00b7 drag the slider to travel back")
            self.where.setStyleSheet(LIVE_STYLE)
        else:
            step = self.view_step if self.view_step is not None else self.steps[i]
            self.where.setText(f"\u21b6 Viewing the past: {self._moment(step)} (live: step {self.live_step:,}) "
                               f"\u00b7 every panel shows this moment \u00b7 Live (Alt+End) returns")
            self.where.setStyleSheet(PAST_STYLE)
        n = len(self.steps)
        every = self.config.snapshot_every if self.config else 100
        self.slider_label.setText(f"{count(n, 'snapshot')}, steps {self.steps[0]:,}\u2013{self.steps[-1]:,} (every {every} "
                                  "batches, at epoch ends and watchpoint hits; older ones thinned)" if n
                                  else "no snapshots yet")
        self.prev_button.setEnabled(i > 0)
        self.next_button.setEnabled(i < self.slider.maximum())

    def _fill_branches(self) -> None:
        self.branch_box.clear()
        configs = {b.name: b.config for b in self.branches}
        for b in self.branches:
            c, parent = b.config, configs.get(b.parent)
            # what sets it apart (short enough for a 1366-wide frame); every setting is in the tooltip
            changed = [f"{k} {getattr(c, f):g}" for k, f in (("lr", "lr"), ("momentum", "momentum"),
                                                             ("batch", "batch_size"), ("epochs", "epochs"))
                       if parent is not None and getattr(c, f) != getattr(parent, f)]
            origin = f"from {b.parent} at step {b.at_step:,}" + (f", {', '.join(changed)}" if changed else "") \
                if b.parent else "the first run"
            self.branch_box.addItem(f"{b.name}: {origin} \u00b7 {count(len(b.batch_loss), 'batch', 'batches')}",
                                    b.name)
            i = self.branch_box.count() - 1
            self.branch_box.setItemData(i, f"{b.name}: lr {c.lr:g}, momentum {c.momentum:g}, batch {c.batch_size}, "
                                        f"{count(c.epochs, 'epoch')}", Qt.ItemDataRole.ToolTipRole)
            self.branch_box.setItemData(i, pg.mkColor(run_color(b.color)), Qt.ItemDataRole.ForegroundRole)
            if b.current:
                self.branch_box.setCurrentIndex(i)
        self.branch_box.setEnabled(len(self.branches) > 1)

    def refresh(self) -> None:
        seen = set()
        for b in self.branches:
            y = np.asarray(self.current_loss if b.current else b.batch_loss, float)
            curve = self.curves.get(b.name)
            if curve is None:
                curve = self.plot.plot([], [], pen=pg.mkPen(run_color(b.color), width=1.3), name=b.name)
                curve.setDownsampling(auto=True, method="mean")
                curve.setClipToView(True)
                self.curves[b.name] = curve
            bpe = max(b.batches_per_epoch, 1)
            curve.setData(np.arange(1, len(y) + 1) / bpe, y)
            seen.add(b.name)
        for name in [n for n in self.curves if n not in seen]:
            self.plot.removeItem(self.curves.pop(name))
        for m in self.marks:
            self.plot.removeItem(m)
        self.marks = []
        for b in self.branches:
            if b.parent:
                line = pg.InfiniteLine(b.at_step / max(b.batches_per_epoch, 1), angle=90,
                                       pen=pg.mkPen(run_color(b.color), width=1, style=Qt.PenStyle.DotLine),
                                       label=f"{b.name}", labelOpts={"position": 0.1, "color": run_color(b.color)})
                self.plot.addItem(line)
                self.marks.append(line)
        shown = self.view_step if self.view_step is not None else self.live_step
        self.cursor.setPos(shown / self.bpe)
        self.cursor.label.setFormat("live" if self.view_step is None else f"step {shown:,}")
        longest = max((len(b.batch_loss) / max(b.batches_per_epoch, 1) for b in self.branches), default=0.0)
        self.x_range.fit(0.0, max(longest, len(self.current_loss) / self.bpe, 1.0))
        self._show_where()

    @property
    def curve_lengths(self) -> dict[str, int]:
        """Points per run on the plot (for tests)."""
        return {name: len(c.yData) if c.yData is not None else 0 for name, c in self.curves.items()}
