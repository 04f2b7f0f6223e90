"""The colours the window and the HTML report share: one colour per thing shown, by name (plain hex).

engine/ never imports gui/, so the palette lives here; gui/widgets/theme.py imports it (and adds the
window's own chrome and style sheets), engine/report/style.py writes it into the report's CSS. Train is
always ``TRAIN``, validation ``VALID``, the per-batch curve ``BATCH``, layer k ``layer_color(k)``, run or
branch k ``run_color(k)``; the confusion matrix shades its diagonal with ``CORRECT`` and the rest with
``WRONG``; weights are drawn with ``WEIGHT_STOPS``; a saliency map shows evidence for a
class in ``EVIDENCE_FOR`` and against it in ``EVIDENCE_AGAINST``.

The window is light; the report's dark theme draws the same hues lighter (``on_dark``).
"""
from __future__ import annotations

TRAIN, VALID, BATCH = "#0072B2", "#D55E00", "#9aa4b1"

# One colour per layer, the same in every panel and chart (colorblind-friendly Okabe-Ito order).
LAYERS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# Runs of an experiment and branches of the timeline (the same Okabe-Ito colours, train and valid first).
RUNS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

CORRECT, WRONG = "#1a9850", "#d73027"  # the confusion matrix: the diagonal, the cells off it

# Weights: negative -> zero -> positive, CET-D1 (a perceptually uniform blue-white-red) at 17 points.
WEIGHT_STOPS = ("#2151db", "#5161de", "#6f74e1", "#8987e4", "#9f9be7", "#b5b0ea", "#c9c4ec", "#dcdaee", "#ede7e9",
                "#f2d6cf", "#f0bdb1", "#eda493", "#e78b76", "#df725a", "#d6573e", "#cb3823", "#c00206")

EVIDENCE_FOR, EVIDENCE_AGAINST = "#d63026", "#0073b3"  # saliency: ink that argues for / against the class


def layer_color(i: int) -> str:
    return LAYERS[i % len(LAYERS)]


def run_color(i: int) -> str:
    return RUNS[i % len(RUNS)]


def rgb(color: str) -> tuple[int, int, int]:
    """'#0072B2' -> (0, 114, 178)."""
    h = color.lstrip("#")
    if len(h) == 3:
        h = "".join(c + c for c in h)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def hex_color(r: float, g: float, b: float) -> str:
    return "#%02x%02x%02x" % tuple(int(round(min(max(v, 0), 255))) for v in (r, g, b))


def on_dark(color: str, light: str = "#e6e9ee") -> str:
    """The same hue for a dark background: a third of the way to white (black becomes ``light``)."""
    r, g, b = rgb(color)
    if max(r, g, b) < 40:
        return light
    return hex_color(*(v + (255 - v) / 3 for v in (r, g, b)))


__all__ = ["BATCH", "CORRECT", "EVIDENCE_AGAINST", "EVIDENCE_FOR", "LAYERS", "RUNS", "TRAIN", "VALID",
           "WEIGHT_STOPS", "WRONG", "hex_color", "layer_color", "on_dark", "rgb", "run_color"]
