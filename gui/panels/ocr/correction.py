"""Close the correction loop: fine-tune the OCR model on the user's corrections (OCR relabels, drawn
characters, top-loss relabels) mixed with its base set, watch the curves, re-read the page with the new
model, see which boxes changed, keep or discard the new model.

All of it is ``engine.ocr.finetune.Finetune``, run by ``gui.worker.runners.finetune.FinetuneRunner`` as a job in
the worker (one unit per batch, time-sliced with everything else, stoppable): the window's worker, or one of
the panel's own when it stands alone. The panel starts it, draws its progress (the base set's reading, then
the fine-tune, each with the time left) and shows the result: every box that reads differently and whether
that is better or worse ("G → C: was read correctly before").
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QProgressBar, QPushButton, QVBoxLayout

from engine.eta import Eta
from engine.ocr.corrections import correction_rows
from engine.ocr.finetune import Finetune, FinetuneConfig, Reread
from engine.ocr.model import load_classifier, load_training_set
from engine.words import count
from gui.widgets import theme
from gui.widgets.panel import Panel
from gui.widgets.plots import plot_title, style_plot
from gui.widgets.theme import TRAIN_COLOR, VALID_COLOR
from gui.worker.runners.finetune import FinetuneRunner
from gui.worker.standalone import own_worker


class CorrectionPanel(Panel):
    title = "Correction loop"
    model_kept = pyqtSignal(object)  # the fine-tuned Classifier
    discarded = pyqtSignal()

    def __init__(self, parent=None, config: FinetuneConfig | None = None, base_loader=None):
        super().__init__(parent)
        self.config = config or FinetuneConfig()
        self.base_loader = base_loader  # () -> Dataset; default: the OCR training set (cached)
        # () -> (source, params, OcrResult, Classifier[, truth lines]) of the OCR page, or None
        self.page_source = lambda: None
        self.rows_source = lambda: None  # () -> engine.data.edits.Rows: drawn / relabelled rows, or None
        self.finetune: Finetune | None = None
        self.runner: FinetuneRunner | None = None  # made on the first start, on the window's worker (or its own)
        self.new_classifier = None
        self.result: Reread | None = None

        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.start_button = QPushButton("Fine-tune on corrections")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.keep_button = QPushButton("Keep new model")
        self.keep_button.clicked.connect(self.keep)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.discard)
        for b in (self.start_button, self.stop_button, self.keep_button, self.discard_button):
            bar.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setToolTip("Reading the base set (built once, about a minute, then cached), then fine-tuning")
        bar.addWidget(self.progress, 1)
        v.addLayout(bar)
        self.status = QLabel("correct boxes in the OCR view (or draw / relabel characters), then fine-tune")
        self.status.setWordWrap(True)
        v.addWidget(self.status)
        plots = QHBoxLayout()
        self.plot = pg.PlotWidget(background="w")
        style_plot(self.plot.getPlotItem(), plot_title("fine-tune loss (corrections + base rows)", "9pt"), "loss",
                   "batch")
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=1.5))
        self.acc_plot = pg.PlotWidget(background="w")
        style_plot(self.acc_plot.getPlotItem(), plot_title("base valid accuracy (forgetting shows here)", "9pt"),
                   "accuracy %", "epoch")
        self.acc_curve = self.acc_plot.plot([], [], pen=pg.mkPen(VALID_COLOR, width=2), symbol="o", symbolSize=6,
                                            symbolBrush=VALID_COLOR)
        for p in (self.plot, self.acc_plot):
            p.setMinimumHeight(160)  # tall enough to read; the changes below keep their room
        plots.addWidget(self.plot, 3)
        plots.addWidget(self.acc_plot, 2)
        v.addLayout(plots, 3)
        self.changes = QListWidget()
        self.changes.setMinimumHeight(90)
        self.changes.setToolTip("Every box the new model reads differently: better (\u2713) or worse (\u2717)")
        v.addWidget(self.changes, 1)
        self.eta: Eta | None = None
        self._losses: list[float] = []
        self._accs: list[tuple[int, float]] = []
        self._set_buttons(running=False, decided=True)

    # ---- commands ----------------------------------------------------------------------------------------

    def set_page(self, pipe) -> None:
        """Standalone use: the page is an OcrPipeline whose result holds the corrections."""
        self.page_source = lambda: (pipe.source, pipe.params(), pipe.run(), pipe.classifier)

    @property
    def session(self):
        return self.finetune.session if self.finetune is not None else None

    @property
    def job(self):
        """The fine-tune's job on the worker while it runs (None otherwise)."""
        return self.runner.job if self.runner is not None else None

    def start(self) -> None:
        page = self.page_source()
        x, y = correction_rows(page[2] if page else None, self.rows_source())
        if len(y) == 0:
            self.status.setText("nothing to learn yet: correct a box in the OCR view, draw a character and add "
                                "it, or relabel a top-loss sample")
            return
        classifier = (page[3] if page else None) or load_classifier()
        self._losses, self._accs = [], []
        self.loss_curve.setData([], [])
        self.acc_curve.setData([], [])
        self.changes.clear()
        self.new_classifier = self.result = None
        self._set_buttons(running=True, decided=True)
        self.status.setText("reading the base set (built once, about a minute, then cached) \u2026")
        self._show_progress("reading the base set", 0.0, restart=True)
        reread_from = (*page[:3], page[4] if len(page) > 4 else None) if page and page[0] is not None else None
        self.finetune = Finetune(classifier, x, y, self.base_loader or load_training_set, self.config, reread_from)
        self._runner().start(self.finetune)

    def attach(self, worker) -> None:
        super().attach(worker)
        self._runner()  # now: the window wires its thread's bug reports when it is built

    def _runner(self) -> FinetuneRunner:
        if self.runner is None:
            self.runner = FinetuneRunner(self.worker or own_worker(self, "fine-tune"), self)
            self.runner.base_progress.connect(lambda f: self._show_progress("reading the base set", f))
            self.runner.base_ready.connect(self._base_ready)
            self.runner.advanced.connect(lambda done, total: self._show_progress("fine-tuning", done / max(total, 1)))
            self.runner.progressed.connect(self._progress)
            self.runner.finished.connect(self._done)
        return self.runner

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()

    def keep(self) -> None:
        if self.new_classifier is not None:
            self.model_kept.emit(self.new_classifier)
            self.status.setText("kept the fine-tuned model: the OCR view reads with it now")
            self._set_buttons(running=False, decided=True)

    def discard(self) -> None:
        self.new_classifier = None
        self.discarded.emit()
        self.status.setText("discarded the fine-tuned model; the old one stays")
        self._set_buttons(running=False, decided=True)

    # ---- drawing -----------------------------------------------------------------------------------------

    def _base_ready(self, n: int, rows: int) -> None:
        self.status.setText(f"fine-tuning on {count(n, 'correction')} + {count(rows, 'base row')} \u2026")
        self._show_progress("fine-tuning", 0.0, restart=True)

    def _show_progress(self, what: str, fraction: float, restart: bool = False) -> None:
        """'reading the base set: 42 % · about 0:35 left' (the time left is each phase's own)."""
        if restart or self.eta is None:
            self.eta = Eta()
        self.progress.setValue(int(round(1000 * fraction)))
        self.progress.setFormat(f"{what}: {self.eta.words(fraction)}")

    def _set_buttons(self, running: bool, decided: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.keep_button.setEnabled(not running and not decided)
        self.discard_button.setEnabled(not running and not decided)

    def _progress(self, losses: list, epochs: list) -> None:
        self._losses += losses
        self.loss_curve.setData(np.arange(1, len(self._losses) + 1), self._losses)
        if epochs:
            self._accs += [(e, 100 * a) for e, a in epochs]
            xs, ys = zip(*self._accs)
            self.acc_curve.setData(list(xs), list(ys))
            self.acc_plot.setXRange(0, max(self.config.epochs, 1), padding=0.05)
            self.acc_plot.setTitle(f"base valid accuracy: {ys[-1]:.1f} %", size="9pt")

    def _done(self, result) -> None:
        if isinstance(result, Exception):
            self.status.setText("fine-tuning stopped" if str(result) == "stopped" else f"fine-tuning failed: {result}")
            self.progress.setFormat("stopped" if str(result) == "stopped" else "failed")
            self._set_buttons(running=False, decided=True)
            return
        self.progress.setValue(1000)
        self.progress.setFormat("done")
        session, self.new_classifier, self.result = result.session, result.new, result.reread
        self.status.setText(self.outcome(session, self.result) + ". Keep the new model or discard it.")
        for c in self.result.changes if isinstance(self.result, Reread) else []:
            self.changes.addItem(f"{c.before or '(new box)'} \u2192 {c.after or '(gone)'}: {c.verdict()}"
                                 f"   (box at row {c.rect[0]}, column {c.rect[1]})")
            if c.worse:
                self.changes.item(self.changes.count() - 1).setForeground(QColor(theme.ERROR_TEXT))
        self._set_buttons(running=False, decided=False)

    @staticmethod
    def outcome(session, reread) -> str:
        """What the fine-tune did, in words that cannot contradict each other: the correction rows it trained
        on (some may be drawn or relabelled samples, not boxes of this page), then the page re-read."""
        rows = len(session.data.test)
        learned = int(round(session.evaluate(session.data.test)[1] * rows))
        if rows == 1:
            text = f"the new model reads the correction it trained on {'as' if learned else 'not yet as'} corrected"
        else:
            text = f"the new model reads {learned} of the {rows:,} corrections it trained on as corrected"
        if isinstance(reread, Reread):
            text += "; re-reading the page: " + reread.summary()
        return text[0].upper() + text[1:]
