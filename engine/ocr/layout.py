"""Components -> characters -> lines -> words: box logic relative to the typical character size.

Boxes are int arrays (n, 4) of row0, col0, row1, col1 (half-open). The typical character height is the
ink-weighted median component height: specks are many but light, characters few but heavy, so the
weighting makes the estimate robust to noise without any absolute pixel threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import connected_components


@dataclass
class Chars:
    """Character candidates: their boxes, ink areas and the component labels each one is made of."""
    boxes: np.ndarray          # (n, 4) int64 row0, col0, row1, col1
    area: np.ndarray           # (n,) int64 ink pixels
    members: list[list[int]]   # component labels (1-based, as in the label image) per character
    height: float              # typical character height, px
    dropped: np.ndarray        # (m, 4) boxes removed as specks, rules or noise (for display)

    def __len__(self) -> int:
        return len(self.boxes)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    if len(values) == 0:
        return 0.0
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def _group(boxes: np.ndarray, area: np.ndarray, members: list[list[int]], linked: np.ndarray):
    n, lab = connected_components(linked, directed=False)
    out = np.zeros((n, 4), np.int64)
    out[:, :2] = np.iinfo(np.int64).max
    np.minimum.at(out[:, 0], lab, boxes[:, 0])
    np.minimum.at(out[:, 1], lab, boxes[:, 1])
    np.maximum.at(out[:, 2], lab, boxes[:, 2])
    np.maximum.at(out[:, 3], lab, boxes[:, 3])
    mem = [[] for _ in range(n)]
    for i, g in enumerate(lab):
        mem[g] += members[i]
    return out, np.bincount(lab, area, n).astype(np.int64), mem


def _box_gap(boxes: np.ndarray) -> np.ndarray:
    """Pairwise gap between boxes: the larger of the row and column gaps (negative when they overlap)."""
    r0, c0, r1, c1 = boxes.T
    dr = np.maximum(r0[:, None], r0[None]) - np.minimum(r1[:, None], r1[None])
    dc = np.maximum(c0[:, None], c0[None]) - np.minimum(c1[:, None], c1[None])
    return np.maximum(dr, dc)


def _union_size(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r0, c0, r1, c1 = boxes.T
    return (np.maximum(r1[:, None], r1[None]) - np.minimum(r0[:, None], r0[None]),
            np.maximum(c1[:, None], c1[None]) - np.minimum(c0[:, None], c0[None]))


def find_chars(comps: np.ndarray, speck: float = 0.02, merge_overlap: float = 0.6, max_merge_height: float = 1.4,
               partial: float = 0.7, near: float = 0.2, min_size: float = 0.3, max_height: float = 3.0) -> Chars:
    """Character boxes from component boxes (n, 5: row0, col0, row1, col1, area).

    1. drop specks: ink area < ``speck`` x the typical character's area;
    2. merge fragments: blobs whose column ranges overlap by ``merge_overlap`` of the narrower one (an E's
       bars over its stem), and blobs shorter than ``partial`` x typical height with their nearest neighbour
       when it is within ``near`` typical heights (an arm of a Y whose stroke missed the joint) -- as long as
       the merged box stays <= ``max_merge_height`` typical heights tall and 1.5 wide;
    3. drop what is not a character: longest side < ``min_size`` or height > ``max_height`` typical heights,
       or flatter than ``min_size`` and wider than 2 typical heights (an underline)."""
    empty = Chars(np.zeros((0, 4), np.int64), np.zeros(0, np.int64), [], 0.0, np.zeros((0, 4), np.int64))
    if len(comps) == 0:
        return empty
    boxes, area = comps[:, :4].astype(np.int64), comps[:, 4].astype(np.int64)
    heights = (boxes[:, 2] - boxes[:, 0]).astype(float)
    typical_area = weighted_median(area.astype(float), area.astype(float))
    keep = area >= speck * typical_area
    dropped = [boxes[~keep]]
    boxes, area = boxes[keep], area[keep]
    members = [[int(i) + 1] for i in np.nonzero(keep)[0]]
    height = weighted_median(heights[keep], area.astype(float))
    for _ in range(8):
        r0, c0, r1, c1 = boxes.T
        width = np.maximum(c1 - c0, 1)
        union_h, union_w = _union_size(boxes)
        fits = (union_h <= max_merge_height * height) & (union_w <= 1.5 * height)
        overlap = np.minimum(c1[:, None], c1[None]) - np.maximum(c0[:, None], c0[None])
        linked = (overlap >= merge_overlap * np.minimum(width[:, None], width[None])) & (overlap > 0) & fits
        np.fill_diagonal(linked, False)
        gap = np.where(fits, _box_gap(boxes), np.iinfo(np.int64).max).astype(float)
        np.fill_diagonal(gap, np.inf)
        small = np.nonzero((r1 - r0) < partial * height)[0]
        if len(boxes) > 1 and len(small):
            nearest = gap[small].argmin(1)
            close = gap[small, nearest] <= near * height
            linked[small[close], nearest[close]] = True
        if not linked.any():
            break
        boxes, area, members = _group(boxes, area, members, linked)
    h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    rule = (h < min_size * height) & (w > 2 * height)  # underlines, fraction bars: no capital is that flat
    ok = (np.maximum(h, w) >= min_size * height) & (h <= max_height * height) & ~rule
    dropped.append(boxes[~ok])
    return Chars(boxes[ok], area[ok], [m for m, k in zip(members, ok) if k], height, np.concatenate(dropped))


@dataclass
class Layout:
    """Reading order: lines top to bottom, characters left to right, and where words break."""
    lines: list[list[int]]       # indices into the character boxes, per line, left to right
    space_before: list[list[bool]]  # per line, per character: a word gap precedes it
    letter_gap: float            # the page's typical gap between letters, px


def group_lines(boxes: np.ndarray, height: float, line_overlap: float = 0.4, max_gap: float = 4.0,
                space: float = 0.3) -> Layout:
    """Chain characters that overlap vertically (>= ``line_overlap`` of the shorter) and lie within
    ``max_gap`` typical heights of each other into lines; chaining neighbours, rather than cutting the page
    into horizontal bands, follows skewed and wavy lines. A gap wider than the typical letter gap (the larger
    of the page's median gap and the line's lower quartile: some writers space letters widely) by more than
    ``space`` typical heights is a word break."""
    n = len(boxes)
    if n == 0:
        return Layout([], [], 0.0)
    r0, c0, r1, c1 = boxes.T
    h = np.maximum(r1 - r0, 1)
    v_overlap = np.minimum(r1[:, None], r1[None]) - np.maximum(r0[:, None], r0[None])
    h_gap = np.maximum(c0[:, None], c0[None]) - np.minimum(c1[:, None], c1[None])
    linked = (v_overlap >= line_overlap * np.minimum(h[:, None], h[None])) & (h_gap <= max_gap * height)
    k, lab = connected_components(linked, directed=False)
    centre_r, centre_c = (r0 + r1) / 2, (c0 + c1) / 2
    lines = [list(np.nonzero(lab == g)[0]) for g in range(k)]
    lines = [sorted(map(int, ln), key=lambda i: (centre_c[i], centre_r[i])) for ln in lines]
    lines.sort(key=lambda ln: (np.median(centre_r[ln]), centre_c[ln[0]]))
    gaps = [np.array([c0[b] - c1[a] for a, b in zip(ln, ln[1:])], float) for ln in lines]
    page_gap = float(np.median(np.concatenate(gaps))) if sum(map(len, gaps)) else 0.0
    spaces = []
    for g in gaps:  # the line's lower quartile: robust to lines where many gaps are spaces ("A B C 12")
        base = max(page_gap, float(np.quantile(g, 0.25))) if len(g) else page_gap
        spaces.append([False] + [bool(x - base > space * height) for x in g])
    return Layout(lines, spaces, page_gap)


__all__ = ["Chars", "Layout", "find_chars", "group_lines", "weighted_median"]
