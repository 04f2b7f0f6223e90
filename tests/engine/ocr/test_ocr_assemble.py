"""Grouping without all-pairs matrices, and the assemble stage that re-joins broken characters."""
from __future__ import annotations

import tracemalloc

import numpy as np

from engine.ocr import layout
from engine.ocr.assemble import assemble_pieces, colour_groups
from engine.ocr.lines import group_lines
from engine.ocr.result import Box


def brute_pairs(boxes, row_gap, col_gap):
    r0, c0, r1, c1 = boxes.T
    dr = np.maximum(r0[:, None], r0[None]) - np.minimum(r1[:, None], r1[None])
    dc = np.maximum(c0[:, None], c0[None]) - np.minimum(c1[:, None], c1[None])
    a, b = np.nonzero(np.triu((dr <= row_gap) & (dc <= col_gap), 1))
    return set(zip(a.tolist(), b.tolist()))


def test_near_pairs_equals_all_pairs():
    rng = np.random.default_rng(0)
    for trial in range(5):
        n = 300
        r, c = rng.integers(0, 500, n), rng.integers(0, 700, n)
        size = rng.integers(3, 30, (n, 2))
        size[:5] *= rng.integers(5, 20, (5, 1))  # a few big boxes (rules, blots)
        boxes = np.column_stack([r, c, r + size[:, 0], c + size[:, 1]])
        for row_gap, col_gap in ((0, 40), (20, 25), (-3, 0)):
            a, b = layout.near_pairs(boxes, row_gap, col_gap)
            got = set(zip(a.tolist(), b.tolist()))
            assert len(got) == len(a) and got == brute_pairs(boxes, row_gap, col_gap)


def test_many_components_never_build_an_all_pairs_matrix():
    rng = np.random.default_rng(1)
    n = 20000  # the most the components stage lets through
    r, c = rng.integers(0, 3000, n), rng.integers(0, 4000, n)
    s = rng.integers(2, 14, (n, 2))
    comps = np.column_stack([r, c, r + s[:, 0], c + s[:, 1], s[:, 0] * s[:, 1] // 2])
    tracemalloc.start()
    chars = layout.find_chars(comps)
    lay = group_lines(chars.boxes, chars.height)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(chars) > 1000 and sum(map(len, lay.lines)) == len(chars)
    assert peak < 150e6  # one n x n bool matrix alone would be 400 MB


def test_the_dot_of_a_list_number_stays_out_of_the_character():
    comps = np.array([[0, 0, 100, 12, 1200],      # "1"
                      [88, 20, 100, 32, 110],     # its full stop, close to its foot
                      [0, 80, 100, 140, 2500],    # a letter
                      [0, 160, 100, 220, 2500]])  # another
    chars = layout.find_chars(comps)
    assert [m for m in chars.members] == [[1], [3], [4]]  # the dot is dropped, not merged into the "1"
    assert chars.dropped.tolist() == [[88, 20, 100, 32]]


def pieces_of(rects, line=0):
    return [Box(*r, line=line, members=[k + 1]) for k, r in enumerate(rects)]


def test_broken_strokes_join_neighbouring_letters_do_not():
    # a line "TO D0": the D drawn as a stem and a detached bow, a 0 split into halves that overlap
    rects = [(0, 0, 100, 60),      # T
             (0, 85, 100, 150),    # O
             (0, 230, 100, 240),   # D stem
             (2, 244, 98, 290),    # D bow, a pencil gap of 4 px from the stem
             (0, 320, 100, 355),   # 0 left half
             (0, 335, 100, 380)]   # 0 right half (overlaps the left by more than half)
    pieces = pieces_of(rects)
    area = np.array([1500, 2000, 900, 1400, 1000, 1000], float)
    got = assemble_pieces(pieces, area)
    assert [b.members for b in got.boxes] == [[1], [2], [3, 4], [5, 6]]
    assert got.boxes[2].rect == (0, 230, 100, 290) and got.joined == 2 and got.group.tolist() == [0, 1, 2, 2, 3, 3]
    # the gap is measured against the writer's own letter spacing: a writer who crowds letters this close
    # keeps D's pieces apart when the joined box would be far wider than the line's characters
    assert len(assemble_pieces(pieces, area, max_width=0.8).boxes) == 6
    assert len(assemble_pieces(pieces, area, join_gap=0.0).boxes) == 5  # only overlapping pieces join


def test_two_wide_letters_that_touch_stay_two():
    # "TLE" written tightly: the T's bar reaches over the L's stem by a few pixels
    rects = [(0, 0, 100, 60), (0, 56, 100, 100), (0, 125, 100, 170), (0, 190, 100, 240)]
    got = assemble_pieces(pieces_of(rects), np.array([1500, 1400, 1600, 1500], float))
    assert len(got.boxes) == 4 and got.joined == 0


def test_marks_are_kept_out_and_coloured_grey():
    rects = [(0, 0, 100, 12), (88, 22, 100, 34), (0, 80, 100, 140)]  # "1" "." "A"
    pieces = pieces_of(rects)
    got = assemble_pieces(pieces, np.array([1200, 120, 2500], float))
    assert len(got.boxes) == 2 and len(got.marks) == 1 and got.group.tolist() == [0, -1, 1]
    labels = np.zeros((110, 150), np.int32)
    for k, (r0, c0, r1, c1) in enumerate(rects, 1):
        labels[r0:r1, c0:c1] = k
    img = colour_groups(labels, pieces, got.group)
    assert img.shape == (110, 150, 3) and img.min() >= 0 and img.max() <= 1
    assert np.allclose(img[95, 28], 0.6) and np.allclose(img[105, 145], 1.0)  # mark grey, paper white
    assert not np.allclose(img[50, 5], img[50, 100])  # two characters, two colours


def test_lines_are_assembled_separately():
    # two lines "DIA" with a broken D each, the second shifted so its D would overlap the first line's A
    rects = [(0, 0, 100, 10), (0, 14, 100, 60), (0, 90, 100, 100), (0, 130, 100, 190)]
    top = pieces_of(rects, line=0)
    bottom = [Box(r0 + 200, c0 + 130, r1 + 200, c1 + 130, line=1, members=[k + 5])
              for k, (r0, c0, r1, c1) in enumerate(rects)]
    got = assemble_pieces(top + bottom, np.array([900, 1400, 900, 2000] * 2, float))
    assert [b.line for b in got.boxes] == [0, 0, 0, 1, 1, 1]
    assert [b.members for b in got.boxes] == [[1, 2], [3], [4], [5, 6], [7], [8]]


def test_a_thin_diagonal_arm_is_not_a_mark_but_a_dot_is():
    # same small square box: a dot is full of ink, the thin arm of a pen "Y" crosses it diagonally
    boxes = np.array([[0, 0, 8, 8], [0, 20, 8, 28]])
    assert layout.is_mark(boxes, 10).tolist() == [True, True]  # by its box alone both look like dots
    assert layout.is_mark(boxes, 10, np.array([50, 14])).tolist() == [True, False]


def test_a_cut_off_arm_high_beside_its_letter_joins_it_a_full_stop_does_not():
    # a thin-pen "Y" at low resolution: stem with the left arm, the right arm a small blob up right, 8 px away
    y = [[0, 0, 30, 12, 65], [0, 20, 6, 25, 24]]
    letter = [[0, 60, 30, 85, 200], [0, 100, 30, 125, 200]]
    chars = layout.find_chars(np.array(y + letter))
    assert chars.members[0] == [1, 2] and len(chars) == 3
    # the same blob at the foot of the letter is a full stop: kept apart (and dropped as too small)
    stop = [[0, 0, 30, 12, 65], [24, 20, 30, 25, 24]]
    chars = layout.find_chars(np.array(stop + letter))
    assert chars.members[0] == [1] and len(chars) == 3
    assert layout.find_chars(np.array(y + letter), top=0.0).members[0] == [1]  # the rule is a parameter


def test_a_line_of_specks_or_bare_strokes_is_no_text():
    text = pieces_of([(0, 0, 40, 25), (0, 35, 40, 60), (0, 70, 40, 95)], line=0)
    edge = [Box(60, 200, 90, 203, line=1, members=[4])]                         # a broken sheet edge, fold
    specks = [Box(120, 10, 126, 16, line=2, members=[5]), Box(121, 40, 127, 44, line=2, members=[6])]
    lone_i = [Box(160, 10, 200, 14, line=3, members=[7])]                      # "I" as tall as the letters
    margin = [Box(220, 300, 280, 305, line=4, members=[8])]                    # a stroke 1.5 letters tall
    area = np.array([300, 300, 300, 60, 30, 20, 120, 250], float)
    got = assemble_pieces(text + edge + specks + lone_i + margin, area)
    assert [b.line for b in got.boxes] == [0, 0, 0, 3]
    assert len(got.marks) == 4


def test_word_gaps_are_found_between_joined_characters():
    # "DO YOUR": D and Y broken in two pieces (stem + rest, 2 px apart), the other letters whole. The lines
    # stage saw the pieces and put a false word gap inside the Y; gaps are judged again between characters
    rects, x = [], 0
    for word_gap, broken in ((0, True), (0, False), (40, True), (0, False), (0, False), (0, False)):
        x += word_gap
        rects += [(0, x, 40, x + 6), (0, x + 8, 40, x + 25)] if broken else [(0, x, 40, x + 25)]
        x += 25 + 14
    pieces = pieces_of(rects)
    for k, b in enumerate(pieces):
        b.space_before = k in (3, 4)
    got = assemble_pieces(pieces, np.full(len(rects), 200.0), height=40)
    assert [len(b.members) for b in got.boxes] == [2, 1, 2, 1, 1, 1]
    assert [b.space_before for b in got.boxes] == [False, False, True, False, False, False]


def test_pieces_of_a_broken_vertical_rule_are_no_lines():
    # three text lines, and beside them the sheet's edge broken into letter-high strokes, one per line gap
    text = [Box(100 * k, 40 * j, 100 * k + 40, 40 * j + 25, line=2 * k, members=[10 * k + j + 1])
            for k in range(3) for j in range(3)]
    edge = [Box(100 * k + 50, 400 + k, 100 * k + 82, 403 + k, line=2 * k + 1, members=[10 * k + 5]) for k in range(2)]
    lone_i = [Box(300, 0, 340, 4, line=7, members=[99])]  # a lone "I" under the text, in no stroke's column
    got = assemble_pieces(text + edge + lone_i, np.array([300.0] * 9 + [90.0] * 2 + [150.0]))
    assert sorted({b.line for b in got.boxes}) == [0, 2, 4, 7] and len(got.marks) == 2


def test_letters_of_a_line_written_small_are_no_fragments():
    # a line of 60 px letters, and below it a line of 28 px letters 5 px apart: shorter than 0.7 x the page's
    # typical height, they used to be taken for fragments and merged in pairs ("DADWN" -> "MWH")
    big = [[0, 70 * k, 60, 70 * k + 45, 900] for k in range(6)]
    small = [[120, 26 * k, 148, 26 * k + 21, 250] for k in range(6)]
    broken = [[0, 420, 25, 465, 300], [30, 420, 60, 465, 300]]  # a letter of the big line in two pieces
    chars = layout.find_chars(np.array(big + small + broken))
    assert len(chars) == 6 + 6 + 1
    assert sorted(map(sorted, chars.members))[-1] == [13, 14]
    assert list(layout.local_heights(np.array(big + small)[:, :4], np.array(big + small)[:, 4], 60.0)) == \
        [60] * 6 + [28] * 6


def test_a_long_single_stroke_at_an_angle_is_a_rule_not_a_character():
    # the edge of a card crossing the photo at 7 degrees after the page was levelled: 690 x 90 px, 4 px thick
    letters = [[300, 80 * k, 342, 80 * k + 30, 400] for k in range(6)]
    edge = [[100, 40, 190, 730, 4 * 700]]
    word = [[400, 0, 442, 200, 6 * 400]]  # six letters run together: as long, but many strokes per length
    kept = layout.find_chars(np.array(letters + edge + word), stroke=4.0)
    assert sorted(map(sorted, kept.members)) == [[k] for k in range(1, 7)] + [[8]]
    assert len(layout.find_chars(np.array(letters + edge + word)).boxes) == 8  # without the stroke width: kept


def test_a_big_titles_letters_of_few_strokes_are_no_rules():
    """A title twice the text's size: its Y (90 x 60, three strokes) is as long for the page's letters as a rule
    and holds about as little ink, but the writing around it is as big; the same stroke alone is a rule."""
    text = [[300 + 60 * (k // 8), 50 * (k % 8), 342 + 60 * (k // 8), 50 * (k % 8) + 30, 400] for k in range(24)]
    title = [[100, 0, 190, 40, 560], [100, 60, 190, 120, 600], [100, 140, 190, 200, 820]]  # L Y Z
    kept = layout.find_chars(np.array(text + title), stroke=4.0)
    assert len(kept.boxes) == 27 and [100, 60, 190, 120] in kept.boxes.tolist()
    alone = [[100, 600, 190, 660, 600]]  # the Y's stroke far from any writing
    kept = layout.find_chars(np.array(text + alone), stroke=4.0)
    assert len(kept.boxes) == 24 and [100, 600, 190, 660] in kept.dropped.tolist()
