"""Small builders, so a panel's constructor reads as a list of what it holds: a label, a button, a spin box,
a row of widgets, each in one call with its style (a name from gui/widgets/theme.py) and tooltip."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QLayout, QPushButton, QSpinBox, QWidget


def label(text: str = "", style: str | None = None, tip: str | None = None, wrap: bool = False,
          selectable: bool = False, align=None) -> QLabel:
    w = QLabel(text)
    if style is not None:
        w.setStyleSheet(style)
    if tip:
        w.setToolTip(tip)
    if wrap:
        w.setWordWrap(True)
    if selectable:
        w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if align is not None:
        w.setAlignment(align)
    return w


def button(text: str, tip: str | None = None, slot=None, enabled: bool = True) -> QPushButton:
    b = QPushButton(text)
    if tip:
        b.setToolTip(tip)
    if slot is not None:
        b.clicked.connect(slot)
    b.setEnabled(enabled)
    return b


def spin(lo: int, hi: int, value: int | None = None, tip: str | None = None, suffix: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setSuffix(suffix)
    return _number(s, lo, hi, value, tip)


def dspin(lo: float, hi: float, step: float, decimals: int = 2, value: float | None = None,
          tip: str | None = None) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setDecimals(decimals)  # (before the range: the range is rounded to the decimals)
    s.setSingleStep(step)
    return _number(s, lo, hi, value, tip)


def _number(box, lo, hi, value, tip):
    box.setRange(lo, hi)
    if value is not None:
        box.setValue(value)
    box.setToolTip(tip or "")
    return box


def row(*items, spacing: int | None = None, margins: tuple[int, int, int, int] | None = None) -> QHBoxLayout:
    """A horizontal layout of ``items``: widgets, layouts, strings (a plain label) or ints (a stretch)."""
    lay = QHBoxLayout()
    if spacing is not None:
        lay.setSpacing(spacing)
    if margins is not None:
        lay.setContentsMargins(*margins)
    for item in items:
        if isinstance(item, str):
            lay.addWidget(QLabel(item))
        elif isinstance(item, int):
            lay.addStretch(item)
        elif isinstance(item, QLayout):
            lay.addLayout(item)
        elif isinstance(item, tuple):  # (widget, stretch)
            lay.addWidget(*item)
        else:
            lay.addWidget(item)
    return lay


def widget_of(layout: QLayout) -> QWidget:
    """A plain widget holding ``layout``."""
    w = QWidget()
    w.setLayout(layout)
    return w


__all__ = ["button", "dspin", "label", "row", "spin", "widget_of"]
