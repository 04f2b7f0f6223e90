"""OCR image stages and box logic on synthetic pages with known boxes: count, lines, reading order, words."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.pages import render_page
from engine.ocr import layout, segment
from engine.ocr.lines import group_lines
from engine.ocr.normalize import normalize_mask

LINES = ["HELLO WORLD", "AB12 XYZ", "7Q"]


@pytest.fixture(scope="module")
def page():
    return render_page(LINES, seed=3, size=(600, 800))


def segment_page(img):
    """The image stages with their defaults: (darkness, mask, labels, comps, chars, layout)."""
    work, _, _ = segment.load(img)
    gray = segment.to_gray(segment.denoise(work, 1.0))
    dark = segment.darkness(gray, segment.background(gray))
    mask, _ = segment.threshold(dark)
    mask = segment.morphology(mask, 0, 1)
    labels, comps = segment.components(mask)
    chars = layout.find_chars(comps)
    return dark, mask, labels, comps, chars, group_lines(chars.boxes, chars.height)


def iou(a, b) -> float:
    r = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda x: (x[2] - x[0]) * (x[3] - x[1])  # noqa: E731
    return r / (area(a) + area(b) - r)


def test_boxes_match_truth_in_reading_order(page):
    img, truth = page
    *_, chars, lay = segment_page(img)
    assert len(chars) == len(truth)
    ordered = [chars.boxes[i] for line in lay.lines for i in line]
    for found, t in zip(ordered, truth):
        assert iou(found, (t.row0, t.col0, t.row1, t.col1)) > 0.6, (found, t)
    assert [len(line) for line in lay.lines] == [len(s.replace(" ", "")) for s in LINES]


def test_word_gaps(page):
    img, _ = page
    *_, lay = segment_page(img)
    words = [[sum(1 for s in spaces if s) for spaces in [line]] for line in lay.space_before]
    assert [w[0] for w in words] == [s.count(" ") for s in LINES]
    assert all(not line[0] for line in lay.space_before)  # never a space before a line's first char


def test_background_removes_uneven_light_and_lighter_marks():
    yy, xx = np.mgrid[0:400, 0:600] / 600.0
    paper = 0.55 + 0.4 * xx  # strong left-to-right lighting gradient
    img = paper.copy()
    img[100:110, 50:550] *= 0.3        # a dark stroke across both the dark and the bright side
    img[200:210, 50:550] = np.minimum(img[200:210, 50:550] * 1.3, 1.0)  # erased writing: lighter than paper
    gray = img.astype(np.float32)
    dark = segment.darkness(gray, segment.background(gray))
    mask, level = segment.threshold(dark)
    assert mask[100:110, 60:540].mean() > 0.95
    assert not mask[150:400].any() and not mask[:95].any()
    assert 0.15 <= level < 0.7


def test_blank_and_tiny_pages_have_no_ink():
    rng = np.random.default_rng(0)
    blank = np.clip(0.85 + rng.normal(0, 0.02, (300, 400)), 0, 1).astype(np.float32)
    dark = segment.darkness(blank, segment.background(blank))
    mask, _ = segment.threshold(dark)
    assert not mask.any()
    for shape in [(1, 1), (3, 5), (2, 200)]:
        tiny = np.ones(shape, np.float32)
        d = segment.darkness(tiny, segment.background(tiny))
        assert not segment.threshold(d)[0].any()


def test_otsu_matches_skimage():
    from skimage.filters import threshold_otsu

    rng = np.random.default_rng(1)
    v = np.concatenate([rng.normal(0.2, 0.05, 5000), rng.normal(0.7, 0.05, 2000)]).clip(0, 1)
    assert abs(segment.otsu(v) - threshold_otsu(v)) < 0.02


def test_morphology_opens_specks_and_closes_breaks():
    m = np.zeros((60, 60), bool)
    m[10:50, 20:26] = True
    m[30:31, 20:26] = False  # a one-pixel break in the stroke
    m[5, 50] = True          # a speck
    out = segment.morphology(m, open_radius=1, close_radius=1)
    assert not out[5, 50]
    assert out[30, 21:25].all()
    _, comps = segment.components(out)
    assert len(comps) == 1


def test_components_are_8_connected():
    m = np.zeros((10, 10), bool)
    m[2, 2] = m[3, 3] = True  # diagonal neighbours: one blob
    m[7, 7] = True
    labels, comps = segment.components(m)
    assert len(comps) == 2 and labels[2, 2] == labels[3, 3] != labels[7, 7]
    assert comps[0].tolist() == [2, 2, 4, 4, 2]


def test_fragments_merge_and_specks_drop():
    # an E drawn as a stem and three separate bars, a normal letter beside it, and a speck
    comps = np.array([[0, 0, 100, 10, 1000],     # stem
                      [0, 12, 10, 60, 480],      # top bar (does not touch the stem)
                      [45, 12, 55, 50, 380],     # middle bar
                      [90, 12, 100, 60, 480],    # bottom bar
                      [0, 90, 100, 150, 2500],   # another letter
                      [50, 200, 52, 202, 4]])    # speck
    underline = np.array([[120, 0, 126, 260, 1500]])
    chars = layout.find_chars(np.vstack([comps, underline]))
    assert len(chars) == 2 and len(chars.dropped) == 2
    assert sorted(map(sorted, chars.members)) == [[1, 2, 3, 4], [5]]
    assert chars.boxes[0].tolist() == [0, 0, 100, 60]


def test_lines_follow_skew_and_order():
    # two lines, each sloping down by half a character height over its length
    boxes = []
    for line in range(2):
        for k in range(8):
            r = 300 * line + 6 * k
            boxes.append([r, 70 * k, r + 100, 70 * k + 50])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(boxes))
    lay = group_lines(np.array(boxes)[order], 100.0)
    assert len(lay.lines) == 2
    assert [list(order[ln]) for ln in lay.lines] == [list(range(8)), list(range(8, 16))]


def test_word_breaks_relative_to_the_writer():
    # widely spaced letters with no word break (like a whiteboard "B I N G") stay one word ...
    wide = np.array([[0, 90 * k, 100, 90 * k + 50] for k in range(4)])
    assert group_lines(wide, 100.0).space_before == [[False] * 4]
    # ... and so do digits written three heights apart, their gaps varying by more than a third of a height
    gaps = [280, 300, 340, 320, 330, 370, 300, 280, 310]
    cols = np.concatenate([[0], np.cumsum(np.add(gaps, 50))])
    digits = np.array([[0, c, 100, c + 50] for c in cols])
    assert group_lines(digits, 100.0).space_before == [[False] * 10]
    # ... and a gap clearly wider than the letter gaps is a space
    cols = [0, 60, 120, 250, 310]
    tight = np.array([[0, c, 100, c + 50] for c in cols])
    assert group_lines(tight, 100.0).space_before == [[False, False, False, True, False]]


def test_crops_ignore_thickness():
    thin = np.zeros((120, 90), bool)
    thin[10:110, 20:23] = True
    thin[10:13, 20:80] = True
    thick = np.zeros_like(thin)
    thick[10:110, 15:30] = True
    thick[5:20, 15:80] = True
    a, b = normalize_mask(thin), normalize_mask(thick)
    assert a.shape == (32, 32) and a.dtype == np.float32
    assert abs((a < 0.5).sum() - (b < 0.5).sum()) < 0.25 * (a < 0.5).sum()
    assert np.abs(a - b).mean() < 0.08
    assert normalize_mask(np.zeros((10, 10), bool)).min() == 1.0  # no ink -> blank input


@pytest.mark.parametrize("ghost", [-0.10, +0.08])
def test_faint_erased_writing_is_not_ink(page, ghost):
    """Writing erased from a whiteboard leaves faint marks, slightly darker or (wiped) lighter than the paper."""
    img, truth = page
    other, _ = render_page(["WXYZ 0123 QRST", "MNOP 4567 KLJ", "EFGH 89"], seed=9, size=img.shape)
    trace = other < np.median(other) - 40  # where the other page has ink
    trace = ndi_shift(trace, 25)  # overlapping the real text
    faint = img.astype(np.float32) * np.where(trace, 1 + ghost, 1.0)
    *_, chars, _ = segment_page(np.clip(faint, 0, 255).astype(np.uint8))
    assert len(chars) == len(truth)


def ndi_shift(mask, rows):
    out = np.zeros_like(mask)
    out[rows:] = mask[:-rows]
    return out


def test_exposure_and_polarity(page):
    """An underexposed photo stays dark-on-light; chalk on a blackboard (inverted page) is flipped."""
    img, truth = page
    for variant in [(img * 0.35).astype(np.uint8), 255 - img, np.clip(img * 1.5, 0, 255).astype(np.uint8)]:
        *_, chars, _ = segment_page(variant)
        assert len(chars) == len(truth)
    gray = segment.to_gray((255 - img).astype(np.float32) / 255)
    assert np.median(gray) > 0.5  # flipped back to light paper


def test_hysteresis_fills_faint_stretches_but_never_thickens_a_stroke():
    thin = np.zeros((40, 80), np.float32)
    thin[10, 5:75] = 0.5
    thin[10, 30:45] = 0.4  # a faint stretch under the level
    strict, _ = segment.threshold(thin, "manual", 0.45, 0.15, 1.0)
    filled, _ = segment.threshold(thin, "manual", 0.45, 0.15, 0.75)
    assert not strict[10, 30:45].any() and filled[10, 5:75].all() and filled.sum() == 70
    assert segment.stroke_width(strict) == 2.0
    # a thick stroke (an I's stem) with a faint rim, and a faint bar running on from its top (the I's bar)
    thick = np.zeros((60, 80), np.float32)
    thick[9:49, 19:31] = 0.4   # the rim: one pixel of lighter ink all round
    thick[10:48, 20:30] = 0.5
    thick[10:16, 30:60] = 0.4  # the bar: as light as the rim, but reaching far beyond the stem
    strict, _ = segment.threshold(thick, "manual", 0.45, 0.15, 1.0)
    filled, _ = segment.threshold(thick, "manual", 0.45, 0.15, 0.75)
    assert segment.stroke_width(strict) > 5 and not strict[10:16, 31:60].any()
    assert filled[10:16, 31:60].all()  # the bar is kept ...
    assert not filled[26:48, 19].any() and not filled[26:48, 30].any() and not filled[48, 20:30].any()  # ... the rim not


def sloped_line(x0, y0, degrees, n, size=40, pitch=48):
    """Boxes of n letters along a line through (x0, y0) at ``degrees`` (x right, y down)."""
    t = np.deg2rad(degrees)
    out = []
    for k in range(n):
        cx, cy = x0 + k * pitch * np.cos(t), y0 + k * pitch * np.sin(t)
        out.append([cy - size / 2, cx - size * 0.35, cy + size / 2, cx + size * 0.35])
    return np.round(out).astype(np.int64)


def test_each_line_has_its_own_slope_and_size():
    level = sloped_line(40, 60, 0.0, 8)                         # a level line of words
    rising = sloped_line(60, 420, -27.0, 8)                     # digits rising 27 degrees, below it
    falling = sloped_line(520, 120, 12.0, 5)                    # a line falling 12 degrees, to the right
    small = sloped_line(40, 520, 0.0, 6, size=20, pitch=24)     # small writing at the bottom
    boxes = np.concatenate([level, rising, falling, small])
    order = np.random.default_rng(1).permutation(len(boxes))
    lay = group_lines(boxes[order], 40.0)
    found = [sorted(order[ln].tolist()) for ln in lay.lines]
    want = [list(range(0, 8)), list(range(16, 21)), list(range(8, 16)), list(range(21, 27))]
    assert sorted(found) == sorted(want), found
    by_first = {ln[0]: k for k, ln in enumerate(found)}
    slope = {name: lay.slopes[by_first[first]] for name, first in (("level", 0), ("rising", 8), ("falling", 16))}
    assert abs(slope["level"]) < 1 and abs(slope["rising"] + 27) < 4 and abs(slope["falling"] - 12) < 4
    assert lay.heights[by_first[21]] == 20 and lay.heights[by_first[0]] == 40
    # steeper than max_slope: not a line (a column of letters, or letters of several lines)
    assert len(group_lines(sloped_line(60, 420, -50.0, 6), 40.0).lines) == 6


def test_a_line_end_does_not_chain_to_the_next_line_start():
    # the end of one line and the start of the next, down and to its right, lie within 35 degrees of each other
    top = sloped_line(40, 60, 0.0, 6)
    below = sloped_line(40 + 6 * 48 + 90, 60 + 70, 0.0, 4)
    lay = group_lines(np.concatenate([top, below]), 40.0)
    assert [len(ln) for ln in lay.lines] == [6, 4]


def test_paper_is_followed_under_a_shadows_edge():
    """A finger's soft shadow across the page: by the tiles alone its middle is as dark as faint ink; the
    paper estimate follows it down to a few stroke widths, so only the strokes stay dark."""
    from engine.ocr import paper

    yy, xx = np.mgrid[0:400, 0:600].astype(np.float32)
    finger = 1 - 0.5 / (1 + np.exp(np.minimum((np.abs(xx - 300) - 20) / 3.0, 50)))  # a 40 px band, 50 % darker
    page = 0.9 * finger
    page[100:104, 50:550] = 0.15 * finger[100:104, 50:550]  # a 4 px stroke across lit paper and shadow
    page[200:300, 150:153] = 0.15 * finger[200:300, 150:153]
    tiles = segment.background(page)
    first, _ = segment.threshold(segment.darkness(page, tiles))
    assert segment.darkness(page, tiles)[150:190, 296:304].min() > 0.25  # the tiles' mistake: as dark as pencil
    bg = paper.under_shadows(page, tiles, first)
    dark = segment.darkness(page, bg)
    assert dark[150:190].max() < 0.15 and dark[310:].max() < 0.15  # no shadow left ...
    assert dark[101:103, 60:540].min() > 0.6 and dark[205:295, 151].min() > 0.6  # ... every stroke as dark
    assert 3 <= paper.stroke_estimate(first) <= 5
