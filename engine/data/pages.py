"""Synthetic handwritten pages with exact per-character ground truth, for OCR tests, demos and samples.

Lines of capitals/digits are drawn with the same stroke fonts and hand-like distortions as the embedded glyph set
(``engine.data.glyphs``), then photographed badly: uneven lighting, slight skew and wavy baselines, blur and noise.
Boxes come from the distorted centre-lines themselves, so they are exact whatever the distortion.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from engine.data.dataset import NIST36_CLASSES
from engine.data.glyphs import Style, distort, ink, point_weights, sample_fonts, splat, stroke_table
from engine.errors import InputError
from engine.files import atomic_write
from engine.ocr.result import Box  # the OCR's own box type: truth and readings compare directly

ALPHABET = set(NIST36_CLASSES) | {" ", "."}  # "." is drawn as a dot after its character and has no box
SAMPLE_TEXTS = (["THE QUICK BROWN", "FOX JUMPS OVER", "THE LAZY DOG 42"],)


def random_lines(rng: np.random.Generator, n_lines: int, max_chars: int = 14) -> list[str]:
    """Random content: words of letters (mostly) or digits, separated by single spaces, <= max_chars per line."""
    letters, digits = NIST36_CLASSES[:26], NIST36_CLASSES[26:]
    lines = []
    for _ in range(n_lines):
        words, length = [], 0
        while True:
            pool = digits if rng.random() < 0.2 else letters
            word = "".join(rng.choice(pool, int(rng.integers(1, 7))))
            if length + len(word) + bool(words) > max_chars:
                break
            words.append(word)
            length += len(word) + (len(words) > 1)
        lines.append(" ".join(words) or str(rng.choice(letters)))
    return lines


def _layout(lines: list[str], adv: np.ndarray, rng: np.random.Generator, size: tuple[int, int],
            char_height: float | None):
    """Character centres (cap-height units, later scaled by h) and the cap height h in pixels that fits the page."""
    height, width = size
    gap, space, pitch = rng.uniform(0.08, 0.3), rng.uniform(0.55, 0.85), rng.uniform(1.5, 1.9)
    centres, k, widths = [], 0, []
    for li, line in enumerate(lines):
        x = 0.0
        for ch in line:
            if ch == " ":
                x += space
                continue
            centres.append((x + adv[k] / 2, li * pitch))
            x += adv[k] + gap * rng.uniform(0.5, 1.5)
            k += 1
        widths.append(x)
    margin = 0.07 * min(height, width)
    h = char_height if char_height is not None else rng.uniform(60, 150)
    h = min(h, (width - 2 * margin) / max(max(widths), 1e-3), (height - 2 * margin) / (len(lines) * pitch))
    # Centre the block on the page (x from the left margin, slightly random).
    x0 = margin + rng.uniform(0, 0.3) * max(width - 2 * margin - max(widths) * h, 0)
    y0 = (height - (len(lines) - 1) * pitch * h) / 2
    return np.asarray(centres, np.float32).reshape(-1, 2), h, np.array([x0, y0], np.float32)


@dataclass(frozen=True)
class Look:
    """How a page is written and photographed beyond the defaults: the harder development conditions."""
    pen: float = 1.0                          # stroke width x the default (pencil, thin ballpoint: < 1)
    breaks: float = 0.0                       # chance that a stroke end stops short of its joint (pencil)
    gap: float = 0.07                         # ... by up to this x cap height
    paper: tuple[float, float] | None = None  # paper brightness range (default 0.82-0.95)
    ink: tuple[float, float] | None = None    # ink brightness range (default 0.08-0.3)
    light: float = 1.0                        # uneven light: strength x the default
    ink_rgb: tuple[float, float, float] | None = None  # ink colour of an RGB page (default dark blue-black)


def render_page(lines: list[str], seed: int = 0, size: tuple[int, int] = (900, 1200),
                char_height: float | None = None, rgb: bool = False, noise: float | None = None,
                look: Look = Look()) -> tuple[np.ndarray, list[Box]]:
    """A page image (H, W) uint8 (or (H, W, 3) when ``rgb``) of ``lines`` in dark ink on light paper, and the
    per-character ground-truth boxes (spaces have none) in reading order, holding their ink (``char``, ``line``).
    ``char_height`` (cap height, px) defaults to a random 60-150 px, shrunk if the text would not fit ``size`` =
    (rows, cols); ``noise`` (sd of pixel noise before the blur, in [0, 1] intensity) defaults to a random 0.01-0.025.
    ``look`` makes the harder conditions (see ``hard_page``); "." in a line is drawn as a dot and has no box."""
    lines = [ln.upper() for ln in lines]
    bad = set("".join(lines)) - ALPHABET
    if bad:
        raise InputError(f"unsupported characters: {sorted(bad)}")
    glyphs = [ln.replace(" ", "").replace(".", "") for ln in lines]
    dots = [sum(map(len, glyphs[:li])) + len(ln[:k].replace(" ", "").replace(".", "")) - 1  # the glyph before
            for li, ln in enumerate(lines) for k, ch in enumerate(ln) if ch == "."]
    lines = [ln.replace(".", "") for ln in lines]
    rng = np.random.default_rng(seed)
    table = stroke_table()
    chars = [(li, ch) for li, ln in enumerate(lines) for ch in ln if ch != " "]
    labels = np.array([NIST36_CLASSES.index(ch) for _, ch in chars], np.int64)
    writer = (0.6, rng.uniform(0, 0.4), rng.uniform(0, 0.2))  # per page: how often barred/script forms appear
    gid = table.glyph_id(sample_fonts(labels, rng, weights=writer), labels)
    centres, h, origin = _layout(lines, table.advance[gid], rng, size, char_height)
    # One writer per page: a consistent slant, milder per-character variation than isolated glyphs.
    # Wobble is gentler than in 32x32 glyphs: at 100 px a wavy centre-line shows where at 32 px it is sub-pixel.
    style = Style(rotation_deg=5.0, slant_mean=float(rng.normal(0.12, 0.12)), slant_sd=0.04, aspect_sd=0.08,
                  wobble=0.018, jitter=0.025, warp=0.03, wobble_freq=(0.3, 0.8))
    pts = distort(table, gid, rng, style) * (h * rng.uniform(0.93, 1.07, (len(gid), 1, 1)))
    line_of = np.array([li for li, _ in chars], int)
    pos = centres * h + origin
    wave = rng.normal(0, 0.04, (len(lines), 2)), rng.uniform(0, 2 * np.pi, len(lines))  # wavy baselines
    pos[:, 1] += h * (wave[0][line_of, 0] * np.sin(pos[:, 0] / size[1] * 2 * np.pi + wave[1][line_of])
                      + rng.normal(0, 0.03, len(pos)))
    pts = pts + pos[:, None, :]
    # Page skew: rotate everything about the page centre.
    angle = np.deg2rad(rng.uniform(-2, 2))
    c, s = np.cos(angle), np.sin(angle)
    mid = np.array([size[1], size[0]], np.float32) / 2
    pts = (pts - mid) @ np.array([[c, s], [-s, c]], np.float32) + mid
    valid = table.valid[gid]
    half = h * rng.uniform(0.035, 0.065) * look.pen
    boxes = []
    for k, (li, ch) in enumerate(chars):
        p = pts[k, valid[k]]
        (x0, y0), (x1, y1) = p.min(0) - half, p.max(0) + half
        boxes.append(Box(max(int(np.floor(y0)), 0), max(int(np.floor(x0)), 0),
                         min(int(np.ceil(y1)) + 1, size[0]), min(int(np.ceil(x1)) + 1, size[1]), ch, line=li))
    weights = point_weights(pts, table.linked[gid]) * valid
    if look.breaks > 0:  # a second generator: the default pages stay exactly as they were
        weights = weights * _short_strokes(pts, table.stroke[gid], valid, look.breaks, look.gap * h,
                                           np.random.default_rng([seed, 1]))
    cover = ink(splat(pts.reshape(1, -1, 2), weights.reshape(1, -1), size), half / 1.8, half, edge=1.2)[0]
    for k in dots:  # a full stop: a round dot at the baseline just right of its character
        b, rad = boxes[k], max(1.3 * half, 1.5)
        yy, xx = np.ogrid[:size[0], :size[1]]
        dist = np.hypot(yy - (b.row1 - rad - 1), xx - (b.col1 + 0.12 * h))
        cover = np.maximum(cover, np.clip(rad + 0.5 - dist, 0, 1))
    return _photograph(cover, rng, rgb, noise, look), boxes


def _short_strokes(pts: np.ndarray, stroke: np.ndarray, valid: np.ndarray, chance: float, gap: float,
                   rng: np.random.Generator) -> np.ndarray:
    """Weights (0/1) that cut each stroke end short by up to ``gap`` px with probability ``chance``: a pencil
    line that does not quite reach the stroke it should join (a D's bow detached from its stem)."""
    keep = np.ones(stroke.shape, np.float32)
    for k in range(len(pts)):
        for s in np.unique(stroke[k][valid[k]]):
            idx = np.nonzero(valid[k] & (stroke[k] == s))[0]
            if len(idx) < 4:
                continue
            arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts[k, idx], axis=0), axis=1))])
            cut = np.where(rng.random(2) < chance, rng.uniform(0.4, 1.0, 2) * gap, 0.0)
            cut = np.minimum(cut, 0.3 * arc[-1])
            keep[k, idx[(arc < cut[0]) | (arc > arc[-1] - cut[1])]] = 0
    return keep


def _photograph(cover: np.ndarray, rng: np.random.Generator, rgb: bool, noise: float | None, look: Look = Look()
                ) -> np.ndarray:
    """Paper under uneven light, ink, lens blur and sensor noise, quantised to uint8."""
    height, width = cover.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy, xx = yy / height - 0.5, xx / width - 0.5
    direction = rng.normal(size=2)
    light = (1 + look.light * (rng.uniform(0.05, 0.2) * (direction[0] * yy + direction[1] * xx)
                               / np.linalg.norm(direction) - rng.uniform(0, 0.25) * (xx ** 2 + yy ** 2)))
    light = np.maximum(light, 0.2)
    paper = _within(rng.uniform(0.82, 0.95), (0.82, 0.95), look.paper) * light
    ink_level = _within(rng.uniform(0.08, 0.3), (0.08, 0.3), look.ink)
    tints = np.array([[1, 1, 1], [1, 0.98, 0.92]]) if rgb else np.ones((2, 1))
    ink_tint = np.array([0.8, 0.85, 1.3]) if rgb else np.ones(1)
    if rgb and look.ink_rgb is not None:
        ink_tint = np.asarray(look.ink_rgb) / ink_level
    img = (paper[..., None] * tints[int(rng.integers(2))] * (1 - cover[..., None])
           + (ink_level * ink_tint * light[..., None]) * cover[..., None])
    noise = rng.uniform(0.01, 0.025) if noise is None else noise
    img += rng.normal(0, noise, img.shape)  # sensor noise, then lens blur smooths it like a camera
    blur = rng.uniform(0.6, 1.1)
    img = ndimage.gaussian_filter(img, (blur, blur, 0))
    img = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return img if rgb else img[..., 0]


def _within(x: float, default: tuple[float, float], wanted: tuple[float, float] | None) -> float:
    """A draw from the default range moved to the same place in the wanted range (same random stream)."""
    if wanted is None:
        return x
    return wanted[0] + (x - default[0]) / (default[1] - default[0]) * (wanted[1] - wanted[0])


HARD_CONDITIONS = ("pencil", "numbered", "digits", "uneven", "desk", "rotated", "blue")


def hard_page(condition: str, seed: int = 0, size: tuple[int, int] = (480, 640)) -> tuple[np.ndarray, list[str]]:
    """A page mimicking a known failure of real photos, and the lines the OCR should read (full stops, which
    it has no class for, left out). Deterministic in ``seed``; small enough for every test run.

    pencil: thin grey strokes that stop short of their joints, on grey paper; numbered: a list "1. MILK";
    digits: lines of digits, spaced and run together; uneven: strong light fall-off; desk: the sheet lies on
    a dark textured desk; rotated: ... turned 10-25 degrees; blue: thin blue ballpoint on a white scan."""
    if condition not in HARD_CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; one of {', '.join(HARD_CONDITIONS)}")
    rng = np.random.default_rng([seed, HARD_CONDITIONS.index(condition)])
    letters = NIST36_CLASSES[:26]
    if condition == "numbered":
        lines = [f"{i}. " + "".join(rng.choice(letters, int(rng.integers(3, 7)))) for i in range(1, 5)]
    elif condition == "digits":
        d = list("1234567890")
        lines = [" ".join(d), "".join(rng.permutation(d)), "".join(rng.permutation(d)[:6])]
    else:
        lines = random_lines(rng, 3, 12)
    s = int(rng.integers(1 << 30))
    looks = {"pencil": Look(pen=0.45, breaks=0.6, gap=0.1, paper=(0.62, 0.75), ink=(0.32, 0.42)),
             "uneven": Look(light=3.5), "blue": Look(pen=0.5, paper=(0.93, 0.98), ink_rgb=(0.2, 0.3, 0.75))}
    look = looks.get(condition, Look())
    if condition in ("desk", "rotated"):
        sheet, _ = render_page(lines, seed=s, size=(int(size[0] * 0.7), int(size[1] * 0.7)), look=look)
        angle = float(rng.uniform(10, 25) * rng.choice([-1, 1])) if condition == "rotated" else float(rng.normal(0, 2))
        img = on_desk(sheet, size, angle, rng)
    else:
        img, _ = render_page(lines, seed=s, size=size, look=look, rgb=condition == "blue",
                             noise=0.004 if condition == "blue" else None)
    return img, [ln.replace(".", "") for ln in lines]


def on_desk(sheet: np.ndarray, size: tuple[int, int], angle: float, rng: np.random.Generator) -> np.ndarray:
    """The sheet (gray uint8) turned by ``angle`` degrees and lying in the middle of a dark wood-grain desk."""
    desk_rng = np.random.default_rng(rng.integers(1 << 30))
    yy, xx = np.mgrid[0:size[0], 0:size[1]].astype(np.float32)
    grain = ndimage.gaussian_filter(desk_rng.normal(0, 1, size), (1.0, 12.0))  # long streaks along the wood
    desk = 0.22 + 0.05 * np.sin(xx / 37 + 3 * grain) + 0.06 * grain / max(grain.std(), 1e-6) * 0.5
    c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    mid_out, mid_in = np.array(size) / 2, np.array(sheet.shape) / 2
    rot = np.array([[c, -s], [s, c]])  # output (row, col) -> sheet (row, col)
    offset = mid_in - rot @ mid_out
    warp = dict(output_shape=size, order=1)
    paper = ndimage.affine_transform(sheet.astype(np.float32) / 255, rot, offset, cval=-1.0, **warp)
    inside = ndimage.affine_transform(np.ones(sheet.shape, np.float32), rot, offset, cval=0.0, **warp)
    img = inside * np.maximum(paper, 0) + (1 - inside) * desk
    img = ndimage.gaussian_filter(img, 0.7) + desk_rng.normal(0, 0.01, size)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def write_samples(directory: str | Path = "resources/pages", n: int = 4, size: tuple[int, int] = (900, 1200)
                  ) -> dict[str, list[str]]:
    """Write ``n`` sample pages as PNG plus ``truth.json`` ({file name: lines}); returns that mapping."""
    directory = Path(directory)
    truth = {}
    for i in range(n):
        rng = np.random.default_rng(1000 + i)
        lines = SAMPLE_TEXTS[i] if i < len(SAMPLE_TEXTS) else random_lines(rng, int(rng.integers(3, 6)), 12)
        img, _ = render_page(lines, seed=i, size=size, noise=0.006)  # low noise keeps the PNGs small
        name = f"page{i + 1}.png"
        with atomic_write(directory / name) as f:
            Image.fromarray(img).save(f, format="PNG")
        truth[name] = list(lines)
    with atomic_write(directory / "truth.json", "w") as f:
        f.write(json.dumps(truth, indent=1) + "\n")
    return truth


__all__ = ["HARD_CONDITIONS", "Box", "Look", "hard_page", "on_desk", "random_lines", "render_page",
           "write_samples"]
