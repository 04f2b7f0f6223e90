"""Context stage: words read among digits or letters from the boxes' probability mass, raw reading kept."""
from __future__ import annotations

import numpy as np

from engine.dataset import NIST36_CLASSES
from engine.ocr.context import apply_context, choose, side_by_side
from engine.ocr.result import Box, OcrResult, assemble

C = NIST36_CLASSES


def boxes_for(text: str, line: int = 0) -> list[Box]:
    out, k = [], 0
    for i, ch in enumerate(text):
        if ch != " ":
            out.append(Box(line * 50, 10 * i, line * 50 + 40, 10 * i + 8, line=line,
                           space_before=i > 0 and text[i - 1] == " "))
            k += 1
    return out


def leaning(pairs: list[dict[str, float]]) -> np.ndarray:
    """Probability rows from {class: p} dicts; the rest spread evenly."""
    out = np.zeros((len(pairs), 36))
    for i, d in enumerate(pairs):
        rest = (1 - sum(d.values())) / (36 - len(d))
        out[i] = rest
        for c, p in d.items():
            out[i, C.index(c)] = p
    return out


def read(boxes, probs, **kw):
    for b, p in zip(boxes, probs):
        b.probs, b.raw_char = p, C[int(p.argmax())]
    apply_context(boxes, C, **kw)
    return assemble(boxes)


# a row of digits where every look-alike box alone leans to its letter twin (as on a real scan)
ROW = [{"I": 0.6, "1": 0.35}, {"Z": 0.6, "2": 0.35}, {"3": 0.8, "B": 0.1}, {"4": 0.9}, {"S": 0.6, "5": 0.35},
       {"G": 0.55, "6": 0.4}, {"7": 0.8, "T": 0.1}, {"8": 0.5, "B": 0.4}, {"9": 0.8, "P": 0.1},
       {"O": 0.6, "0": 0.35}]


def test_a_spaced_row_of_digits_reads_as_digits():
    boxes = boxes_for("1 2 3 4 5 6 7 8 9 0")
    probs = leaning(ROW)
    assert assemble([Box(*b.rect, char=C[int(p.argmax())], line=0, space_before=b.space_before)
                     for b, p in zip(boxes, probs)]) == ["I Z 3 4 S G 7 8 9 O"]  # each box alone
    assert read(boxes, probs) == ["1 2 3 4 5 6 7 8 9 0"]
    assert OcrResult(boxes, assemble(boxes)).raw_lines == ["I Z 3 4 S G 7 8 9 O"]  # the raw reading is kept
    assert [c for c, _ in boxes[0].context_top5] == ["1"] + [c for c, _ in boxes[0].context_top5[1:]]
    assert all(c.isdigit() for c, _ in boxes[0].context_top5) and len(boxes[0].context_top5) == 5
    assert boxes[0].confidence == boxes[0].probs[C.index("1")]


def test_words_of_letters_stay_letters_and_mixed_lines_keep_their_numbers():
    text = "SOB 5085 FR"
    boxes = boxes_for(text)
    probs = leaning([{"S": 0.7, "5": 0.2}, {"0": 0.5, "O": 0.45}, {"B": 0.6, "8": 0.3},
                     {"5": 0.9}, {"0": 0.9}, {"8": 0.9}, {"5": 0.9}, {"F": 0.9}, {"R": 0.9}])
    assert read(boxes, probs) == ["SOB 5085 FR"]  # a confident number in a line of words stays a number


def test_list_markers_are_judged_together():
    lines = ["1 MILK", "2 EGGS", "3 TEA", "4 JAM"]
    boxes, rows = [], []
    for li, t in enumerate(lines):
        bs = boxes_for(t, li)
        boxes += bs
        rows += [{"I": 0.6, "1": 0.35}, {"Z": 0.55, "2": 0.4}, {"3": 0.9}, {"4": 0.9}][li:li + 1]
        rows += [{c: 0.9} for c in t[2:]]
    assert read(boxes, leaning(rows)) == lines
    # with a single list line the marker has no company: the line decides, and it is letters
    one = boxes_for("1 MILK")
    assert read(one, leaning([{"I": 0.6, "1": 0.35}] + [{c: 0.9} for c in "MILK"])) == ["I MILK"]


def test_parameters_turn_the_rule_down():
    boxes = boxes_for("1 2 3 4 5 6 7 8 9 0")
    probs = leaning(ROW)
    assert read(boxes, probs, sure=0.5) == ["I Z 3 4 S G 7 8 9 O"]  # everyone is "sure": nothing changes
    choice, kind = choose(boxes, probs, C, line_weight=0.0)
    assert set(kind) <= {-1, 1} and len(choice) == 10


def test_side_by_side_picture():
    img = side_by_side(["I Z"], ["1 2"])
    assert img.ndim == 3 and img.shape[2] == 3 and np.isfinite(img).all() and 0 <= img.min() <= img.max() <= 1
    left, right = img[:, :img.shape[1] // 2], img[:, img.shape[1] // 2:]
    red = (img[..., 0] - img[..., 1]) > 0.2
    assert red[:, :img.shape[1] // 2].any() and red[:, img.shape[1] // 2:].any()  # changes are marked on both sides
    assert (left < 0.5).any() and (right < 0.5).any()
