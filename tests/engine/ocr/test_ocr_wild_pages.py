"""The failures of photos in the wild (issue 22), measured every run on small synthetic pages with exact truth:
a hand's shadow, lines at their own slopes, mixed letter sizes, touching and widely spaced letters, rows of
look-alike digits -- and each of them turned 90, 180 and 270 degrees.

Floors are what the pipeline reaches today with a margin for other machines' float rounding; the "before"
assertions turn the rule in question off and show it is what reads the page.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.ocr import OcrPipeline
from engine.ocr.evaluate import char_accuracy
from engine.ocr.model import DEFAULT_MODEL
from engine.ocr.wildpages import WILD_CONDITIONS, wild_page

needs_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="resources/ocr_model.npz not trained yet")
SEEDS = (0, 1, 2, 3)


def accuracy(result, truth) -> float:
    return char_accuracy(["".join(result.lines).replace(" ", "")], ["".join(truth).replace(" ", "")])


@pytest.fixture(scope="module")
def pipe():
    return OcrPipeline()


def mean_accuracy(pipe, condition, seeds=SEEDS, turn: int = 0, **params) -> float:
    pipe.set_params(params)
    accs = []
    for s in seeds:
        img, truth = wild_page(condition, s)
        pipe.open(np.ascontiguousarray(np.rot90(img, turn)))
        accs.append(accuracy(pipe.run(), truth))
    return float(np.mean(accs))


def test_generator_is_deterministic_and_shows_each_condition():
    for c in WILD_CONDITIONS:
        a, ta = wild_page(c, 3)
        b, tb = wild_page(c, 3)
        assert np.array_equal(a, b) and ta == tb and a.dtype == np.uint8 and a.shape == (480, 640)
        assert not np.array_equal(a, wild_page(c, 4)[0]) and all(ta)
    shadow, _ = wild_page("shadow", 0)
    paper = shadow[shadow > np.percentile(shadow, 20)]
    assert np.percentile(paper, 10) < 0.75 * np.percentile(paper, 90)  # a shadow over part of the paper
    _, digits = wild_page("digit_rows", 0)
    assert digits[2].isdigit() and digits[3].isdigit() and digits[0].isalpha()
    _, sizes = wild_page("sizes", 0)
    assert len(sizes) == 4


@needs_model
@pytest.mark.parametrize("condition, floor", [("shadow", 0.93), ("slope", 0.88), ("sizes", 0.9), ("touching", 0.8),
                                              ("spaced", 0.9), ("digit_rows", 0.95)])
def test_wild_conditions_read(pipe, condition, floor):
    assert mean_accuracy(pipe, condition) >= floor


@needs_model
def test_the_paper_is_followed_under_a_shadow(pipe):
    before = mean_accuracy(pipe, "shadow", background={"strokes": 0.0})  # tiles only: shadow edges are ink
    now = mean_accuracy(pipe, "shadow", background={"strokes": 5.0})
    assert now >= before + 0.03


@needs_model
def test_lines_keep_their_own_slope(pipe):
    before = mean_accuracy(pipe, "slope", lines={"max_slope": 8.0})  # about the old rows-overlap rule
    now = mean_accuracy(pipe, "slope", lines={"max_slope": 35.0})
    assert now >= before + 0.05


@needs_model
def test_a_page_is_not_turned_for_one_of_its_lines(monkeypatch):
    """Pages where the falling line's profile is the sharpest (seeds 10, 13): turned for it, the level line
    tilts and the rising one passes max_slope, read as pieces; kept level, each line keeps its own slope."""
    from engine.ocr import page

    now = mean_accuracy(OcrPipeline(), "slope", seeds=(10, 13))
    monkeypatch.setattr(page, "MIN_AGREE", 0.0)  # turn the page whatever its lines say
    before = mean_accuracy(OcrPipeline(), "slope", seeds=(10, 13))
    assert now >= 0.85 and now >= before + 0.15, (before, now)


@needs_model
def test_touching_letters_are_cut_however_surely_the_blob_reads(pipe):
    before = mean_accuracy(pipe, "touching", classify={"wide": 0.0})
    now = mean_accuracy(pipe, "touching", classify={"wide": 1.0})
    assert now >= before + 0.02


@needs_model
def test_a_piece_still_wide_after_a_cut_is_cut_again(monkeypatch):
    """Five letters run into one blob have their thinnest columns at only some of their joins: cutting the
    pieces that are still wide again is what finds the rest."""
    from engine.ocr import recognize

    whole = recognize.split_wide
    now = mean_accuracy(OcrPipeline(), "touching", seeds=(3, 17))
    monkeypatch.setattr(recognize, "split_wide", lambda *a, **k: whole(*a, **{**k, "depth": 1}))
    before = mean_accuracy(OcrPipeline(), "touching", seeds=(3, 17))
    assert now >= before + 0.05, (before, now)


def smaller(img: np.ndarray, f: float) -> np.ndarray:
    """The page as a low-resolution camera takes it (a webcam frame: letters 15-20 px tall)."""
    from scipy import ndimage

    return np.clip(ndimage.zoom(img.astype(float), f, order=1), 0, 255).astype(np.uint8)


@needs_model
def test_small_writing_is_enlarged_before_it_is_read():
    """Wild pages at half resolution (320 x 240): letters 15-20 px skeletonize into knots unless the page stage
    enlarges them; the boxes still map back onto the ink of the small photo."""
    pipe = OcrPipeline()
    got = {}
    for min_char in (0.0, 28.0):
        pipe.set_params({"page": {"min_char": min_char}})
        accs = []
        for c in ("shadow", "sizes", "touching"):
            for s in (0, 1):
                img, truth = wild_page(c, s)
                pipe.open(smaller(img, 0.5))
                accs.append(accuracy(pipe.run(), truth))
        got[min_char] = float(np.mean(accs))
    assert got[28.0] >= 0.85 and got[28.0] >= got[0.0] + 0.1, got
    fit = pipe.data("page")[1]
    assert fit.zoom > 1.5 and pipe.output("page").info["zoom"] == fit.zoom
    small = smaller(wild_page("touching", 1)[0], 0.5)
    result = pipe.run()
    assert result.boxes and all(0 <= v for b in result.boxes for v in result.source_box(b))
    dark = [small[r0:r1, c0:c1].min() for r0, c0, r1, c1 in map(result.source_box, result.boxes)]
    assert max(dark) < np.median(small) - 40  # every box holds ink of the photo as given


@needs_model
@pytest.mark.parametrize("condition", WILD_CONDITIONS)
def test_wild_pages_read_the_same_every_way_up(pipe, condition):
    pipe.set_params({"page": {"orientation": "auto"}})
    upright = mean_accuracy(pipe, condition, seeds=(0, 1))
    for turn in (1, 2, 3):
        assert mean_accuracy(pipe, condition, seeds=(0, 1), turn=turn) >= upright - 0.03, turn
