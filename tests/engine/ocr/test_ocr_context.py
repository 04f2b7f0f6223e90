"""Context stage: words read among digits or letters from the boxes' probability mass, raw reading kept."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.dataset import NIST36_CLASSES
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


def test_a_row_of_digits_reads_as_digits():
    # evenly spaced digits have no word gap among them (the layout reads them as one word, like "B I N G")
    boxes = boxes_for("1234567890")
    probs = leaning(ROW)
    assert [C[int(p.argmax())] for p in probs] == list("IZ34SG789O")  # each box alone
    assert read(boxes, probs) == ["1234567890"]
    assert OcrResult(boxes, assemble(boxes)).raw_lines == ["IZ34SG789O"]  # the raw reading is kept
    assert boxes[0].context_top5[0][0] == "1" and len(boxes[0].context_top5) == 5
    assert all(c.isdigit() for c, _ in boxes[0].context_top5)
    assert boxes[0].confidence == boxes[0].probs[C.index("1")]
    # with word gaps each look-alike word weighs its own evidence against the cost of a change of kind
    spaced = boxes_for("1 2 3 4 5 6 7 8 9 0")
    assert read(spaced, probs, switch_space=0.0) == ["I Z 3 4 S G 7 8 9 O"]  # no context: each word alone
    assert read(spaced, probs, switch_space=2.0) == ["1 2 3 4 5 6 7 8 9 0"]


def test_words_of_letters_stay_letters_and_mixed_lines_keep_their_numbers():
    text = "SOB 5085 FR"
    boxes = boxes_for(text)
    probs = leaning([{"S": 0.7, "5": 0.2}, {"0": 0.5, "O": 0.45}, {"B": 0.6, "8": 0.3},
                     {"5": 0.9}, {"0": 0.9}, {"8": 0.9}, {"5": 0.9}, {"F": 0.9}, {"R": 0.9}])
    assert read(boxes, probs) == ["SOB 5085 FR"]  # a confident number in a line of words stays a number


def test_a_word_of_look_alikes_with_a_clear_digit_is_a_number():
    # the card under a hand's shadow: Z/2 even, I/1, 2 over Z, a 5 whose flag read as F or C, a round 0 read O
    card = [{"Z": 0.51, "2": 0.48}, {"I": 0.43, "1": 0.29, "T": 0.06}, {"2": 0.58, "Z": 0.38},
            {"5": 0.44, "C": 0.16, "F": 0.15, "S": 0.11}, {"O": 0.88, "0": 0.08}]
    assert read(boxes_for("21250"), leaning(card)) == ["21250"]
    assert read(boxes_for("21250"), leaning(card), numbers=0.0) != ["21250"]  # the rule is what reads it
    # after a word of letters on the same line: the confident 8 and 5 are not turned into B and S
    line = [{"I": 0.96}, {"E": 0.99}, {"H": 0.99}, {"O": 0.56, "0": 0.35}, {"8": 0.92, "B": 0.07},
            {"5": 0.77, "S": 0.22}, {"O": 0.72, "0": 0.17}, {"O": 0.43, "0": 0.36}]
    assert read(boxes_for("IEH 08500"), leaning(line)) == ["IEH 08500"]
    # no clear digit: a word of look-alike letters is left to its boxes (SOS, and a 0 barely over its O)
    sos = [{"S": 0.7, "5": 0.2}, {"0": 0.5, "O": 0.45}, {"S": 0.8, "5": 0.1}]
    assert read(boxes_for("SOS"), leaning(sos)) == ["SOS"]
    # two boxes are too few to tell a word from a number: IS with its S read 5 stays as the boxes read
    assert read(boxes_for("IS"), leaning([{"I": 0.8, "1": 0.1}, {"5": 0.6, "S": 0.3}])) == read(
        boxes_for("IS"), leaning([{"I": 0.8, "1": 0.1}, {"5": 0.6, "S": 0.3}]), numbers=0.0)
    # a twinless letter in the word: not a number
    assert read(boxes_for("ZOE"), leaning([{"Z": 0.6, "2": 0.3}, {"0": 0.7, "O": 0.2}, {"E": 0.9}])) == ["ZOE"]


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
    boxes = boxes_for("1234567890")
    probs = leaning(ROW)
    assert read(boxes, probs, sure=0.5) == ["IZ34SG789O"]  # everyone is "sure": nothing changes
    choice, kind = choose(boxes, probs, C, switch_word=0.0, numbers=0.0)  # free to change kind anywhere: each box alone
    assert [C[c] for c in choice] == list("IZ34SG789O") and set(kind) == {-1, 1}


def test_side_by_side_picture():
    img = side_by_side(["I Z"], ["1 2"])
    assert img.ndim == 3 and img.shape[2] == 3 and np.isfinite(img).all() and 0 <= img.min() <= img.max() <= 1
    left, right = img[:, :img.shape[1] // 2], img[:, img.shape[1] // 2:]
    red = (img[..., 0] - img[..., 1]) > 0.2
    assert red[:, :img.shape[1] // 2].any() and red[:, img.shape[1] // 2:].any()  # changes are marked on both sides
    assert (left < 0.5).any() and (right < 0.5).any()


def test_changes_on_page_picture():
    from engine.ocr.context import changes_on_page
    page = np.ones((60, 100), np.float32)
    a = Box(10, 10, 50, 40, char="1", raw_char="I")
    b = Box(10, 50, 50, 80, char="A", raw_char="A")
    img = changes_on_page(page, [a, b])
    assert img.shape == (60, 100, 3) and 0 <= img.min() <= img.max() <= 1
    red = img[..., 0] - img[..., 1]
    assert red[10:50, 10:40].mean() > 0.1 and np.abs(red[10:50, 50:80]).max() < 1e-6  # only the changed box


def test_a_wide_gap_inside_a_word_is_a_cheaper_place_to_change_kind():
    from engine.ocr.context import switch_costs
    # "K 08016" where the layout missed the word gap after K: the gap is twice the word's other gaps
    cols = [0, 70, 105, 140, 175, 210]
    seq = [Box(0, c, 40, c + 25, line=0) for c in cols]
    cost = switch_costs(seq, switch_space=0.7, switch_word=4.0)
    assert cost[0] == 0 and cost[1] == pytest.approx(0.7) and np.allclose(cost[2:], 4.0)
    probs = leaning([{"K": 0.9}, {"O": 0.5, "0": 0.45}, {"8": 0.85, "B": 0.1}, {"O": 0.5, "0": 0.45},
                     {"1": 0.8, "I": 0.15}, {"6": 0.85, "G": 0.1}])
    assert read(seq, probs) == ["K08016"]
    even = [Box(0, 35 * k, 40, 35 * k + 25, line=0) for k in range(6)]  # the same, evenly spaced: one word
    assert read(even, probs) == ["KOBOIG"]


def test_a_look_alike_counts_its_twins_probability_in_its_kind():
    # an "I" drawn with bars, slanted: the network says 1 (0.55) or Z (0.22), I only 0.05; in a word of
    # letters it is an I, the shape the network saw, not the merely best letter Z
    probs = leaning([{"S": 0.9}, {"1": 0.55, "Z": 0.22, "I": 0.05}, {"M": 0.95}, {"O": 0.9}, {"N": 0.9}])
    boxes = boxes_for("SIMON")
    assert read(boxes, probs) == ["SIMON"]
    assert boxes[1].raw_char == "1" and boxes[1].context_top5[0][0] == "I"
    assert boxes[1].confidence == pytest.approx(0.05)  # the shown probability stays the network's own


def test_a_confident_reading_is_never_overruled():
    # "2" read at 0.976 in a word of letters (the issue's card): the line's kind must not turn it into Z
    probs = leaning([{"A": 0.9}, {"B": 0.9}, {"2": 0.976, "Z": 0.02}, {"C": 0.9}])
    assert read(boxes_for("AB2C"), probs) == ["AB2C"]
    assert read(boxes_for("AB2C"), probs, sure=0.99) == ["ABZC"]  # what the old rule did


def test_look_alike_pooling_never_beats_a_clear_plurality():
    # D 0.41 against O 0.22 + 0 0.23: the pair pools 0.45, but D is clearly the network's reading
    probs = leaning([{"W": 0.9}, {"D": 0.41, "O": 0.22, "0": 0.23}, {"N": 0.9}])
    assert read(boxes_for("WDN"), probs) == ["WDN"]
    # ... while a narrow lead is no clear reading: 5 0.37, G 0.27, 6 0.18 among digits is the G-or-6 shape
    probs = leaning([{"4": 0.9}, {"5": 0.37, "G": 0.27, "6": 0.18}, {"7": 0.9}])
    assert read(boxes_for("467"), probs) == ["467"]


def test_a_row_of_look_alikes_under_a_row_of_digits_is_read_as_digits():
    top = [{c: 0.9} for c in "8761"]
    row = [{"S": 0.6, "5": 0.3}, {"A": 0.5, "4": 0.4}, {"J": 0.5, "3": 0.4}, {"Z": 0.6, "2": 0.35}]
    boxes = boxes_for("8761") + boxes_for("5432", line=1)
    assert read(boxes, leaning(top + row)) == ["8761", "5432"]
    assert read(boxes_for("8761") + boxes_for("5432", line=1), leaning(top + row), block=0.0) == ["8761", "SAJZ"]
    # a line of clear letters under digits stays letters, and so does a look-alike row under letters
    assert read(boxes_for("8761") + boxes_for("WXYK", line=1), leaning(top + [{c: 0.8} for c in "WXYK"])) == \
        ["8761", "WXYK"]
    words = [{c: 0.9} for c in "WXYK"]
    assert read(boxes_for("WXYK") + boxes_for("SAJZ", line=1), leaning(words + row)) == ["WXYK", "SAJZ"]
