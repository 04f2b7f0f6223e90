"""`main.py ocr` / `ocr-eval`: JSON shapes, accuracy with the shipped model, and every kind of bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import main
from engine.data.dataset import NIST36_CLASSES
from engine.data.pages import render_page
from engine.nn.network import Network
from engine.ocr.evaluate import char_accuracy
from engine.ocr.model import DEFAULT_MODEL
from engine.training.checkpoint import save_network

LINES = ["HELLO WORLD", "AB 12 XYZ"]
needs_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="resources/ocr_model.npz not trained yet")


@pytest.fixture(scope="module")
def page():
    return render_page(LINES, seed=2, size=(500, 800), char_height=70)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    save_network(path, Network.mlp(1024, (8,), 36, "relu"), NIST36_CLASSES)
    return str(path)


def run(capsys, *argv):
    code = main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def save(path, array, mode=None):
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_ocr_json(tmp_path, capsys, page, tiny):
    png = save(tmp_path / "p.png", page[0])
    code, out, err = run(capsys, "ocr", png, "--model", tiny, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"lines", "boxes", "seconds", "raw_lines"}  # raw_lines: added, each box read alone
    assert len(doc["raw_lines"]) == len(doc["lines"]) and all(isinstance(x, str) for x in doc["raw_lines"])
    assert len(doc["lines"]) == 2 and doc["seconds"] > 0
    assert len(doc["boxes"]) == len("".join(LINES).replace(" ", ""))
    r0, c0, r1, c1, ch, conf = doc["boxes"][0]
    assert all(isinstance(v, int) for v in (r0, c0, r1, c1)) and 0 <= r0 < r1 <= 500 and 0 <= c0 < c1 <= 800
    assert ch in NIST36_CLASSES and 0 <= conf <= 1


@needs_model
def test_ocr_reads_a_synthetic_page(tmp_path, capsys, page):
    png = save(tmp_path / "p.png", page[0])
    code, out, _ = run(capsys, "ocr", png)
    assert code == 0 and char_accuracy(out.splitlines(), LINES) >= 0.9


@needs_model
def test_ocr_eval(tmp_path, capsys):
    truth = {}
    for i, lines in enumerate([["THE QUICK BROWN", "FOX 1234"], ["JUMPS OVER", "LAZY DOG 56"]]):
        img, _ = render_page(lines, seed=10 + i, size=(600, 900), rgb=bool(i))
        save(tmp_path / f"p{i}.png", img)
        truth[f"p{i}.png"] = lines
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    code, out, err = run(capsys, "ocr-eval", tmp_path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"files", "mean_char_accuracy"} and set(doc["files"]) == set(truth)
    assert doc["mean_char_accuracy"] >= 0.9
    code, out, _ = run(capsys, "ocr-eval", tmp_path)
    assert code == 0 and "p0.png" in out and "mean character accuracy" in out


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable image"),
    (b"hello, this is not a picture", "not a readable image"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a readable image"),  # truncated PNG
])
def test_unreadable_files(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    code, out, err = run(capsys, "ocr", bad)
    assert code == 2 and out == "" and err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_missing_file_and_folder(tmp_path, capsys):
    code, _, err = run(capsys, "ocr", tmp_path / "nope.jpg")
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "ocr", tmp_path)  # a folder is not an image
    assert code == 2 and err.startswith("error: ")
    code, _, err = run(capsys, "ocr-eval", tmp_path / "nope")
    assert code == 2 and "no such folder" in err


@pytest.mark.parametrize("truth, message", [
    (None, "no truth.json"), ("{not json", "not valid JSON"), ('["a"]', "must map"),
    ('{"x.png": ["A"]}', "not found"), ("{}", "lists no images")])
def test_bad_truth(tmp_path, capsys, truth, message, tiny):
    if truth is not None:
        (tmp_path / "truth.json").write_text(truth)
    code, _, err = run(capsys, "ocr-eval", tmp_path, "--model", tiny)
    assert code == 2 and message in err


def test_bad_model(tmp_path, capsys, page):
    png = save(tmp_path / "p.png", page[0])
    (tmp_path / "m.npz").write_bytes(b"junk")
    code, _, err = run(capsys, "ocr", png, "--model", tmp_path / "m.npz")
    assert code == 2 and "not a checkpoint (not an .npz archive)" in err
    code, _, err = run(capsys, "ocr", png, "--model", tmp_path / "none.npz")
    assert code == 2 and "no such model file" in err


def variants(img: np.ndarray):
    """The same page as RGBA (transparent paper), 16-bit gray, RGB, palette and 1-bit files."""
    rgba = np.zeros(img.shape + (4,), np.uint8)
    rgba[..., 3] = 255 - img  # ink opaque black, paper fully transparent: composited over white
    yield "rgba.png", rgba, None
    yield "gray16.png", (img.astype(np.uint16) * 257), None
    yield "rgb.jpg", np.stack([img] * 3, -1), None
    yield "gray.tif", img, None
    yield "palette.png", img, "P"
    yield "bilevel.png", img > 100, None


def test_image_kinds_read_the_same(tmp_path, capsys, page, tiny):
    img = page[0]
    code, out, _ = run(capsys, "ocr", save(tmp_path / "base.png", img), "--model", tiny, "--json")
    expected = len(json.loads(out)["boxes"])
    for name, arr, mode in variants(img):
        path = tmp_path / name
        if mode == "P":
            Image.fromarray(arr).convert("P").save(path)
        else:
            save(path, arr)
        code, out, err = run(capsys, "ocr", path, "--model", tiny, "--json")
        assert code == 0, (name, err)
        assert len(json.loads(out)["boxes"]) == expected, name


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (1, 500), (40, 40), (2, 5000)])
def test_tiny_and_blank_images_give_empty_results(tmp_path, capsys, shape, tiny):
    path = save(tmp_path / "t.png", np.full(shape, 230, np.uint8))
    code, out, err = run(capsys, "ocr", path, "--model", tiny, "--json")
    assert code == 0, err
    assert json.loads(out)["lines"] == [] and json.loads(out)["boxes"] == []
    code, out, err = run(capsys, "ocr", path, "--model", tiny)
    assert code == 0 and out == "" and "no characters" in err


def test_blank_photo_with_noise_and_shading(tmp_path, capsys, tiny):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:900, 0:1200] / 1200
    img = (200 - 60 * xx - 30 * yy + rng.normal(0, 4, xx.shape)).clip(0, 255).astype(np.uint8)
    code, out, _ = run(capsys, "ocr", save(tmp_path / "blank.jpg", img), "--model", tiny, "--json")
    assert code == 0 and json.loads(out)["lines"] == []


def test_very_large_image(tmp_path, capsys, page, tiny):
    big = np.full((9000, 12000), 225, np.uint8)  # 108 megapixels: reduced while decoding/loading
    big[2000:2500, 3000:3000 + 800] = np.kron(page[0][:100, :160], np.ones((5, 5), np.uint8))
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path, compress_level=1)
    code, out, err = run(capsys, "ocr", path, "--model", tiny, "--json")
    assert code == 0, err
    assert json.loads(out)["seconds"] < 30


def test_arrays_that_are_not_images(tiny):
    from engine.ocr import OcrPipeline

    p = OcrPipeline(tiny)
    for bad, message in [(np.zeros((0, 0)), "empty"), (np.zeros((5, 5, 7)), "unsupported image shape"),
                         (np.zeros((4, 4), complex), "unsupported pixel type"), (np.zeros(5), "unsupported")]:
        p.open(bad)
        with pytest.raises(ValueError, match=message):
            p.run()
    p.open(np.full((50, 60, 2), 1.0))  # gray + alpha, floats
    assert p.run().lines == []
    p.open(np.full((50, 60), np.nan))
    assert p.run().lines == []


def test_phone_photo_orientation_is_applied(tmp_path, capsys, page, tiny):
    """Phones store pixels sideways plus an EXIF orientation tag; the page must be read upright."""
    stored = Image.fromarray(page[0]).rotate(90, expand=True)  # pixels as the sensor wrote them
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    stored.save(path, exif=exif)
    code, out, err = run(capsys, "ocr", path, "--model", tiny, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["lines"]) == len(LINES) and len(doc["boxes"]) == len("".join(LINES).replace(" ", ""))
    assert max(b[2] for b in doc["boxes"]) <= page[0].shape[0]  # boxes in upright (display) coordinates
