"""OcrPipeline: the stage list a GUI shows, parameter checking, cached re-runs and the editing operations."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.data.dataset import NIST36_CLASSES
from engine.data.pages import render_page
from engine.nn.network import Network
from engine.ocr import OcrPipeline, edit
from engine.ocr.model import Classifier
from engine.ocr.result import assemble
from engine.training.checkpoint import save_network

LINES = ["AB CD", "EF"]


@pytest.fixture(scope="module")
def page():
    return render_page(LINES, seed=1, size=(400, 600), char_height=70)


@pytest.fixture()
def tiny_model():
    """An untrained network: the pipeline's plumbing does not depend on what it reads."""
    return Classifier(Network.mlp(1024, (8,), 36, "relu", seed=0), NIST36_CLASSES)


@pytest.fixture()
def pipe(page, tiny_model):
    p = OcrPipeline(tiny_model)
    p.open(page[0])
    p.run()
    return p


def test_stage_list_describes_itself():
    p = OcrPipeline()
    names = [s.name for s in p.stages]
    assert names == ["load", "page", "denoise", "grayscale", "background", "threshold", "morphology",
                     "components", "characters", "lines", "assemble", "crops", "classify", "context", "text"]
    for s in p.stages:
        assert s.doc
        for name, prm in s.params.items():
            assert prm.name == name and prm.tooltip
            assert prm.choices or (prm.min <= prm.value <= prm.max and prm.step)
            assert prm.coerce(prm.value) == prm.value


def test_every_stage_has_a_displayable_output(pipe):
    for s in pipe.stages:
        out = pipe.output(s.name)
        img = out.image
        assert isinstance(img, np.ndarray) and img.ndim in (2, 3) and img.size
        assert np.isfinite(img).all() and img.min() >= 0 and img.max() <= 1
    assert len(pipe.output("characters").boxes) == 6
    assert pipe.output("threshold").info["level"] > 0
    for b in pipe.output("text").boxes:
        assert b.input.shape == (32, 32) and len(b.top5) == 5 and b.char in NIST36_CLASSES
        assert pipe.crop(b).shape[:2] >= (b.height, b.width) and pipe.ink(b).shape == (b.height, b.width)
        assert b.top5[0][1] >= b.top5[-1][1] and 0 <= b.confidence <= 1


def test_param_change_reruns_from_that_stage_only(pipe):
    before = {s.name: pipe.cached(s.name) for s in pipe.stages}
    pipe.set_param("threshold", "level", 0.5)
    pipe.set_param("threshold", "method", "manual")
    assert pipe.result is None
    for name in ("load", "denoise", "grayscale", "background"):
        assert pipe.cached(name) is before[name]
    for name in ("threshold", "morphology", "text"):
        assert pipe.cached(name) is None
    pipe.run()
    assert pipe.output("background") is before["background"]
    assert pipe.output("threshold") is not before["threshold"]
    assert pipe.output("threshold").info["level"] == 0.5
    assert set(pipe.timings) == {s.name for s in pipe.stages}


def test_param_checking(pipe):
    with pytest.raises(ValueError, match="no OCR stage"):
        pipe.set_param("nope", "x", 1)
    with pytest.raises(ValueError, match="has no parameter"):
        pipe.set_param("threshold", "nope", 1)
    with pytest.raises(ValueError, match="must be one of"):
        pipe.set_param("threshold", "method", "magic")
    with pytest.raises(ValueError, match="must be a number"):
        pipe.set_param("denoise", "sigma", "abc")
    pipe.set_param("denoise", "sigma", 99)  # clipped to the range
    assert pipe.stage("denoise").params["sigma"].value == 5.0
    pipe.set_param("morphology", "open_radius", 2.4)
    assert pipe.stage("morphology").params["open_radius"].value == 2
    saved = pipe.params()
    other = OcrPipeline()
    other.set_params(saved)
    assert other.params() == saved


def test_run_needs_an_image():
    with pytest.raises(ValueError, match="no image"):
        OcrPipeline().run()


def test_missing_model_is_a_clear_error(page, tmp_path):
    p = OcrPipeline(tmp_path / "none.npz")
    p.open(page[0])
    assert len(p.output("crops").boxes) == 6  # segmentation works without a model
    with pytest.raises(ValueError, match="no such model file"):
        p.run()


def test_model_file_round_trip(page, tmp_path):
    path = tmp_path / "m.npz"
    save_network(path, Network.mlp(1024, (8,), 36, "relu"), NIST36_CLASSES)
    p = OcrPipeline(path)
    p.open(page[0])
    assert len(p.run().boxes) == 6
    save_network(path, Network.mlp(100, (8,), 36, "relu"), NIST36_CLASSES)
    with pytest.raises(ValueError, match="1024"):
        OcrPipeline(path).classifier


def test_edits(pipe, tmp_path):
    r = pipe.run()
    n = len(r.boxes)
    edit.relabel(pipe, 0, "Q")
    assert r.boxes[0].char == "Q" and r.lines[0][0] == "Q" and r.boxes[0].corrected
    with pytest.raises(ValueError):
        edit.relabel(pipe, 0, "QQ")
    with pytest.raises(ValueError, match="no box"):
        edit.delete(pipe, 99)
    k = edit.merge(pipe, [2, 3])  # C and D of the first line
    assert len(r.boxes) == n - 1 and len(r.lines[0].replace(" ", "")) == 3
    merged = r.boxes[k]
    assert merged.input.shape == (32, 32) and merged.line == 0
    edit.delete(pipe, k)
    assert len(r.boxes) == n - 2
    b = pipe.output("characters").boxes[2]  # draw C back by hand
    k = edit.add_box(pipe, b.row0, b.col0, b.row1, b.col1)
    assert r.boxes[k].line == 0 and len(r.boxes) == n - 1
    assert r.lines == assemble(r.boxes)  # lines stay in step with the boxes ...
    assert pipe.output("text").boxes is r.boxes  # ... and the last stage shows the edited boxes
    with pytest.raises(ValueError, match="too small"):
        edit.add_box(pipe, 5, 5, 5, 50)
    doc = edit.export_json(r, "page.png")
    json.dumps(doc)
    assert [c["op"] for c in doc["corrections"]] == ["relabel", "merge", "delete", "add"]
    fixed = [b for b in doc["boxes"] if b["corrected"]]
    assert doc["lines"] == r.lines and len(fixed) == 1 and fixed[0]["char"] == "Q"
    path = tmp_path / "rows.npz"
    assert edit.save_training_rows(path, r) == len(r.boxes)
    assert edit.save_training_rows(path, r, only_corrected=True) == 1
    from engine.data.registry import load_dataset
    data = load_dataset(str(path))
    assert data.classes == NIST36_CLASSES and len(data.train) + len(data.valid) + len(data.test) == len(r.boxes) + 1


def test_json_boxes_are_in_source_pixels(page, tiny_model):
    big = np.kron(page[0], np.ones((4, 4), np.uint8))  # 1600 x 2400: reduced to fit max_side
    p = OcrPipeline(tiny_model)
    p.set_param("load", "max_side", 1200)
    p.open(big)
    r = p.run()
    assert r.scale == 0.5 and len(r.boxes) == 6
    js = r.as_json()
    b, t = js["boxes"][0], page[1][0]
    assert abs(b[0] - 4 * t.row0) < 40 and abs(b[1] - 4 * t.col0) < 40
