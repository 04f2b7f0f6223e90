"""Crop -> 32x32 network input, identical for page crops and for training images.

Why a skeleton: photographed handwriting differs from the training glyphs mostly in stroke thickness
(marker vs pencil, near vs far camera), slant and wobble. Reducing every character to its one-pixel
centre-line and redrawing that at one standard pen width removes thickness entirely, so the model only
has to learn shapes. The same function runs on the embedded glyphs, on NIST letters and on page crops.

Layout of the result follows engine/data/dataset.py: upright 32x32, dark ink (~0) on white (~1), centred by
bounding box, aspect ratio kept (padded to square); ``from_image`` turns it into a NIST-layout row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from engine.data.dataset import SIDE, from_image
from engine.data.glyphs import ink, splat

NORM_VERSION = 2  # bump when the rendering changes: cached training sets and models depend on it


@dataclass(frozen=True)
class NormParams:
    """How characters are redrawn; a model is only valid for the params it was trained with."""
    extent: float = 26.0     # ink extent of the longer side in the 32x32 frame, px
    half_width: float = 1.5  # pen half width of the redrawn stroke, px
    max_side: int = 128      # crops are block-reduced to at most this before skeletonizing (speed)


DEFAULT = NormParams()


def _reduce(mask: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Block-average a big mask down to <= max_side (threshold low so thin strokes survive)."""
    f = int(np.ceil(max(mask.shape) / max_side))
    if f <= 1:
        return mask, 1.0
    h, w = (-(-mask.shape[0] // f)) * f, (-(-mask.shape[1] // f)) * f
    pad = np.zeros((h, w), np.float32)
    pad[:mask.shape[0], :mask.shape[1]] = mask
    return pad.reshape(h // f, f, w // f, f).mean((1, 3)) > 0.3, float(f)


_ORTH = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32)
_DIAG = np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1]], np.float32)


def skeleton_points(mask: np.ndarray, max_side: int = DEFAULT.max_side) -> tuple[np.ndarray, np.ndarray]:
    """Centre-line points (k, 2) as (x=col, y=row) in the mask's own pixel units, and the length of line
    each one stands for (half the distance to each 8-neighbour), so diagonals ink as dark as straights."""
    small, f = _reduce(np.asarray(mask, bool), max_side)
    skel = skeletonize(small) if small.any() else small
    rows, cols = np.nonzero(skel)
    if len(rows) == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32)
    s = skel.astype(np.float32)
    orth, diag = ndimage.convolve(s, _ORTH, mode="constant"), ndimage.convolve(s, _DIAG, mode="constant")
    near = 0.5 * (orth + np.sqrt(2) * diag)
    pts = (np.stack([cols, rows], 1).astype(np.float32) + 0.5) * f - 0.5
    return pts, np.maximum(near[rows, cols], 0.5) * f


def render_points(pts: np.ndarray, length: np.ndarray, p: NormParams = DEFAULT) -> np.ndarray:
    """Redraw centre-line points (each standing for ``length`` of line) at the standard pen width, fitted
    and centred in 32x32 (upright image)."""
    return render_many([(pts, length)], p)[0]


def render_many(items: list[tuple[np.ndarray, np.ndarray]], p: NormParams = DEFAULT) -> np.ndarray:
    """``render_points`` for many characters at once (n, 32, 32): one splat and one blur for the batch."""
    n = len(items)
    size = max([len(pts) for pts, _ in items] + [1])
    centred, weights = np.zeros((n, size, 2), np.float32), np.zeros((n, size), np.float32)
    for k, (pts, length) in enumerate(items):
        if len(pts) == 0:
            continue  # no ink: a blank input
        lo, hi = pts.min(0), pts.max(0)
        scale = (p.extent - 2 * p.half_width) / max(float((hi - lo).max()), 1e-6)
        scale = min(scale, 4.0 / max(float(np.median(length)), 1e-6))  # never blow a speck up past 4x
        centred[k, :len(pts)] = (pts - (lo + hi) / 2) * scale + (SIDE - 1) / 2
        weights[k, :len(pts)] = np.asarray(length, np.float32) * scale
    cover = ink(splat(centred, weights, (SIDE, SIDE)), 1.0, p.half_width)
    return (1.0 - cover).astype(np.float32)


def level_points(pts: np.ndarray, angle: float) -> np.ndarray:
    """Centre-line points (x, y down) turned about their middle so that a line at ``angle`` degrees becomes
    level: a character written along a sloping line (or on a page turned 90 degrees) is redrawn upright
    without skeletonizing it again."""
    if not angle or not len(pts):
        return pts
    t = np.deg2rad(angle)
    c, s = np.cos(t), np.sin(t)
    mid = (pts.min(0) + pts.max(0)) / 2
    return ((pts - mid) @ np.array([[c, -s], [s, c]], np.float32) + mid).astype(np.float32)


def normalize_mask(mask: np.ndarray, p: NormParams = DEFAULT, angle: float = 0.0) -> np.ndarray:
    """A binary character crop (True = ink, any size) -> upright 32x32 float32 image; ``angle``: the slope of
    the character's line (degrees, x right and y down), undone."""
    pts, length = skeleton_points(mask, p.max_side)
    return render_points(level_points(pts, angle), length, p)


def normalize_masks(masks: list[np.ndarray], angles: list[float], p: NormParams = DEFAULT) -> np.ndarray:
    """``normalize_mask`` for many crops at once (n, 32, 32), each with its line's slope undone."""
    items = []
    for mask, angle in zip(masks, angles):
        pts, length = skeleton_points(mask, p.max_side)
        items.append((level_points(pts, angle), length))
    return render_many(items, p) if items else np.ones((0, SIDE, SIDE), np.float32)


def normalize_glyph(img: np.ndarray, p: NormParams = DEFAULT, upsample: int = 2) -> np.ndarray:
    """A dark-on-light grayscale image (e.g. an upright 32x32 training image) -> normalized 32x32 image.

    Upsampled first so that the skeleton of a small image is as smooth as one from a page crop."""
    big = ndimage.zoom(np.asarray(img, np.float32), upsample, order=1, mode="nearest")
    pts, length = skeleton_points(big < 0.5, p.max_side)
    return render_points((pts + 0.5) / upsample - 0.5, length / upsample, p)


def normalize_rows(x: np.ndarray, p: NormParams = DEFAULT) -> np.ndarray:
    """NIST-layout rows (N, 1024) -> normalized rows (N, 1024) float32."""
    out = np.empty((len(x), SIDE * SIDE), np.float32)
    for i, row in enumerate(x):
        out[i] = from_image(normalize_glyph(row.reshape(SIDE, SIDE).T, p))
    return out


__all__ = ["DEFAULT", "NORM_VERSION", "NormParams", "level_points", "normalize_glyph", "normalize_mask",
           "normalize_masks", "normalize_rows", "render_many", "render_points", "skeleton_points"]
