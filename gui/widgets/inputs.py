"""Form inputs the panels share: a learning-rate box that steps 1-2-5, the hidden-sizes field's parser and the
hidden activations offered (Controls, the timeline's branch form, Experiments' "Add run", the autoencoder)."""
from __future__ import annotations

import math
import re

from PyQt6.QtGui import QValidator
from PyQt6.QtWidgets import QDoubleSpinBox

from engine.nn.activations import ACTIVATIONS

HIDDEN_ACTIVATIONS = [a for a in ACTIVATIONS if a not in ("softmax", "linear")]


class LogSpinBox(QDoubleSpinBox):
    """A positive number shown compactly (3e-3, 0.05, 100) that steps along 1-2-5 decades."""

    def __init__(self, lo: float, hi: float, parent=None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(lo, hi)

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text, pos):
        if re.fullmatch(r"[0-9]*\.?[0-9]*(e-?[0-9]*)?", text.strip(), re.I):
            try:
                v = float(text)
                state = QValidator.State.Acceptable if self.minimum() <= v <= self.maximum() \
                    else QValidator.State.Intermediate
            except ValueError:
                state = QValidator.State.Intermediate
            return state, text, pos
        return QValidator.State.Invalid, text, pos

    def stepBy(self, steps: int) -> None:
        v = self.value()
        for _ in range(abs(steps)):
            exp = math.floor(math.log10(v))
            m = v / 10 ** exp
            ladder = [1, 2, 5, 10]
            if steps > 0:
                m = next((x for x in ladder if x > m + 1e-9), 10)
            else:
                m = next((x for x in reversed([0.5] + ladder) if x < m - 1e-9), 0.5)
            v = m * 10 ** exp
        self.setValue(min(max(v, self.minimum()), self.maximum()))


def parse_hidden(text: str) -> tuple[int, ...]:
    parts = [p for p in re.split(r"[\s,x×]+", text.strip()) if p]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"hidden sizes must be positive integers like '64' or '128, 64', got {text!r}")
    return tuple(int(p) for p in parts)


__all__ = ["HIDDEN_ACTIVATIONS", "LogSpinBox", "parse_hidden"]
