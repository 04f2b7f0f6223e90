"""Close the correction loop: fine-tune the OCR model on the user's corrections (OCR relabels, drawn
characters, top-loss relabels) mixed with its base set, watch the curves, re-read the page with the new
model, see which boxes changed, keep or discard the new model.

All of it is ``engine.ocr.finetune.Finetune``: in the window it runs as a job in the worker (one unit per
batch, time-sliced with everything else, stoppable); standalone (no worker) on the panel's own thread.
The panel starts it, draws its progress and shows the result.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout

from engine.ocr.corrections import correction_rows
from engine.ocr.finetune import Finetune, FinetuneConfig, Reread
from gui.panels.inspect.explain import Background
from gui.widgets.panel import Panel
from gui.widgets.theme import TRAIN_COLOR, VALID_COLOR


def _default_base():
    from engine.ocr.model import load_training_set
    return load_training_set()


class CorrectionPanel(Panel):
    title = "Correction loop"
    model_kept = pyqtSignal(object)  # the fine-tuned Classifier
    discarded = pyqtSignal()
    progressed = pyqtSignal(object, object)  # new batch losses, [(epoch, base valid acc)] (from any thread)
    finished = pyqtSignal(object)  # Finetune, or the exception that stopped it

    def __init__(self, parent=None, config: FinetuneConfig | None = None, base_loader=None):
        super().__init__(parent)
        self.config = config or FinetuneConfig()
        self.base_loader = base_loader  # () -> Dataset; default: the OCR training set (cached)
        self.page_source = lambda: None  # () -> (source, params, OcrResult, Classifier) of the OCR page, or None
        self.rows_source = lambda: None  # () -> engine.data.edits.Rows: drawn / relabelled rows, or None
        self.finetune: Finetune | None = None
        self.job = None
        self.new_classifier = None
        self.result: Reread | None = None
        self.background = Background(self)  # standalone (no worker): the loop runs here
        self.background.ready.connect(self._done)
        self.base_thread = Background(self)  # in the window: the base set is read here, not in the worker
        self.base_thread.ready.connect(self._base_ready)
        self.progressed.connect(self._progress)
        self.finished.connect(self._done)

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
        self._seen = (0, -1)  # batch losses and epochs already reported (-1: not even the start)
        self._stop_requested = False
        self._set_buttons(running=False, decided=True)

    # ---- commands ----------------------------------------------------------------------------------------

    def set_page(self, pipe) -> None:
        """Standalone use: the page is an OcrPipeline whose result holds the corrections."""
        self.page_source = lambda: (pipe.source, pipe.params(), pipe.run(), pipe.classifier)

    @property
    def session(self):
        return self.finetune.session if self.finetune is not None else None

    def start(self) -> None:
        page = self.page_source()
        extra = self.rows_source()
        x, y = correction_rows(page[2] if page else None, extra)
        classifier = page[3] if page else None
        if classifier is None:
            from engine.ocr.model import load_classifier
            classifier = load_classifier()
        if len(y) == 0:
            self.status.setText("nothing to learn yet: correct a box in the OCR view, draw a character and add "
                                "it, or relabel a top-loss sample")
            return
        self._losses, self._accs, self._seen = [], [], (0, -1)
        self.loss_curve.setData([], [])
        self.acc_curve.setData([], [])
        self.changes.clear()
        self.new_classifier = self.result = None
        self._stop_requested = False
        self._set_buttons(running=True, decided=True)
        self.status.setText(f"fine-tuning on {len(y)} corrections mixed with the base set …")
        loader = self.base_loader or _default_base
        reread_from = page[:3] if page and page[0] is not None else None
        ft = self.finetune = Finetune(classifier, x, y, loader, self.config, reread_from)
        if self.worker is not None:  # in the window: a job in the one worker, time-sliced with the rest ...
            self.status.setText("reading the base set (built once, then cached) \u2026")
            self.base_thread.submit(loader)  # ... after the base set is read off the worker (the first time
            # it is built: minutes that would stall training and every other job)
        else:
            def run():
                for _ in ft.steps():
                    self._report(ft)
                    if self._stop_requested:
                        raise RuntimeError("stopped")
                return ft
            self.background.submit(run)

    def _base_ready(self, base) -> None:
        ft = self.finetune
        if isinstance(base, Exception):
            self._done(base)
            return
        if ft is None or self._stop_requested:
            self._done(RuntimeError("stopped"))
            return
        ft.base_loader = lambda: base
        self.status.setText(f"fine-tuning on {len(ft.y)} corrections + {self.config.base_rows} base rows \u2026")
        self.worker.send(lambda: self._start_job(ft))

    def _start_job(self, ft: Finetune) -> None:  # worker thread
        from engine.training.jobs import GeneratorJob, JobState

        job = self.job = GeneratorJob(ft.steps(), ft.total, "fine-tune", "batch")

        def after(job):
            self._report(ft)
            if job.state in (JobState.FINISHED, JobState.FAILED, JobState.STOPPED):
                self.worker.remove_job(job)
                self.finished.emit(ft if job.state == JobState.FINISHED else
                                   job.error or RuntimeError("stopped"))

        self.worker.add_job(job, after)
        job.start()

    def _report(self, ft: Finetune) -> None:  # any thread: send what is new since the last report
        s = ft.session
        if s is None:
            return
        n_loss, n_epochs = self._seen
        losses = s.history.batch_loss[n_loss:]
        epochs = [(e.epoch, e.valid_acc) for e in s.history.epochs[max(n_epochs, 0):]]
        if n_epochs < 0:  # the base accuracy before fine-tuning starts the forgetting curve
            epochs = [(0, s.evaluate(s.data.valid)[1])] + epochs
        if losses or epochs:
            self._seen = (n_loss + len(losses), len(s.history.epochs))
            self.progressed.emit(list(losses), epochs)

    def stop(self) -> None:
        self._stop_requested = True
        job = self.job
        if job is not None and self.worker is not None:
            self.worker.send(job.stop)

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
        self.job = None
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
