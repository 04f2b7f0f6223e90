"""Which way up is the page? Read a sample of its characters each way and keep the most confident.

A scan fed sideways or a phone photo without its orientation tag reaches the OCR turned 90 or 180 degrees;
every later stage assumes level lines of upright letters, so nothing reads. The direction of the lines
(along x or along y) is found from projection profiles like the skew; which end is up is not a geometric
fact at all for capitals and digits, but the network knows: a sample of character-sized blobs, each redrawn
as it would look the page turned 0, 90, 180 and 270 degrees (clockwise, as photographed) -- the skeleton is
turned, not re-found -- reads far more surely the right way up. Symmetric shapes (O, H, X, N, S, Z, 8) read
the same every way and simply weigh nothing; a page is turned only when another way up reads clearly
better than upright.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from engine.data.dataset import from_image
from engine.ocr import segment
from engine.ocr.context import kind_mass, shape_confidence
from engine.ocr.layout import weighted_median
from engine.ocr.lines import find_lines
from engine.ocr.normalize import level_points, render_many, skeleton_points

TURNS = (0, 90, 180, 270)


@dataclass
class Blobs:
    """Connected ink blobs of a small page view: label image, slices, sizes, ink areas, and which could be
    characters (not a rule, an edge or a shadow across the page: longer than ``long`` x the view's side)."""
    labels: np.ndarray
    slices: list
    size: np.ndarray   # longer side, px
    area: np.ndarray   # ink pixels
    chars: np.ndarray  # bool: about character size
    paper: np.ndarray  # the view's paper brightness
    level: float       # the darkness its ink was found at

    @property
    def typical(self) -> float:
        """The ink-weighted median size of the character blobs: specks are many but light, characters heavy."""
        ok = self.chars
        return weighted_median(self.size[ok].astype(float), self.area[ok].astype(float)) if ok.any() else 0.0


def find_blobs(gray: np.ndarray, long: float = 0.2) -> Blobs:
    """Ink blobs of a gray page view (dark ink), ink found relative to the local paper as later stages do."""
    paper = segment.background(gray)
    mask, level = segment.threshold(segment.darkness(gray, paper))
    labels, n = ndimage.label(mask, np.ones((3, 3), bool))
    sl = ndimage.find_objects(labels)
    size = np.array([max(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in sl], np.int64).reshape(-1)
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return Blobs(labels, sl, size, area, (size < long * max(gray.shape)) & (area >= 4), paper, level)


def letter_sized(blobs: Blobs, min_px: int = 4) -> np.ndarray:
    """Indices of the blobs about as big as a typical character (never much smaller or larger, never a speck
    of under ``min_px``): the page's letters, without its specks and rules."""
    typ = blobs.typical
    if typ < min_px:
        return np.zeros(0, int)
    return np.nonzero(blobs.chars & (blobs.size >= 0.5 * typ) & (blobs.size <= 2.0 * typ)
                      & (blobs.area >= 2 * min_px))[0]


def sample(blobs: Blobs, n: int = 32, min_px: int = 4) -> np.ndarray:
    """Indices of up to ``n`` blobs most like a typical character (``letter_sized``, size nearest the typical)."""
    ok = letter_sized(blobs, min_px)
    return ok[np.argsort(np.abs(np.log(blobs.size[ok] / blobs.typical)), kind="stable")[:n]]


@dataclass
class Orientation:
    """The way up chosen and why: per turn, the sample's mean log shape confidence plus the line prior."""
    turn: int = 0                       # degrees the text is turned clockwise in the photo (0, 90, 180, 270)
    scores: dict[int, float] = field(default_factory=dict)
    samples: int = 0


def read_turned(classifier, masks: list[np.ndarray], angles: dict[int, float]
                ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per turn, the shape confidence of each of ``masks`` read with its lines at ``angles[turn]`` degrees
    (x right, y down) made level, and its evidence for being a digit rather than a letter (``kind_mass``):
    one skeleton per mask, one batch through the network."""
    skel = [skeleton_points(m) for m in masks]
    imgs = render_many([(level_points(p, angles[t]), w) for t in angles for p, w in skel])
    probs = classifier.probs(np.stack([from_image(im) for im in imgs]))
    conf = shape_confidence(probs, classifier.classes).reshape(len(angles), -1)
    digit = kind_mass(probs, classifier.classes)[:, 1].reshape(len(angles), -1)
    return {t: (c, d) for t, c, d in zip(angles, conf, digit)}


def consistency(digit: np.ndarray) -> float:
    """How much a sample reads as one kind, letters or digits (0: half and half, 1: all one kind), from each
    blob's digit evidence. Text the right way up is words of letters and numbers of digits; turned, its shapes
    read as a jumble of both (0123456789 upside down reads 68L9SMEZIO)."""
    return float(abs(2 * np.mean(digit) - 1)) if len(digit) else 0.0


def alignment(boxes: np.ndarray, height: float) -> float:
    """How much better the left ends of the text lines in ``boxes`` (n, 4) line up than their right ends: log
    of the ratio of their spreads (median distance from the median, in letter heights, plus one half: one
    line whose first letter went missing is not a ragged margin), clipped to [-1, 1]. Handwriting starts each
    line at the margin and ends it where the words run out, so upright text scores high, text upside down
    low; centred or equal lines score near 0. 0 for fewer than two lines of two letters."""
    lines = [ln.members for ln in find_lines(boxes, height) if len(ln.members) >= 2]
    if len(lines) < 2:
        return 0.0
    starts = np.array([boxes[m, 1].min() for m in lines], float) / height
    ends = np.array([boxes[m, 3].max() for m in lines], float) / height
    spread = lambda x: float(np.median(np.abs(x - np.median(x))))  # noqa: E731
    return float(np.clip(np.log((spread(ends) + 0.5) / (spread(starts) + 0.5)), -1.0, 1.0))


def margins(blobs: Blobs) -> dict[int, float]:
    """``alignment`` of the letter-sized blobs read each way up (text turned 90 clockwise: lines start at the
    top); specks beyond the writing would be lines of their own."""
    idx = letter_sized(blobs)
    if len(idx) < 4:
        return {t: 0.0 for t in TURNS}
    boxes = np.array([[s[0].start, s[1].start, s[0].stop, s[1].stop] for s in (blobs.slices[i] for i in idx)])
    along, across = alignment(boxes, blobs.typical), alignment(boxes[:, [1, 0, 3, 2]], blobs.typical)
    return {0: along, 180: -along, 90: across, 270: -across}


def choose(scores: dict[int, float], margin: float, floor: float) -> int:
    """The best-reading turn; upright unless another turn scores at least ``margin`` more and reads like text
    at all (a mean log confidence above ``floor``: an untrained network is no judge)."""
    best = max(scores, key=scores.get)
    return best if scores[best] >= max(scores.get(0, -np.inf) + margin, floor) else 0


def orient(classifier, masks: list[np.ndarray], lines: dict[int, tuple[float, float]], prior: float = 0.3,
           margin: float = 0.05, floor: float = np.log(0.4), aligned: dict[int, float] | None = None,
           left: float = 0.1, one_kind: float = 0.2) -> Orientation:
    """The orientation of a page from its sample ``masks``. ``lines[t]`` = (tilt, strength) of the text lines
    with the page turned by ``t`` (see page.line_skews): each way is read with that tilt undone, and sharper
    lines add ``prior`` x log(strength) -- they tell lines along x from lines along y (not which end is up),
    though text in a grid (a few big letters, a table of digits) has columns nearly as sharp as its lines.
    ``aligned[t]`` (see ``margins``) adds ``left`` x how much better the lines' starts line up than their
    ends: it tells which end is up where few letters (O S Z 2 5 1 0 8 read alike both ways) cannot. A sample
    that reads as one kind (``consistency``) adds ``one_kind`` x it: digits upside down read about as surely
    as upright, but as letters and digits mixed."""
    if not masks:
        return Orientation()
    read = read_turned(classifier, masks, {t: t + lines[t][0] for t in TURNS})
    aligned = aligned or {}
    scores = {t: float(np.mean(np.log(np.maximum(c, 1e-3))) + prior * np.log(max(lines[t][1], 1e-3))
                       + left * aligned.get(t, 0.0) + one_kind * consistency(d)) for t, (c, d) in read.items()}
    return Orientation(choose(scores, margin, floor + prior * np.log(max(v for _, v in lines.values()))),
                       scores, len(masks))


__all__ = ["Blobs", "Orientation", "TURNS", "alignment", "choose", "consistency", "letter_sized", "find_blobs", "margins", "orient", "read_turned",
           "sample"]
