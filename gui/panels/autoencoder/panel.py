"""The reference exercise's autoencoder (1024-32-32-32-1024, ReLU, sigmoid output, squared error,
momentum 0.9, learning-rate decay; ``engine.training.autoencoder``) on the current data, trained in the
background by the worker. Validation originals sit next to their reconstructions, a few per class,
updating live; the loss curve and the validation PSNR (with the reference's 15.58 dB) follow it.
Start/Pause and Reset work like the main training's.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QHBoxLayout, QProgressBar, QVBoxLayout

from engine.data.dataset import SIDE
from engine.eta import Eta
from engine.training.autoencoder import TARGET_PSNR, AutoencoderConfig
from engine.training.session import State
from gui.widgets import theme
from gui.widgets.build import button, label, row, spin
from gui.widgets.inputs import LogSpinBox
from gui.widgets.panel import Panel
from gui.widgets.plots import Series, StableRange, plot_title, style_plot
from gui.widgets.theme import BATCH_COLOR, TRAIN_COLOR, VALID_COLOR, span

PAIR_GAP, EXAMPLE_GAP, CELL_GAP = 1, 2, 7  # pixels between original and reconstruction / examples / classes
ASPECT = 3.0  # the mosaic's preferred width : height


def mosaic(originals: np.ndarray, outputs: np.ndarray, labels: list[str], per_class: int):
    """One image of [original | reconstruction] pairs: a cell per class (its examples stacked), the cells
    in a grid about ASPECT times as wide as high; NaN between images (drawn transparent).
    Returns (image, [(x, y) of each pair, in the order of ``labels``])."""
    classes = list(dict.fromkeys(labels))
    pair_w = 2 * SIDE + PAIR_GAP
    cell_w, cell_h = pair_w + CELL_GAP, per_class * (SIDE + EXAMPLE_GAP) - EXAMPLE_GAP + CELL_GAP
    n = max(len(classes), 1)
    cols = min(range(1, n + 1), key=lambda c: abs(math.log(c * cell_w / (math.ceil(n / c) * cell_h) / ASPECT)))
    rows = math.ceil(n / cols)
    img = np.full((rows * cell_h - CELL_GAP, cols * cell_w - CELL_GAP), np.nan, np.float32)
    pairs, seen = [], {}
    for k, name in enumerate(labels):
        r, c = divmod(classes.index(name), cols)
        j = seen.get(name, 0)
        seen[name] = j + 1
        x, y = c * cell_w, r * cell_h + j * (SIDE + EXAMPLE_GAP)
        if j < per_class:
            img[y:y + SIDE, x:x + SIDE] = originals[k]
            img[y:y + SIDE, x + SIDE + PAIR_GAP:x + pair_w] = np.clip(outputs[k], 0, 1)
        pairs.append((x, y))
    return img, pairs


def _batch_curve(plot):
    curve = plot.plot([], [], pen=pg.mkPen(BATCH_COLOR, width=1), name="batch")
    curve.setDownsampling(auto=True, method="mean")
    curve.setClipToView(True)
    return curve


class AutoencoderPanel(Panel):
    title = "Autoencoder"

    modest = True  # a tab: must not make its tile grow at the others' expense

    def __init__(self, parent=None):
        super().__init__(parent)
        self.generation = -1
        self.state = State.IDLE
        self.eta: Eta | None = None  # while it runs: the time left
        self.bpe = 1
        self.epochs_total = 0
        self.step = self.epoch = 0
        self.recon = None
        self.x, self.loss, self.psnr = Series(), Series(), Series()
        self.epochs = []
        self.image: np.ndarray | None = None
        self.pairs: list[tuple[int, int]] = []
        self.dataset = ""
        self.requested: State | None = None  # what the last Start/Pause press asked, until the worker answers

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self._run_row())
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("")
        self.progress.setToolTip("Progress through all epochs")
        self.progress.setMaximumHeight(16)
        layout.addWidget(self.progress)
        self.summary = label("1024 \u2192 32 \u2192 32 \u2192 32 \u2192 1024 (ReLU, sigmoid output), squared error, "
                             "momentum 0.9 \u2014 press Start", theme.SUMMARY_TIGHT, wrap=True)
        layout.addWidget(self.summary)
        layout.addWidget(self._pictures(), 3)
        layout.addLayout(self._plots(), 2)
        self.info = label("hover a picture for its class and PSNR", theme.CAPTION_STYLE)
        layout.addWidget(self.info)

    def _run_row(self) -> QHBoxLayout:
        """Start/Pause, Reset, the settings, the state."""
        defaults = AutoencoderConfig()
        self.start_button = button("Start", "Train the autoencoder on the current data, or pause it (Ctrl+Shift+Space)",
                                   self.toggle)
        self.reset_button = button("Reset", "New weights with these settings", self.reset)
        self.epochs_spin = spin(1, 10_000, defaults.epochs, "Passes over the (augmented) training set")
        self.lr = LogSpinBox(1e-8, 1.0)
        self.lr.setValue(defaults.lr)
        self.lr.setToolTip("Learning rate for the summed-over-batch squared error (x0.9 every 4 epochs);\n"
                           "1e-4 and up kills the ReLUs")
        self.per_class = spin(1, 6, 2, "Validation examples shown per class")
        self.per_class.valueChanged.connect(lambda n: self.worker and self.worker.autoencoder.set_per_class(n))
        self.state_label = label("IDLE", tip="What the autoencoder's training is doing")
        return row(self.start_button, self.reset_button, "epochs", self.epochs_spin, "lr", self.lr, "per class",
                   self.per_class, 1, self.state_label)

    def _pictures(self) -> pg.GraphicsLayoutWidget:
        self.pictures = pg.GraphicsLayoutWidget()
        self.pictures.setBackground(theme.BACKDROP)
        self.pictures.setToolTip("Validation images, a few per class: in each pair the original (left) and its\n"
                                 "reconstruction (right). Hover one for its class and PSNR")
        self.box = self.pictures.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.box.setMouseEnabled(False, False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setColorMap(pg.colormap.get("CET-L1"))  # black to white
        self.box.addItem(self.item)
        self.pictures.setMinimumHeight(160)
        self.item.hoverEvent = self._hover
        return self.pictures

    def _plots(self) -> QHBoxLayout:
        """The loss (batches, train, valid) and the validation PSNR with the reference's."""
        plots = QHBoxLayout()
        plots.setSpacing(0)
        self.loss_view, self.psnr_view = pg.GraphicsLayoutWidget(), pg.GraphicsLayoutWidget()
        for view in (self.loss_view, self.psnr_view):
            view.setBackground("w")
            view.setMinimumHeight(220)  # tall enough to read at 1366x768
            plots.addWidget(view, 1)
        self.loss_plot = self.loss_view.addPlot()
        self.psnr_plot = self.psnr_view.addPlot()
        style_plot(self.loss_plot, plot_title("Loss (squared error per image)"), "loss")
        style_plot(self.psnr_plot, plot_title("PSNR (validation: squares)"), "dB")
        self.psnr_plot.setXLink(self.loss_plot)
        self.batch_loss = _batch_curve(self.loss_plot)
        self.train_loss = self.loss_plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=2.5), symbol="o", symbolSize=6,
                                              symbolBrush=TRAIN_COLOR, name="train")
        self.valid_loss = self.loss_plot.plot([], [], pen=pg.mkPen(VALID_COLOR, width=2.5), symbol="s", symbolSize=6,
                                              symbolBrush=VALID_COLOR, name="valid")
        self.batch_psnr = _batch_curve(self.psnr_plot)
        self.valid_psnr = self.psnr_plot.plot([], [], pen=pg.mkPen(VALID_COLOR, width=2.5), symbol="s", symbolSize=7,
                                              symbolBrush=VALID_COLOR, name="valid")
        self.target = pg.InfiniteLine(
            TARGET_PSNR, angle=0, pen=pg.mkPen(theme.HINT_TEXT, width=1.2, style=Qt.PenStyle.DashLine),
            label=f"reference {TARGET_PSNR} dB",
            labelOpts={"position": 0.98, "color": theme.AXIS_TEXT, "anchors": [(1, 0), (1, 0)]})
        self.psnr_plot.addItem(self.target)
        self.x_range = StableRange(self.loss_plot, "x", zero=True, headroom=0.1)
        return plots

    # ---- observing ---------------------------------------------------------------------------

    def attach(self, worker) -> None:
        super().attach(worker)
        worker.autoencoder.changed.connect(self.on_info)
        worker.autoencoder.updated.connect(self.on_progress)

    def on_session(self, info) -> None:
        if not self.dataset and info.view_step is None:
            self.summary.setText(f"1024 \u2192 32 \u2192 32 \u2192 32 \u2192 1024 (ReLU, sigmoid output), squared "
                                 f"error, momentum 0.9 \u2014 press Start to train it on {info.dataset}")

    def on_info(self, a) -> None:
        self.generation = a.generation
        self.dataset = a.dataset
        self.bpe = max(a.batches_per_epoch, 1)
        self.epochs_total = a.epochs_total
        self.step, self.epoch, self.state = a.step, a.epoch, a.state
        self.x.set(np.arange(1, len(a.batch_loss) + 1) / self.bpe)
        self.loss.set(a.batch_loss)
        self.psnr.set(a.batch_psnr)
        self.epochs = list(a.epochs)
        self.recon = a.recon
        self.x_range.release()
        self._show_state()
        self.request_refresh()

    def on_progress(self, u) -> None:
        if u.generation != self.generation:
            return
        self.state, self.step, self.epoch = u.state, u.step, u.epoch
        if self.requested is not None and (self.requested == State.RUNNING) == (u.state == State.RUNNING):
            self.requested = None  # the worker has done what was asked
        if len(u.steps):
            self.x.extend(u.steps / self.bpe)
            self.loss.extend(u.losses)
            self.psnr.extend(u.psnrs)
        self.epochs.extend(u.epochs)
        if u.recon is not None:
            self.recon = u.recon
        self._show_state(u.message)
        self.request_refresh()

    # ---- commands ----------------------------------------------------------------------------

    def config(self) -> AutoencoderConfig:
        return AutoencoderConfig(lr=self.lr.value(), epochs=self.epochs_spin.value())

    def toggle(self) -> None:
        if self.worker is None:
            return
        # a second press before the worker has answered the first one acts on what was asked
        if (self.requested or self.state) == State.RUNNING:
            self.worker.autoencoder.pause()
            self.requested = State.PAUSED
        else:
            self.worker.autoencoder.start(self.config())
            self.requested = State.RUNNING

    def reset(self) -> None:
        if self.worker is not None:
            self.worker.autoencoder.reset(self.config())

    # ---- drawing -----------------------------------------------------------------------------

    def _show_state(self, message: str = "") -> None:
        self.state_label.setText(self.state.value.upper())
        self.state_label.setStyleSheet(theme.state_badge(self.state, size=None, padding="3px 8px"))
        self.start_button.setText("Pause" if self.state == State.RUNNING else
                                  ("Resume" if self.step and self.state == State.PAUSED else "Start"))
        self.start_button.setEnabled(self.state not in (State.FINISHED, State.DIVERGED, State.STOPPED))
        total = self.epochs_total * self.bpe
        frac = self.step / total if total else 0.0
        self.progress.setValue(int(1000 * min(frac, 1.0)))
        running = self.state == State.RUNNING
        if running and self.eta is None:
            self.eta = Eta(start_fraction=frac)  # timed from where it (re)started: pauses do not count
        elif not running:
            self.eta = None
        self.progress.setFormat(f"epoch {self.epoch}/{self.epochs_total} \u00b7 "
                                + (self.eta.words(frac) if self.eta is not None else f"{100 * frac:.0f} %"))
        if self.epochs:
            e = self.epochs[-1]
            verdict = "above" if e.valid_psnr_db > TARGET_PSNR else "below"
            self.summary.setText(
                f"<b>{self.dataset}</b> \u00b7 epoch {e.epoch}: train loss {e.train_loss:.2f} \u00b7 "
                + span(f"<b>validation PSNR {e.valid_psnr_db:.2f} dB</b>", VALID_COLOR) + " "
                f"({verdict} the reference's {TARGET_PSNR} dB)" + (f" \u00b7 {message}" if message else ""))
        elif self.step:
            self.summary.setText(f"<b>{self.dataset}</b> \u00b7 {self.step:,} batches, batch PSNR "
                                 f"{self.psnr.values[-1]:.2f} dB \u00b7 validation PSNR after the first epoch")

    def refresh(self) -> None:
        bx = self.x.values
        self.batch_loss.setData(bx, self.loss.values)
        self.batch_psnr.setData(bx, self.psnr.values)
        ex = np.asarray([e.epoch for e in self.epochs], float)
        self.train_loss.setData(ex, [e.train_loss for e in self.epochs])
        self.valid_loss.setData(ex, [e.valid_loss for e in self.epochs])
        self.valid_psnr.setData(ex, [e.valid_psnr_db for e in self.epochs])
        self.x_range.fit(0.0, max(float(bx[-1]) if len(bx) else 0.0, float(ex[-1]) if len(ex) else 0.0, 1.0))
        self._draw_pictures()

    def _draw_pictures(self) -> None:
        r = self.recon
        if r is None or not len(r.labels):
            return
        per_class = max(list(r.labels).count(lab) for lab in set(r.labels))
        img, self.pairs = mosaic(r.originals, r.outputs, r.labels, per_class)
        first = self.image is None or self.image.shape != img.shape
        self.image = img
        self.item.setImage(img, levels=(0.0, 1.0), autoLevels=False)
        if first:
            self.box.autoRange(padding=0.01)

    def _hover(self, event) -> None:
        r = self.recon
        if r is None or event.isExit():
            return
        x, y = event.pos().x(), event.pos().y()
        for k, (px, py) in enumerate(self.pairs):
            if px <= x < px + 2 * SIDE + PAIR_GAP and py <= y < py + SIDE and k < len(r.labels):
                side = "original" if x < px + SIDE else "reconstruction"
                self.info.setText(f"{side} of a validation {r.labels[k]}: PSNR {r.psnr[k]:.2f} dB "
                                  f"(at step {r.step:,})")
                return

    @property
    def shown_psnr(self) -> float | None:
        """The validation PSNR on screen (for tests)."""
        return self.epochs[-1].valid_psnr_db if self.epochs else None
