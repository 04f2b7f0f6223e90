"""The paper's brightness where a shadow's edge crosses the page.

``segment.background`` takes a high percentile per tile, a twentieth of the page wide: right under smooth
uneven light, but a hand's soft shadow changes the paper's brightness within a tile, and across a finger's
shadow within a few tiles. The tile then reports the lit paper for its dark part: the shadow's edge turns
to ink, and letters in the shade are measured against paper they do not lie on. Ink, though, is thin -- a
few stroke widths -- and a shadow is not, so the local upper envelope of the page at a scale of a few
stroke widths (a grey closing) is the paper wherever strokes are thinner than that, shadow or not. The
paper is the darker of the two estimates: the envelope where a shadow makes the tile too bright, the tile
everywhere else (the closing of noisy paper sits a little above it).
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from engine.images import block_mean


def stroke_estimate(mask: np.ndarray, min_area: int = 8) -> float:
    """The typical stroke width of an ink mask, px: the median over its blobs (each blob one vote) of
    2 x ink / edge pixels. Blobs vote once each, so a few shadow blobs, however much ink they hold, do not
    outvote the many strokes (``segment.stroke_width`` weighs every pixel alike). 0 without blobs."""
    labels, n = ndimage.label(mask, np.ones((3, 3), bool))
    if n == 0:
        return 0.0
    inner = np.zeros_like(mask)
    inner[1:-1, 1:-1] = (mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:])
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    edge = np.bincount(labels[mask & ~inner], minlength=n + 1)[1:]
    ok = area >= min_area
    return float(np.median(2.0 * area[ok] / np.maximum(edge[ok], 1))) if ok.any() else 0.0


def envelope(gray: np.ndarray, size: int) -> np.ndarray:
    """Grey closing of ``gray`` by a ``size`` square: dark marks narrower than that filled with the brightness
    around them. Done at a reduced scale for big squares (the envelope is smooth at that scale anyway)."""
    f = max(1, size // 8)
    small = block_mean(gray, f) if f > 1 else gray
    k = max(3, int(round(size / f)) | 1)
    closed = ndimage.grey_closing(small, size=(k, k), mode="nearest")
    closed = ndimage.uniform_filter(closed, k, mode="nearest")  # the closing's flat steps, smoothed
    if f == 1:
        return closed[:gray.shape[0], :gray.shape[1]]
    up = Image.fromarray(np.ascontiguousarray(closed, np.float32), "F")
    up = up.resize((closed.shape[1] * f, closed.shape[0] * f), Image.Resampling.BILINEAR)
    return np.asarray(up)[:gray.shape[0], :gray.shape[1]]


def under_shadows(gray: np.ndarray, tiles: np.ndarray, mask: np.ndarray, strokes: float = 5.0) -> np.ndarray:
    """The paper's brightness: ``tiles`` (the tile estimate), lowered to the page's envelope at ``strokes`` x
    the stroke width of the first ink ``mask`` found with it wherever that is darker. ``strokes`` 0: tiles."""
    width = stroke_estimate(mask)
    if strokes <= 0 or width <= 0:
        return tiles
    return np.minimum(tiles, envelope(gray, int(round(strokes * width)) | 1))


__all__ = ["envelope", "stroke_estimate", "under_shadows"]
