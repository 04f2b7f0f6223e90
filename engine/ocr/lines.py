"""Character boxes -> text lines, each with its own slope and character size.

Real pages hold lines at different slopes (a row of digits rising 25 degrees across a webcam frame beside
level words) and of different sizes (a title over small notes), so no single page angle or band height
finds them. Each box is linked to its nearest neighbour to the right -- nearest in a cost that prefers a
small gap and a small rise, within ``max_slope`` -- when that neighbour's nearest to the left is the box
too (mutual links never jump to the line below). The chains that result are then joined where one lies on
the straight continuation of another (a word gap, a stray fragment that broke a link), and every line gets
the slope of a line fitted through its boxes' centres and the median height of its boxes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.ocr.layout import near_pairs

LETTER_GAP = 1.5  # x the taller box: the widest gap between letters of one word that chains link across


@dataclass
class Line:
    """One text line: box indices left to right, and a straight centre line y = y0 + slope * (x - x0)."""
    members: list[int]
    x0: float
    y0: float
    slope: float    # dy/dx (y down: positive falls to the right)
    height: float   # median box height, px

    @property
    def degrees(self) -> float:
        return float(np.degrees(np.arctan(self.slope)))

    def offset(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Vertical distance of points from the centre line, px."""
        return y - (self.y0 + self.slope * (x - self.x0))


def fit(members: list[int], cx: np.ndarray, cy: np.ndarray, h: np.ndarray) -> Line:
    """The centre line through the boxes: least squares of the centres, shrunk towards level by one box height
    of pseudo-data (two boxes alone do not make a steep line)."""
    idx = np.asarray(members)
    height = float(np.median(h[idx]))
    x0, y0 = float(cx[idx].mean()), float(cy[idx].mean())
    dx, dy = cx[idx] - x0, cy[idx] - y0
    slope = float((dx * dy).sum() / ((dx * dx).sum() + height ** 2))
    order = idx[np.argsort(cx[idx], kind="stable")]
    return Line([int(i) for i in order], x0, y0, slope, height)


def chains(boxes: np.ndarray, max_gap: float, max_slope: float, height: float) -> list[list[int]]:
    """Mutual nearest right/left neighbour links, followed into chains (box indices, left to right). Links
    span letter gaps only (``max_gap`` x the taller box): the last letter of a line and the first of the next
    may lie within ``max_slope`` of each other, but a word gap away; chains join across word gaps by their
    fitted lines (``find_lines``)."""
    n = len(boxes)
    r0, c0, r1, c1 = boxes.T.astype(float)
    cx, cy, h = (c0 + c1) / 2, (r0 + r1) / 2, np.maximum(r1 - r0, 1)
    a, b = near_pairs(boxes, 1.2 * height, max_gap * height)
    left = np.where(cx[a] <= cx[b], a, b)
    right = np.where(cx[a] <= cx[b], b, a)
    dx, dy = cx[right] - cx[left], cy[right] - cy[left]
    gap = c0[right] - c1[left]
    big, small = np.maximum(h[left], h[right]), np.minimum(h[left], h[right])
    ok = (dx > 0) & (np.abs(dy) <= np.tan(np.deg2rad(max_slope)) * dx) & (gap <= max_gap * big) & (big <= 2.5 * small)
    left, right = left[ok], right[ok]
    cost = np.maximum(gap[ok], 0) + 2.0 * np.abs(dy[ok])
    best_right, best_left = np.full(n, -1), np.full(n, -1)
    for src, dst, best in ((left, right, best_right), (right, left, best_left)):
        order = np.lexsort((dst, cost, src))  # per source, cheapest first
        first = np.ones(len(order), bool)
        first[1:] = src[order][1:] != src[order][:-1]
        best[src[order][first]] = dst[order][first]
    nxt = np.where((best_right >= 0) & (best_left[np.maximum(best_right, 0)] == np.arange(n)), best_right, -1)
    has_prev = np.zeros(n, bool)
    has_prev[nxt[nxt >= 0]] = True
    out = []
    for start in np.nonzero(~has_prev)[0]:
        seq, i = [], int(start)
        while i >= 0:
            seq.append(i)
            i = int(nxt[i])
        out.append(seq)
    return out


def find_lines(boxes: np.ndarray, height: float, tolerance: float = 0.6, max_gap: float = 4.0,
               max_slope: float = 35.0, rounds: int = 8) -> list[Line]:
    """Text lines of character ``boxes`` (n, 4: row0, col0, row1, col1), top to bottom. Chains are joined,
    closest first, where each one's nearest box lies within ``tolerance`` x the taller line's height of the
    other's centre line (and the other way round), ``max_gap`` typical heights apart at most, and the joined
    line slopes ``max_slope`` degrees at most."""
    if len(boxes) == 0:
        return []
    r0, c0, r1, c1 = boxes.T.astype(float)
    cx, cy, h = (c0 + c1) / 2, (r0 + r1) / 2, np.maximum(r1 - r0, 1).astype(float)
    lines = [fit(m, cx, cy, h) for m in chains(boxes, min(max_gap, LETTER_GAP), max_slope, height)]
    a, b = near_pairs(boxes, 0.5 * height, max_gap * height)
    for _ in range(rounds):
        owner = np.empty(len(boxes), int)
        for k, ln in enumerate(lines):
            owner[ln.members] = k
        la, lb = owner[a], owner[b]
        cand = la != lb
        if not cand.any():
            break
        pa, pb, la, lb = a[cand], b[cand], la[cand], lb[cand]
        tol = tolerance * np.maximum([lines[k].height for k in la], [lines[k].height for k in lb])
        off_a = np.abs([lines[k].offset(cx[i], cy[i]) for k, i in zip(lb, pa)])  # a's box from b's line
        off_b = np.abs([lines[k].offset(cx[i], cy[i]) for k, i in zip(la, pb)])
        good = (off_a <= tol) & (off_b <= tol)
        if not good.any():
            break
        cost = (off_a + off_b)[good]
        merged, done = False, set()
        for k in np.argsort(cost, kind="stable"):
            x, y = int(la[good][k]), int(lb[good][k])
            if x in done or y in done:
                continue
            joined = fit(lines[x].members + lines[y].members, cx, cy, h)
            if abs(joined.degrees) > max_slope:
                continue  # no line slopes more steeply than its neighbours may
            done |= {x, y}
            lines[x], lines[y] = joined, None
            merged = True
        lines = [ln for ln in lines if ln is not None]
        if not merged:
            break
    lines.sort(key=lambda ln: (float(np.median(cy[ln.members])), cx[ln.members[0]]))
    return lines


LEVEL = 5.0  # degrees: lines closer to level than this are read as they are


def reading_slope(degrees: float) -> float:
    """The slope a line's crops are turned level by: none within ``LEVEL`` of level (hands lean letters that
    much anyway, and the training set has them), else the line's own."""
    return float(degrees) if abs(degrees) >= LEVEL else 0.0


@dataclass
class Layout:
    """Reading order: lines top to bottom, characters left to right, where words break, and each line's
    geometry."""
    lines: list[list[int]]          # indices into the character boxes, per line, left to right
    space_before: list[list[bool]]  # per line, per character: a word gap precedes it
    letter_gap: float               # the page's typical gap between letters, px
    slopes: list[float]             # per line, degrees (x right, y down: positive falls to the right)
    heights: list[float]            # per line, its typical character height, px


def group_lines(boxes: np.ndarray, height: float, line_overlap: float = 0.4, max_gap: float = 4.0,
                space: float = 0.3, max_slope: float = 35.0) -> Layout:
    """Lines of character boxes (``find_lines``: a box joins a line whose centre line passes within
    1 - ``line_overlap`` of the line's height of its centre), and their word breaks (``word_breaks``, with
    each line's own height: small writing has small word gaps)."""
    lines = find_lines(np.asarray(boxes).reshape(-1, 4), height, 1.0 - line_overlap, max_gap, max_slope)
    if not lines:
        return Layout([], [], 0.0, [], [])
    c0, c1 = boxes[:, 1], boxes[:, 3]
    gaps = [np.array([c0[b] - c1[a] for a, b in zip(ln.members, ln.members[1:])], float) for ln in lines]
    heights = [ln.height for ln in lines]
    spaces, page_gap = word_breaks(gaps, heights, space)
    return Layout([ln.members for ln in lines], spaces, page_gap, [ln.degrees for ln in lines], heights)


def word_breaks(gaps: list[np.ndarray], height: float | list[float], space: float = 0.3, wider: float = 1.5
                ) -> tuple[list[list[bool]], float]:
    """Per line, whether a word gap precedes each character, from the gaps between neighbouring characters
    (one array per line): a gap wider than the typical letter gap (the larger of the page's median gap, scaled
    to the line's height, and the line's lower quartile: some writers space letters widely) by more than
    ``space`` x the height (the page's, or one per line), and ``wider`` times as wide: digits written three
    heights apart vary by more than a third of a height without any word break among them."""
    heights = [height] * len(gaps) if np.isscalar(height) else list(height)
    page_gap = float(np.median(np.concatenate(gaps))) if sum(map(len, gaps)) else 0.0
    page_h = float(np.median(heights)) if heights else 1.0
    spaces = []
    for g, h in zip(gaps, heights):  # the line's lower quartile: robust to lines where many gaps are spaces
        base = page_gap * min(h / max(page_h, 1e-9), 1.0)
        base = max(base, float(np.quantile(g, 0.25))) if len(g) else base
        spaces.append([False] + [bool(x - base > space * h and x > wider * base) for x in g])
    return spaces, page_gap


__all__ = ["LEVEL", "Layout", "Line", "chains", "find_lines", "fit", "group_lines", "reading_slope", "word_breaks"]
