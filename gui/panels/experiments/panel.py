"""Side-by-side runs: pick a preset (the learning-rate study, sigmoid vs tanh vs ReLU, depth 1-4) or add
runs of your own; they train in the background on the current data, sharing the CPU fairly with the
main session (``engine.training.experiments.Experiment`` in the worker). Loss, accuracy and per-layer gradient
magnitudes are overlaid, one color per run, with a legend; each run can be hidden, paused, stopped or
exported. When every run is done, the preset's written finding (computed by the engine) is shown.

Run logs opened with File > Open run log appear here too, for comparison.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
)

from engine.training.experiments import PRESETS
from engine.training.session import TrainConfig
from gui.panels.experiments.run_table import RunData, RunTable
from gui.widgets import theme
from gui.widgets.build import button, label, row, spin
from gui.widgets.inputs import HIDDEN_ACTIVATIONS, LogSpinBox, parse_hidden
from gui.widgets.panel import Panel
from gui.widgets.plots import LogAxis, StableRange, plot_title, style_plot
from gui.widgets.theme import run_color

FINDING_STYLE, WAIT_STYLE = theme.NOTE_BANNER, theme.WAIT
TINY = 1e-30


def log_ticks(lo: float, hi: float) -> list:
    """Ticks for a log10 axis between two positive values: 1, 2 and 5 of every decade (pyqtgraph's own
    crowd the top of each decade with overlapping labels)."""
    if not (lo > 0 and hi > 0):
        return [[], []]
    a, b = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    major = [(k, f"{10.0 ** k:g}") for k in range(a, b + 1)]
    minor = [(k + np.log10(m), f"{m * 10.0 ** k:g}") for k in range(a, b) for m in (2, 5)] if b - a <= 3 else []
    return [major, minor]


def _style(plot, title: str, ylabel: str) -> None:
    style_plot(plot, plot_title(title), ylabel)


class ExperimentsPanel(Panel):
    title = "Experiments"

    modest = True  # a tab: must not make its tile grow at the others' expense

    def __init__(self, parent=None):
        super().__init__(parent)
        self.generation = -1
        self.runs: dict[str, RunData] = {}
        self.running = False
        self.finding = ""
        self.title_text = ""
        self.items: dict[str, dict[str, pg.PlotDataItem]] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self._preset_row())
        layout.addLayout(self._add_row())
        self.add_error = label("", theme.ERROR_LINE)
        self.add_error.hide()
        layout.addWidget(self.add_error)
        self.table = RunTable()
        self.table.visibility_changed.connect(self._toggled)
        self.table.pause_clicked.connect(self._pause_toggle)
        self.table.stop_clicked.connect(lambda name: self.worker and self.worker.experiments.stop_run(name))
        self.table.export_clicked.connect(lambda name: self.export_run(name))
        layout.addWidget(self.table)
        self.finding_label = label("", tip="The engine's written conclusion from the runs", wrap=True, selectable=True)
        self.finding_scroll = QScrollArea()
        self.finding_scroll.setWidget(self.finding_label)
        self.finding_scroll.setWidgetResizable(True)
        self.finding_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.finding_scroll.setMaximumHeight(64)
        layout.addWidget(self.finding_scroll)
        layout.addWidget(self._plots(), 1)
        self._show_finding()

    def _preset_row(self) -> QHBoxLayout:
        """A preset, its epochs, Run preset; Pause all, Stop all, Clear."""
        self.preset = QComboBox()
        for key, p in PRESETS.items():
            self.preset.addItem(p.title, key)
        self.preset.setToolTip("The reference exercise's studies: learning rate 3e-3 x10 x0.1; sigmoid vs tanh vs\n"
                               "ReLU (3 hidden layers); depth 1-4 hidden sigmoid layers (vanishing gradients)")
        self.preset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # never cut a title
        self.epochs = spin(1, 10_000, 10, "Epochs for every run of the preset (and for added runs)")
        self.preset_button = button("Run preset", "Replace the runs with the preset's and train them side by side",
                                    lambda: self.run_preset())
        self.run_button = button("Pause all", "Pause or resume every run", self.toggle_all)
        self.stop_button = button("Stop all", "Stop every run for good (the finding is computed from the runs so far)",
                                  lambda: self.worker and self.worker.experiments.stop())
        self.clear_button = button("Clear", "Remove every run and opened log",
                                   lambda: self.worker and self.worker.experiments.clear())
        return row("preset", self.preset, 1, "epochs", self.epochs, self.preset_button, self.run_button,
                   self.stop_button, self.clear_button)

    def _add_row(self) -> QHBoxLayout:
        """One more run's settings and Add; what the plots show (per-batch curves, the layer of the right plot)."""
        self.hidden = QLineEdit("64")
        self.hidden.setToolTip("Hidden layer sizes of the new run, e.g. 64 or 64, 64")
        self.hidden.setMaximumWidth(60)
        self.activation = QComboBox()
        self.activation.addItems(HIDDEN_ACTIVATIONS)
        self.activation.setToolTip("Hidden activation of the new run")
        self.lr = LogSpinBox(1e-6, 1e3)
        self.lr.setValue(3e-3)
        self.lr.setToolTip("Learning rate of the new run")
        self.batch = spin(1, 4096, 32, "Batch size of the new run")
        self.add_button = button("Add", "Train one more configuration alongside the others", self.add_run)
        self.batch_curves = QCheckBox("batches")
        self.batch_curves.setChecked(True)
        self.batch_curves.setToolTip("Show the per-batch values (thin) under the per-epoch validation values")
        self.batch_curves.toggled.connect(lambda _: self.request_refresh())
        self.layer = QComboBox()
        self.layer.addItem("layer1")
        self.layer.setToolTip("The layer whose mean |dL/dW| (per epoch) the right plot compares")
        self.layer.currentIndexChanged.connect(lambda _: self.request_refresh())
        return row("Add run:", "hidden", self.hidden, "activation", self.activation, "lr", self.lr, "batch", self.batch,
                   self.add_button, 1, self.batch_curves, self.layer, spacing=4)

    def _plots(self) -> pg.GraphicsLayoutWidget:
        """Loss, accuracy and one layer's gradient, side by side, and the legend in a column of its own."""
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.loss_plot = self.view.addPlot(row=0, col=0)
        _style(self.loss_plot, "Loss", "loss")
        self.acc_plot = self.view.addPlot(row=0, col=1)
        _style(self.acc_plot, "Accuracy", "accuracy %")
        self.acc_plot.setXLink(self.loss_plot)
        self.grad_plot = self.view.addPlot(row=0, col=2, axisItems={"left": LogAxis("left")})
        _style(self.grad_plot, "|\u2207W| of layer1", "mean |\u2207W| per epoch")
        self.grad_plot.setLogMode(y=True)
        self.grad_plot.getAxis("left").enableAutoSIPrefix(False)
        side = self.view.addLayout(row=0, col=3)  # the legend has a column of its own: it covers no curve
        self.legend = pg.LegendItem(labelTextColor=theme.INK, verSpacing=-4)
        side.addItem(self.legend, row=0, col=0)
        side.addLabel("", row=1, col=0)
        side.layout.setRowStretchFactor(1, 10)
        for col in range(3):
            self.view.ci.layout.setColumnStretchFactor(col, 3)
        self.view.ci.layout.setColumnFixedWidth(3, 120)
        self.grad_plot.setXLink(self.loss_plot)
        self.x_range = StableRange(self.loss_plot, "x", zero=True, headroom=0.1)
        return self.view

    # ---- observing ---------------------------------------------------------------------------

    def attach(self, worker) -> None:
        super().attach(worker)
        worker.experiments.changed.connect(self.on_experiment)
        worker.experiments.updated.connect(self.on_progress)

    def on_experiment(self, info) -> None:
        self.generation = info.generation
        self.running, self.finding = info.running, info.finding
        old = {name: r.visible for name, r in self.runs.items()}
        self.runs = {}
        for ri in info.runs:
            r = RunData(ri.name, ri.color, ri.config, ri.live, ri.status, ri.step, ri.total, ri.epoch,
                     max(ri.batches_per_epoch, 1), ri.reconstruct, ri.message, visible=old.get(ri.name, True))
            r.x.set(np.arange(1, len(ri.batch_loss) + 1) / r.bpe)
            r.loss.set(ri.batch_loss)
            r.acc.set(ri.batch_acc * (1 if ri.reconstruct else 100))
            r.epochs = list(ri.epochs)
            self.runs[ri.name] = r
        self.title_text = info.title
        self._rebuild_items()
        self._fill_layers()
        self.table.fill(self.runs)
        self._update_table()
        self._show_finding()
        self.x_range.release()
        self.request_refresh()

    def on_progress(self, u) -> None:
        if u.generation != self.generation:
            return
        self.running, self.finding = u.running, u.finding
        for name, d in u.runs.items():
            r = self.runs.get(name)
            if r is None:
                continue
            if len(d.steps):
                r.x.extend(d.steps / r.bpe)
                r.loss.extend(d.losses)
                r.acc.extend(d.accs * (1 if r.reconstruct else 100))
            r.epochs.extend(d.epochs)
            r.status, r.step, r.epoch, r.message = d.status, d.step, d.epoch, d.message
        self._update_table()
        self._show_finding()
        self.request_refresh()

    # ---- commands ----------------------------------------------------------------------------

    def run_preset(self, key: str | None = None, epochs: int | None = None) -> None:
        if self.worker is not None:
            self.worker.experiments.start_preset(key or self.preset.currentData(), epochs or self.epochs.value())

    def add_run(self) -> None:
        if self.worker is None:
            return
        try:
            config = TrainConfig(hidden=parse_hidden(self.hidden.text()), activation=self.activation.currentText(),
                                 lr=self.lr.value(), batch_size=self.batch.value(), epochs=self.epochs.value())
        except ValueError as exc:
            self.add_error.setText(f"\u2716 {exc}")
            self.add_error.show()
            return
        self.add_error.hide()
        self.worker.experiments.add_run(config)
        self.worker.experiments.run()

    def toggle_all(self) -> None:
        if self.worker is None:
            return
        if self.running:
            self.worker.experiments.pause()
        else:
            self.worker.experiments.run(resume_all=True)

    def export_run(self, name: str, path: str | None = None) -> None:
        if self.worker is None:
            return
        if path is None:
            start = str(Path.home() / f"{name.replace('/', '_')}.json")
            path, _ = QFileDialog.getSaveFileName(self, f"Export the log of {name}", start,
                                                  "Run logs (*.json);;All files (*)")
            if not path:
                return
            if not path.lower().endswith(".json"):
                path += ".json"
        self.worker.experiments.export_run(name, path)

    def _toggled(self, name: str, visible: bool) -> None:
        r = self.runs.get(name)
        if r is not None:
            r.visible = visible
            self.request_refresh()

    def set_visible(self, name: str, visible: bool) -> None:
        self.table.set_visible(name, visible)

    def _pause_toggle(self, name: str) -> None:
        r = self.runs.get(name)
        if r is None or self.worker is None:
            return
        if r.status == "paused":
            self.worker.experiments.resume_run(name)
            self.worker.experiments.run()
        else:
            self.worker.experiments.pause_run(name)

    def _update_table(self) -> None:
        self.table.update_rows(self.runs)
        live = [r for r in self.runs.values() if r.live]
        self.run_button.setText("Pause all" if self.running else "Resume all")
        self.run_button.setEnabled(any(r.status in ("running", "paused") for r in live))
        self.stop_button.setEnabled(any(r.status in ("running", "paused") for r in live))
        self.clear_button.setEnabled(bool(self.runs))

    def _show_finding(self) -> None:
        if self.finding:
            self.finding_label.setText(f"<b>{html.escape(self.title_text or 'Finding')}</b> \u2014 "
                                       f"{html.escape(self.finding)}")
            self.finding_label.setStyleSheet(FINDING_STYLE)
        elif any(r.live for r in self.runs.values()):
            self.finding_label.setText("The finding appears when every run has finished "
                                       "(Stop all gives one from the runs so far).")
            self.finding_label.setStyleSheet(WAIT_STYLE)
        else:
            self.finding_label.setText("Pick a preset and press Run preset, or add runs; File > Open run log "
                                       "adds a saved run for comparison.")
            self.finding_label.setStyleSheet(WAIT_STYLE)

    def _fill_layers(self) -> None:
        names = []
        for r in self.runs.values():
            for e in r.epochs[:1]:
                names += [n for n in e.layers if n not in names]
            for i in range(len(r.config.hidden)):
                if f"layer{i + 1}" not in names:
                    names.append(f"layer{i + 1}")
        names = sorted(set(names) - {"output"}, key=lambda n: int(n[5:]) if n[5:].isdigit() else 0) + ["output"]
        current = self.layer.currentText()
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItems(names)
        self.layer.setCurrentIndex(max(0, names.index(current) if current in names else 0))
        self.layer.blockSignals(False)

    # ---- plots -------------------------------------------------------------------------------

    def _rebuild_items(self) -> None:
        for items in self.items.values():
            for plot, item in zip((self.loss_plot, self.loss_plot, self.acc_plot, self.acc_plot, self.grad_plot),
                                  items.values()):
                plot.removeItem(item)
        self.legend.clear()
        self.items = {}
        for r in self.runs.values():
            color = run_color(r.color)

            def thin(plot):
                c = plot.plot([], [], pen=pg.mkPen(color, width=1), name=f"{r.name} batch")
                c.setAlpha(0.35, False)
                c.setDownsampling(auto=True, method="mean")
                c.setClipToView(True)
                return c

            def bold(plot):
                return plot.plot([], [], pen=pg.mkPen(color, width=2.5), symbol="o", symbolSize=6, symbolBrush=color,
                                 symbolPen=pg.mkPen("w", width=1), name=r.name)

            self.items[r.name] = {"batch_loss": thin(self.loss_plot), "valid_loss": bold(self.loss_plot),
                                  "batch_acc": thin(self.acc_plot), "valid_acc": bold(self.acc_plot),
                                  "grad": bold(self.grad_plot)}
            self.legend.addItem(self.items[r.name]["valid_loss"], r.name)
        psnr = [r.reconstruct for r in self.runs.values()]
        label = "PSNR dB" if psnr and all(psnr) else ("accuracy % / PSNR dB" if any(psnr) else "accuracy %")
        self.acc_plot.setLabel("left", label)

    def refresh(self) -> None:
        layer = self.layer.currentText()
        _style(self.grad_plot, f"|\u2207W| of {layer}", "mean |\u2207W| per epoch")
        batches = self.batch_curves.isChecked()
        x_hi, g_lo, g_hi = 1.0, np.inf, 0.0
        for name, r in self.runs.items():
            items = self.items.get(name)
            if items is None:
                continue
            show = r.visible
            ex = np.asarray([e.epoch for e in r.epochs], float)
            scale = 1 if r.reconstruct else 100
            items["batch_loss"].setData(r.x.values, r.loss.values)
            items["batch_acc"].setData(r.x.values, r.acc.values)
            items["valid_loss"].setData(ex, [e.valid_loss for e in r.epochs])
            items["valid_acc"].setData(ex, [scale * e.valid_acc for e in r.epochs])
            g = [max(e.layers[layer].grad_mean_abs, TINY) if layer in e.layers else np.nan for e in r.epochs]
            items["grad"].setData(ex, g, connect="finite")
            finite = [v for v in g if np.isfinite(v)]
            if show and finite:
                g_lo, g_hi = min(g_lo, min(finite)), max(g_hi, max(finite))
            for key, item in items.items():
                item.setVisible(show and (batches or not key.startswith("batch")))
            if show and r.x.n:
                x_hi = max(x_hi, float(r.x.values[-1]))
            if show and len(ex):
                x_hi = max(x_hi, float(ex[-1]))
        self.x_range.fit(0.0, x_hi)
        self.grad_plot.getAxis("left").setTicks(log_ticks(g_lo, g_hi) if g_hi > 0 else None)

    @property
    def curve_counts(self) -> dict[str, int]:
        """Per run: per-batch points on the loss plot (for tests)."""
        return {name: r.x.n for name, r in self.runs.items()}

