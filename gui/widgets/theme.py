"""The window's colours, in one place (the HTML report's stylesheet uses the same ones)."""
from __future__ import annotations

# One color per layer, the same in every panel (colorblind-friendly Okabe-Ito order).
LAYER_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TRAIN_COLOR, VALID_COLOR, BATCH_COLOR = "#0072B2", "#D55E00", "#9aa4b1"


def layer_color(i: int) -> str:
    return LAYER_COLORS[i % len(LAYER_COLORS)]
