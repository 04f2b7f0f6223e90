"""Reading in context: a word that is mostly digits is read among digits, a word mostly of letters among letters.

In handwriting 0/O, 1/I, 2/Z, 5/S, 6/G, 8/B are the same shapes, so a box alone often cannot tell. Its line
can: "1 2 3 4 5 6 7 8 9 0" is a row of numbers even where each box alone leans to I/Z/S/G/O, because 3, 4, 7
and 9 have no letter twin. So look-alike classes carry little of the vote (an O-or-0 shape says nothing about
whether its word is a number); the unambiguous shapes decide. The rule, per word:

    vote(box)  = its digit probability mass - its letter mass, look-alike classes counted x twin_weight
    score(word) = sum of its boxes' votes + line_weight * unsure * mean vote of the other boxes of its context
    unsure      = 1 - |mean digit-minus-letter mass of the word's boxes|  (a confident word needs no help)
    kind(word) = digits if score > 0 else letters

and every box of the word takes the best class of that kind from its own probability vector (a box whose own
reading is at least ``sure`` probable keeps it). The context of a word is its line -- except for list
markers: a one-character first word on several lines ("1." "2." "3.") is judged with the other markers,
not with the words after it. No dictionary: only the classifier's own probabilities and the layout.
"""
from __future__ import annotations

import numpy as np

from engine.ocr.result import Box


def words_of(boxes: list[Box]) -> list[list[int]]:
    """Indices of the boxes of each word, in reading order (a word ends at a space or a line end)."""
    words, cur = [], []
    for i, b in enumerate(boxes):
        if cur and (b.space_before or b.line != boxes[cur[-1]].line):
            words.append(cur)
            cur = []
        cur.append(i)
    return words + [cur] if cur else words


LOOKALIKE = ("O0", "I1", "Z2", "S5", "G6", "B8")


def kinds(classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    names = np.array(classes)
    return np.char.isalpha(names), np.char.isdigit(names)


def top5(p: np.ndarray, classes: tuple[str, ...], among: np.ndarray | None = None) -> list[tuple[str, float]]:
    """The five most probable classes (restricted to ``among`` when given), best first."""
    idx = np.arange(len(p)) if among is None else np.nonzero(among)[0]
    best = idx[np.argsort(-p[idx], kind="stable")[:5]]
    return [(classes[k], float(p[k])) for k in best]


def contexts(boxes: list[Box], words: list[list[int]]) -> list[int]:
    """Context id per word: its line, or the shared list-marker context (-1) for one-character first words
    when at least two lines start with one."""
    n_words = np.bincount([boxes[idx[0]].line for idx in words])
    first = {}
    for w, idx in enumerate(words):
        first.setdefault(boxes[idx[0]].line, w)
    markers = {w for line, w in first.items() if len(words[w]) == 1 and n_words[line] > 1}
    if len(markers) < 2:
        markers = set()
    return [-1 if w in markers else boxes[idx[0]].line for w, idx in enumerate(words)]


def choose(boxes: list[Box], probs: np.ndarray, classes: tuple[str, ...], line_weight: float = 1.0,
           sure: float = 0.99, twin_weight: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(class index per box, kind per box: 1 digits, -1 letters, 0 left alone) under the word rule."""
    choice = probs.argmax(1) if len(probs) else np.zeros(0, int)
    kind = np.zeros(len(boxes), int)
    if not len(boxes):
        return choice, kind
    letters, digits = kinds(classes)
    if not letters.any() or not digits.any():
        return choice, kind
    twin = np.isin(np.array(classes), list("".join(LOOKALIKE)))
    weight = np.where(twin, twin_weight, 1.0)
    sign = digits.astype(float) - letters
    vote, full = (probs * weight * sign).sum(1), (probs * sign).sum(1)
    words = words_of(boxes)
    ctx = contexts(boxes, words)
    ctx_of_box = np.empty(len(boxes), int)
    for w, idx in enumerate(words):
        ctx_of_box[idx] = ctx[w]
    for w, idx in enumerate(words):
        others = (ctx_of_box == ctx[w])
        others[idx] = False
        prior = float(vote[others].mean()) if others.any() else 0.0
        unsure = 1.0 - abs(float(full[idx].mean()))  # the line counts as much as the word is unsure alone
        score = float(vote[idx].sum()) + line_weight * unsure * prior
        k = 1 if score > 0 else -1
        among = digits if k > 0 else letters
        for i in idx:
            if probs[i].max() >= sure:
                continue
            choice[i] = int(np.argmax(np.where(among, probs[i], -1.0)))
            kind[i] = k
    return choice, kind


def apply_context(boxes: list[Box], classes: tuple[str, ...], line_weight: float = 1.0, sure: float = 0.99,
                  twin_weight: float = 0.2) -> list[Box]:
    """Set char, confidence and context_top5 of boxes that carry ``probs`` (raw fields are left as read)."""
    have = [b for b in boxes if b.probs is not None]
    if not have:
        return boxes
    probs = np.stack([b.probs for b in have])
    choice, kind = choose(have, probs, classes, line_weight, sure, twin_weight)
    letters, digits = kinds(classes)
    for b, c, k, p in zip(have, choice, kind, probs):
        b.char, b.confidence = classes[c], float(p[c])
        b.context_top5 = top5(p, classes, digits if k > 0 else letters if k < 0 else None)
    return boxes


_GLYPHS: dict[str, np.ndarray] = {}


def _glyph(c: str) -> np.ndarray:
    """A clean 32x32 picture of a class (white for a space or an unknown character), cached."""
    if c not in _GLYPHS:
        from engine.glyphs import render_char
        from engine.dataset import NIST36_CLASSES
        _GLYPHS[c] = render_char(c) if c in NIST36_CLASSES else np.ones((32, 32), np.float32)
    return _GLYPHS[c]


def side_by_side(raw: list[str], read: list[str], pitch: int = 24) -> np.ndarray:
    """RGB picture of two readings, line by line: each box alone on the left, in context on the right;
    characters the context changed are drawn in red on both sides (display only, not page-shaped)."""
    width = max([len(x) for x in raw + read] + [1])
    out = np.ones((max(len(raw), 1) * (pitch + 8) + 8, 2 * width * pitch + 3 * pitch, 3), np.float32)
    out[:, width * pitch + pitch + pitch // 2 - 1:width * pitch + pitch + pitch // 2 + 1] = 0.6  # divider
    for li, (a, b) in enumerate(zip(raw, read)):
        for side, text in ((0, a), (1, b)):
            for k, c in enumerate(text):
                pick = np.linspace(0, 31, pitch).round().astype(int)
                g = np.asarray(_glyph(c)[np.ix_(pick, pick)], np.float32)
                r0, c0 = 8 + li * (pitch + 8), pitch + side * (width * pitch + pitch) + k * pitch
                tile = np.repeat(g[..., None], 3, 2)
                if k < len(a) and k < len(b) and a[k] != b[k]:
                    tile[..., 0] = 1 - (1 - g) * 0.2  # red ink
                out[r0:r0 + g.shape[0], c0:c0 + g.shape[1]] = tile
    return np.clip(out, 0, 1)


__all__ = ["LOOKALIKE", "apply_context", "choose", "contexts", "kinds", "side_by_side", "top5", "words_of"]
