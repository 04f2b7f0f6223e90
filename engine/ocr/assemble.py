"""Pieces of a line -> characters: re-assemble characters whose strokes broke apart (thin pencil, faint pen).

A pencil D can leave its bow detached from its stem; read alone they are "T" and "J". Within a line, pieces
that overlap horizontally, or nearly (a gap well under the writer's own letter spacing), belong to one
character -- unless the merged box would be far wider than the line's typical character (two letters side by
side). Small round marks (the dot of "1.", specks) are kept out of characters. Every size is relative to the
line itself, so one rule serves small and large writing.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.ocr.layout import is_mark, weighted_median
from engine.ocr.lines import word_breaks
from engine.ocr.result import Box


@dataclass
class Assembled:
    """Characters made of pieces: ``group[k]`` is the character index of piece k (-1: a mark left out)."""
    boxes: list[Box]        # the characters, in reading order
    group: np.ndarray       # (n_pieces,) int
    marks: list[Box]        # pieces kept out as marks (for display)
    joined: int             # how many pieces were joined to a neighbour


def line_measures(pieces: list[Box], area: np.ndarray) -> tuple[float, float, float]:
    """(typical height, typical character width, letter gap) of one line: ink-weighted medians, so a few broken
    pieces do not move them; the letter gap is the median positive gap between neighbouring pieces (at least
    a tenth of the height: letters that touch have no gap to measure)."""
    h = np.array([b.height for b in pieces], float)
    w = np.array([b.width for b in pieces], float)
    height = weighted_median(h, area)
    width = max(weighted_median(w, area), 0.4 * height)
    c0 = np.array([b.col0 for b in pieces])
    c1 = np.maximum.accumulate(np.array([b.col1 for b in pieces]))
    gaps = c0[1:] - c1[:-1]
    gaps = gaps[gaps > 0]
    return height, width, max(float(np.median(gaps)) if len(gaps) else 0.25 * height, 0.1 * height)


def stray_line(pieces: list[Box], page_height: float, thin: float = 0.25, short: float = 0.85,
               tall: float = 1.25, tiny: float = 0.5) -> bool:
    """A "line" that is no text: only pieces under ``tiny`` x the page's typical character height (specks of
    thin strokes at low resolution), or one or two bare strokes (narrower than ``thin`` x that height and
    shorter than ``short`` x or taller than ``tall`` x it: the broken edge of a sheet, a fold, a ruled
    margin). A written "I" alone is about as tall as the page's letters and stays."""
    h = np.array([b.height for b in pieces], float)
    w = np.array([b.width for b in pieces], float)
    if (np.maximum(h, w) < tiny * page_height).all():
        return True
    off_size = (h < short * page_height) | (h > tall * page_height)
    return len(pieces) <= 2 and bool(((w < thin * page_height) & off_size).all())


def rule_lines(pieces: list[Box], by_line: dict[int, list[int]], page_height: float, thin: float = 0.25) -> set[int]:
    """Lines that are one bare stroke standing in the same column as another such line: the pieces of a
    broken vertical rule or sheet edge, each read as an "I" of its own line (a real lone "I" on several
    lines exactly one above the other is rare)."""
    lone = [(line, pieces[idx[0]]) for line, idx in by_line.items()
            if len(idx) == 1 and pieces[idx[0]].width < thin * page_height]
    reach = thin * page_height
    return {la for la, a in lone for lb, b in lone
            if la != lb and a.col0 - reach <= b.col1 and b.col0 - reach <= a.col1}


def assemble_pieces(pieces: list[Box], area: np.ndarray, join_gap: float = 0.35, max_width: float = 1.6,
                    mark: float = 0.3, narrow: float = 0.5, space: float = 0.3, height: float | None = None
                    ) -> Assembled:
    """Join the pieces of each line (``pieces`` in reading order, with line and space_before set).

    A piece joins the character before it when the two overlap horizontally by half the narrower one, or
    when the narrower is a narrow piece (under ``narrow`` x the line's typical character width: a stem, a
    bar) within ``join_gap`` x the line's letter gap (overlapping counts as gap <= 0) -- and in both cases
    only while the joined box stays within ``max_width`` x the line's typical character width. Pieces whose
    longest side is under ``mark`` x the line's typical height and that are not elongated are marks: kept out,
    and so are lines of nothing but specks or bare strokes (``stray_line``). Word gaps are then found again
    (``word_breaks``, ``space`` x the page's character ``height``) between the joined characters: the gaps
    inside a broken letter no longer pull the typical letter gap down and make false word gaps."""
    group = np.full(len(pieces), -1)
    out: list[Box] = []
    marks: list[Box] = []
    joined = 0
    by_line: dict[int, list[int]] = {}
    for i, b in enumerate(pieces):
        by_line.setdefault(b.line, []).append(i)
    page_height = weighted_median(np.array([b.height for b in pieces], float), area) if pieces else 0.0
    ruled = rule_lines(pieces, by_line, page_height)
    for line in sorted(by_line):
        idx = by_line[line]
        if line in ruled or stray_line([pieces[i] for i in idx], page_height):
            marks += [pieces[i] for i in idx]
            continue
        height, width, letter_gap = line_measures([pieces[i] for i in idx], area[idx])
        rects = np.array([pieces[i].rect for i in idx], np.int64).reshape(-1, 4)
        small = dict(zip(idx, is_mark(rects, mark * height, area[idx])))
        start = len(out)
        for i in sorted(idx, key=lambda i: (pieces[i].col0, pieces[i].row0)):
            b = pieces[i]
            if small[i]:
                marks.append(b)
                continue
            prev = out[-1] if len(out) > start else None
            if prev is not None:
                gap = b.col0 - prev.col1
                merged_w = max(prev.col1, b.col1) - min(prev.col0, b.col0)
                narrower = min(prev.width, b.width)
                # two wide pieces that merely touch are two letters (a T's bar over an L): they must overlap
                # by half the narrower; a narrow piece (a stem, a bar) may also be a short gap away
                near = (gap <= -0.5 * narrower) or (gap <= join_gap * letter_gap and narrower <= narrow * width)
                if near and merged_w <= max_width * width:
                    out[-1] = replace(prev, row0=min(prev.row0, b.row0), col0=min(prev.col0, b.col0),
                                      row1=max(prev.row1, b.row1), col1=max(prev.col1, b.col1),
                                      members=sorted(set(prev.members) | set(b.members)), input=None)
                    group[i] = len(out) - 1
                    joined += 1
                    continue
            out.append(replace(b, members=list(b.members), input=None))
            group[i] = len(out) - 1
    lines = np.array([b.line for b in out])
    cut = np.flatnonzero(np.diff(lines)) + 1 if len(out) else []
    gaps = [np.array([b.col0 - a.col1 for a, b in zip(ln, ln[1:])], float) for ln in np.split(np.array(out, object), cut)
            ] if out else []
    spaces, _ = word_breaks(gaps, page_height if height is None else height, space)
    flat = [sp for line_spaces in spaces for sp in line_spaces]
    out = [replace(b, space_before=sp) for b, sp in zip(out, flat)]
    return Assembled(out, group, marks, joined)


def colour_groups(labels: np.ndarray, pieces: list[Box], group: np.ndarray) -> np.ndarray:
    """RGB picture: every piece in its character's colour (neighbouring characters alternate hues), marks grey."""
    rng = np.random.default_rng(3)
    palette = np.vstack([[1.0, 1.0, 1.0], [0.6, 0.6, 0.6], rng.uniform(0.05, 0.75, (max(len(group), 1) + 1, 3))])
    lut = np.zeros(int(labels.max()) + 1, np.int64)
    for b, g in zip(pieces, group):
        lut[b.members] = 1 if g < 0 else g + 2
    return palette[lut[labels]].astype(np.float32)


__all__ = ["Assembled", "assemble_pieces", "colour_groups", "line_measures", "rule_lines", "stray_line"]
