"""Synthetic pages: ground-truth boxes hold ink, reading order, determinism, samples on disk."""
import json

import numpy as np
import pytest
from helpers import ROOT

from engine.data import pages

LINES = ["HELLO WORLD", "AB12 XYZ", "7Q"]


@pytest.fixture(scope="module")
def page():
    return pages.render_page(LINES, seed=3, size=(600, 800))


def test_image_and_polarity(page):
    img, boxes = page
    assert img.shape == (600, 800) and img.dtype == np.uint8
    assert img.mean() > 0.6 * 255  # light paper
    assert len(boxes) == sum(len(ln.replace(" ", "")) for ln in LINES)
    assert [b.char for b in boxes] == list("".join(LINES).replace(" ", ""))


def test_boxes_contain_ink(page):
    img, boxes = page
    paper = np.median(img)
    for b in boxes:
        assert 0 <= b.row0 < b.row1 <= img.shape[0] and 0 <= b.col0 < b.col1 <= img.shape[1]
        assert 40 <= b.row1 - b.row0 <= 250  # characters 60-150 px high, shrunk to fit if needed
        patch = img[b.row0:b.row1, b.col0:b.col1].astype(float)
        assert patch.min() < paper - 60 and (patch < paper - 40).mean() > 0.03
    mask = np.zeros(img.shape, bool)
    for b in boxes:
        mask[b.row0:b.row1, b.col0:b.col1] = True
    assert (img[~mask] > paper - 40).mean() > 0.999  # no ink outside the boxes


def test_reading_order(page):
    _, boxes = page
    assert [b.line for b in boxes] == sorted(b.line for b in boxes)
    for line in range(len(LINES)):
        cols = [b.col0 + b.col1 for b in boxes if b.line == line]
        assert cols == sorted(cols)
    centres = [np.mean([(b.row0 + b.row1) / 2 for b in boxes if b.line == k]) for k in range(len(LINES))]
    assert centres == sorted(centres)


def test_deterministic_and_rgb():
    a, _ = pages.render_page(["AB"], seed=1, size=(200, 300))
    b, _ = pages.render_page(["AB"], seed=1, size=(200, 300))
    c, _ = pages.render_page(["AB"], seed=2, size=(200, 300))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    rgb, _ = pages.render_page(["AB"], seed=1, size=(200, 300), rgb=True)
    assert rgb.shape == (200, 300, 3) and rgb.dtype == np.uint8
    with pytest.raises(ValueError):
        pages.render_page(["A-B"])


def test_random_lines():
    lines = pages.random_lines(np.random.default_rng(0), 5, max_chars=12)
    assert len(lines) == 5
    assert all(0 < len(ln) <= 12 and set(ln) <= pages.ALPHABET and ln == ln.strip() for ln in lines)


def test_samples_on_disk_match_truth():
    folder = ROOT / "resources" / "pages"
    truth = json.loads((folder / "truth.json").read_text())
    assert len(truth) >= 3
    for name, lines in truth.items():
        assert (folder / name).stat().st_size < 300_000 and all(isinstance(ln, str) for ln in lines)


def test_write_samples(tmp_path):
    truth = pages.write_samples(tmp_path, n=1, size=(300, 400))
    assert json.loads((tmp_path / "truth.json").read_text()) == truth
    assert (tmp_path / "page1.png").exists()
