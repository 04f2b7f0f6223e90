"""Page image -> ink mask -> character boxes -> lines and words, as plain functions on arrays.

Every size here is relative to the page (tile size as a fraction of its short side) or to the typical
character (areas and gaps as fractions of the ink-weighted median component), never an absolute pixel
count fit to some photo: the same defaults must read a whiteboard photo, a phone shot of paper and a
synthetic page. ``pipeline.py`` wraps these functions as steppable stages.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from engine.images import ImageError, block_mean, decode  # noqa: F401 (one decoder for loaders and OCR)
from engine.images import to_float as _array_to_float

LUMA = np.array([0.2125, 0.7154, 0.0721], np.float32)


# ---- load ---------------------------------------------------------------------------------------

def load(source, max_side: int = 2048) -> tuple[np.ndarray, float, tuple[int, int]]:
    """(work image float32 gray (H, W) or RGB (H, W, 3) in [0, 1], scale = work px per source px,
    source (rows, cols)). Images larger than ``max_side`` are reduced while decoding or by block means."""
    if isinstance(source, (str, Path)):
        a, shape = decode(Path(source), max_side)
        where = str(source)
    else:
        a, where = np.asarray(source), "image"
        shape = a.shape[:2]
    img = _array_to_float(a, where, max_side)
    return img, max(img.shape[:2]) / max(shape), shape  # the long side: exact even for 1-pixel-high images


# ---- pixels ---------------------------------------------------------------------------------------

def denoise(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over the spatial axes: sensor noise and JPEG blocks go, strokes stay."""
    if sigma <= 0:
        return img
    return ndimage.gaussian_filter(img, (sigma, sigma, 0)[:img.ndim], mode="nearest", truncate=3.0)


def to_gray(img: np.ndarray, mode: str = "luminance", polarity: str = "auto") -> np.ndarray:
    """Gray in [0, 1] with dark ink: 'luminance', or 'darkest' channel (colored ink on white).
    polarity 'auto' flips the page when its ink is lighter than the background (chalk on a blackboard):
    ink is the minority, so it is the long tail of the histogram. Overall brightness does not decide,
    so an underexposed photo of a whiteboard is not flipped."""
    if img.ndim == 2:
        g = img
    elif mode == "darkest":
        g = img.min(axis=2)
    else:
        g = img @ LUMA
    if polarity == "auto":
        lo, mid, hi = np.percentile(g[::4, ::4], (0.5, 50, 99.5)) if g.size else (0, 0, 0)
        polarity = "light-on-dark" if hi - mid > 1.5 * (mid - lo) else "dark-on-light"
    if polarity == "light-on-dark":
        g = 1.0 - g
    return np.ascontiguousarray(g, np.float32)


def background(gray: np.ndarray, tile: float = 0.05, percentile: float = 80.0) -> np.ndarray:
    """The paper's brightness under uneven light: a high percentile per tile (ink is a minority in any
    tile larger than a few strokes), cleaned with a 3x3 median over tiles and smoothly upsampled. Big
    tiles use every other pixel in each direction: the percentile of a quarter of them is as good."""
    h, w = gray.shape
    t = max(4, int(round(tile * min(h, w))))
    s = 2 if t >= 16 else 1
    t -= t % s
    gh, gw = -(-h // t), -(-w // t)
    sub = gray[::s, ::s]
    ts = t // s
    pad = np.pad(sub, ((0, gh * ts - sub.shape[0]), (0, gw * ts - sub.shape[1])), mode="edge")
    tiles = pad.reshape(gh, ts, gw, ts).transpose(0, 2, 1, 3).reshape(gh, gw, ts * ts)
    k = int(round(percentile / 100 * (ts * ts - 1)))
    bg = np.partition(tiles, k, axis=2)[..., k]
    bg = ndimage.gaussian_filter(ndimage.median_filter(bg, 3, mode="nearest"), 0.7, mode="nearest")
    # bilinear upsampling of tile centres to pixels (Pillow: centre of output pixel x samples (x + 0.5) / t - 0.5)
    up = Image.fromarray(np.ascontiguousarray(bg, np.float32), "F").resize((gw * t, gh * t), Image.Resampling.BILINEAR)
    return np.asarray(up)[:h, :w]


def darkness(gray: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """How much darker than the local paper each pixel is, in [0, 1]. Marks lighter than the paper
    around them (erased writing on a whiteboard, glare) come out as 0; so does a black page (no paper)."""
    return np.clip((bg - gray) / np.maximum(bg, 0.05), 0.0, 1.0)


def otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's level on [0, 1] values (histogram based: fast on millions of pixels)."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    if hist.sum() == 0:
        return 1.0
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * mids)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(edges[int(np.argmax(between)) + 1])


SPARSE_INK = 0.1  # above this ink fraction a page is not sparse text: no hysteresis
THIN_STROKE = 3.5  # px: strokes thinner than this get all of the hysteresis, thicker ones only what extends them


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width of an ink mask, px: 2 x ink / edge pixels (a stroke w px wide has about 2 edge
    pixels per w ink pixels along its length; 1 and 2 px strokes are all edge and both measure 2)."""
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    ink = int(mask.sum())
    edge = ink - int(inner.sum())
    return 2.0 * ink / max(edge, 1)


def threshold(dark: np.ndarray, method: str = "otsu", level: float = 0.4, min_contrast: float = 0.15,
              hysteresis: float = 1.0) -> tuple[np.ndarray, float]:
    """(ink mask, level used). Otsu runs on the pixels that are not plain paper, so the level separates
    ink from faint marks rather than from the (huge) paper mode; it never goes below ``min_contrast``,
    so a blank page stays blank. ``hysteresis`` < 1 also keeps pixels above hysteresis*level that touch ink."""
    if method == "otsu":
        sub = dark[::2, ::2]
        marks = sub[sub > 0.5 * min_contrast]
        level = otsu(marks) if marks.size >= 16 else 1.0
    level = float(max(level, min_contrast))
    mask = dark >= level
    # fill faint stroke parts only where ink is sparse, as on a page of text: on a dense texture (noise, a
    # carpet) the fainter pixels would percolate its specks into a few big blobs that no longer look like noise
    if hysteresis < 1.0 and mask.any() and mask[::2, ::2].mean() < SPARSE_INK:
        eight, low, width = np.ones((3, 3), bool), dark >= hysteresis * level, stroke_width(mask)
        if width < THIN_STROKE:
            return _touching(low, mask, eight), level
        # on thicker strokes keep only faint parts that reach beyond a half stroke width of the ink (the light
        # bars of an I, a fading stretch of pen) and what joins them to it, not the rim that would thicken every
        # stroke until neighbouring letters touch; distances and connections at half resolution (a big page)
        low2, mask2, r = _half(low), _half(mask), max(1, int(round(width / 4)))
        far = _touching(low2, mask2, eight) & ~_grown(mask2, r)
        if far.any():
            mask = mask | (low & _double(_grown(far, r + 1), mask.shape))
    return mask, level


def _half(m: np.ndarray) -> np.ndarray:
    """A mask at half resolution: a pixel is set where any of its 2 x 2 is (cheap distances on a big page)."""
    m = np.pad(m, ((0, m.shape[0] % 2), (0, m.shape[1] % 2)))
    return m[::2, ::2] | m[1::2, ::2] | m[::2, 1::2] | m[1::2, 1::2]


def _double(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.repeat(np.repeat(m, 2, 0), 2, 1)[:shape[0], :shape[1]]


def _grown(m: np.ndarray, r: int) -> np.ndarray:
    for _ in range(r):
        m = _square3(m, np.logical_or)
    return m


def _touching(candidates: np.ndarray, seeds: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """The connected parts of ``candidates`` that hold a ``seeds`` pixel."""
    lab, n = ndimage.label(candidates, structure)
    keep = np.zeros(n + 1, bool)
    keep[np.unique(lab[seeds & candidates])] = True
    keep[0] = False
    return keep[lab]


def _disk(r: int) -> np.ndarray:
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return x * x + y * y <= r * r + r  # the "+ r" rounds a radius-1 disk to a 3x3 cross-plus-corners


def _square3(m: np.ndarray, op) -> np.ndarray:
    """3 x 3 square dilation (op = logical_or) or erosion (logical_and), pixels outside ignored: two
    separable passes of shifted slices."""
    for axis in (0, 1):
        a = np.swapaxes(m, 0, axis)
        out = a.copy()
        op(out[1:], a[:-1], out=out[1:])
        op(out[:-1], a[1:], out=out[:-1])
        m = np.swapaxes(out, 0, axis)
    return m


def _close(mask: np.ndarray, r: int) -> np.ndarray:
    """Binary closing by a radius-r disk of a mask padded by r. Radius 1 is the 3 x 3 square: done with
    shifted slices, several times faster than scipy's 2-D binary closing (same result)."""
    if r != 1:
        return ndimage.binary_closing(mask, _disk(r))
    return _square3(_square3(mask, np.logical_or), np.logical_and)


def morphology(mask: np.ndarray, open_radius: int = 0, close_radius: int = 1) -> np.ndarray:
    """Opening drops specks thinner than the radius; closing bridges small breaks in strokes. Runs on
    the bounding box of the ink only (pages are mostly empty)."""
    if not mask.any() or (open_radius <= 0 and close_radius <= 0):
        return mask
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    m = 2 * max(open_radius, close_radius) + 1
    r0, r1 = max(rows[0] - m, 0), min(rows[-1] + m + 1, mask.shape[0])
    c0, c1 = max(cols[0] - m, 0), min(cols[-1] + m + 1, mask.shape[1])
    sub = mask[r0:r1, c0:c1]
    if open_radius > 0:
        sub = ndimage.binary_opening(sub, _disk(open_radius))
    if close_radius > 0:
        p = close_radius
        sub = _close(np.pad(sub, p), close_radius)[p:-p, p:-p]
    out = np.zeros_like(mask)
    out[r0:r1, c0:c1] = sub
    return out


def components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(label image int32, boxes (n, 5) int64: row0, col0, row1, col1, ink area) of 8-connected blobs."""
    labels, n = ndimage.label(mask, np.ones((3, 3), bool))
    boxes = np.zeros((n, 5), np.int64)
    if n:
        sl = ndimage.find_objects(labels)
        boxes[:, :4] = [(s[0].start, s[1].start, s[0].stop, s[1].stop) for s in sl]
        boxes[:, 4] = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return labels.astype(np.int32, copy=False), boxes
