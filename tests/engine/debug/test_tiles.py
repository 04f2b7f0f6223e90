"""engine.debug.tiles: first-layer weights as a grid of upright 32x32 tiles, and back from a point."""
from __future__ import annotations

import numpy as np

from engine.data.dataset import to_image
from engine.debug.tiles import GAP, tile_at, tile_grid, tile_layout, tile_origin


def test_each_tile_is_its_units_upright_image_with_nan_gaps():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((1024, 10)).astype(np.float32)
    assert tile_layout(10) == (3, 4) and tile_layout(64) == (8, 8)
    grid = tile_grid(W)
    assert grid.shape == (3 * 33 - GAP, 4 * 33 - GAP) and grid.dtype == np.float32
    for k in range(10):
        x, y = tile_origin(k, 10)
        np.testing.assert_array_equal(grid[y:y + 32, x:x + 32], to_image(W[:, k]))
    assert np.isnan(grid[:, 32]).all() and np.isnan(grid[-32:, -32:]).all()  # a gap; the 12th tile is empty
    assert tile_grid(W, dtype=np.float64).dtype == np.float64


def test_a_point_names_its_unit_and_pixel():
    assert tile_at(0, 0, 64) == (0, 0, 0)
    assert tile_at(33 * 2 + 5, 33 * 1 + 7, 64) == (10, 5, 7)  # row 1, column 2 of the 8 x 8 grid
    assert tile_at(32.5, 3, 64) is None and tile_at(-1, 3, 64) is None  # a gap; outside
    assert tile_at(33 * 3 + 1, 33 * 2 + 1, 10) is None  # where the 12th tile of 10 would be
