"""Boxes -> characters: the network's reading, with the segmentation fixes only a reader can make.

Geometry alone cannot tell a stroke that missed its joint (an N drawn as a V and a separate bar) from an
I standing close to its neighbour, nor two touching letters from one wide M. So the classify stage asks
the network: two touching boxes are merged when the merged crop reads better than the pieces did, a wide
box is cut into the 2-4 characters that read best, at columns where its ink is thinnest, when they read
better than the whole (each extra character must earn its place).
Each box keeps its full probability vector (``Box.probs``) for the context stage (engine.ocr.context),
which reads words as letters or digits.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
from scipy import ndimage

from engine.data.dataset import from_image
from engine.ocr.context import shape_confidence, top5, words_of
from engine.ocr.normalize import normalize_masks
from engine.ocr.result import Box

BRIDGE = 0.06  # closing radius for a character made of several pieces, x its height


def crop_mask(labels: np.ndarray, mask: np.ndarray, box: Box, bridge: float = BRIDGE) -> np.ndarray:
    """The ink of one character: its own components only (a neighbour reaching into the box is left out);
    a box without members (drawn by hand) takes all ink inside it. A character assembled from several pieces
    has the small breaks between them bridged (a closing of ``bridge`` x its height), so a D whose bow
    stopped short of its stem is read as one closed shape, as the writer meant it."""
    sl = (slice(box.row0, box.row1), slice(box.col0, box.col1))
    if not box.members:
        return mask[sl]
    ink = np.isin(labels[sl], box.members)
    r = int(round(bridge * box.height))
    if len(box.members) > 1 and r > 0:
        pad = np.pad(ink, r)
        ink = ndimage.binary_closing(pad, _disk(r))[r:-r, r:-r] | ink
    return ink


def _disk(r: int) -> np.ndarray:
    y, x = np.ogrid[-r:r + 1, -r:r + 1]
    return x * x + y * y <= r * r


class Reader:
    """Classifies boxes of one page; keeps each box's full probability vector in ``probs``."""

    def __init__(self, classifier, labels: np.ndarray, mask: np.ndarray):
        self.classifier, self.labels, self.mask = classifier, labels, mask
        self.probs: dict[int, np.ndarray] = {}  # by id(box); _seen keeps those boxes alive so ids stay unique
        self._seen: list[Box] = []

    def read(self, boxes: list[Box]) -> None:
        """Network inputs (if missing) and probabilities for boxes."""
        todo = [b for b in boxes if id(b) not in self.probs]
        fresh = [b for b in todo if b.input is None]
        for b, im in zip(fresh, normalize_masks([crop_mask(self.labels, self.mask, b) for b in fresh],
                                                [b.slope for b in fresh])):
            b.input = im
        if todo:
            p = self.classifier.probs(np.stack([from_image(b.input) for b in todo]))
            for b, row in zip(todo, p):
                self.probs[id(b)] = row
            self._seen += todo

    def conf(self, b: Box) -> float:
        """How well a box reads as *some* character: look-alikes (O/0, I/1, ...) count as one, so an O
        that is half 0 is not mistaken for a poor reading."""
        self.read([b])
        return float(shape_confidence(self.probs[id(b)][None], self.classifier.classes)[0])

    def merged(self, a: Box, b: Box) -> Box:
        return Box(min(a.row0, b.row0), min(a.col0, b.col0), max(a.row1, b.row1), max(a.col1, b.col1),
                   line=a.line, slope=a.slope, space_before=a.space_before,
                   members=[] if not (a.members and b.members) else sorted(set(a.members) | set(b.members)))

    def segmentations(self, b: Box, max_parts: int, min_width: int, n: int = 6) -> list[list[Box]]:
        """Ways to cut a box into 2..``max_parts`` characters: every choice of cuts among the ``n`` columns with
        the least ink (none in the outer tenth, at least ``min_width`` apart and from the ends; among equally
        thin columns, nearer the middle first). Touching letters need not be equally wide: an I run into a V
        and a D is cut where its own thin joins are."""
        m = crop_mask(self.labels, self.mask, b)
        w = m.shape[1]
        lo, hi = max(int(0.1 * w), min_width), min(int(0.9 * w), w - min_width)
        if hi - lo < 1:
            return []
        profile = ndimage.uniform_filter1d(m.sum(0).astype(float), max(3, w // 30))
        cols = np.arange(lo, hi)
        key = profile[lo:hi] / max(profile.max(), 1e-9) + 0.2 * np.abs(cols - w / 2) / w
        picked: list[int] = []
        for c in cols[np.argsort(key, kind="stable")]:
            if all(abs(c - q) >= max(min_width, w // 10) for q in picked):
                picked.append(int(c))
            if len(picked) == n:
                break
        parts: dict[tuple[int, int], Box | None] = {}
        out = []
        for k in range(1, max_parts):
            for cut in combinations(picked, k):  # the thinnest first: it wins a tie
                ends = (0, *sorted(cut), w)
                pieces = [parts.setdefault(e, self.part(b, m, *e)) for e in zip(ends, ends[1:])]
                if all(p is not None for p in pieces):
                    out.append(pieces)
        return out

    def part(self, b: Box, m: np.ndarray, c0: int, c1: int) -> Box | None:
        """The piece of box ``b`` (ink ``m``) between its columns c0 and c1, its box shrunk to its ink."""
        piece = m[:, c0:c1]
        rows, cols = np.nonzero(piece.any(1))[0], np.nonzero(piece.any(0))[0]
        if len(rows) == 0:
            return None
        return replace(b, row0=b.row0 + int(rows[0]), row1=b.row0 + int(rows[-1]) + 1,
                       col0=b.col0 + c0 + int(cols[0]), col1=b.col0 + c0 + int(cols[-1]) + 1,
                       input=None, space_before=b.space_before and c0 == 0)


@dataclass
class LineSize:
    """A line's letter size: its median box height and the median width of its single letters, px."""
    height: float
    width: float


def line_sizes(boxes: list[Box], fallback: float = 0.0) -> dict[int, LineSize]:
    """Per line, its own letter size (a title is big, a note small): median box height, and median width of
    the boxes no wider than 1.3 x that (letters, not blobs of touching ones; 0.7 x the height if none)."""
    by: dict[int, list[Box]] = {}
    for b in boxes:
        by.setdefault(b.line, []).append(b)
    out = {}
    for line, bs in by.items():
        h = float(np.median([b.height for b in bs])) if bs else fallback
        single = [b.width for b in bs if b.width <= 1.3 * h]
        out[line] = LineSize(h, float(np.median(single)) if single else 0.7 * h)
    return out


def merge_touching(reader: Reader, boxes: list[Box], merge_gap: float, narrow_gap: float = 0.3) -> list[Box]:
    """Merge neighbours in a line that (almost) touch -- a gap under ``merge_gap`` x the line's height, or under
    ``narrow_gap`` x it when both are narrow (half the line's letter width: the two stems of an H whose bar
    broke) -- when the merged crop reads more confidently than either piece: the geometric-mean rule keeps
    two clearly read letters apart."""
    sizes = line_sizes(boxes)
    out: list[Box] = []
    for b in boxes:
        a = out[-1] if out else None
        if a is not None and a.line == b.line:
            size = sizes[b.line]
            narrow = max(a.width, b.width) <= 0.5 * size.width
            gap = b.col0 - a.col1
            if (gap <= (narrow_gap if narrow else merge_gap) * size.height
                    and max(a.col1, b.col1) - min(a.col0, b.col0) <= 1.3 * size.height):
                m = reader.merged(a, b)
                pm, pa, pb = reader.conf(m), reader.conf(a), reader.conf(b)
                if pm > np.sqrt(pa * pb) and pm >= 0.5:
                    out[-1] = m
                    continue
        out.append(b)
    return out


def segment_score(reader: Reader, parts: list[Box], limit: float, wide: float) -> float:
    """How well ``parts`` read as one character each: the mean of log shape confidence, less ``wide`` x log of
    how much wider than ``limit`` each part is (one letter is rarely much wider than the line's letters)."""
    conf = np.array([reader.conf(p) for p in parts])
    excess = np.maximum(np.log(np.array([p.width for p in parts], float) / max(limit, 1.0)), 0.0)
    return float(np.mean(np.log(np.maximum(conf, 1e-3)) - wide * excess))


def split_wide(reader: Reader, boxes: list[Box], split_width: float, wide: float = 1.0, much: float = 1.6,
               margin: float = 0.1, depth: int = 2) -> list[Box]:
    """Cut boxes wider than ``split_width`` x their line's height (or ``much`` x its letters' width) into the
    2-4 characters that read best (``Reader.segmentations``; 3 or 4 only where the box is that many letters
    wide, less 0.6), when that reads better than the whole by ``margin`` (``segment_score``). A box wider than
    ``much`` x the line's letter width pays for its width, so letters run together into one blob are tried and
    cut however surely the blob reads as some wide letter (an M at 0.94). A piece still that wide is tried
    again on its own (``depth`` levels): a blob of five letters has its thinnest columns in a few of its joins,
    and the others' joins are the thinnest of its pieces."""
    sizes = line_sizes(boxes)
    out: list[Box] = []
    for b in boxes:
        out.extend(_cut(reader, b, sizes[b.line], split_width, wide, much, margin, depth))
    return out


def _cut(reader: Reader, b: Box, size: LineSize, split_width: float, wide: float, much: float, margin: float,
         depth: int) -> list[Box]:
    limit = much * size.width
    if depth < 1 or b.width < min(split_width * size.height, limit):
        return [b]
    best, best_score = [b], segment_score(reader, [b], limit, wide)
    max_parts = max([k for k in (3, 4) if b.width >= (k - 0.6) * size.width] + [2])
    candidates = reader.segmentations(b, max_parts, max(1, int(np.ceil(0.2 * size.height))))
    reader.read(list({id(p): p for c in candidates for p in c}.values()))
    for parts in candidates:
        score = segment_score(reader, parts, limit, wide) - margin * (len(parts) - 1)
        if score > best_score:
            best, best_score = parts, score
    if len(best) == 1:
        return best
    return [q for p in best for q in _cut(reader, p, size, split_width, wide, much, margin, depth - 1)]


def label(boxes: list[Box], probs: np.ndarray, classes: tuple[str, ...], consistency: float) -> None:
    """Set char, confidence and top5 from probabilities, reading each word as all letters or all digits
    when that is at least ``consistency`` times as likely as the best unconstrained reading."""
    if not boxes:
        return
    names = np.array(classes)
    choice = probs.argmax(1)
    kinds = [k for k in (np.char.isalpha(names), np.char.isdigit(names)) if k.any()]
    floor = np.log(max(consistency, 1e-12))
    for w in words_of(boxes):
        if len(w) < 2:
            continue
        pw = probs[w]
        free = np.log(np.maximum(pw.max(1), 1e-12)).sum()
        best, best_cost = None, -np.inf
        for kind in kinds:
            sub = np.where(kind, pw, 0.0)
            cost = np.log(np.maximum(sub.max(1), 1e-12)).sum() - free  # <= 0: log of relative likelihood
            if cost > best_cost:
                best, best_cost = sub, cost
        if best is not None and best_cost >= floor:
            choice[w] = best.argmax(1)
    for i, b in enumerate(boxes):
        b.char, b.confidence = str(names[choice[i]]), float(probs[i, choice[i]])
        b.top5 = top5(probs[i], tuple(classes))
        b.raw_char, b.context_top5, b.probs = b.top5[0][0], list(b.top5), probs[i]


def recognize(classifier, boxes: list[Box], labels: np.ndarray, mask: np.ndarray, consistency: float = 1.0,
              merge_gap: float = 0.08, split_width: float = 1.15, narrow_gap: float = 0.3, wide: float = 1.0
              ) -> list[Box]:
    """Read boxes in reading order; returns the (possibly merged/split) boxes with chars filled in. Sizes are
    each line's own (``line_sizes``)."""
    if not boxes:
        return []
    reader = Reader(classifier, labels, mask)
    boxes = [replace(b) for b in boxes]
    reader.read(boxes)
    boxes = merge_touching(reader, boxes, merge_gap, narrow_gap)
    boxes = split_wide(reader, boxes, split_width, wide)
    boxes = merge_touching(reader, boxes, merge_gap, narrow_gap)  # a cut-off piece may join its other half
    reader.read(boxes)
    label(boxes, np.array([reader.probs[id(b)] for b in boxes]), classifier.classes, consistency)
    return boxes


__all__ = ["LineSize", "Reader", "crop_mask", "label", "line_sizes", "merge_touching", "recognize", "segment_score",
           "split_wide"]
