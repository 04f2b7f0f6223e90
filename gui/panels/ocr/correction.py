"""Close the correction loop: fine-tune the OCR model on the user's corrections (OCR relabels, drawn
characters, top-loss relabels) mixed with its base set, watch the curves, re-read the page with the new
model, see which boxes changed, keep or discard the new model.

All of it is ``engine.ocr.finetune.Finetune``, run by ``gui.worker.runners.finetune.FinetuneRunner`` as a job in
the worker (one unit per batch, time-sliced with everything else, stoppable): the window's worker, or one of
the panel's own when it stands alone. The panel starts it, draws its progress and shows the result.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout

from engine.ocr.corrections import correction_rows
from engine.ocr.finetune import Finetune, FinetuneConfig, Reread
from engine.ocr.model import load_classifier, load_training_set
from engine.words import count
from gui.widgets.panel import Panel
from gui.widgets.theme import TRAIN_COLOR, VALID_COLOR
from gui.worker.runners.finetune import FinetuneRunner
from gui.worker.worker import own_worker


class CorrectionPanel(Panel):
    title = "Correction loop"
    model_kept = pyqtSignal(object)  # the fine-tuned Classifier
    discarded = pyqtSignal()

    def __init__(self, parent=None, config: FinetuneConfig | None = None, base_loader=None):
        super().__init__(parent)
        self.config = config or FinetuneConfig()
        self.base_loader = base_loader  # () -> Dataset; default: the OCR training set (cached)
        self.page_source = lambda: None  # () -> (source, params, OcrResult, Classifier) of the OCR page, or None
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
        bar.addStretch(1)
        v.addLayout(bar)
        plots = QHBoxLayout()
        self.plot = pg.PlotWidget(background="w")
        self.plot.setTitle("fine-tune loss (corrections + base rows)", size="9pt")
        self.plot.setLabel("bottom", "batch")
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=1.5))
        self.acc_plot = pg.PlotWidget(background="w")
        self.acc_plot.setTitle("base valid accuracy (forgetting shows here)", size="9pt")
        self.acc_plot.setLabel("bottom", "epoch")
        self.acc_plot.setLabel("left", "%")
        self.acc_curve = self.acc_plot.plot([], [], pen=pg.mkPen(VALID_COLOR, width=2), symbol="o", symbolSize=6,
                                            symbolBrush=VALID_COLOR)
        plots.addWidget(self.plot, 3)
        plots.addWidget(self.acc_plot, 2)
        v.addLayout(plots, 1)
        self.changes = QListWidget()
        self.changes.setMaximumHeight(120)
        v.addWidget(self.changes)
        self.status = QLabel("correct boxes in the OCR view (or draw / relabel characters), then fine-tune")
        self.status.setWordWrap(True)
        v.addWidget(self.status)
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
        self.status.setText("reading the base set (built once, then cached) \u2026")
        reread_from = page[:3] if page and page[0] is not None else None
        self.finetune = Finetune(classifier, x, y, self.base_loader or load_training_set, self.config, reread_from)
        self._runner().start(self.finetune)

    def attach(self, worker) -> None:
        super().attach(worker)
        self._runner()  # now: the window wires its thread's bug reports when it is built

    def _runner(self) -> FinetuneRunner:
        if self.runner is None:
            self.runner = FinetuneRunner(self.worker or own_worker(self, "fine-tune"), self)
            self.runner.base_ready.connect(lambda n, rows: self.status.setText(
                f"fine-tuning on {count(n, 'correction')} + {count(rows, 'base row')} \u2026"))
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
            self._set_buttons(running=False, decided=True)
            return
        session, self.new_classifier, self.result = result.session, result.new, result.reread
        learned = session.evaluate(session.data.test)[1]
        text = f"learned {learned:.0%} of the corrections"
        if isinstance(self.result, Reread):
            text += "; re-read the page: " + self.result.summary()
            for c in self.result.changes:
                mark = "  ✓ as corrected" if c.fixed else ""
                self.changes.addItem(f"box {c.rect}: {c.before or '(none)'} → {c.after or '(gone)'}{mark}")
        self.status.setText(text + ". Keep the new model or discard it.")
        self._set_buttons(running=False, decided=False)
