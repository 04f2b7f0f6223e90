"""The window's colours and style sheets, in one place: panels name them (``label.setStyleSheet(theme.HINT)``,
``theme.badge(...)``) and never write a colour or a style sheet of their own.

The colours the window shares with the HTML report -- train, valid and the per-batch curve, one colour per
layer and per run, the confusion matrix's right and wrong, the weights' colormap, saliency's for and against
-- are engine/report/palette.py's (engine/ cannot import gui/, so the palette lives there and this module
imports it): the window and the report always draw the same thing in the same colour. What follows them
is the window's own chrome: text greys, banners, badges, the OCR view's confidence colours.
"""
from __future__ import annotations

import colorsys

import numpy as np
import pyqtgraph as pg

from engine.report.palette import (
    BATCH,
    CORRECT,
    EVIDENCE_AGAINST,
    EVIDENCE_FOR,
    LAYERS,
    RUNS,
    TRAIN,
    VALID,
    WEIGHT_STOPS,
    WRONG,
    hex_color,
    layer_color,
    rgb,
    run_color,
)
from engine.training.session import State

TRAIN_COLOR, VALID_COLOR, BATCH_COLOR, LAYER_COLORS, RUN_COLORS = TRAIN, VALID, BATCH, LAYERS, RUNS

# ---- text and chrome (light) --------------------------------------------------------------------------------

INK = "#222"  # titles and text on white
DARK_INK = "#111"  # the OCR text's characters, a tile's highlight
AXIS_TEXT = "#333"  # tick labels; small dark captions
AXIS_LINE = "#888"  # axis lines; a placeholder
CAPTION = "#444"  # picture captions, hover read-outs
HINT_TEXT = "#555"  # hints and secondary numbers
FAINT = "#666"  # the faintest text (sizes, "tile k = box k")
WHITE, BLACK = "#ffffff", "#000000"
BACKDROP = "#f4f5f7"  # behind images (weights, the autoencoder's pictures, close-ups)
PAGE_BACKDROP = "#eceff3"  # behind the OCR page
PICTURE_BORDER = "#bbb"
GRID_LINE = "#dddddd"  # the confusion matrix's cell borders; the drawing canvas's frame
BOX_BORDER = "#c5ccd6"  # the OCR close-up's pictures and confidence bars
FRAME_BAR, FRAME_RULE, FRAME_TITLE = "#e9edf2", "#cfd6de", "#2b3440"  # a panel frame's title bar
LEGEND_FILL = "#ffffffcc"  # translucent white behind labels drawn over a plot

# banners: (text, background, border)
GOOD = ("#1d5e37", "#e9f6ee", "#a9d8b8")  # every layer learns; the live moment
WARNING = ("#6b3d00", "#fff3d6", "#f0b64a")  # vanishing gradients; a past moment
TROUBLE = ("#7b1d13", "#fdecea", "#e4a39b")  # a diagnosis; a watchpoint that fired
QUIET = ("#333", "#f1f3f5", "#d0d5db")  # the last hit, not live any more
NOTE = ("#123", "#eef4fb", "#9cc3e6")  # an experiment's finding
ERROR_TEXT = "#b42318"  # a refused input, under its field
PENDING_TEXT = "#8a5a00"  # "Changed: applies on ..."
ALARM_CELL = "#ffe1b0"  # a table cell that needs a look (gradients 10x smaller, mostly saturated)
HIT_ROW = "#fdd9d5"  # the watchpoint that fired

# run states: (text, background); the gradient check's PASS/FAIL use RUNNING's and DIVERGED's
STATE_STYLE = {
    State.IDLE: ("#3b4450", "#e8ecf1"),
    State.RUNNING: ("#ffffff", "#1f8a4c"),
    State.PAUSED: ("#3b2a00", "#ffd166"),
    State.FINISHED: ("#ffffff", "#2f6db5"),
    State.DIVERGED: ("#ffffff", "#c0392b"),
    State.STOPPED: ("#ffffff", "#6c757d"),
}
UNKNOWN_STATE = ("#000", "#eee")

# plots
HIT, TRACE, THRESHOLD = "#d62728", "#0072B2", "#555555"  # a watchpoint's hits, its value, its threshold
WORST = "#00e5ff"  # the gradient check's worst weight (over "inferno")
MISREAD = "#c00000"  # a misclassified dot of the hidden space
EMPTY_DIAGONAL, HOVER_CELL = "#f2f2f2", "#555555"  # the confusion matrix

# the OCR view: confidence of a box, and marks
HIGH, MID, LOW, CORRECTED, NEUTRAL, SELECTED = "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#0072B2", "#1565ff"
LOW_BACKGROUND, CORRECTED_BACKGROUND = "#ffd9cc", "#f3d9ea"  # in the recognized text
ROW_CAPTION, DROPPED, DIFFERS = "#6b7480", "#9aa4b1", "#b03a2e"  # crops mosaic captions; dropped blobs; vs truth

# ---- style sheets ---------------------------------------------------------------------------------------------

SUMMARY = f"font-size: 12px; color: {INK}; padding: 2px 4px;"  # the line above a plot
SUMMARY_TIGHT = f"font-size: 12px; color: {INK}; padding: 2px;"
BODY = f"font-size: 12px; color: {INK};"
SMALL_INK = f"font-size: 11px; color: {INK};"
CAPTION_STYLE = f"font-size: 11px; color: {CAPTION};"  # under a picture, a hover read-out
CAPTION_PADDED = f"font-size: 11px; color: {CAPTION}; padding: 2px 4px;"
SMALL = f"font-size: 11px; color: {HINT_TEXT};"  # the OCR tab's secondary text
SMALL_DARK = f"font-size: 11px; color: {AXIS_TEXT};"
SMALL_PLAIN = "font-size: 11px;"
HINT = f"color: {FAINT}; font-size: 11px;"
HINT_OK = f"color: {GOOD[0]}; font-size: 11px;"
HINT_ERROR = f"color: {ERROR_TEXT}; font-size: 11px; font-weight: bold;"
ERROR_LINE = f"color: {ERROR_TEXT}; font-size: 11px;"
MUTED = f"color: {HINT_TEXT};"
MUTED_SMALL = f"color: {HINT_TEXT}; font-size: 11px;"
PENDING = f"color: {PENDING_TEXT};"
DARK_TEXT = f"color: {AXIS_TEXT};"
INVALID_FIELD = f"background: {TROUBLE[1]};"
PICTURE = f"border: 1px solid {PICTURE_BORDER}; background: white;"
CLOSE_UP = f"background: {WHITE}; border: 1px solid {BOX_BORDER};"
MONO = "font-family: monospace;"
CONSOLE = f"QPlainTextEdit {{ font-family: monospace; font-size: 11px; background: {WHITE}; color: {INK}; }}"
MONO_BOLD_13, MONO_BOLD_14 = "font: bold 13px monospace;", "font: bold 14px monospace;"
BOX_TITLE = "font-size: 13px;"
TEXT_VIEW = f"QTextBrowser {{ background: {WHITE}; }}"
SMALL_TABLE = "QTableWidget { font-size: 11px; } QHeaderView::section { font-size: 11px; }"
WORKSPACE_TABS = "QTabBar::tab { padding: 5px 14px; font-weight: bold; }"
FRAME_BAR_STYLE = f"#frame_bar {{ background: {FRAME_BAR}; border-bottom: 1px solid {FRAME_RULE}; }}"
FRAME_TITLE_STYLE = f"font-weight: bold; color: {FRAME_TITLE};"
KEYS_BOX = f"font-size: 11px; color: {HINT_TEXT}; background: {BACKDROP}; padding: 4px; border-radius: 3px;"
DOC_BOX = f"font-size: 11px; color: {INK}; background: {BACKDROP}; padding: 4px; border-radius: 3px;"
WAIT = f"QLabel {{ color: {HINT_TEXT}; padding: 4px; }}"


def banner(colors: tuple[str, str, str], padding: str = "6px", border: bool = True, bold: bool = False,
           size: int | None = None) -> str:
    """A QLabel style: text on a tinted, rounded background, e.g. ``banner(GOOD)``."""
    fg, bg, edge = colors
    return ("QLabel { " + f"background: {bg}; color: {fg}; " + (f"border: 1px solid {edge}; " if border else "")
            + f"border-radius: 4px; padding: {padding};" + (" font-weight: bold;" if bold else "")
            + (f" font-size: {size}px;" if size else "") + " }")


GOOD_BANNER, TROUBLE_BANNER, NOTE_BANNER, QUIET_BANNER = banner(GOOD), banner(TROUBLE), banner(NOTE), banner(QUIET)
WARNING_BANNER = banner(WARNING, padding="4px 6px", bold=True, size=12)
HIT_BANNER = banner(TROUBLE, bold=True)
LIVE_BANNER = banner(GOOD, padding="5px", border=False)
PAST_BANNER = banner(WARNING, padding="5px", bold=True)


def badge(colors: tuple[str, str], size: int | None = None, padding: str = "4px", radius: int = 4) -> str:
    """A bold QLabel on a solid background: a run state, PASS/FAIL."""
    fg, bg = colors
    return (f"QLabel {{ color: {fg}; background: {bg}; font-weight: bold;" + (f" font-size: {size}px;" if size else "")
            + f" border-radius: {radius}px; padding: {padding}; }}")


def state_badge(state: State, size: int | None = 14, padding: str = "4px") -> str:
    return badge(STATE_STYLE.get(state, UNKNOWN_STATE), size, padding)


PASS_BADGE = badge(("white", STATE_STYLE[State.RUNNING][1]), 16, "4px 12px")
FAIL_BADGE = badge(("white", STATE_STYLE[State.DIVERGED][1]), 16, "4px 12px")
IDLE_BADGE = badge((STATE_STYLE[State.IDLE][0], STATE_STYLE[State.IDLE][1]), 16, "4px 12px")
PAST_STATUS = ("QLabel { " + f"background: {STATE_STYLE[State.PAUSED][1]}; color: {STATE_STYLE[State.PAUSED][0]}; "
               "font-weight: bold; padding: 0 6px; border-radius: 3px; }")


def confidence_bar(shade: str) -> str:
    return (f"QProgressBar {{ border: 1px solid {BOX_BORDER}; background: {BACKDROP}; }}"
            f"QProgressBar::chunk {{ background: {shade}; }}")


def span(text: str, color: str) -> str:
    """Rich text in a colour (a label's or a plot title's)."""
    return f"<span style='color:{color}'>{text}</span>"


def class_color(k: int, n: int) -> tuple[int, int, int]:
    """Class k of n as one of n distinguishable hues (golden-angle steps, two lightness levels): the hidden
    space's dots and its legend."""
    r, g, b = colorsys.hls_to_rgb((k * 0.618034) % 1.0, 0.45 if k % 2 else 0.6, 0.75)
    return int(r * 255), int(g * 255), int(b * 255)


def class_hex(k: int, n: int) -> str:
    return hex_color(*class_color(k, n))


def swatch(color: str, text: str) -> str:
    """A legend entry in rich text: a small block of ``color``, then ``text``."""
    return f"<span style='color:{color}; background:{color}'>&nbsp;&nbsp;&nbsp;</span>&nbsp;{text}&nbsp;&nbsp;&nbsp;"


# ---- colormaps ------------------------------------------------------------------------------------------------

def weight_colormap():
    """The weights' blue-white-red (the report's too): a pyqtgraph ColorMap through the palette's stops."""
    return pg.ColorMap(np.linspace(0.0, 1.0, len(WEIGHT_STOPS)), [rgb(c) for c in WEIGHT_STOPS])


EVIDENCE_FOR_RGB = np.array(rgb(EVIDENCE_FOR)) / 255.0  # saliency overlays (gui/panels/inspect/explain.py)
EVIDENCE_AGAINST_RGB = np.array(rgb(EVIDENCE_AGAINST)) / 255.0


def configure_pyqtgraph() -> None:
    """pyqtgraph's defaults for every plot of the window: white, dark text."""
    pg.setConfigOptions(background="w", foreground=INK)


__all__ = ["BATCH_COLOR", "CORRECT", "LAYER_COLORS", "RUN_COLORS", "STATE_STYLE", "TRAIN_COLOR", "VALID_COLOR",
           "WRONG", "badge", "banner", "class_color", "class_hex", "layer_color", "run_color", "state_badge",
           "swatch"]
