"""First-layer weights as pictures: one upright 32x32 tile per hidden unit, in a square-ish grid with a
gap between tiles. The one arrangement the window's Weights and Gradient-check panels and the HTML
report's weight pictures share, and the arithmetic from a point of the grid back to its unit and pixel.

Rows of W are NIST-layout (column-major) pixels: the pixel at (x, y) of a tile is row ``x * 32 + y``.
"""
from __future__ import annotations

import math

import numpy as np

from engine.data.dataset import SIDE

GAP = 1  # pixels between tiles


def tile_layout(units: int) -> tuple[int, int]:
    """(rows, cols) of the grid: square-ish, 8x8 for 64 units."""
    cols = max(1, math.ceil(math.sqrt(units)))
    return math.ceil(units / cols), cols


def unit_images(W: np.ndarray) -> np.ndarray:
    """(units, 32, 32) upright images of each unit's incoming weights (W is inputs x units)."""
    return W.reshape(SIDE, SIDE, W.shape[1]).transpose(2, 1, 0)


def tile_grid(W: np.ndarray, gap: int = GAP, dtype=np.float32) -> np.ndarray:
    """One image of all tiles, NaN in the gaps (drawn transparent or grey)."""
    imgs = unit_images(W)
    rows, cols = tile_layout(len(imgs))
    cell = SIDE + gap
    grid = np.full((rows * cell - gap, cols * cell - gap), np.nan, dtype)
    for k, img in enumerate(imgs):
        r, c = divmod(k, cols)
        grid[r * cell:r * cell + SIDE, c * cell:c * cell + SIDE] = img
    return grid


def tile_origin(unit: int, units: int, gap: int = GAP) -> tuple[int, int]:
    """(x, y) of the top-left pixel of ``unit``'s tile in the grid."""
    cols = tile_layout(units)[1]
    r, c = divmod(unit, cols)
    return c * (SIDE + gap), r * (SIDE + gap)


def tile_at(x: float, y: float, units: int, gap: int = GAP) -> tuple[int, int, int] | None:
    """(unit, px, py) under grid coordinates (x = column, y = row), or None over a gap or outside."""
    if x < 0 or y < 0:
        return None
    rows, cols = tile_layout(units)
    cell = SIDE + gap
    c, r = int(x // cell), int(y // cell)
    px, py = int(x - c * cell), int(y - r * cell)
    unit = r * cols + c
    if c >= cols or r >= rows or px >= SIDE or py >= SIDE or unit >= units:
        return None
    return unit, px, py


__all__ = ["GAP", "tile_at", "tile_grid", "tile_layout", "tile_origin", "unit_images"]
