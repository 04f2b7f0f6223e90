"""Reading in context: a word that is mostly digits is read among digits, a word mostly of letters among letters.

In handwriting 0/O, 1/I, 2/Z, 5/S, 6/G, 8/B are the same shapes, so a box alone often cannot tell. Its line
can: "1 2 3 4 5 6 7 8 9 0" is a row of numbers even where each box alone leans to I/Z/S/G/O, because 3, 4, 7
and 9 have no letter twin. So each box gives evidence for "letters" and "digits" from its full probability
vector, with look-alike pairs counting little (an O-or-0 shape says little about whether its word is a number):

    mass(box, kind) = its probability of that kind's classes, where for a look-alike pair (O, 0) only
                      twin_weight of each twin's probability counts for its own kind, the rest of the pair's
                      probability is shared half and half

Then the kinds of the boxes along a line are chosen together (a two-state Viterbi path) to maximise
sum(log mass) minus a cost for every change of kind: ``switch_space`` nats between two words (so a word of
look-alikes follows its neighbours, a confident number in a line of words stays a number) and the larger
``switch_word`` inside a word (less where the gap inside the word is unusually wide: a word gap the layout
missed, "K08016"), so a word is read all-letters or all-digits unless its boxes insist. Every box then takes
the best class of its kind from its own vector, a look-alike counting its twin's probability too
(``with_twins``; a box whose own reading is at least ``sure`` probable keeps it). List markers -- one-character first words on several lines ("1." "2." "3.") -- form their own sequence
down the page instead of joining their lines.

A word of three or more boxes that each read as a look-alike shape or a digit, one of them a clear digit, is
a number (``number_words``): "21250" read Z I 2 5 O, or "08500" read O 8 5 O O after a word. Words of
letters drawn only from O I Z S G B ("BIG", "SOS") are rare; numbers drawn only from their twins 0 1 2 5 6 8
are common (a third of 3-digit numbers), so such a word's look-alikes say nothing of its kind (neutral
evidence), and reading it as letters costs ``numbers`` nats. A word of look-alikes with no clear digit
(IS, SO, ZIZSO read as letters throughout) is left to its boxes and neighbours. No dictionary: only the
classifier's probabilities and the layout.
"""
from __future__ import annotations

import numpy as np

from engine.data.dataset import NIST36_CLASSES
from engine.data.glyphs import render_char
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
PLURALITY = 1.5  # a best class at least this many times the next is a clear reading: the context keeps it


def shape_confidence(probs: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """(n,) how well each row reads as *some* shape: its top probability, a look-alike pair (O/0, I/1, ...)
    counting as one shape, so an O that is half 0 is not mistaken for a poor reading."""
    index = {c: i for i, c in enumerate(classes)}
    pairs = [[index[a], index[d]] for a, d in LOOKALIKE if a in index and d in index]
    best = probs.max(1)
    return np.maximum(best, probs[:, pairs].sum(2).max(1)) if pairs else best


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


def kind_mass(probs: np.ndarray, classes: tuple[str, ...], twin_weight: float = 0.6) -> np.ndarray:
    """(n, 2) evidence for [letters, digits] per box (see the module docstring), each row summing to 1."""
    letters, digits = kinds(classes)
    m = np.stack([probs[:, letters].sum(1), probs[:, digits].sum(1)], 1)
    index = {c: i for i, c in enumerate(classes)}
    for a, d in LOOKALIKE:
        if a in index and d in index:
            pa, pd = probs[:, index[a]], probs[:, index[d]]
            shared = (1 - twin_weight) * (pa + pd) / 2
            m[:, 0] += shared - (1 - twin_weight) * pa
            m[:, 1] += shared - (1 - twin_weight) * pd
    return m / np.maximum(m.sum(1, keepdims=True), 1e-12)


def number_words(words: list[list[int]], probs: np.ndarray, classes: tuple[str, ...], min_len: int = 3
                 ) -> list[list[int]]:
    """The words that read as numbers by their shapes (module docstring): at least ``min_len`` boxes, each
    one's best class a digit or a letter with a digit twin, and at least one a clear digit (its best class a
    digit, ``PLURALITY`` x the next class)."""
    letters, digits = kinds(classes)
    twin_letters = np.isin(np.array(classes), [a for a, d in LOOKALIKE])
    best = probs.argmax(1)
    top2 = -np.sort(-probs, 1)[:, :2]
    clear_digit = digits[best] & (top2[:, 0] >= PLURALITY * top2[:, 1])
    shaped = digits[best] | twin_letters[best]
    return [w for w in words if len(w) >= min_len and shaped[w].all() and clear_digit[w].any()]


def sequences(boxes: list[Box], words: list[list[int]]) -> list[list[int]]:
    """Box index sequences whose kinds are chosen together: each line, and the list markers down the page."""
    ctx = contexts(boxes, words)
    seqs: dict[int, list[int]] = {}
    for w, idx in enumerate(words):
        seqs.setdefault(ctx[w], []).extend(idx)
    return list(seqs.values())


def viterbi(cost: np.ndarray, switch: np.ndarray) -> np.ndarray:
    """The cheapest 0/1 path through (n, 2) costs, where changing state before step i costs switch[i]."""
    n = len(cost)
    total, back = cost[0].copy(), np.zeros((n, 2), int)
    for i in range(1, n):
        stay, move = total, total[::-1] + switch[i]
        back[i] = np.where(stay <= move, [0, 1], [1, 0])
        total = np.minimum(stay, move) + cost[i]
    path = np.zeros(n, int)
    path[-1] = int(np.argmin(total))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def switch_costs(seq: list[Box], switch_space: float, switch_word: float) -> np.ndarray:
    """Cost of a change of kind before each box of a sequence: ``switch_space`` at a word gap or a new line;
    inside a word ``switch_word``, falling linearly to ``switch_space`` as the gap grows from the line's median
    letter gap to twice that (a wide gap inside a word is most likely a word gap the layout missed)."""
    gaps = np.array([b.col0 - a.col1 for a, b in zip(seq, seq[1:])], float)
    inner = np.array([not b.space_before and b.line == a.line for a, b in zip(seq, seq[1:])], bool)
    med = float(np.median(gaps[inner])) if inner.any() else 0.0
    med = max(med, 0.1 * float(np.median([b.height for b in seq])), 1.0)
    wide = np.clip((gaps - med) / med, 0, 1)
    cost = np.where(inner, switch_word - (switch_word - switch_space) * wide, switch_space)
    return np.concatenate([[0.0], cost])


def with_twins(probs: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """Each look-alike class also gets its twin's probability: the shape is one, only its kind differs. A box
    read "1" 0.55, "Z" 0.22, "I" 0.05 in a word of letters is an I (0.60), not the Z that is merely the best
    letter on its own."""
    out = probs.copy()
    index = {c: i for i, c in enumerate(classes)}
    for a, d in LOOKALIKE:
        if a in index and d in index:
            out[:, index[a]] += probs[:, index[d]]
            out[:, index[d]] += probs[:, index[a]]
    return out


def block_costs(boxes: list[Box], digit: np.ndarray, weight: float, reach: float = 2.5) -> np.ndarray:
    """(n, 2) extra cost per box for [letters, digits]: where the lines just above and below (centres within
    ``reach`` line heights: one block of writing) are mostly digits, a line pays ``weight`` x the log-odds of
    their digit share (Laplace-smoothed) for being read as letters, spread over its boxes; so a row of
    look-alikes under a row of clear digits ("5432" under "8761") is read as digits, while twinless letters
    in it, and any line among lines of words, still decide for themselves."""
    out = np.zeros((len(boxes), 2))
    by: dict[int, list[int]] = {}
    for i, b in enumerate(boxes):
        by.setdefault(b.line, []).append(i)
    keys = sorted(by)
    centre = {k: float(np.median([(boxes[i].row0 + boxes[i].row1) / 2 for i in by[k]])) for k in keys}
    height = {k: float(np.median([boxes[i].height for i in by[k]])) for k in keys}
    for n, k in enumerate(keys):
        near = [m for m in keys[max(n - 1, 0):n] + keys[n + 1:n + 2]
                if abs(centre[m] - centre[k]) <= reach * max(height[m], height[k])]
        idx = [i for m in near for i in by[m]]
        share = (digit[idx].sum() + 1) / (len(idx) + 2)
        if share > 0.5:
            out[by[k], 0] = weight * np.log(share / (1 - share)) / len(by[k])
    return out


def choose(boxes: list[Box], probs: np.ndarray, classes: tuple[str, ...], switch_space: float = 0.7,
           switch_word: float = 4.0, sure: float = 0.95, twin_weight: float = 0.6, block: float = 1.0,
           numbers: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """(class index per box, kind per box: 1 digits, -1 letters, 0 sure of itself) under the line rule, with
    the lines of the same block (``block_costs``) as a prior and words shaped like numbers (``number_words``)
    costing ``numbers`` nats to read as letters. The context knows its limits: a box read at
    least ``sure`` keeps its reading, and so does one whose own best class is of the kind chosen and a clear
    plurality (``PLURALITY`` x the next class: pooling a look-alike pair never beats it, D 0.41 stays D
    against O 0.22 + 0 0.23); any other box takes the best class of the chosen kind, a look-alike counting
    its twin's probability too (5 0.37, G 0.27, 6 0.18 in a row of digits is a 6)."""
    choice = probs.argmax(1) if len(probs) else np.zeros(0, int)
    kind = np.zeros(len(boxes), int)
    letters, digits = kinds(classes)
    if not len(boxes) or not letters.any() or not digits.any():
        return choice, kind
    cost = -np.log(kind_mass(probs, classes, twin_weight) + 1e-6)
    words = words_of(boxes)
    if numbers:
        twin_letters = np.isin(np.array(classes), [a for a, d in LOOKALIKE])
        for w in number_words(words, probs, classes):
            neutral = [i for i in w if twin_letters[probs[i].argmax()]]
            cost[neutral] = cost[neutral].mean(1, keepdims=True)
            cost[w, 0] += numbers / len(w)
    seqs = sequences(boxes, words)
    markers = {i for w, c in zip(words, contexts(boxes, words)) if c == -1 for i in w}
    path = np.zeros(len(boxes), int)
    for extra in (None, block):  # the lines alone, then each in its block
        if extra is not None:
            if not block:
                break
            lines = [i for i in range(len(boxes)) if i not in markers]
            cost[lines] += block_costs([boxes[i] for i in lines], path[lines], block)
        for seq in seqs:
            path[seq] = viterbi(cost[seq], switch_costs([boxes[i] for i in seq], switch_space, switch_word))
    pooled = with_twins(probs, classes)
    top2 = -np.sort(-probs, 1)[:, :2] if probs.shape[1] > 1 else np.c_[probs, np.zeros(len(probs))]
    clear = top2[:, 0] >= PLURALITY * top2[:, 1]
    for i, k in enumerate(path):
        among = digits if k else letters
        if probs[i].max() >= sure:
            continue
        kind[i] = 1 if k else -1
        if not (among[choice[i]] and clear[i]):
            choice[i] = int(np.argmax(np.where(among, pooled[i], -1.0)))
    return choice, kind


def apply_context(boxes: list[Box], classes: tuple[str, ...], switch_space: float = 0.7, switch_word: float = 4.0,
                  sure: float = 0.95, twin_weight: float = 0.6, block: float = 1.0, numbers: float = 1.5
                  ) -> list[Box]:
    """Set char, confidence and context_top5 of boxes that carry ``probs`` (raw fields are left as read)."""
    have = [b for b in boxes if b.probs is not None]
    if not have:
        return boxes
    probs = np.stack([b.probs for b in have])
    choice, kind = choose(have, probs, classes, switch_space, switch_word, sure, twin_weight, block, numbers)
    letters, digits = kinds(classes)
    for b, c, k, p in zip(have, choice, kind, probs):
        b.char, b.confidence = classes[c], float(p[c])
        ranked = top5(p, classes, digits if k > 0 else letters if k < 0 else None)
        b.context_top5 = ([(classes[c], float(p[c]))] + [t for t in ranked if t[0] != classes[c]])[:5]
    return boxes


_GLYPHS: dict[str, np.ndarray] = {}


def _glyph(c: str) -> np.ndarray:
    """A clean 32x32 picture of a class (white for a space or an unknown character), cached."""
    if c not in _GLYPHS:
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


def changes_on_page(page: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Page-shaped RGB picture (so a viewer can draw the boxes over it): the page faded, every box whose reading
    the context changed tinted red with its raw reading drawn small in its top-left corner."""
    gray = page if page.ndim == 2 else page.mean(2)
    out = np.repeat((0.55 + 0.45 * np.clip(gray, 0, 1))[..., None], 3, 2).astype(np.float32)
    for b in boxes:
        if not b.raw_char or b.raw_char == b.char:
            continue
        region = out[b.row0:b.row1, b.col0:b.col1]
        region[..., 1:] *= 0.8
        size = max(min(b.height, b.width) // 2, 4)
        pick = np.linspace(0, 31, size).round().astype(int)
        g = _glyph(b.raw_char)[np.ix_(pick, pick)]
        h, w = min(size, region.shape[0]), min(size, region.shape[1])
        ink = 1 - g[:h, :w]
        region[:h, :w, 1:] *= (1 - ink)[..., None]
        region[:h, :w, 0] = np.maximum(region[:h, :w, 0] * (1 - ink), 0.8 * ink)
    return np.clip(out, 0, 1)


__all__ = ["LOOKALIKE", "apply_context", "changes_on_page", "choose", "contexts", "kind_mass", "kinds", "sequences",
           "block_costs", "number_words", "shape_confidence", "side_by_side", "switch_costs", "top5", "viterbi", "with_twins", "words_of"]
