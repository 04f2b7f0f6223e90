"""The embedded default dataset: NIST-like 32x32 "handwritten" capitals and digits drawn from Hershey stroke fonts.

Why strokes rather than a font bitmap: a centre-line can be distorted the way a hand distorts it (slant,
rotation, per-stroke wobble, strokes that miss their joints) and then inked with any pen width, so a model
trained here transfers to real block-capital handwriting (NIST, photographed pages) instead of memorising a font.

Pipeline (all vectorised over a batch): every (font, char) glyph is resampled once into a padded array of dense
centre-line points; a batch gathers those points, distorts them (:func:`distort`), fits them into the 32x32 box,
splats them into a line-density image (:func:`splat`), and turns density into ink with a Gaussian blur and a soft
threshold whose level sets the pen width (:func:`ink`).  Pages (``engine.data.pages``) reuse the same helpers.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from HersheyFonts import HersheyFonts
from scipy import ndimage

from engine.data.dataset import NIST36_CLASSES, SIDE, Dataset, split_deterministic
from engine.files import atomic_write

GENERATOR_VERSION = 3
# Simplex sans is the block-capital look; "hand" adds the variants many writers use that the fonts lack (barred I,
# flagged 1, crossed 7 and Z, open 4, G with a spur, curved-back E, ...); the simplex script face adds loopy
# capitals like many NIST writers', only where they stay legible.
# Triplex/duplex faces were rejected: they draw thick stems as parallel lines, which inks into printed-bold blobs.
FONTS: tuple[str, ...] = ("futural", "hand", "cursive")
FONT_WEIGHTS: tuple[float, ...] = (0.55, 0.3, 0.15)
FONT_CHARS = {"cursive": "ABCDEGLMNOPRSUVW"}  # fonts that only contribute some classes


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float) -> list[tuple[float, float]]:
    """Points of an elliptic arc every 15 degrees; angles counter-clockwise as seen (0 = right, 90 = up)."""
    t = np.deg2rad(np.append(np.arange(start, stop, 15.0 if stop > start else -15.0), stop))
    return [(round(cx + rx * np.cos(a), 2), round(cy - ry * np.sin(a), 2)) for a in t]


# Hand-drawn variants in Hershey units: per class a list of (advance, polylines of (x, y)), x from 0, cap line -12,
# base line 9. A font's weight is shared by its variants of a class (see sample_fonts).
HAND: dict[str, list[tuple[float, list[list[tuple[float, float]]]]]] = {
    "A": [(18, [[(2, 9), (4.5, -3), (6.5, -9), (8, -11.5), (9.5, -12), (11, -11), (12.5, -8), (14, -2), (16, 9)],
                [(4, 1), (14, 1)]])],  # round apex
    "E": [(18, [_arc(10, -6.75, 6, 5.25, 35, 270), _arc(10, 3.75, 7, 5.25, 90, 325)])],  # curved back
    "F": [(18, [[(16, -10), (14, -12), (11, -12), (9, -10), (8, -6), (8, 9)], [(3, -2), (14, -2)]])],  # hooked top
    "G": [(21, [_arc(11, -1.5, 8, 10.5, 50, 330), [(12, 1), (19, 1), (19, 9)]]),  # bar runs down to a spur
          (21, [_arc(11, -3, 8, 9, 50, 320), [(11, -1), (18, -1), (18, 14)]])],  # ... or into a tail
    "I": [(18, [[(3, -12), (15, -12)], [(9, -12), (9, 9)], [(3, 9), (15, 9)]]),
          (20, [[(2, -12), (18, -12)], [(10, -12), (10, 9)], [(2, 9), (18, 9)]])],  # wide bars
    "J": [(20, [[(7, -12), (19, -12)], [(14, -12), (14, 4), (13, 7), (11, 9), (8, 9), (5, 7), (4, 4)]])],
    "M": [(24, [[(2, 9), (6, -12), (12, 2), (18, -12), (22, 9)]]),  # slanted legs
          (22, [[(3, 9), (3, -12), (11, 1), (19, -12), (19, 9)]])],  # straight legs, V to mid-height
    "Q": [(22, [_arc(11, -1.5, 8, 10.5, 0, 360), [(11, 2), (19, 11)]])],  # tail crossing the bowl
    "U": [(20, [[(4, -12), (4, 2), (5, 6), (7, 8.5), (10, 9), (13, 8), (15, 5), (16, 1)], [(16, -12), (16, 9)]])],
    "W": [(26, [[(2, -12), (8, 9), (14, -12)], [(12, -12), (18, 9), (24, -12)]]),  # two crossed Vs
          (24, [[(2, -12), (7, 9), (12, -3), (17, 9), (22, -12)]]),  # low middle
          (24, [[(2, -12), *_arc(7, 2, 5, 7, 180, 360), (12, -4), *_arc(17, 2, 5, 7, 180, 360), (22, -12)]])],  # round
    "Y": [(18, [[(3, -12), (10, -1.5)], [(16, -12), (4, 9)]])],  # arm into a long diagonal
    "1": [(18, [[(5, -8), (10, -12), (10, 9)], [(5, 9), (15, 9)]])],
    "3": [(20, [[(4, -12), (16, -12), (9, -3), (11, -3), (14, -2), (16, 0), (17, 3), (16, 6), (14, 8), (11, 9), (8, 9),
                 (5, 8), (3, 6)]])],  # flat top
    "4": [(20, [[(5, -12), (3, 2), (17, 2)], [(14, -6), (14, 9)]]),  # open
          (20, [[(4, -12), (3, 2), (17, 2)], [(14, -12), (14, 9)]])],  # open, tall stem
    "7": [(20, [[(3, -12), (17, -12), (8, 9)], [(7, -2), (16, -2)]])],
    "Z": [(20, [[(3, -12), (17, -12), (3, 9), (17, 9)], [(6, -1), (14, -1)]])],
    "9": [(20, [[(16, -5), (15, -9), (12, -12), (8, -12), (5, -9), (4, -5), (5, -2), (8, 0), (12, 0), (15, -2),
                 (16, -5), (16, 9)]]),
          (20, [_arc(10, -6, 5.5, 6, 0, 360), [(15.5, -6), (15, 4), (13, 8), (9, 9), (6, 8)]])],  # curved tail
    # Digits get as many hand forms as the letters they are mistaken for (0/O, 2/Z, 5/S, 6/G, 8/X, 9/5).
    "0": [(20, [_arc(10, -1.5, 7, 10.5, 0, 360), [(15, -11), (5, 8)]]),  # slashed
          (16, [_arc(8, -1.5, 5, 10.5, 90, 450)])],  # narrow, begun at the top
    "2": [(20, [[(4, -7), (5, -10), (8, -12), (12, -12), (15, -10), (16, -7), (15, -4), (6, 6), (4, 8.5), (1.5, 9),
                 (0, 7), (1, 4), (4, 3.5), (7, 5.5), (9, 8), (11, 9), (18, 9)]]),  # looped foot
          (20, [[*_arc(10, -6.5, 6, 5.5, 160, -30), (3, 9), (17, 9)]])],  # round top, straight diagonal
    "5": [(20, [[(5, -12), (4.5, -2), *_arc(10, 3.5, 6.5, 5.5, 140, -150)], [(5, -12), (16, -12)]])],  # bar last
    "6": [(20, [[(14, -12), (5.5, 2), *_arc(10.5, 3.5, 5.5, 5.5, 170, 530)]])],  # straight back into a loop
    "8": [(20, [[*_arc(10, -7, 5, 5, -10, 220), *_arc(10, 4.5, 6, 4.5, 40, -220), (15, -6)]]),  # one stroke
          (20, [_arc(10, -7, 4.5, 5, 0, 360), _arc(10, 4, 6, 5, 90, 450)])],  # two stacked rings
}
# Forms real writers use that the fonts and HAND lack, which the OCR misread on real photos (issue 22): a U
# whose right stroke runs on into a tail, a barred J with a small hook, an E on a round back, a D with a small
# or narrow bowl, a 5 with a flag. Only the OCR's training set ("ocr-train") draws them: the default "glyphs"
# set and the pages keep their fonts.
WILD: dict[str, list[tuple[float, list[list[tuple[float, float]]]]]] = {
    "U": [(20, [[(4, -12), (4, 1), (5, 5), (7, 7.5), (10, 8), (13, 7.5), (15, 5), (16, 1)], [(16, -12), (16, 9)]]),
          (20, [[(4, -12), (4, 2), *_arc(10, 2, 6, 6, 180, 360), (16, -12), (16, 7), (18, 9), (19, 9)]]),
          (20, [[(3, -12), (4, 3), *_arc(10, 3, 6, 6, 180, 350), (16, -11)], [(16, -12), (16.5, 9)]])],
    "J": [(18, [[(3, -12), (15, -12)], [(9, -12), (9, 5), (8, 8), (6, 9), (4, 8.5), (3, 7)]]),
          (18, [[(4, -12), (16, -12)], [(11, -12), (11, 6), (9, 9), (6, 9), (4, 7)]]),
          (16, [[(2, -12), (14, -12)], [(8, -12), (8, 7), (7, 9), (5, 9.5)]])],
    "E": [(18, [_arc(11, -1.5, 8, 10.5, 50, 310), [(3, -1.5), (12, -1.5)]]),
          (18, [[(15, -12), (5, -12), (3, -10), (3, 7), (5, 9), (15, 9)], [(3, -1.5), (12, -1.5)]]),
          (18, [_arc(10, -6.75, 6.5, 5.25, 20, 270), _arc(10, 3.75, 7, 5.25, 90, 340), [(4, -1.5), (10, -1.5)]])],
    "D": [(16, [[(4, -13), (4, 10)], [(4, -11), *_arc(5, -1.5, 7, 9.5, 90, -90), (4, 8)]]),
          (18, [[(4, -11), (4, 9)], [(2, -12), (8, -12), *_arc(8, -1.5, 7, 10.5, 90, -90), (3, 9)]]),
          (16, [[(4, -12), (4, 9), (9, 9), *_arc(9, -1.5, 5, 10.5, -90, 90), (4, -12)]])],
    "5": [(20, [[(6, -12), (5, -2), *_arc(10, 3.5, 6, 5.5, 130, -150)], [(7, -12), (16, -12.5)]]),
          (20, [[(15, -12), (6, -12), (5, -3), (10, -4), (14, -2), (16, 2), (15, 6), (12, 9), (8, 9), (4, 7)]])],
}
FORMS = {"hand": HAND, "wild": WILD}
CAP_LINE, BASE_LINE = -12.0, 9.0  # Hershey cap and base lines; y grows downward as in an image
CAP_HEIGHT = BASE_LINE - CAP_LINE
STEP = 0.4  # font units between resampled centre-line points (about 0.4 px at 32x32)


@functools.lru_cache(maxsize=None)
def _font(name: str):
    return HersheyFonts(load_default_font=name)


def has_glyph(font: str, char: str) -> bool:
    """Whether ``font`` contributes ``char`` (the drawn forms "hand" and "wild", and subset fonts, cover only some
    classes)."""
    return char in FORMS[font] if font in FORMS else char in FONT_CHARS.get(font, char)


def n_variants(font: str, char: str) -> int:
    """How many forms of ``char`` the font draws (several only for drawn forms; 0 if it lacks the char)."""
    return len(FORMS[font].get(char, ())) if font in FORMS else int(has_glyph(font, char))


def font_strokes(char: str, font: str = "futural", variant: int = 0) -> tuple[list[np.ndarray], float]:
    """The centre-line polylines (each (k, 2) as x, y font units, y down) of one char and its advance width;
    a char the font lacks falls back to futural, a variant it lacks to its first."""
    if not has_glyph(font, char):
        font = "futural"
    if font in FORMS:
        adv, polys = FORMS[font][char][variant if variant < n_variants(font, char) else 0]
        return [np.asarray(p, np.float64) for p in polys], float(adv)
    glyph = next(iter(_font(font).glyphs_for_text(char)))
    strokes = [np.asarray(s, np.float64) - (glyph.left_offset, 0.0) for s in glyph.strokes]
    return [s for s in strokes if len(s) > 1], float(glyph.char_width)


@dataclass(frozen=True)
class StrokeTable:
    """Dense centre-line points of every (font, char) glyph, padded to one length so a batch is a single gather.

    Points are normalised: origin at the centre of the glyph's advance box between cap and base line, one unit =
    cap height.  Glyph id = slot * len(chars) + char index, where slot = font index + len(fonts) * variant (a
    variant the font lacks repeats its first), so ``glyph_id(sample_fonts(y, rng), y)`` picks variants too.
    """
    fonts: tuple[str, ...]
    chars: tuple[str, ...]
    points: np.ndarray   # (G, P, 2) float32 (x, y)
    stroke: np.ndarray   # (G, P) int32 stroke index within the glyph
    arclen: np.ndarray   # (G, P) float32 arc length from the stroke start (cap heights)
    linked: np.ndarray   # (G, P) bool: point i joins point i+1 in the same stroke
    valid: np.ndarray    # (G, P) bool: real point, not padding
    advance: np.ndarray  # (G,) float32 advance width (cap heights)
    n_strokes: int       # max strokes of any glyph

    def glyph_id(self, font: int | np.ndarray, char_index: int | np.ndarray):
        return np.asarray(font) * len(self.chars) + np.asarray(char_index)


def _resample(poly: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every <= step along a polyline (keeping its corners), with their arc length."""
    seg = np.linalg.norm(np.diff(poly, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(int(np.ceil(cum[-1] / step)), 1)
    s = np.union1d(np.linspace(0.0, cum[-1], n + 1), cum)
    return np.stack([np.interp(s, cum, poly[:, 0]), np.interp(s, cum, poly[:, 1])], 1), s


@functools.lru_cache(maxsize=8)
def stroke_table(fonts: tuple[str, ...] = FONTS, chars: tuple[str, ...] = NIST36_CLASSES) -> StrokeTable:
    """Build (once per process) the padded point table for variants x ``fonts`` x ``chars``."""
    glyphs = []
    n_var = max(max(n_variants(f, c) for f in fonts for c in chars), 1)
    for variant in range(n_var):
        for font in fonts:
            for ch in chars:
                strokes, adv = font_strokes(ch, font, variant)
                parts = [_resample(s, STEP) for s in strokes]
                pts = np.concatenate([p for p, _ in parts])
                pts = (pts - (adv / 2, (CAP_LINE + BASE_LINE) / 2)) / CAP_HEIGHT
                sid = np.concatenate([np.full(len(p), i) for i, (p, _) in enumerate(parts)])
                arc = np.concatenate([a for _, a in parts]) / CAP_HEIGHT
                glyphs.append((pts, sid, arc, adv / CAP_HEIGHT))
    g, p = len(glyphs), max(len(x[0]) for x in glyphs)
    points, arclen = np.zeros((g, p, 2), np.float32), np.zeros((g, p), np.float32)
    stroke, valid = np.zeros((g, p), np.int32), np.zeros((g, p), bool)
    for i, (pts, sid, arc, _) in enumerate(glyphs):
        k = len(pts)
        points[i, :k], stroke[i, :k], arclen[i, :k], valid[i, :k] = pts, sid, arc, True
    linked = valid & np.roll(valid, -1, 1) & (stroke == np.roll(stroke, -1, 1))
    linked[:, -1] = False
    return StrokeTable(tuple(fonts), tuple(chars), points, stroke, arclen, linked, valid,
                       np.array([x[3] for x in glyphs], np.float32), int(stroke.max()) + 1)


@dataclass(frozen=True)
class Style:
    """How far a hand departs from the font; lengths are fractions of the cap height."""
    rotation_deg: float = 12.0   # largest rotation (drawn normal with sd half of it, clipped)
    slant_mean: float = 0.16     # mean shear x += slant * (up); writers lean right
    slant_sd: float = 0.16
    aspect_sd: float = 0.15      # sd of log(width/height) stretch
    wobble: float = 0.035        # smooth per-stroke displacement along the stroke
    jitter: float = 0.035        # per-stroke constant offset: strokes miss their joints
    warp: float = 0.04           # smooth whole-glyph warp (bowl sizes, bar heights)
    wobble_freq: tuple[float, float] = (0.4, 1.5)  # wobble cycles per cap height of stroke length
    # Real hands vary more than that; these default to off so pages and render_char keep their look.
    elastic: float = 0.0         # several higher-frequency random plane waves (Simard-style elastic distortion)
    proportion: float = 0.0      # sd of the middle moving up/down (small top bowl of B, high bar of A) ...
    taper: float = 0.0           # ... and of top vs bottom width (trapezoid glyphs)
    trim: float = 0.0            # sd of the length cut off stroke ends: bowls left open (O, 6, 9, B, D)
    gaps: float = 0.0            # chance per glyph of 1-3 breaks in its strokes (thin pencil, light pressure)
    pen: tuple[float, float] = (1.2, 2.1)        # pen half width range, px at 32x32 (log-uniform)
    darkness: tuple[float, float] = (0.92, 1.02)  # ink darkness range (pencil is light: a threshold drops parts)


# The default "glyphs" set: the base hand plus a moderate share of the real-hand variation above.
GLYPH_STYLE = Style(elastic=0.008, proportion=0.08, taper=0.08, trim=0.03, gaps=0.1, pen=(0.9, 2.6),
                    darkness=(0.8, 1.02))


def distort(table: StrokeTable, gid: np.ndarray, rng: np.random.Generator, style: Style = Style()) -> np.ndarray:
    """Hand-like distorted centre-line points (n, P, 2) for glyph ids ``gid``, still in cap-height units."""
    n = len(gid)
    pts, sid, arc = table.points[gid], table.stroke[gid], table.arclen[gid]
    # Per-stroke smooth wobble: two random sinusoids along the arc length, plus a constant offset.
    shape = (n, table.n_strokes, 2)
    amp = rng.normal(0, style.wobble, shape + (2,)).astype(np.float32)
    freq = rng.uniform(*style.wobble_freq, (n, table.n_strokes, 1, 2)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (n, table.n_strokes, 1, 2)).astype(np.float32)
    offset = rng.normal(0, style.jitter, shape).astype(np.float32)
    take = lambda a: np.take_along_axis(a, sid.reshape(n, -1, *([1] * (a.ndim - 2))), 1)  # noqa: E731
    wave = np.sin(2 * np.pi * take(freq) * arc[..., None, None] + take(phase))  # (n, P, 1, 2)
    pts = pts + take(offset) + (take(amp) * wave).sum(-1)
    # Whole-glyph smooth warp: one low-frequency plane wave per axis.
    k = rng.normal(0, 2.5, (n, 1, 2, 2)).astype(np.float32)
    ph = rng.uniform(0, 2 * np.pi, (n, 1, 2)).astype(np.float32)
    a = rng.normal(0, style.warp, (n, 1, 2)).astype(np.float32)
    pts = pts + a * np.sin((pts[..., None, :] * k).sum(-1) + ph)
    if style.elastic:  # three shorter waves per axis: local bends a single warp cannot make
        k = rng.normal(0, 5.0, (n, 1, 2, 3, 2)).astype(np.float32)
        ph = rng.uniform(0, 2 * np.pi, (n, 1, 2, 3)).astype(np.float32)
        a = rng.normal(0, style.elastic, (n, 1, 2, 3)).astype(np.float32)
        pts = pts + (a * np.sin((pts[..., None, None, :] * k).sum(-1) + ph)).sum(-1)
    if style.proportion or style.taper:  # y runs about -0.5 (cap) .. 0.5 (base)
        mid = rng.normal(0, style.proportion, (n, 1)).astype(np.float32)
        tap = rng.normal(0, style.taper, (n, 1)).astype(np.float32)
        x, y = pts[..., 0], pts[..., 1]
        pts = np.stack([x * (1 + np.clip(tap, -0.6, 0.6) * y), y + np.clip(mid, -0.5, 0.5) * (0.25 - y ** 2)], -1)
    # Affine: anisotropic scale, slant, rotation.
    theta = np.deg2rad(np.clip(rng.normal(0, style.rotation_deg / 2, n), -style.rotation_deg, style.rotation_deg))
    slant = np.clip(rng.normal(style.slant_mean, style.slant_sd, n), -0.3, 0.45)
    sx = np.exp(np.clip(rng.normal(0, style.aspect_sd, n), -0.4, 0.4))
    c, s = np.cos(theta), np.sin(theta)
    # x' = sx*x - slant*y (y points down, so the top leans right); then rotate.
    m = np.stack([np.stack([c * sx, -c * slant - s], -1), np.stack([s * sx, -s * slant + c], -1)], 1)
    return np.einsum("nij,npj->npi", m.astype(np.float32), pts)


def point_weights(pts: np.ndarray, linked: np.ndarray) -> np.ndarray:
    """Length of centre-line each point stands for (half of each adjoining link), so density is per unit length."""
    seg = np.linalg.norm(np.diff(pts, axis=1), axis=-1) * linked[:, :-1]
    w = np.zeros(pts.shape[:2], np.float32)
    w[:, :-1] += 0.5 * seg
    w[:, 1:] += 0.5 * seg
    return w


def splat(pts: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinearly accumulate weighted points (n, P, 2) given as (x=col, y=row) pixels into (n, H, W) density."""
    n, (h, w) = len(pts), shape
    x, y = pts[..., 0], pts[..., 1]
    c0, r0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - c0, y - r0
    base = np.arange(n, dtype=np.int64)[:, None] * (h * w)
    idx, val = [], []
    for dr, dc, f in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        r, c = r0 + dr, c0 + dc
        ok = (r >= 0) & (r < h) & (c >= 0) & (c < w) & (weights > 0)
        idx.append((base + r * w + c)[ok])
        val.append((weights * f)[ok])
    acc = np.bincount(np.concatenate(idx), np.concatenate(val), minlength=n * h * w)
    return acc.reshape(n, h, w).astype(np.float32)


def ink(density: np.ndarray, sigma: float, half_width: np.ndarray | float, edge: float = 1.0) -> np.ndarray:
    """Pen coverage in [0, 1] from line density: blur, then a soft threshold placed where a straight stroke of the
    given half width (pixels) has its edge; ``edge`` is the anti-aliased edge width in pixels."""
    blurred = ndimage.gaussian_filter(density, (0, sigma, sigma), mode="constant", truncate=3.0)
    var = sigma ** 2 + 1 / 6  # bilinear splatting adds a triangle kernel's variance
    hw = np.reshape(np.asarray(half_width, np.float32), (-1, 1, 1))
    level = np.exp(-hw ** 2 / (2 * var)) / np.sqrt(2 * np.pi * var)
    # log(density/level) ~ -(hw/var) * (distance past the edge) near the edge of a straight stroke
    return np.clip(0.5 + np.log(np.maximum(blurred, 1e-6) / level) * (var / (hw * edge)), 0, 1)


def keep_mask(table: StrokeTable, gid: np.ndarray, rng: np.random.Generator, style: Style) -> np.ndarray:
    """Which centre-line points get inked (n, P): stroke ends trimmed (open bowls) and short breaks (pencil)."""
    n = len(gid)
    keep = np.ones(table.valid[gid].shape, bool)
    if not (style.trim or style.gaps):
        return keep
    sid, arc, valid = table.stroke[gid], table.arclen[gid], table.valid[gid]
    rows = np.arange(n)[:, None]
    if style.trim:
        length = np.zeros((n, table.n_strokes), np.float32)
        np.maximum.at(length, (np.broadcast_to(rows, sid.shape)[valid], sid[valid]), arc[valid])
        cut = np.abs(rng.normal(0, style.trim, (n, table.n_strokes, 2))).astype(np.float32)
        cut = np.minimum(cut, 0.3 * length[..., None])  # never trim a stroke away
        keep &= (arc >= cut[rows, sid, 0]) & (arc <= length[rows, sid] - cut[rows, sid, 1])
    if style.gaps:
        count = valid.sum(1)
        centre = (rng.random((n, 3)) * count[:, None]).astype(np.int64)  # a point index in each glyph
        width = rng.uniform(0.03, 0.09, (n, 3)).astype(np.float32)
        on = (rng.random((n, 1)) < style.gaps) & (np.arange(3) < rng.integers(1, 4, (n, 1)))
        c_sid, c_arc = np.take_along_axis(sid, centre, 1), np.take_along_axis(arc, centre, 1)
        hole = on[:, None] & (sid[..., None] == c_sid[:, None]) & \
            (np.abs(arc[..., None] - c_arc[:, None]) < width[:, None] / 2)
        keep &= ~hole.any(-1)
    return keep


def render_batch(table: StrokeTable, gid: np.ndarray, rng: np.random.Generator,
                 style: Style = Style()) -> np.ndarray:
    """Upright (n, 32, 32) float32 images of glyphs ``gid``, NIST-styled: dark ink on white, fitted and centred."""
    n = len(gid)
    pts = distort(table, gid, rng, style)
    valid = table.valid[gid] & keep_mask(table, gid, rng, style)
    half = np.exp(rng.uniform(*np.log(style.pen), n)).astype(np.float32)  # pen half width, px
    size = np.clip(rng.normal(25.5, 3.0, n), 19, 31).astype(np.float32)  # ink extent of the larger side, px
    lo = np.where(valid[..., None], pts, np.inf).min(1)
    hi = np.where(valid[..., None], pts, -np.inf).max(1)
    scale = (size - 2 * half) / np.maximum((hi - lo).max(1), 1e-3)
    extent = (hi - lo) * scale[:, None] + 2 * half[:, None]  # ink box size (n, 2)
    slack = np.maximum((SIDE - 1 - extent) / 2, 0)
    centre = (SIDE - 1) / 2 + np.clip(rng.normal(0, 1.0, (n, 2)), -slack, slack)
    pts = (pts - (lo + hi)[:, None] / 2) * scale[:, None, None] + centre[:, None]
    weights = point_weights(pts, table.linked[gid]) * valid
    cover = ink(splat(pts, weights, (SIDE, SIDE)), 1.0, half, edge=rng.uniform(0.8, 1.4, (n, 1, 1)))
    img = 1 - cover * rng.uniform(*style.darkness, (n, 1, 1))
    # Mild resampling-style overshoot (NIST values run past [0, 1]) and a little sensor noise.
    sharp = rng.uniform(0, 0.35, (n, 1, 1))
    img = img + sharp * (img - ndimage.gaussian_filter(img, (0, 0.8, 0.8), mode="nearest"))
    img += rng.normal(0, 1, img.shape) * rng.uniform(0, 0.02, (n, 1, 1))
    return img.astype(np.float32)


def sample_fonts(y: np.ndarray, rng: np.random.Generator, fonts: tuple[str, ...] = FONTS,
                 weights: tuple[float, ...] = FONT_WEIGHTS) -> np.ndarray:
    """A glyph slot (see StrokeTable) per class label: a font drawn from the weights renormalised over the fonts
    that have that class, then one of that font's variants of the class, all equally likely."""
    avail = np.array([[has_glyph(f, c) for f in fonts] for c in NIST36_CLASSES], float) * weights
    avail[avail.sum(1) == 0] = weights  # no font has the class: all fall back to futural's glyph anyway
    cum = np.cumsum(avail / avail.sum(1, keepdims=True), 1)[y]
    u = rng.random((len(y), 1))
    font = np.minimum((cum < u).sum(1), len(fonts) - 1)
    # Where u falls inside the chosen font's share picks the variant: no extra draw, so streams stay as they were.
    hi = np.take_along_axis(cum, font[:, None], 1)[:, 0]
    lo = np.where(font > 0, np.take_along_axis(cum, np.maximum(font - 1, 0)[:, None], 1)[:, 0], 0.0)
    count = np.array([[max(n_variants(f, c), 1) for f in fonts] for c in NIST36_CLASSES])[y, font]
    variant = np.clip(((u[:, 0] - lo) / np.maximum(hi - lo, 1e-12) * count).astype(np.int64), 0, count - 1)
    return font + len(fonts) * variant


def generate(n: int = 10_000, seed: int = 0, fonts: tuple[str, ...] = FONTS,
             weights: tuple[float, ...] = FONT_WEIGHTS, chunk: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """``n`` glyph rows (n, 1024) float32 in NIST column-major layout and labels (n,) int64 balanced over the 36
    classes; bit-identical for the same seed."""
    table = stroke_table(tuple(fonts))
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(NIST36_CLASSES)).astype(np.int64)
    gid = table.glyph_id(sample_fonts(y, rng, fonts, weights), y)
    x = np.empty((n, SIDE * SIDE), np.float32)
    for start in range(0, n, chunk):
        imgs = render_batch(table, gid[start:start + chunk], rng, GLYPH_STYLE)
        x[start:start + chunk] = imgs.transpose(0, 2, 1).reshape(len(imgs), -1)  # column-major, as from_image
    return x, y


def render_char(char: str, font: str = "futural", seed: int = 0, style: Style = Style(),
                variant: int = 0) -> np.ndarray:
    """One upright 32x32 image of ``char`` (debugging, docs, the GUI's preview); ``variant`` picks among the
    font's forms of it (see n_variants)."""
    table = stroke_table((font,), tuple(NIST36_CLASSES))
    gid = np.array([table.glyph_id(variant, NIST36_CLASSES.index(char))])
    return render_batch(table, gid, np.random.default_rng(seed), style)[0]


def default_cache_dir() -> Path:
    """~/.cache/backprop-studio, or $BACKPROP_STUDIO_CACHE."""
    return Path(os.environ.get("BACKPROP_STUDIO_CACHE") or Path.home() / ".cache" / "backprop-studio")


def load_glyphs(n: int = 10_000, seed: int = 0, cache_dir: str | os.PathLike | None = None) -> Dataset:
    """The "glyphs" dataset (80/10/10 split), cached as .npz keyed by n, seed and GENERATOR_VERSION."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"glyphs_v{GENERATOR_VERSION}_n{n}_s{seed}.npz"
    x = y = None
    try:
        with np.load(path) as f:
            x, y = f["x"], f["y"]
        if x.shape != (n, SIDE * SIDE) or y.shape != (n,):
            x = y = None
    except Exception:  # missing or corrupt: regenerate
        x = y = None
    if x is None:
        x, y = generate(n, seed)
        try:
            with atomic_write(path) as f:
                np.savez(f, x=x, y=y)
        except OSError:
            pass  # a read-only cache only costs speed
    train, valid, test = split_deterministic(x, y, (0.8, 0.1, 0.1), seed)
    return Dataset("glyphs", NIST36_CLASSES, train, valid, test)


__all__ = ["FONTS", "FORMS", "GENERATOR_VERSION", "GLYPH_STYLE", "HAND", "WILD", "Style", "StrokeTable", "default_cache_dir", "distort",
           "font_strokes", "has_glyph", "generate", "ink", "keep_mask", "load_glyphs", "n_variants", "point_weights",
           "render_batch", "render_char", "sample_fonts", "splat", "stroke_table"]
