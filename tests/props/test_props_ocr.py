"""Property: the OCR entry point (OcrPipeline and the `ocr` command) reads any small image array or
file as a result with strict JSON (no NaN confidence), or refuses it with one clean InputError."""
import io
import json
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line, strict_json
from hypothesis import given
from hypothesis import strategies as st

import main
from engine.data.dataset import NIST36_CLASSES
from engine.errors import InputError
from engine.nn.network import Network
from engine.ocr import OcrPipeline
from engine.ocr.model import Classifier
from engine.training.checkpoint import save_network

CLASSIFIER = Classifier(Network.mlp(1024, (8,), 36, "relu", seed=1), NIST36_CLASSES)
DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_]


@st.composite
def images(draw):
    shape = draw(st.one_of(
        st.tuples(st.integers(1, 160), st.integers(1, 160)),
        st.tuples(st.integers(1, 120), st.integers(1, 120), st.integers(1, 5)),
        st.lists(st.integers(0, 6), max_size=4).map(tuple)))  # 0-d, 1-d, 4-d, empty: not images
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    kind = draw(st.sampled_from(["noise", "blank", "strokes"]))
    a = rng.random(shape) if kind == "noise" else np.ones(shape)
    if kind == "strokes" and len(shape) >= 2 and min(shape[:2]) > 4:
        h, w = shape[:2]
        for _ in range(draw(st.integers(1, 6))):  # a few dark bars, like pen strokes
            r, c = int(rng.integers(h - 2)), int(rng.integers(w - 2))
            a[r:r + int(rng.integers(2, h - r + 1)), c:c + 3] = 0.0
    scale = {np.uint8: 255, np.uint16: 65535, np.int16: 1000, np.int32: 7, np.int64: 10 ** 12}.get(dtype, 1.0)
    a = a * scale
    if a.size and draw(st.booleans()):
        a.flat[int(rng.integers(a.size))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -5.0]))
    with np.errstate(all="ignore"):
        return a.astype(dtype)


def _read(source) -> None:
    pipe = OcrPipeline(CLASSIFIER)
    try:
        pipe.open(source)
        result = pipe.run()
    except InputError as exc:
        one_line(exc)
        return
    doc = strict_json(result.as_json())
    assert len(doc["boxes"]) == len(result.boxes)
    assert all(0.0 <= b[5] <= 1.0 for b in doc["boxes"])
    assert result.lines == [line for line in result.lines if isinstance(line, str)]


@given(images())
def test_any_array_reads_or_is_refused_cleanly(img):
    _read(img)


@given(img=images(), fmt=st.sampled_from(["png", "tif", "jpg", "bmp", "gif", "webp"]))
def test_any_image_file_reads_or_is_refused_cleanly(img, fmt):
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"page.{fmt}"
        try:
            with np.errstate(all="ignore"):
                a = img.astype(np.uint8) if img.dtype not in (np.uint8, np.bool_, np.uint16) else img
            Image.fromarray(a).save(path)
        except Exception:  # noqa: BLE001  (Pillow cannot write it: that is the generator failing, not the OCR)
            return  # Pillow cannot write it: not a file a user could have
        _read(path)


@given(blob=st.binary(max_size=3000), suffix=st.sampled_from([".png", ".jpg", ".tif", ".txt", ""]))
def test_random_bytes_are_refused_cleanly(blob, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"photo{suffix}"
        path.write_bytes(blob)
        pipe = OcrPipeline(CLASSIFIER)
        with pytest.raises(InputError) as info:
            pipe.open(path)
            pipe.run()
        one_line(info.value)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    save_network(path, CLASSIFIER.net, NIST36_CLASSES)
    return path


@given(img=images(), as_json=st.booleans())
def test_ocr_command_ends_in_a_result_or_an_error_line(tiny_model, img, as_json):
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.png"
        try:
            with np.errstate(all="ignore"):
                Image.fromarray(img if img.dtype in (np.uint8, np.bool_) else img.astype(np.uint8)).save(path)
        except Exception:  # noqa: BLE001  (Pillow cannot write it: that is the generator failing, not the OCR)
            path.write_bytes(img.tobytes()[:500])  # not an image at all
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main.main(["ocr", str(path), "--model", str(tiny_model)] + (["--json"] if as_json else []))
        if code == 2:
            assert err.getvalue().startswith("error: ") and len(err.getvalue().strip().splitlines()) == 1
        else:
            assert code == 0 and "error" not in err.getvalue()
            if as_json:
                strict_json(json.loads(out.getvalue()))
