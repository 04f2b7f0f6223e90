"""Explain one prediction: the input, its saliency and occlusion maps over it, the top-5 and a class
picker ("why not I?"). Everything shown comes from ``engine.debug.explain.explain``; this panel only draws.

Self-contained until the Inspect workspace exists: give it a network (``set_model``) and an input
(``show_input``, a NIST-layout row); the explanation is computed on the background thread
(gui/worker/background.py), latest request wins.
"""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from engine.data.dataset import to_image
from engine.debug.explain import Explanation, explain
from gui.layout.reflow import Reflow
from gui.widgets import theme
from gui.widgets.pixmaps import to_pixmap
from gui.worker.background import Background

POSITIVE, NEGATIVE = theme.EVIDENCE_FOR_RGB, theme.EVIDENCE_AGAINST_RGB  # for / against the class (as the report)


def overlay(base: np.ndarray, values: np.ndarray) -> np.ndarray:
    """RGB picture: the input in light gray, red where ``values`` > 0 (evidence for the class), blue where < 0.
    Scaled to the 98th percentile of the nonzero magnitudes, so a few extreme pixels do not wash out the rest."""
    mag = np.abs(values[values != 0])
    scale = max(float(np.percentile(mag, 98)) if mag.size else 0.0, 1e-12)
    t = np.clip(values / scale, -1, 1)[..., None]
    gray = (0.55 + 0.45 * np.clip(base, 0, 1))[..., None] * np.ones(3)
    return np.where(t > 0, gray * (1 - t) + POSITIVE * t, gray * (1 + t) + NEGATIVE * (-t))


def evidence_legend(name: str) -> str:
    """The colours' meaning, under the pictures (the report draws them the same way)."""
    return theme.swatch(theme.EVIDENCE_FOR, f"for {name}") + theme.swatch(theme.EVIDENCE_AGAINST, f"against {name}")


def picture(caption: str, size: int) -> tuple[QWidget, QLabel]:
    box = QWidget()
    v = QVBoxLayout(box)
    v.setContentsMargins(0, 0, 0, 0)
    img = QLabel()
    img.setFixedSize(size, size)
    img.setAlignment(Qt.AlignmentFlag.AlignCenter)
    img.setStyleSheet(theme.PICTURE)
    text = QLabel(caption)
    text.setStyleSheet(theme.CAPTION_STYLE)
    text.setWordWrap(True)
    text.setMinimumHeight(3 * text.fontMetrics().height())  # up to three lines under the picture
    v.addWidget(img)
    v.addWidget(text)
    v.addStretch(1)
    text.setFixedWidth(size)
    return box, img


class ExplainPanel(QWidget):
    """Input | saliency | occlusion, and the top-5 (click a class, or pick any, to explain it instead)."""

    title = "Explain"
    explained = pyqtSignal(object)  # Explanation

    def __init__(self, parent=None, size: int = 96):
        super().__init__(parent)
        self.net, self.classes, self.row = None, (), None
        self.target: int | None = None  # None: the top class
        self.result: Explanation | None = None
        self.size = size
        self.background = Background(self)
        self.background.ready.connect(self._show)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        pics_box = QWidget()
        pics = QHBoxLayout(pics_box)
        pics.setContentsMargins(0, 0, 0, 0)
        pics.setSpacing(6)
        w, self.input_view = picture("network input (32x32)", size)
        pics.addWidget(w)
        w, self.saliency_view = picture("saliency (integrated gradients)", size)
        self.saliency_caption = w.findChildren(QLabel)[-1]
        pics.addWidget(w)
        w, self.occlusion_view = picture("occlusion (6x6 patches)", size)
        self.occlusion_caption = w.findChildren(QLabel)[-1]
        pics.addWidget(w)

        list_box, pick_box = QWidget(), QWidget()
        top, pick = QVBoxLayout(list_box), QVBoxLayout(pick_box)
        for lay in (top, pick):
            lay.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("top-5 (click one)"))
        self.top5 = QListWidget()
        self.top5.setFixedWidth(130)
        self.top5.setFixedHeight(5 * self.top5.fontMetrics().height() + 12)  # five rows, no scrolling
        self.top5.itemClicked.connect(lambda item: self.pick(item.data(Qt.ItemDataRole.UserRole)))
        top.addWidget(self.top5)
        top.addStretch(1)
        why = QLabel("why not \u2026?")
        why.setToolTip("Explain another class than the one the network chose")
        pick.addWidget(why)
        self.picker = QComboBox()
        self.picker.setFixedWidth(130)
        self.picker.activated.connect(lambda i: self.pick(None if i == 0 else i - 1))
        pick.addWidget(self.picker)
        pick.addStretch(1)
        side_box = Reflow(list_box, pick_box, spacing=10, stretch=(0, 1))  # the picker beside the list when below
        # beside the pictures when the frame is wide enough, under them when it is not (1366-wide Inspect)
        self.body = Reflow(pics_box, side_box, spacing=10)
        outer.addWidget(self.body)
        self.legend = QLabel(evidence_legend("the class"))  # what the colours over the pictures mean
        self.legend.setToolTip("Saliency: red ink raises the class's probability, blue lowers it.\n"
                               "Occlusion: covering a red patch lowers it.")
        self.legend.setStyleSheet(theme.CAPTION_STYLE)
        self.legend.setWordWrap(True)
        outer.addWidget(self.legend)
        self.status = QLabel("no input yet: click an OCR box, a sample, or draw a character")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        outer.addStretch(1)

    # ---- commands ----------------------------------------------------------------------------------------

    def set_model(self, net, classes) -> None:
        self.net, self.classes = net, tuple(classes)
        self.picker.clear()
        self.picker.addItems(["top class"] + [f"class {c}" for c in self.classes])
        self._request()

    def show_input(self, row: np.ndarray, target: int | None = None) -> None:
        """Explain a NIST-layout row (what the model receives); ``target`` None explains the top class."""
        self.row, self.target = np.asarray(row, np.float32).reshape(-1), target
        self._request()

    def pick(self, target: int | None) -> None:
        self.target = target
        self._request()

    def _request(self) -> None:
        if self.net is None or self.row is None:
            return
        net, classes, row, target = self.net, self.classes, self.row, self.target
        self.status.setText("explaining ...")
        self.background.submit(lambda: explain(net, classes, row, target))

    # ---- drawing -----------------------------------------------------------------------------------------

    def _show(self, e) -> None:
        if isinstance(e, Exception):
            self.status.setText(f"could not explain: {e}")
            return
        self.result = e
        img = to_image(e.row)
        self.input_view.setPixmap(to_pixmap(img, self.size))
        self.saliency_view.setPixmap(to_pixmap(overlay(img, to_image(e.saliency)), self.size))
        self.occlusion_view.setPixmap(to_pixmap(overlay(img, to_image(e.occlusion)), self.size))
        name = e.classes[e.target]
        self.saliency_caption.setText(f"saliency for {name} (sum {e.saliency.sum():+.3f})")
        self.saliency_caption.setToolTip(f"red = ink that argues for {name}, blue = ink that argues against it "
                                         "(integrated gradients from a blank page)")
        self.occlusion_caption.setText(f"occlusion for {name} (max drop {e.occlusion.max():.3f})")
        self.occlusion_caption.setToolTip(f"red = covering a 6x6 patch there lowers p({name})")
        self.legend.setText(evidence_legend(name))
        self.top5.clear()
        order = np.argsort(-e.probs, kind="stable")[:5]
        for i in order:
            item = QListWidgetItem(f"{e.classes[i]}   {e.probs[i]:.3f}")
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            self.top5.addItem(item)
            if i == e.target:
                item.setSelected(True)
        self.picker.setCurrentIndex(0 if self.target is None else self.target + 1)
        top = e.top(1)[0]
        self.status.setText(f"reads {top[0]} ({top[1]:.1%}); explaining {name} "
                            f"(p = {e.probs[e.target]:.3f})")
        self.explained.emit(e)
