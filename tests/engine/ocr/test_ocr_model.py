"""The OCR training set ("ocr-train") and the shipped default model."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import SHARED

from engine.data.dataset import NIST36_CLASSES, to_image
from engine.ocr import model
from engine.ocr.normalize import normalize_glyph

NIST26 = SHARED / "data" / "nist26" / "nist26_valid.mat"


def test_small_training_set_is_normalized_like_page_crops(tmp_path):
    nist = NIST26 if NIST26.is_file() else tmp_path / "none.mat"
    data = model.build_training_set(n_glyphs=360, nist_copies=2, nist=nist)
    assert data.classes == NIST36_CLASSES and data.n_inputs == 1024
    n_train = 360 * 0.9 + (2 * 1040 + 2 * 1040 * 10 // 26 if nist.is_file() else 0)  # + balancing digits
    assert abs(len(data.train) - n_train) <= 40
    if nist.is_file():  # digits have no real samples: generated ones make up the count, class for class
        counts = np.bincount(data.train.y, minlength=36)
        assert 0.8 < counts[26:].mean() / counts[:26].mean() < 1.25
    for split in (data.train, data.valid, data.test):
        assert split.x.dtype == np.float32 and split.x.min() >= 0 and split.x.max() <= 1
        assert split.y.min() >= 0 and split.y.max() < 36
    # normalizing again changes little: the rows are already in the form page crops take
    diffs = [np.abs(normalize_glyph(to_image(r)) - to_image(r)).mean() for r in data.train.x[:20]]
    assert np.median(diffs) < 0.06
    if nist.is_file():  # the real letters are held out unaugmented in valid/test
        assert (data.valid.y[-130:] < 26).all()


def test_load_dataset_knows_ocr_train(monkeypatch):
    from engine.data.registry import load_dataset

    sentinel = object()
    monkeypatch.setattr(model, "load_training_set", lambda: sentinel)
    assert load_dataset("ocr-train") is sentinel


def test_default_model_file():
    if not model.DEFAULT_MODEL.exists():
        pytest.skip("resources/ocr_model.npz not trained yet")
    clf = model.load_classifier()
    assert clf.classes == NIST36_CLASSES and clf.net.sizes[0] == 1024
    p = clf.probs(np.ones((3, 1024), np.float32))
    assert p.shape == (3, 36) and np.allclose(p.sum(1), 1, atol=1e-4)


def test_augment_real_varies_shape_and_thickness_but_keeps_the_letter():
    up = np.ones((20, 32, 32), np.float32)
    up[:, 6:26, 14:18] = 0.0  # an upright bar
    a = model.augment_real(up, np.random.default_rng(0))
    assert a.shape == up.shape and a.dtype == np.float32
    assert np.array_equal(a, model.augment_real(up, np.random.default_rng(0)))  # deterministic per stream
    ink = (a < 0.5).sum((1, 2))
    assert np.ptp(ink) > 10 and (ink > 20).all()  # thicker and thinner copies, none erased
    assert (np.abs(a - up).mean((1, 2)) > 0.005).all()  # every copy differs from the original
    assert np.median((a[:, 2:30, 8:24] < 0.5).sum((1, 2)) / ink) > 0.9  # ... but the bar stays where it was
