"""Reading: character accuracy, word consistency, and the merge/split fixes made by asking the network."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import one_line, peak_bytes

from engine.data.dataset import NIST36_CLASSES
from engine.errors import InputError
from engine.ocr.evaluate import MAX_TRUTH_CHARS, char_accuracy, edit_distance, read_truth
from engine.ocr.recognize import Reader, label, merge_touching, split_wide
from engine.ocr.result import Box, assemble


def test_edit_distance_and_char_accuracy():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == edit_distance("abc", "") == 3
    assert char_accuracy(["BING", "IS"], ["BING", "IS"]) == 1.0
    assert char_accuracy(["B1NG", "IS"], ["BING", "IS"]) == pytest.approx(1 - 1 / 7)
    assert char_accuracy(["BING IS"], ["BING", "IS"]) == pytest.approx(1 - 1 / 7)  # the newline counts
    assert char_accuracy(["BINGIS"], ["BING IS"]) == pytest.approx(1 - 1 / 7)  # spaces count
    assert char_accuracy([], ["AB"]) == 0.0 and char_accuracy([], []) == 1.0


def probs_for(*chars: str, p: float = 0.9) -> np.ndarray:
    out = np.full((len(chars), 36), (1 - p) / 35)
    for i, c in enumerate(chars):
        out[i, NIST36_CLASSES.index(c)] = p
    return out


def test_words_read_as_letters_or_digits():
    boxes = [Box(0, 10 * i, 10, 10 * i + 8, line=0, space_before=(i == 3)) for i in range(6)]
    probs = probs_for("B", "0", "B", "1", "2", "3")
    probs[1, NIST36_CLASSES.index("O")] = 0.08  # the 0 could be an O
    label(boxes, probs, NIST36_CLASSES, consistency=0.05)
    assert assemble(boxes) == ["BOB 123"]
    assert boxes[1].top5[0][0] == "0" and boxes[1].confidence < 0.1  # confidence of what is shown
    label(boxes, probs, NIST36_CLASSES, consistency=1.0)  # never force
    assert assemble(boxes) == ["B0B 123"]


class FakeClassifier:
    """Reads by counting tall vertical strokes: one narrow stroke is an 'I' (fairly sure), two an 'N' (sure),
    anything else a poor 'W'. Enough to exercise the merge/split decisions."""
    classes = NIST36_CLASSES

    def probs(self, rows):
        out = np.full((len(rows), 36), 0.01)
        for i, r in enumerate(rows):
            img = r.reshape(32, 32).T < 0.5
            tall = img.sum(0) > 0.6 * img.any(1).sum()
            runs = np.count_nonzero(np.diff(tall.astype(int)) == 1) + int(tall[0])
            if runs == 1 and img.any(0).sum() <= 8:
                out[i, NIST36_CLASSES.index("I")] = 0.7
            elif runs == 2:
                out[i, NIST36_CLASSES.index("N")] = 0.95
            else:
                out[i, NIST36_CLASSES.index("W")] = 0.3
        return out / out.sum(1, keepdims=True)


def page_with(strokes: list[tuple[int, int]], height: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """A label image and mask with one vertical stroke component per (col0, col1)."""
    mask = np.zeros((height + 20, 600), bool)
    labels = np.zeros(mask.shape, np.int32)
    for k, (c0, c1) in enumerate(strokes, 1):
        mask[10:10 + height, c0:c1] = True
        labels[10:10 + height, c0:c1] = k
    return labels, mask


def test_touching_pieces_merge_only_when_they_read_better():
    # an "N" whose right stem missed its joint: [stem + diagonal] and [stem] almost touching
    labels, mask = page_with([(100, 106), (140, 146)])
    rows = np.arange(100)
    labels[10 + rows, 106 + rows * 34 // 100] = 1  # the diagonal
    mask = labels > 0
    a, b = Box(10, 100, 110, 141, line=0, members=[1]), Box(10, 140, 110, 146, line=0, members=[2])
    merged = merge_touching(Reader(FakeClassifier(), labels, mask), [a, b], merge_gap=0.03)
    assert len(merged) == 1 and merged[0].col0 == 100 and merged[0].col1 == 146
    # two I's a normal letter gap apart stay two
    labels, mask = page_with([(100, 106), (140, 146)])
    a, b = Box(10, 100, 110, 106, line=0, members=[1]), Box(10, 140, 110, 146, line=0, members=[2])
    assert len(merge_touching(Reader(FakeClassifier(), labels, mask), [a, b], merge_gap=0.03)) == 2


def test_wide_poor_reading_is_cut_where_ink_is_thinnest():
    # two "N"-like letters (two stems each) joined by a hairline at the bottom: one wide component
    labels, mask = page_with([(100, 106), (140, 146), (220, 226), (260, 266)])
    labels[labels > 0] = 1
    labels[105:108, 100:266] = 1
    mask = labels > 0
    wide = Box(10, 100, 110, 266, line=0, members=[1])
    out = split_wide(Reader(FakeClassifier(), labels, mask), [wide], split_width=1.15)
    assert len(out) == 2
    assert out[0].col1 <= 200 <= out[1].col0 + 25


def test_edit_distance_takes_linear_memory():
    """A long truth against a short reading: the table's rows were lists of Python ints (14 MB here, GBs for
    a 12 MB truth); the bit vectors are integers of one bit a character."""
    truth, read = "HELLO WORLD\n" * 16_000, "HELO WORD"
    (dist, peak) = peak_bytes(edit_distance, read, truth)
    assert dist == len(truth) - len(read) and peak < 4 * 2 ** 20, peak


def test_a_truth_longer_than_a_page_is_refused_before_any_reading(tmp_path):
    (tmp_path / "p.png").write_bytes(b"")
    (tmp_path / "truth.json").write_text(json.dumps({"p.png": ["A" * (MAX_TRUTH_CHARS + 1)]}))
    with pytest.raises(InputError, match="holds 100,001 characters; a page holds at most 100,000") as exc:
        read_truth(tmp_path)
    one_line(exc.value)


class SureBlobClassifier(FakeClassifier):
    """Like FakeClassifier, but four stems read surely as one wide letter (letters touching in a blob: M 0.94)."""

    def probs(self, rows):
        out = super().probs(rows)
        for i, r in enumerate(rows):
            img = r.reshape(32, 32).T < 0.5
            tall = img.sum(0) > 0.6 * img.any(1).sum()
            if np.count_nonzero(np.diff(tall.astype(int)) == 1) + int(tall[0]) == 4:
                out[i] = 0.06 / 35
                out[i, NIST36_CLASSES.index("M")] = 0.94
        return out


def test_a_blob_much_wider_than_its_line_is_cut_however_surely_it_reads():
    # two N's touching at the foot read as one M at 0.94; the line's other letters are one N wide
    stems = [(100, 106), (140, 146), (160, 166), (200, 206)] + [(c, c + 6) for k in range(3) for c in
                                                                  (300 + 80 * k, 340 + 80 * k)]
    labels, mask = page_with(stems)
    group = [1, 1, 1, 1, 2, 2, 3, 3, 4, 4]
    labels = np.array([0] + group)[labels]
    labels[105:108, 100:206] = 1
    for k in range(3):
        labels[60:63, 300 + 80 * k:346 + 80 * k] = k + 2
    mask = labels > 0
    blob = Box(10, 100, 110, 206, line=0, members=[1])
    ns = [Box(10, 300 + 80 * k, 110, 346 + 80 * k, line=0, members=[k + 2]) for k in range(3)]
    reader = Reader(SureBlobClassifier(), labels, mask)
    assert reader.conf(blob) > 0.9
    out = split_wide(reader, [blob] + ns, split_width=1.15)
    assert len(out) == 5 and out[0].col1 <= 153 <= out[1].col0 + 10
    assert len(split_wide(Reader(SureBlobClassifier(), labels, mask), [blob] + ns, split_width=1.15, wide=0.0)) == 4


class SpacingClassifier(FakeClassifier):
    """Like FakeClassifier, but two stems are an N only as far apart as an N's (0.45 x the ink's height or more):
    a stem next to an I is no N."""

    def probs(self, rows):
        out = super().probs(rows)
        for i, r in enumerate(rows):
            img = r.reshape(32, 32).T < 0.5
            tall = np.nonzero(img.sum(0) > 0.6 * img.any(1).sum())[0]
            if out[i].argmax() == NIST36_CLASSES.index("N") and tall.max() - tall.min() < 0.45 * img.any(1).sum():
                out[i] = 0.7 / 35
                out[i, NIST36_CLASSES.index("W")] = 0.3
        return out


def test_touching_letters_of_unequal_widths_are_cut_at_their_own_joins():
    # an I run into two N's at the foot (one blob), beside two N's of the same line: an even cut in three
    # would halve the first N; the cuts are where the blob's own thin joins are
    stems = [(100, 106), (136, 142), (186, 192), (216, 222), (266, 272), (330, 336), (380, 386), (430, 436),
             (480, 486)]
    labels, mask = page_with(stems)
    labels = np.array([0, 1, 1, 1, 1, 1, 2, 2, 3, 3])[labels]
    labels[105:108, 100:272] = 1  # the foot joining I, N, N
    for c0 in (330, 430):
        labels[105:108, c0:c0 + 56] = labels[15, c0]  # the line's other N's: two stems on a foot
    mask = labels > 0
    blob = Box(10, 100, 110, 272, line=0, members=[1])
    ns = [Box(10, 330, 110, 386, line=0, members=[2]), Box(10, 430, 110, 486, line=0, members=[3])]
    out = split_wide(Reader(SpacingClassifier(), labels, mask), [blob] + ns, split_width=1.15)
    assert len(out) == 5 and out[0].col1 <= 136 and out[1].col0 >= 106 and 192 <= out[1].col1 <= out[2].col0 <= 216


def test_sizes_are_each_lines_own():
    from engine.ocr.recognize import line_sizes

    big = [Box(0, 100 * k, 90, 100 * k + 60, line=0) for k in range(3)]
    small = [Box(200, 40 * k, 230, 40 * k + 22, line=1) for k in range(5)] + [Box(200, 200, 230, 260, line=1)]
    sizes = line_sizes(big + small)
    assert (sizes[0].height, sizes[0].width) == (90, 60) and (sizes[1].height, sizes[1].width) == (30, 22)
