"""Bounded work for any page: big images are reduced before they become float, and a page of noise is
answered with a clear "too many marks" error instead of reaching the grouping stages."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from PIL import Image

import main
from engine.data.dataset import NIST36_CLASSES
from engine.errors import InputError
from engine.nn.network import Network
from engine.ocr import OcrPipeline, segment
from engine.ocr.pipeline import MAX_MARKS
from engine.training.checkpoint import save_network


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    save_network(path, Network.mlp(1024, (8,), 36, "relu"), NIST36_CLASSES)
    return str(path)


def reference_block_mean(a: np.ndarray, f: int) -> np.ndarray:
    h, w = a.shape[:2]
    pad = [(0, -(-h // f) * f - h), (0, -(-w // f) * f - w)] + [(0, 0)] * (a.ndim - 2)
    p = np.pad(a.astype(np.float64), pad, mode="edge")
    return p.reshape(p.shape[0] // f, f, p.shape[1] // f, f, *a.shape[2:]).mean((1, 3))


@pytest.mark.parametrize("shape", [(7, 5), (1, 9), (9, 1), (10, 12, 3), (13, 17, 4), (64, 48)])
def test_block_mean_repeats_edges_like_padding(shape):
    rng = np.random.default_rng(0)
    for dtype in (np.uint8, np.uint16, np.float32, bool):
        a = (rng.random(shape) * (255 if dtype == np.uint8 else 60000 if dtype == np.uint16 else 1)).astype(dtype)
        if dtype is bool:
            a = rng.random(shape) > 0.5
        for f in (2, 3, 5):
            got = segment.block_mean(a, f)
            assert got.dtype == np.float32
            assert np.allclose(got, reference_block_mean(a, f), rtol=1e-5, atol=1e-3), (shape, dtype, f)


def test_big_arrays_are_reduced_before_they_become_float():
    big = np.full((6000, 4500, 3), 200, np.uint8)  # 81 MB as uint8, 324 MB as float32
    big[1000:1400, 1000:3000] = 20
    tracemalloc.start()
    try:
        img, scale, shape = segment.load(big, max_side=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert img.shape == (1000, 750, 3) and shape == (6000, 4500) and scale == pytest.approx(1 / 6)
    assert img[200:230, 170:500].max() < 0.1 and img[:150].min() > 0.75
    assert peak < 0.5 * big.nbytes  # never a float copy of the whole image (that would be 4 x big.nbytes)


def test_big_files_are_reduced_while_decoding(tmp_path):
    for name, mode, arr in [("big.png", "L", np.full((5000, 7000), 230, np.uint8)),
                            ("big16.png", "I;16", np.full((5000, 7000), 60000, np.uint16))]:
        arr[2000:2400, 3000:5000] = 0
        path = tmp_path / name
        Image.fromarray(arr).save(path, compress_level=1)
        img, scale, shape = segment.load(path, max_side=1400)
        assert img.shape == (1000, 1400) and shape == (5000, 7000) and scale == pytest.approx(0.2)
        assert img[420:460, 620:980].max() < 0.05 and img[:300].min() > 0.85


def noise_photo(shape=(1500, 2000), seed=0) -> np.ndarray:
    """A photo of pure noise: a carpet, a textured wall, a badly exposed page."""
    return (np.random.default_rng(seed).random((*shape, 3)) * 255).astype(np.uint8)


def test_a_page_of_noise_is_too_many_marks(tiny):
    pipe = OcrPipeline(tiny)
    pipe.open(noise_photo())
    with pytest.raises(InputError, match="too many marks to be text"):
        pipe.run()
    assert pipe.output("threshold").info["ink_fraction"] > 0.05  # the stages before still show what was seen
    with pytest.raises(InputError, match="too many marks"):
        pipe.output("components")


def test_the_cap_is_a_parameter_and_bounds_what_later_stages_see(tiny):
    from engine.data.pages import render_page

    img, truth = render_page(["SPECKS AROUND", "THE TEXT 42"], seed=2, size=(600, 900), char_height=60)
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 600, 700), rng.integers(0, 900, 700)
    img[rows, cols] = 0  # 700 dark specks, one pixel each (the blur of a real photo is not applied)
    pipe = OcrPipeline(tiny)
    pipe.set_param("denoise", "sigma", 0.0)
    pipe.set_param("components", "max_marks", 300)
    pipe.open(img)
    with pytest.raises(InputError, match="at most 300"):
        pipe.run()
    pipe.set_param("components", "max_marks", MAX_MARKS)
    result = pipe.run()
    n = pipe.output("components").info["components"]
    assert 300 < n <= MAX_MARKS and len(result.boxes) == len(truth)


def test_cli_answers_noise_with_one_line_error(tmp_path, capsys, tiny):
    path = tmp_path / "carpet.jpg"
    Image.fromarray(noise_photo((900, 1200), seed=3)).save(path, quality=90)
    code = main.main(["ocr", str(path), "--model", tiny, "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "too many marks to be text" in err and str(path) in err
    assert len(err.strip().splitlines()) == 1
