"""Synthetic pages of the ways real photos defeat the OCR (issue 22), with exact ground truth.

``engine.data.pages`` draws one tidy block of text per page (one writer, one size, level lines). The photos that
fail are untidy in ways a reader shrugs off: a hand's soft shadow across the card, a line of digits rising
at 25-30 degrees, a big title over small lines, letters run into one another, capitals written far apart,
rows of digits under a line of letters. Each condition here draws one of those, character by character
(its own size, slope and gap) with the same stroke fonts and hand distortions, then photographs it.
Deterministic in the seed; small enough for every test run. A page turned 90/180/270 degrees needs no
generator: ``np.rot90`` of any page.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from engine.data.dataset import NIST36_CLASSES
from engine.data.glyphs import Style, distort, ink, point_weights, sample_fonts, splat, stroke_table
from engine.data.pages import random_lines
from engine.ocr.result import Box

WILD_CONDITIONS = ("shadow", "slope", "sizes", "touching", "spaced", "digit_rows")
LETTERS, DIGITS = NIST36_CLASSES[:26], NIST36_CLASSES[26:]


@dataclass(frozen=True)
class Line:
    """One written line: its text, cap height (px), where its first letter starts (x, y of the baseline's
    left end), its slope (degrees, positive rising to the right) and the gap between letters (x height;
    negative: letters overlap and touch)."""
    text: str
    height: float
    x: float
    y: float
    slope: float = 0.0
    gap: float = 0.15
    gap_sd: float = 0.05


def draw_lines(lines: list[Line], size: tuple[int, int], rng: np.random.Generator, pen: float = 1.0
               ) -> tuple[np.ndarray, list[Box]]:
    """Ink coverage (H, W) in [0, 1] of the lines, and a truth box per character (reading order, ``line``
    set). Letters lean with their line's slope, as on a sheet written or photographed turned."""
    table = stroke_table()
    chars = [(li, ch) for li, ln in enumerate(lines) for ch in ln.text if ch != " "]
    labels = np.array([NIST36_CLASSES.index(ch) for _, ch in chars], np.int64)
    gid = table.glyph_id(sample_fonts(labels, rng, weights=(0.5, rng.uniform(0.2, 0.5), rng.uniform(0, 0.2))),
                         labels)
    style = Style(rotation_deg=5.0, slant_mean=float(rng.normal(0.1, 0.12)), slant_sd=0.05, aspect_sd=0.1,
                  wobble=0.02, jitter=0.03, warp=0.04, wobble_freq=(0.3, 0.8))
    pts = distort(table, gid, rng, style)  # cap-height units, centred on the glyph's advance box
    valid = table.valid[gid]
    half = float(np.median([ln.height for ln in lines])) * rng.uniform(0.035, 0.06) * pen
    k = 0
    for ln in lines:
        t = np.deg2rad(ln.slope)
        along, up = np.array([np.cos(t), -np.sin(t)]), np.array([np.sin(t), np.cos(t)])  # x right, y down
        turn = np.array([along, up]).T  # glyph (x, y) -> page (x, y)
        s = 0.0
        for ch in ln.text:
            if ch == " ":
                s += 0.7 * ln.height
                continue
            adv = float(table.advance[gid[k]]) * ln.height
            centre = np.array([ln.x, ln.y]) + (s + adv / 2) * along - 0.5 * ln.height * up
            pts[k] = (pts[k] * ln.height * rng.uniform(0.94, 1.06)) @ turn.T + centre
            s += adv + ln.height * rng.normal(ln.gap, ln.gap_sd)
            k += 1
    weights = point_weights(pts, table.linked[gid]) * valid
    cover = ink(splat(pts.reshape(1, -1, 2), weights.reshape(1, -1), size), half / 1.8, half, edge=1.2)[0]
    boxes = []
    for k, (li, ch) in enumerate(chars):
        p = pts[k, valid[k]]
        (x0, y0), (x1, y1) = p.min(0) - half, p.max(0) + half
        boxes.append(Box(max(int(y0), 0), max(int(x0), 0), min(int(np.ceil(y1)) + 1, size[0]),
                         min(int(np.ceil(x1)) + 1, size[1]), ch, line=li))
    return cover, boxes


def hand_shadow(size: tuple[int, int], rng: np.random.Generator, depth: float, soft: float) -> np.ndarray:
    """A multiplicative light map with a hand's shadow: a palm and a few fingers (ellipses and bars) coming in
    from one side, ``depth`` darker inside, blurred over ``soft`` x the short side (the penumbra)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.5, 0.8) * h
    shade = ((xx - cx) / (0.3 * w)) ** 2 + ((yy - cy) / (0.25 * h)) ** 2 < 1  # the palm
    for _ in range(int(rng.integers(2, 5))):  # fingers reaching up across the text
        a = np.deg2rad(rng.uniform(60, 120))
        fx, fy = cx + rng.uniform(-0.25, 0.25) * w, cy
        along = (xx - fx) * np.cos(a) - (yy - fy) * np.sin(a)
        across = (xx - fx) * np.sin(a) + (yy - fy) * np.cos(a)
        shade |= (np.abs(across) < rng.uniform(0.03, 0.06) * w) & (along > 0) & (along < rng.uniform(0.4, 0.8) * h)
    soft_px = soft * min(h, w)
    blur = ndimage.gaussian_filter(shade.astype(np.float32), soft_px / 2)
    return 1.0 - depth * blur


def photograph(cover: np.ndarray, rng: np.random.Generator, paper: float = 0.88, ink_level: float = 0.15,
               light: np.ndarray | float = 1.0, flare: float = 0.03, noise: float = 0.015, rgb: bool = False,
               tint: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """uint8 photo: paper and ink reflectance under ``light`` (a map: uneven light, shadows, tinted by ``tint``
    where the light is low: shade is bluish), plus camera flare (lifts the dark, so ink in shadow loses
    contrast), noise and lens blur."""
    refl = paper * (1 - cover) + ink_level * cover
    light = np.broadcast_to(np.asarray(light, np.float32), cover.shape)
    img = refl[..., None] * light[..., None] * (1 - (1 - np.asarray(tint)) * (1 - light[..., None]))
    img = img + flare + rng.normal(0, noise, img.shape)
    blur = rng.uniform(0.6, 1.0)
    img = ndimage.gaussian_filter(img, (blur, blur, 0))
    img = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return img if rgb else np.round(img @ np.array([0.2125, 0.7154, 0.0721])).astype(np.uint8)


def _word(rng: np.random.Generator, pool: str, lo: int, hi: int) -> str:
    return "".join(rng.choice(list(pool), int(rng.integers(lo, hi + 1))))


def _block(texts: list[str], heights: list[float], size: tuple[int, int], rng: np.random.Generator,
           gap: float = 0.15, pitch: float = 1.7, slopes: list[float] | None = None) -> list[Line]:
    """Lines stacked down the page, left-aligned near the left margin, at most the page wide."""
    h, w = size
    widths = [len(t) * 0.85 * hh for t, hh in zip(texts, heights)]
    scale = min(1.0, 0.86 * w / max(widths), 0.8 * h / (pitch * sum(heights)))
    heights = [hh * scale for hh in heights]
    y = 0.5 * (h - pitch * sum(heights)) + heights[0] * 1.2
    out = []
    for i, (t, hh) in enumerate(zip(texts, heights)):
        out.append(Line(t, hh, rng.uniform(0.05, 0.1) * w, y, (slopes or [0.0] * len(texts))[i], gap))
        if i + 1 < len(texts):
            y += pitch * 0.5 * (hh + heights[i + 1])
    return out


def wild_page(condition: str, seed: int = 0, size: tuple[int, int] = (480, 640)) -> tuple[np.ndarray, list[str]]:
    """A page with one of ``WILD_CONDITIONS`` and the lines the OCR should read.

    shadow: a hand's soft shadow over the card, 35-60 % darker, ink in it lifted by flare; slope: a level
    line, a line rising 20-30 degrees and one falling 5-15, on one page; sizes: a big title, ordinary lines
    and a small one; touching: letters run into each other in twos and threes; spaced: thin faint
    capitals written far apart; digit_rows: a line of letters, a word and a number, then rows of digits rich in
    look-alikes (0 1 2 5 6 8 9)."""
    if condition not in WILD_CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; one of {', '.join(WILD_CONDITIONS)}")
    rng = np.random.default_rng([seed, 22, WILD_CONDITIONS.index(condition)])
    h, w = size
    base = rng.uniform(32, 44) * min(h, w) / 480
    pen, light, flare, tint = rng.uniform(0.7, 1.2), 1.0, rng.uniform(0.01, 0.04), (1.0, 1.0, 1.0)
    paper, ink_level = rng.uniform(0.8, 0.92), rng.uniform(0.08, 0.25)
    if condition == "shadow":
        texts = random_lines(rng, 3, 10)
        lines = _block(texts, [base] * 3, size, rng)
        light = hand_shadow(size, rng, rng.uniform(0.35, 0.6), rng.uniform(0.02, 0.08))
        flare, tint = rng.uniform(0.04, 0.09), (0.85, 0.92, 1.1)
    elif condition == "slope":
        a = [_word(rng, LETTERS, 3, 6) + " " + _word(rng, LETTERS, 2, 4), _word(rng, DIGITS, 6, 9),
             _word(rng, LETTERS, 4, 7)]
        rise, fall = rng.uniform(20, 30), -rng.uniform(5, 15)
        hh = 0.8 * base
        lines = [Line(a[0], hh, 0.06 * w, 0.2 * h, 0.0),
                 Line(a[1], hh, 0.1 * w, 0.82 * h, rise),
                 Line(a[2], hh, 0.55 * w, 0.33 * h, fall)]
        # reading order: top to bottom by where each line starts; the rising line starts lowest
        texts = [ln.text for ln in sorted(lines, key=lambda ln: ln.y)]
    elif condition == "sizes":
        texts = [_word(rng, LETTERS, 3, 5)] + random_lines(rng, 2, 11) + [_word(rng, LETTERS, 4, 6) + " "
                                                                          + _word(rng, LETTERS, 3, 5)]
        lines = _block(texts, [2.0 * base, base, base, 0.55 * base], size, rng, pitch=1.6)
    elif condition == "touching":
        texts = [_word(rng, LETTERS, 4, 7) for _ in range(3)]
        lines = [replace(ln, gap=rng.uniform(-0.12, -0.04), gap_sd=0.03) for ln in _block(texts, [base] * 3, size, rng)]
    elif condition == "spaced":
        texts = [" ".join(_word(rng, LETTERS, 2, 5) for _ in range(2)), _word(rng, LETTERS, 5, 7)]
        lines = _block(texts, [0.8 * base] * 2, size, rng, gap=rng.uniform(0.5, 0.8), pitch=2.5)
        pen, ink_level, paper = 0.6, rng.uniform(0.3, 0.42), rng.uniform(0.72, 0.82)
    else:  # digit_rows
        look = "0125689"  # the digits with letter twins
        digits = lambda n: "".join(rng.choice(list(look + "3470"), n))  # noqa: E731
        texts = [_word(rng, LETTERS, 3, 5), _word(rng, LETTERS, 2, 4) + " " + digits(int(rng.integers(3, 6))),
                 digits(int(rng.integers(4, 7))), digits(int(rng.integers(4, 7)))]
        lines = _block(texts, [base] * 4, size, rng, gap=rng.uniform(0.2, 0.45), pitch=1.6)
    cover, _ = draw_lines(lines, size, rng, pen)
    return photograph(cover, rng, paper, ink_level, light, flare, rng.uniform(0.008, 0.02), tint=tint), texts


__all__ = ["Line", "WILD_CONDITIONS", "draw_lines", "hand_shadow", "photograph", "wild_page"]
