"""Components -> characters: box logic relative to the typical character size (lines: ``lines.py``).

Boxes are int arrays (n, 4) of row0, col0, row1, col1 (half-open). The typical character height is the
ink-weighted median component height: specks are many but light, characters few but heavy, so the
weighting makes the estimate robust to noise without any absolute pixel threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


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


def local_heights(boxes: np.ndarray, area: np.ndarray, height: float, reach: float = 1.5) -> np.ndarray:
    """Per box, the ink-weighted median height of the boxes sharing its rows within ``reach`` typical heights
    of it (itself included): the size of the writing around it. A piece of a broken letter sits among whole
    letters; a letter of a line written small sits among small letters, and is no piece."""
    n = len(boxes)
    h = (boxes[:, 2] - boxes[:, 0]).astype(float)
    a, b = near_pairs(boxes, 0, reach * height)
    src, dst = np.concatenate([a, b, np.arange(n)]), np.concatenate([b, a, np.arange(n)])
    order = np.lexsort((h[dst], src))
    src, hs, ws = src[order], h[dst][order], np.maximum(area[dst][order], 1).astype(float)
    cum = np.cumsum(ws)
    start = np.searchsorted(src, np.arange(n))  # every box is its own neighbour: no group is empty
    before = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    total = np.bincount(src, ws, n)
    return hs[np.minimum(np.searchsorted(cum, before + total / 2), len(cum) - 1)]


def _group(boxes: np.ndarray, area: np.ndarray, members: list[list[int]], linked: np.ndarray, local: np.ndarray):
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
    size = np.full(n, np.inf)
    np.minimum.at(size, lab, local)
    return out, np.bincount(lab, area, n).astype(np.int64), mem, size


def near_pairs(boxes: np.ndarray, row_gap: float, col_gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of boxes at most ``row_gap`` apart in rows and ``col_gap`` in columns (a gap is
    negative when the ranges overlap), without an all-pairs matrix: boxes of ordinary size are paired through
    a k-d tree of their centres (two such boxes this close have centres within size + gap), the few big ones
    are checked against all. Memory and time grow with n log n plus the number of close pairs."""
    n = len(boxes)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    r0, c0, r1, c1 = boxes.T.astype(float)
    h, w = r1 - r0, c1 - c0
    size = max(2.0 * float(np.median(np.maximum(h, w))), 1.0)
    big = np.maximum(h, w) > size
    pairs = []
    small = np.nonzero(~big)[0]
    if len(small) > 1:
        centre = np.column_stack([(r0 + r1)[small] / 2 / (size + max(row_gap, 0) + 1),
                                  (c0 + c1)[small] / 2 / (size + max(col_gap, 0) + 1)])
        pr = cKDTree(centre).query_pairs(1.0, p=np.inf, output_type="ndarray")
        pairs.append(small[pr])
    for i in np.nonzero(big)[0]:  # rare (rules, blots): one vectorised row each
        j = np.arange(n)
        j = j[(j != i) & (~big | (j > i))]  # big-big pairs once
        pairs.append(np.column_stack([np.full(len(j), i), j]))
    pr = np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)
    a, b = np.minimum(pr[:, 0], pr[:, 1]), np.maximum(pr[:, 0], pr[:, 1])
    dr = np.maximum(r0[a], r0[b]) - np.minimum(r1[a], r1[b])
    dc = np.maximum(c0[a], c0[b]) - np.minimum(c1[a], c1[b])
    ok = (dr <= row_gap) & (dc <= col_gap)
    return a[ok].astype(np.int64), b[ok].astype(np.int64)


def is_mark(boxes: np.ndarray, size: float, area: np.ndarray | None = None, fill: float = 0.4) -> np.ndarray:
    """Small round marks: longest side under ``size`` and not elongated. A dot ("1.", "i") or a speck is
    one; a short piece of a broken stroke is elongated and is not. Given the ink ``area``, a mark must also be
    compact (ink >= ``fill`` of its box): a thin diagonal stroke (the arm of a pen "Y") has a square box but
    little ink in it."""
    h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    small = (np.maximum(h, w) < size) & (np.maximum(h, w) < 2 * np.maximum(np.minimum(h, w), 1))
    if area is not None:
        small &= np.asarray(area, float) >= fill * np.maximum(h, 1) * np.maximum(w, 1)
    return small


def _union_fitting(boxes: np.ndarray, a: np.ndarray, b: np.ndarray, gap: np.ndarray, max_h: np.ndarray,
                   max_w: np.ndarray) -> np.ndarray:
    """Root index per box after joining linked pairs closest first, each join only if the joined group's box
    still fits max_h x max_w (per box; a group only as big as its most demanding member allows): chains of pairs
    that each fit (a stroke of one line's L, a fragment, the I below it) never grow into a box spanning two
    lines."""
    parent = np.arange(len(boxes))
    ext = boxes.copy()
    max_h, max_w = np.array(max_h, float), np.array(max_w, float)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for k in np.argsort(gap, kind="stable"):
        ra, rb = find(int(a[k])), find(int(b[k]))
        if ra == rb:
            continue
        u = np.concatenate([np.minimum(ext[ra, :2], ext[rb, :2]), np.maximum(ext[ra, 2:], ext[rb, 2:])])
        lh, lw = min(max_h[ra], max_h[rb]), min(max_w[ra], max_w[rb])
        if u[2] - u[0] <= lh and u[3] - u[1] <= lw:
            parent[rb] = ra
            ext[ra] = u
            max_h[ra], max_w[ra] = lh, lw
    return np.array([find(i) for i in range(len(boxes))])


def _graph(n: int, a: np.ndarray, b: np.ndarray) -> coo_matrix:
    return coo_matrix((np.ones(len(a), bool), (a, b)), shape=(n, n))


def find_chars(comps: np.ndarray, speck: float = 0.02, merge_overlap: float = 0.6, max_merge_height: float = 1.4,
               partial: float = 0.7, near: float = 0.2, min_size: float = 0.3, max_height: float = 3.0,
               top: float = 0.35, stroke: float = 0.0) -> Chars:
    """Character boxes from component boxes (n, 5: row0, col0, row1, col1, area).

    1. drop specks: ink area < ``speck`` x the typical character's area;
    2. merge fragments: blobs whose column ranges overlap by ``merge_overlap`` of the narrower one (an E's
       bars over its stem), and blobs shorter than ``partial`` x the height of the writing around them
       (``local_heights``: a title's letters are big, a small line's small) with their nearest neighbour
       when it is within ``near`` of that height (an arm of a Y whose stroke missed the joint) -- as long as
       the merged box stays <= ``max_merge_height`` of that height tall and 1.5 wide; a small mark whose
       centre lies in the top ``top`` of its neighbour's box joins it from twice as far (a cut-off arm);
    3. drop what is not a character: longest side < ``min_size`` or height > ``max_height`` typical heights,
       or flatter than ``min_size`` and wider than 2 typical heights (an underline), or -- given the page's
       ``stroke`` width -- a single stroke longer than 2.5 typical heights at any angle (2.5 x the height of
       the writing around it, where that is larger, up to twice the typical: a big title's V or Y is a few
       long strokes too): a rule, a sheet's or card's edge, a crease (its ink is about stroke x length;
       written letters hold several strokes per length)."""
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
    local = np.maximum(local_heights(boxes, area, height), min_size * height) if len(boxes) else np.zeros(0)
    for _ in range(8):
        r0, c0, r1, c1 = boxes.T
        width = np.maximum(c1 - c0, 1)
        a, b = near_pairs(boxes, max_merge_height * local.max(initial=height), 1.5 * local.max(initial=height))
        size = np.minimum(local[a], local[b])  # the smaller writing of the two: only these can fit merged
        union_h = np.maximum(r1[a], r1[b]) - np.minimum(r0[a], r0[b])
        union_w = np.maximum(c1[a], c1[b]) - np.minimum(c0[a], c0[b])
        fits = (union_h <= max_merge_height * size) & (union_w <= 1.5 * size)
        a, b = a[fits], b[fits]
        overlap = np.minimum(c1[a], c1[b]) - np.maximum(c0[a], c0[b])
        linked = (overlap >= merge_overlap * np.minimum(width[a], width[b])) & (overlap > 0)
        gap = np.maximum(np.maximum(r0[a], r0[b]) - np.minimum(r1[a], r1[b]), -overlap)
        # fragments join their nearest neighbour; a mark (the dot of "1.", a speck) is neither end of that
        mark = is_mark(boxes, min_size * local, area)
        frag = ((r1 - r0) < partial * local) & ~mark
        src_, dst, gsd = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([gap, gap])
        # a small piece high beside a character is a stroke end cut off at low resolution (the arm of a thin
        # pen "Y" or "V"), never a full stop (those sit on the line): it joins like a fragment, a little farther
        high = mark[src_] & ((r0[src_] + r1[src_]) / 2 < r0[dst] + top * (r1[dst] - r0[dst]))
        sel = (frag[src_] | high) & ~mark[dst]
        src_, dst, gsd = src_[sel], dst[sel], np.where(high[sel], gsd[sel] / 2, gsd[sel])
        order = np.lexsort((dst, gsd, src_))  # per fragment: nearest first (ties: lower index, as argmin)
        src_, dst, gsd = src_[order], dst[order], gsd[order]
        first = np.ones(len(src_), bool)
        first[1:] = src_[1:] != src_[:-1]
        close = first & (gsd <= near * local[src_])
        la = np.concatenate([a[linked], src_[close]])
        lb = np.concatenate([b[linked], dst[close]])
        if not len(la):
            break
        root = _union_fitting(boxes, la, lb, np.concatenate([gap[linked], gsd[close]]),
                              max_merge_height * local, 1.5 * local)
        if (root == np.arange(len(boxes))).all():
            break
        boxes, area, members, local = _group(boxes, area, members, _graph(len(boxes), np.arange(len(boxes)), root),
                                             local)
    h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    rule = (h < min_size * height) & (w > 2 * height)  # underlines, fraction bars: no capital is that flat
    if stroke > 0:  # long for the writing around it, up to twice the page's: a title's V or Y is no rule
        length = np.hypot(h, w)
        a, b = near_pairs(boxes, 0, 1.5 * height)
        among = np.bincount(np.concatenate([a, b]), minlength=len(boxes)) > 0  # alone, a stroke is its own size
        around = np.where(among, np.clip(local, height, 2 * height), height)
        rule |= (length > 2.5 * around) & (area <= 1.5 * stroke * length)
    ok = (np.maximum(h, w) >= min_size * height) & (h <= max_height * height) & ~rule
    dropped.append(boxes[~ok])
    return Chars(boxes[ok], area[ok], [m for m, k in zip(members, ok) if k], height, np.concatenate(dropped))


__all__ = ["Chars", "find_chars", "is_mark", "local_heights", "near_pairs", "weighted_median"]
