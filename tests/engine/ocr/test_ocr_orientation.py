"""The page stage's orientation: a page turned 90, 180 or 270 degrees reads as it does upright, its boxes
still in the photo's own pixels; the choice shows in the stage's parameters, info and picture."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.dataset import NIST36_CLASSES
from engine.data.pages import hard_page, render_page
from engine.nn.network import Network
from engine.ocr import OcrPipeline, orient
from engine.ocr.evaluate import char_accuracy
from engine.ocr.model import DEFAULT_MODEL, Classifier

needs_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="resources/ocr_model.npz not trained yet")
LINES = ["TURN ME 2 READ", "SIDEWAYS 4567", "OR UPSIDE DOWN"]


@pytest.fixture(scope="module")
def pipe():
    return OcrPipeline()


@pytest.fixture(scope="module")
def page():
    return render_page(LINES, seed=6, size=(500, 700), char_height=40)


def turned_clockwise(k: int) -> int:
    """``np.rot90(img, k)`` turns the picture k x 90 degrees counter-clockwise: its text is then turned this much
    clockwise, which is what the orientation parameter names."""
    return (360 - 90 * k) % 360


def test_choosing_a_way_up():
    assert orient.choose({0: -0.5, 90: -0.2, 180: -0.6, 270: -0.7}, margin=0.05, floor=-1.0) == 90
    assert orient.choose({0: -0.5, 90: -0.47, 180: -0.6, 270: -0.7}, margin=0.05, floor=-1.0) == 0  # not clearly
    assert orient.choose({0: -3.5, 90: -3.0, 180: -3.6, 270: -3.4}, margin=0.05, floor=-1.0) == 0  # reads as nothing
    assert orient.choose({0: -0.2, 90: -0.1}, margin=0.05, floor=-1.0) == 90


def letter_row(row: int, cols: range, size: int = 40) -> list[list[int]]:
    return [[row, c, row + size, c + int(0.7 * size)] for c in cols]


def test_margins_tell_the_start_of_lines_from_their_end():
    # three lines starting at one margin, ending a little ragged; the middle one lost its first letter (a
    # faint 0 the blob finder missed): one missing letter is not a ragged margin
    boxes = np.array(letter_row(0, range(0, 881, 44)) + letter_row(80, range(88, 925, 44))
                     + letter_row(160, range(0, 861, 43)))
    assert orient.alignment(boxes, 40.0) > 0.3
    assert orient.alignment(boxes[:, [0, 3, 2, 1]] * [1, -1, 1, -1], 40.0) < -0.3  # mirrored: the ends line up


def test_a_sample_that_reads_as_one_kind_is_consistent():
    assert orient.consistency(np.array([0.9, 0.8, 0.95, 0.7])) > 0.6   # digits, digits, ...
    assert orient.consistency(np.array([0.1, 0.2, 0.05])) > 0.7        # letters
    assert orient.consistency(np.array([0.9, 0.1, 0.8, 0.2])) < 0.1    # 0123456789 upside down: a jumble
    assert orient.consistency(np.zeros(0)) == 0.0


@needs_model
@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_turned_page_reads_as_upright(pipe, page, k):
    pipe.set_params({"page": {"orientation": "auto"}})
    pipe.open(page[0])
    upright = char_accuracy(pipe.run().lines, LINES)
    pipe.open(np.ascontiguousarray(np.rot90(page[0], k)))
    result = pipe.run()
    out = pipe.output("page")
    assert out.info["orientation"] == turned_clockwise(k) and set(out.info["orientation_scores"]) == {0, 90, 180, 270}
    assert char_accuracy(result.lines, LINES) >= upright - 0.03 and upright >= 0.9
    green = (out.image[..., 1] > 0.5) & (out.image[..., 0] < 0.2) & (out.image[..., 2] < 0.4)
    assert green.sum() > 100  # the way up is drawn on the page picture


@needs_model
def test_a_page_turned_by_right_angles_is_moved_pixel_for_pixel(pipe, page):
    # a scan fed sideways is turned back exactly (no resampling): it reads exactly as it does upright
    pipe.set_params({"page": {"orientation": "auto"}})
    pipe.open(page[0])
    upright = pipe.data("page")[0].copy()
    for k in (1, 2, 3):
        pipe.open(np.ascontiguousarray(np.rot90(page[0], k)))
        assert np.array_equal(pipe.data("page")[0], upright), k


@needs_model
def test_boxes_stay_in_the_photos_pixels_when_turned(pipe, page):
    img, truth = page
    h, w = img.shape
    pipe.set_params({"page": {"orientation": "auto"}})
    pipe.open(np.ascontiguousarray(np.rot90(img)))  # (row, col) -> (w - 1 - col, row)
    doc = pipe.run().as_json()
    assert char_accuracy(doc["lines"], LINES) >= 0.9
    hits = 0
    for (r0, c0, r1, c1, ch, _), t in zip(doc["boxes"], truth):
        row, col = w - 1 - (t.col0 + t.col1) / 2, (t.row0 + t.row1) / 2
        hits += ch == t.char and r0 <= row <= r1 and c0 <= col <= c1 and (r1 - r0) > (c1 - c0) * 0.5
    assert hits >= 0.9 * len(truth)


@needs_model
def test_a_fixed_orientation_is_applied_as_chosen(pipe, page):
    pipe.open(page[0])
    pipe.set_params({"page": {"orientation": "180"}})
    wrong = char_accuracy(pipe.run().lines, LINES)
    assert pipe.output("page").info["orientation"] == 180 and "orientation_scores" not in pipe.output("page").info
    pipe.set_params({"page": {"orientation": "auto"}})
    assert char_accuracy(pipe.run().lines, LINES) > wrong + 0.5 and pipe.output("page").info["orientation"] == 0


def test_a_network_that_reads_nothing_leaves_the_page_upright(page):
    """An untrained network is as unsure every way up: no turn (the stage-plumbing tests use one)."""
    tiny = Classifier(Network.mlp(1024, (8,), 36, "relu", seed=0), NIST36_CLASSES)
    p = OcrPipeline(tiny)
    for k in range(4):
        p.open(np.ascontiguousarray(np.rot90(page[0], k)))
        assert p.output("page").info["orientation"] == 0


@needs_model
@pytest.mark.parametrize("condition", ["pencil", "digits", "desk", "rotated"])
def test_hard_pages_read_the_same_every_way_up(pipe, condition):
    pipe.set_params({"page": {"orientation": "auto"}})
    for seed in range(2):
        img, lines = hard_page(condition, seed)
        accs = []
        for k in range(4):
            pipe.open(np.ascontiguousarray(np.rot90(img, k)))
            accs.append(char_accuracy(pipe.run().lines, lines))
            assert pipe.output("page").info["orientation"] == turned_clockwise(k)
        assert min(accs[1:]) >= accs[0] - 0.03, accs


@needs_model
def test_small_writing_is_judged_at_the_size_it_will_be_read(pipe):
    """A webcam-sized page (letters about 20 px) is enlarged before it is read, so its orientation sample is
    read enlarged too: upside down, its rows of digits would otherwise read nearly as surely as upright."""
    from scipy import ndimage

    from engine.ocr import page as page_stage
    from engine.ocr.wildpages import wild_page

    img, truth = wild_page("digit_rows", 20)
    small = np.clip(ndimage.zoom(img.astype(float), 0.6, order=1), 0, 255).astype(np.uint8)
    work = small.astype(np.float32) / 255
    fit = page_stage.PageFit("frame", np.eye(3), work.shape, 0.0)
    blobs = page_stage.find_blobs(work)
    native = page_stage._sample_masks(work, fit, 1, None, blobs, False)
    zoom = page_stage.enlarge(blobs.typical, work.shape, 28.0, 2048)
    enlarged = page_stage._sample_masks(work, fit, 1, None, blobs, False, zoom=zoom)
    assert zoom > 1.5 and np.median([m.shape[0] for m in enlarged]) > 1.5 * np.median([m.shape[0] for m in native])
    pipe.set_params({"page": {"orientation": "auto"}})
    pipe.open(np.ascontiguousarray(np.rot90(small, 2)))
    assert pipe.output("page").info["orientation"] == 180
    assert char_accuracy(["".join(pipe.run().lines)], ["".join(truth)]) > 0.8


def test_letters_too_small_to_pick_in_the_view_are_sampled_finer():
    """A phone photo of a whole sheet at webcam resolution: its letters are 3 px in the reduced view, too small to
    pick, so the sample is looked for in the page warped finer (before: no sample, the page taken upright)."""
    from engine.ocr import page as page_stage
    from engine.ocr import segment

    img, _ = render_page(["THE QUICK BROWN FOX", "JUMPS OVER THE LAZY", "DOG 1234567890", "HANDWRITTEN NOTES"],
                         seed=3, size=(600, 1000), char_height=14)
    work = segment.load(img)[0]
    view, f = page_stage.reduce_to(work, 200)
    blobs = page_stage.find_blobs(view)
    assert f > 1 and len(orient.sample(blobs)) == 0 and blobs.chars.sum() > 10
    fit = page_stage.PageFit("frame", np.eye(3), work.shape, 0.0)
    masks = page_stage._sample_masks(work, fit, f, None, blobs, False, zoom=2.0)
    assert len(masks) >= 16 and np.median([m.shape[0] for m in masks]) >= 12
