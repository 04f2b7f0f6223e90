"""Boxes -> characters: the network's reading, with the segmentation fixes only a reader can make.

Geometry alone cannot tell a stroke that missed its joint (an N drawn as a V and a separate bar) from an
I standing close to its neighbour, nor two touching letters from one wide M. So the classify stage asks
the network: two touching boxes are merged when the merged crop reads better than the pieces did, a wide
low-confidence box is cut where its column ink is thinnest when both halves read better than the whole.
Each box keeps its full probability vector (``Box.probs``) for the context stage (engine.ocr.context),
which reads words as letters or digits.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from engine.data.dataset import from_image
from engine.ocr.context import shape_confidence, top5, words_of
from engine.ocr.normalize import normalize_mask
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
        for b in todo:
            if b.input is None:
                b.input = normalize_mask(crop_mask(self.labels, self.mask, b), angle=b.slope)
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

    def cuts(self, b: Box, n: int = 4) -> list[tuple[Box, Box]]:
        """Up to n ways to cut a box in two at the columns with the least ink (middle 60 % only)."""
        m = crop_mask(self.labels, self.mask, b)
        w = m.shape[1]
        profile = ndimage.uniform_filter1d(m.sum(0).astype(float), max(3, w // 30))
        lo, hi = int(0.2 * w), int(0.8 * w)
        if hi - lo < 2:
            return []
        cols = np.arange(lo, hi)  # thin ink first; among equally thin columns, nearer the middle first
        key = profile[lo:hi] / max(profile.max(), 1e-9) + 0.2 * np.abs(cols - w / 2) / w
        order = cols[np.argsort(key, kind="stable")]
        picked: list[int] = []
        for c in order:
            if all(abs(c - q) > w // 10 for q in picked):
                picked.append(int(c))
            if len(picked) == n:
                break
        out = []
        for c in picked:
            parts = []
            for part, off in ((m[:, :c], 0), (m[:, c:], c)):
                rows, cols = np.nonzero(part.any(1))[0], np.nonzero(part.any(0))[0]
                if len(rows) == 0:
                    break
                parts.append(replace(b, row0=b.row0 + int(rows[0]), row1=b.row0 + int(rows[-1]) + 1,
                                     col0=b.col0 + off + int(cols[0]), col1=b.col0 + off + int(cols[-1]) + 1,
                                     input=None, space_before=b.space_before and off == 0))
            if len(parts) == 2:
                out.append((parts[0], parts[1]))
        return out


def merge_touching(reader: Reader, boxes: list[Box], height: float, merge_gap: float) -> list[Box]:
    """Merge neighbours in a line that (almost) touch when the merged crop reads more confidently than
    either piece: the geometric-mean rule keeps two clearly read letters apart."""
    out: list[Box] = []
    for b in boxes:
        a = out[-1] if out else None
        if (a is not None and a.line == b.line and b.col0 - a.col1 <= merge_gap * height
                and max(a.col1, b.col1) - min(a.col0, b.col0) <= 1.3 * height):
            m = reader.merged(a, b)
            pm, pa, pb = reader.conf(m), reader.conf(a), reader.conf(b)
            if pm > np.sqrt(pa * pb) and pm >= 0.5:
                out[-1] = m
                continue
        out.append(b)
    return out


def split_wide(reader: Reader, boxes: list[Box], height: float, split_width: float, depth: int = 3) -> list[Box]:
    """Cut boxes wider than ``split_width`` typical heights that read poorly, when both halves read better."""
    out: list[Box] = []
    for b in boxes:
        if depth > 0 and b.width >= split_width * height:
            whole = reader.conf(b)
            best, best_score = None, whole
            for left, right in reader.cuts(b):
                if min(left.width, right.width) < 0.2 * height:
                    continue
                score = min(reader.conf(left), reader.conf(right))
                if score > best_score + 0.1:
                    best, best_score = (left, right), score
            if best is not None:
                out.extend(split_wide(reader, list(best), height, split_width, depth - 1))
                continue
        out.append(b)
    return out


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


def recognize(classifier, boxes: list[Box], labels: np.ndarray, mask: np.ndarray, height: float,
              consistency: float = 1.0, merge_gap: float = 0.08, split_width: float = 1.15) -> list[Box]:
    """Read boxes in reading order; returns the (possibly merged/split) boxes with chars filled in."""
    if not boxes:
        return []
    reader = Reader(classifier, labels, mask)
    boxes = [replace(b) for b in boxes]
    reader.read(boxes)
    if height > 0:
        boxes = merge_touching(reader, boxes, height, merge_gap)
        boxes = split_wide(reader, boxes, height, split_width)
        boxes = merge_touching(reader, boxes, height, merge_gap)  # a cut-off piece may join its other half
    reader.read(boxes)
    label(boxes, np.array([reader.probs[id(b)] for b in boxes]), classifier.classes, consistency)
    return boxes


__all__ = ["Reader", "crop_mask", "label", "recognize"]
