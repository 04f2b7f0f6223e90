"""The OCR tab's side widgets: a stage's parameters as sliders/spin boxes/choices, the close-up of a
selected box (crop, 32x32 network input, top-5 classes, correction), and the recognized text with
each character tinted by its confidence (click one to select its box).
"""
from __future__ import annotations

import html
import math

import numpy as np
from PyQt6.QtCore import Qt, QUrl, pyqtSignal
from PyQt6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.ocr import Box, OcrResult, Param, Stage
from gui.panels.ocr.view import CORRECTED, HIGH, LOW, MID, confidence_color
from gui.widgets import theme
from gui.widgets.pixmaps import to_pixmap
from gui.widgets.theme import span

SMALL = theme.SMALL


# ---- parameters ------------------------------------------------------------------------------------

class ParamsForm(QWidget):
    """The current stage's parameters; ``changed(stage, name, value)`` on every edit (live)."""

    changed = pyqtSignal(str, str, object)
    reset = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.stage = ""
        self.editors: dict[str, tuple] = {}  # name -> (Param, setter)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setHorizontalSpacing(6)
        self.form.setVerticalSpacing(3)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: the editor under its name

    def build(self, stage: Stage, values: dict[str, object]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.stage, self.editors = stage.name, {}
        if not stage.params:
            note = QLabel("no parameters \u2014 this stage follows from the ones before it")
            note.setStyleSheet(SMALL)
            note.setWordWrap(True)
            self.form.addRow(note)
            return
        for name, p in stage.params.items():
            editor, setter = self._editor(p)
            label = QLabel(name.replace("_", " "))
            label.setToolTip(p.tooltip)
            editor.setToolTip(p.tooltip)
            self.form.addRow(label, editor)
            self.editors[name] = (p, setter)
            setter(values.get(name, p.value))
        button = QPushButton("Defaults")
        button.setToolTip(f"Reset the parameters of \u201c{stage.name}\u201d to their defaults")
        button.clicked.connect(lambda: self.reset.emit(self.stage))
        self.form.addRow("", button)

    def set_values(self, values: dict[str, object]) -> None:
        for name, (_, setter) in self.editors.items():
            if name in values:
                setter(values[name])

    def _editor(self, p: Param):
        emit = lambda v, n=p.name: self.changed.emit(self.stage, n, v)  # noqa: E731
        if p.choices:
            box = QComboBox()
            box.addItems(p.choices)
            box.currentTextChanged.connect(emit)

            def set_choice(v):
                box.blockSignals(True)
                box.setCurrentText(str(v))
                box.blockSignals(False)
            return box, set_choice
        integer = isinstance(p.step, int)
        steps = max(1, int(round((p.max - p.min) / p.step)))
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, steps)
        slider.setMinimumWidth(40)
        if integer:
            spin = QSpinBox()
            spin.setRange(int(p.min), int(p.max))
        else:
            spin = QDoubleSpinBox()
            spin.setDecimals(max(0, -math.floor(math.log10(p.step) + 1e-9)))
            spin.setRange(p.min, p.max)
        spin.setSingleStep(p.step)
        spin.setKeyboardTracking(False)
        spin.setMinimumWidth(56)
        to_value = lambda k: int(p.min + k * p.step) if integer else round(p.min + k * p.step, 6)  # noqa: E731
        to_tick = lambda v: int(round((float(v) - p.min) / p.step))  # noqa: E731

        def from_slider(k):
            v = to_value(k)
            spin.blockSignals(True)
            spin.setValue(v)
            spin.blockSignals(False)
            emit(v)

        def from_spin(v):
            slider.blockSignals(True)
            slider.setValue(to_tick(v))
            slider.blockSignals(False)
            emit(int(v) if integer else float(v))

        def set_number(v):
            for w, val in ((slider, to_tick(v)), (spin, v)):
                w.blockSignals(True)
                w.setValue(val)
                w.blockSignals(False)

        slider.valueChanged.connect(from_slider)
        spin.valueChanged.connect(from_spin)
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(slider, 1)
        lay.addWidget(spin)
        row.slider, row.spin = slider, spin
        return row, set_number


# ---- one box up close ------------------------------------------------------------------------------

class BoxDetail(QWidget):
    """The selected box: where it is, the crop, the network input, the top-5 and a correction field."""

    relabel = pyqtSignal(str)
    delete = pyqtSignal()
    merge = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.title = QLabel("Click a box on the page")
        self.title.setWordWrap(True)
        self.title.setStyleSheet(theme.BOX_TITLE)
        lay.addWidget(self.title)
        pics = QHBoxLayout()
        self.crop = QLabel()
        self.net = QLabel()
        for label, tip in ((self.crop, "The page around the box (the stage shown decides nothing here: the loaded "
                                       "image)"),
                           (self.net, "What the network reads: the box's own ink, its strokes redrawn at one pen "
                                      "width, centred in 32\u00d732")):
            label.setFixedSize(72, 72)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet(theme.CLOSE_UP)
            label.setToolTip(tip)
        pics.addWidget(self._captioned(self.crop, "crop"))
        pics.addWidget(self._captioned(self.net, "32\u00d732 input"))
        pics.addStretch(1)
        self.close_up = QWidget()  # pictures and top-5: shown for one box
        up = QVBoxLayout(self.close_up)
        up.setContentsMargins(0, 0, 0, 0)
        up.addLayout(pics)
        lists = QHBoxLayout()
        lists.setSpacing(10)
        raw, self.rows = self._top5_list("network top-5", "The network's own top-5 for this box alone")
        ctx, self.context_rows = self._top5_list("in context", "The top-5 within the kind (digits or letters) the "
                                                 "context stage chose from the box's word")
        self.context_list = ctx
        self.context_caption = ctx.findChild(QLabel, "caption")
        lists.addWidget(raw, 1)
        lists.addWidget(ctx, 1)
        up.addLayout(lists)
        lay.addWidget(self.close_up)
        fix = QHBoxLayout()
        fix.addWidget(QLabel("Correct:"))
        self.edit = QLineEdit()
        self.edit.setMaxLength(1)
        self.edit.setAcceptDrops(False)  # a dropped image goes to the tab
        self.edit.setFixedWidth(40)
        self.edit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.edit.setStyleSheet(theme.MONO_BOLD_14)
        self.edit.setToolTip("Type the right character and press Enter (Enter or F2 on the page jumps here; "
                             "after Enter the next box is selected)")
        self.edit.returnPressed.connect(lambda: self.edit.text().strip() and self.relabel.emit(self.edit.text()))
        fix.addWidget(self.edit)
        fix.addStretch(1)
        lay.addLayout(fix)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected boxes: noise read as characters (Delete)")
        self.delete_button.clicked.connect(self.delete)
        self.merge_button = QPushButton("Merge")
        self.merge_button.setToolTip("Merge the selected boxes into one character (M; Ctrl+click selects several)")
        self.merge_button.clicked.connect(self.merge)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.merge_button)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self.show_box(None, None, 0)

    @staticmethod
    def _top5_list(caption: str, tip: str) -> tuple[QWidget, list[tuple[QLabel, QProgressBar, QLabel]]]:
        """A captioned top-5: class, bar, percent per row."""
        w = QWidget()
        w.setToolTip(tip)
        grid = QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(1)
        cap = QLabel(caption)
        cap.setObjectName("caption")
        cap.setStyleSheet(SMALL)
        grid.addWidget(cap, 0, 0, 1, 3)
        rows = []
        for k in range(5):
            ch, bar, pct = QLabel(), QProgressBar(), QLabel()
            ch.setFixedWidth(14)
            ch.setStyleSheet(theme.MONO_BOLD_13)
            bar.setRange(0, 1000)
            bar.setTextVisible(False)
            bar.setFixedHeight(10)
            bar.setMinimumWidth(20)
            pct.setFixedWidth(40)
            pct.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            pct.setStyleSheet(theme.SMALL_PLAIN)
            for c, x in enumerate((ch, bar, pct)):
                grid.addWidget(x, k + 1, c)
            rows.append((ch, bar, pct))
        grid.setColumnStretch(1, 1)
        return w, rows

    @staticmethod
    def _captioned(widget: QWidget, text: str) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(widget)
        cap = QLabel(text)
        cap.setStyleSheet(SMALL)
        lay.addWidget(cap)
        return w

    def show_box(self, box: Box | None, crop: np.ndarray | None, selected: int, index: int = -1,
                 low: float = 0.6) -> None:
        self.delete_button.setEnabled(selected >= 1)
        self.merge_button.setEnabled(selected >= 2)
        self.edit.setEnabled(box is not None and selected == 1)
        for label in (self.crop, self.net):
            label.clear()
        self.close_up.setVisible(box is not None)
        if box is None:
            self.title.setText("Click a box on the page (Ctrl+click: several)" if selected == 0
                               else f"{selected} boxes selected \u2014 M merges them, Delete removes them")
            for ch, bar, pct in self.rows + self.context_rows:
                ch.setText("")
                bar.setValue(0)
                pct.setText("")
            self.edit.clear()
            return
        color = confidence_color(box.confidence, low, corrected=bool(box.corrected))
        fixed = f" \u00b7 <span style='color:{CORRECTED}'>corrected (model read \u201c{html.escape(box.corrected)}" \
                f"\u201d)</span>" if box.corrected else ""
        more = f" \u00b7 {selected} selected" if selected > 1 else ""
        if box.raw_char and box.raw_char != box.char and not box.corrected:
            more = f" \u00b7 <span style='{SMALL}'>network alone: \u201c{html.escape(box.raw_char)}\u201d</span>{more}"
        self.title.setText(
            f"Box {index + 1}: <b style='font-size:18px'>{html.escape(box.char or '?')}</b> "
            f"<span style='color:{color}'><b>{box.confidence:.0%}</b></span>{fixed}{more}<br>"
            f"<span style='{SMALL}'>line {box.line + 1} \u00b7 {box.width}\u00d7{box.height} px at "
            f"({box.col0}, {box.row0})</span>")
        if crop is not None and crop.size:
            self.crop.setPixmap(to_pixmap(crop, 68))
        if box.input is not None:
            self.net.setPixmap(to_pixmap(box.input, 68))
        self._fill(self.rows, box.top5, low)
        self._fill(self.context_rows, box.context_top5, low)
        self.context_list.setVisible(bool(box.context_top5))
        if box.context_top5:
            kind = "digits" if box.context_top5[0][0].isdigit() else "letters"
            self.context_caption.setText(f"among {kind}")
        self.edit.setText(box.char)
        self.edit.selectAll()

    @staticmethod
    def _fill(rows, top5: list[tuple[str, float]], low: float) -> None:
        top = list(top5) + [("", 0.0)] * (5 - len(top5))
        for (ch, bar, pct), (c, p) in zip(rows, top[:5]):
            ch.setText(html.escape(c))
            bar.setValue(int(round(1000 * p)))
            shade = HIGH if p >= 0.9 else MID if p >= low else LOW
            bar.setStyleSheet(theme.confidence_bar(shade))
            pct.setText(f"{p:.1%}" if c else "")

    def top5_text(self, context: bool = False) -> list[tuple[str, str]]:
        """(class, percent) as shown: the network's top-5, or the one in context (for tests)."""
        return [(ch.text(), pct.text()) for ch, _, pct in (self.context_rows if context else self.rows) if ch.text()]


# ---- the recognized text ---------------------------------------------------------------------------

class TextView(QTextBrowser):
    """The page's text; characters under the low-confidence limit are highlighted; a click selects a box."""

    box_clicked = pyqtSignal(int, bool)  # index, add to the selection

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setAcceptDrops(False)  # a dropped image goes to the tab
        self.viewport().setAcceptDrops(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._clicked)
        self.setStyleSheet(theme.TEXT_VIEW)
        self.setPlaceholderText("The recognized text appears here.")

    def show_result(self, result: OcrResult | None, low: float, selected=(), truth: list[str] | None = None,
                    accuracy: float | None = None, note: str = "") -> None:
        if result is None:
            self.setHtml(f"<p style='color:{theme.AXIS_LINE}'>{html.escape(note or 'no result')}</p>")
            return
        chosen = set(selected)
        lines: dict[int, list[str]] = {}
        for i, b in enumerate(result.boxes):
            out = lines.setdefault(b.line, [])
            if b.space_before and out:
                out.append("&nbsp;")
            bg = theme.LOW_BACKGROUND if b.confidence < low else "transparent"
            if b.corrected:
                bg = theme.CORRECTED_BACKGROUND
            border = f"border-bottom: 2px solid {theme.SELECTED};" if i in chosen else ""
            color = LOW if b.confidence < low and not b.corrected else theme.DARK_INK
            weight = "bold" if i in chosen else "normal"
            tip = f"{b.char} {b.confidence:.0%}" + (f" (was {b.corrected})" if b.corrected else "")
            out.append(f"<a href='box:{i}' title='{html.escape(tip)}' style='text-decoration:none; color:{color};"
                       f" background:{bg}; font-weight:{weight}; {border}'>{html.escape(b.char or '?')}</a>")
        body = "<br>".join("".join(lines[k]) for k in sorted(lines)) if lines else \
            span("no characters found on this page", theme.AXIS_LINE)
        extra = ""
        if truth is not None:  # one line under the text (it wraps): the text keeps the room
            acc = f" \u00b7 character accuracy <b>{accuracy:.1%}</b>" if accuracy is not None else ""
            extra = (f"<p style='font-size:11px; color:{theme.HINT_TEXT}; margin-top:4px'>truth{acc}: "
                     f"<span style='font-family:monospace'>{' / '.join(html.escape(t) for t in truth)}</span></p>")
        self.setHtml(f"<div style='font-family:monospace; font-size:15px; line-height:125%'>{body}</div>{extra}")

    def _clicked(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("box:"):
            mods = QApplication.keyboardModifiers()
            add = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
            self.box_clicked.emit(int(text[4:]), add)


__all__ = ["BoxDetail", "ParamsForm", "TextView"]
