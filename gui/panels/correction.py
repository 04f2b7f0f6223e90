"""Close the correction loop: fine-tune the OCR model on the user's corrections (OCR relabels, drawn
characters, top-loss relabels) mixed with its base set, watch the curves, re-read the page with the new
model, see which boxes changed, keep or discard the new model.

All of it is ``engine.finetune``; the panel starts it, draws its events and shows the result. Until the
window's job protocol hosts it, the fine-tune runs on its own background thread (stop is thread-safe).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from engine.edits import Rows
from engine.finetune import FinetuneConfig, Reread, classifier_of, finetune_session, reread
from engine.session import BatchEvent, EpochEvent
from gui.panels import TRAIN_COLOR, VALID_COLOR
from gui.panels.explain import Background


class _Events(QObject):
    batch = pyqtSignal(int, float)
    epoch = pyqtSignal(int, float)


def correction_rows(pipe, extra: Rows | None) -> tuple[np.ndarray, np.ndarray]:
    """The corrected boxes of the page plus any other collected rows (drawn, relabelled)."""
    from engine.ocr.edit import training_rows

    xs, ys = [], []
    if pipe is not None and pipe.result is not None:
        x, y = training_rows(pipe.result, only_corrected=True)
        xs.append(x)
        ys.append(y)
    if extra is not None and len(extra):
        xs.append(extra.x)
        ys.append(extra.y)
    if not xs:
        return np.zeros((0, 1024), np.float32), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys)


class CorrectionPanel(QWidget):
    title = "Correction loop"
    model_kept = pyqtSignal(object)  # the fine-tuned Classifier
    discarded = pyqtSignal()

    def __init__(self, parent=None, config: FinetuneConfig | None = None, base_loader=None):
        super().__init__(parent)
        self.config = config or FinetuneConfig()
        self.base_loader = base_loader  # () -> Dataset; default: the OCR training set (cached)
        self.pipe, self.classifier, self.extra = None, None, None
        self.session, self.result, self.new_classifier = None, None, None
        self.background = Background(self)
        self.background.ready.connect(self._done)
        self.events = _Events(self)
        self.events.batch.connect(self._batch)
        self.events.epoch.connect(self._epoch)

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

    def set_page(self, pipe, classifier=None) -> None:
        """The page (an OcrPipeline whose result holds the corrections) and the model to improve."""
        self.pipe, self.classifier = pipe, classifier or (pipe.classifier if pipe is not None else None)

    def set_rows(self, rows: Rows | None) -> None:
        self.extra = rows

    def start(self) -> None:
        x, y = correction_rows(self.pipe, self.extra)
        if len(y) == 0 or self.classifier is None:
            self.status.setText("nothing to learn yet: correct a box, draw a character or relabel a sample")
            return
        self._losses, self._accs = [], []
        self.loss_curve.setData([], [])
        self.acc_curve.setData([], [])
        self.changes.clear()
        self._set_buttons(running=True, decided=True)
        self.status.setText(f"fine-tuning on {len(y)} corrections mixed with the base set ...")
        clf, pipe, cfg, loader, events = self.classifier, self.pipe, self.config, self.base_loader, self.events

        def work():
            from engine.ocr.model import load_training_set

            base = loader() if loader is not None else load_training_set()
            session = finetune_session(clf, x, y, base, cfg)
            self.session = session
            session.subscribe(lambda e: events.batch.emit(e.step, e.loss) if isinstance(e, BatchEvent) else
                              events.epoch.emit(e.epoch, e.valid_acc) if isinstance(e, EpochEvent) else None)
            events.epoch.emit(0, session.evaluate(session.data.valid)[1])
            session.run()
            new = classifier_of(session, path="(fine-tuned)")
            return session, new, (reread(pipe, new) if pipe is not None else None)

        self.background.submit(work)

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()

    def keep(self) -> None:
        if self.new_classifier is not None:
            self.model_kept.emit(self.new_classifier)
            self.status.setText("kept the fine-tuned model")
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

    def _batch(self, step: int, loss: float) -> None:
        self._losses.append(loss)
        if step % 5 == 0 or step == 1:
            self.loss_curve.setData(np.arange(1, len(self._losses) + 1), self._losses)

    def _epoch(self, epoch: int, acc: float) -> None:
        self._accs.append((epoch, 100 * acc))
        xs, ys = zip(*self._accs)
        self.acc_curve.setData(list(xs), list(ys))
        self.acc_plot.setXRange(0, max(self.config.epochs, 1), padding=0.05)
        self.acc_plot.setTitle(f"base valid accuracy: {acc:.1%}", size="9pt")

    def _done(self, result) -> None:
        if isinstance(result, Exception):
            self.status.setText(f"fine-tuning failed: {result}")
            self._set_buttons(running=False, decided=True)
            return
        session, self.new_classifier, self.result = result
        self.loss_curve.setData(np.arange(1, len(self._losses) + 1), self._losses)
        learned = session.evaluate(session.data.test)[1]
        text = f"learned {learned:.0%} of the corrections"
        if isinstance(self.result, Reread):
            text += "; re-read the page: " + self.result.summary()
            for c in self.result.changes:
                mark = "  ✓ as corrected" if c.fixed else ""
                self.changes.addItem(f"box {c.rect}: {c.before or '(none)'} → {c.after or '(gone)'}{mark}")
        self.status.setText(text + ". Keep the new model or discard it.")
        self._set_buttons(running=False, decided=False)
