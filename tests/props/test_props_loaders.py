"""Property: any .npz / .mat / image folder / random bytes given as --data loads as a usable dataset
(finite float32 rows, labels within the classes) or ends in one clean InputError."""
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from helpers import one_line
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.data.registry import NAMED, load_dataset
from engine.errors import InputError
from engine.files import user_path
from engine.training.session import TrainConfig, TrainingSession

SPECIAL = [np.nan, np.inf, -np.inf, 1e300, -1e300, 3.5e38, 1e-320, 0.0, -1.0, 255.0, 65535.0]
DTYPES = [np.uint8, np.int8, np.uint16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_]


@st.composite
def features(draw, n):
    kind = draw(st.sampled_from(["rows", "images", "other"]))
    shape = {"rows": (n, 1024), "images": (n, 32, 32)}.get(kind) or draw(
        st.lists(st.integers(0, 40), min_size=0, max_size=3).map(tuple))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = (rng.random(shape) * draw(st.sampled_from([1.0, 255.0, 1e6]))).astype(np.float64)
    for _ in range(draw(st.integers(0, 3))):  # a few special values at random places
        if x.size:
            x.flat[int(rng.integers(x.size))] = draw(st.sampled_from(SPECIAL))
    with np.errstate(all="ignore"):
        return x.astype(dtype)


@st.composite
def labels(draw, n):
    kind = draw(st.sampled_from(["int", "float", "onehot", "column", "wrong"]))
    top = draw(st.sampled_from([1, 2, 36, 1000, 10 ** 7, 10 ** 12]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    m = n + draw(st.sampled_from([0, 0, 0, 1, -1])) if n else n  # sometimes one label too many/few
    m = max(m, 0)
    if kind == "onehot":
        width = min(top, 3000)
        y = np.zeros((m, width), draw(st.sampled_from([np.uint8, np.float32, np.int64])))
        y[np.arange(m), rng.integers(0, width, m)] = 1
        if m and draw(st.booleans()):
            y[0, 0] += 1  # not one-hot any more
        return y
    y = rng.integers(0, min(top, 2 ** 62), m)
    if kind == "float":
        y = y.astype(np.float64)
        if m:
            y[0] = draw(st.sampled_from([np.nan, np.inf, -1.0, 0.5, 1e300, 3.0]))
    if kind == "column":
        y = y.reshape(-1, 1)
    if kind == "wrong":
        y = y.reshape(1, 1, -1)
    return y


def _check(spec: str) -> None:
    try:
        data = load_dataset(spec)
    except InputError as exc:
        one_line(exc)
        return
    for split in (data.train, data.valid, data.test):
        assert split.x.dtype == np.float32 and split.x.ndim == 2 and split.x.shape[1] == 1024
        assert np.isfinite(split.x).all()
        assert split.y.dtype == np.int64 and len(split.y) == len(split.x)
        assert ((split.y >= 0) & (split.y < data.n_classes)).all()
    assert data.n_classes <= max(36, sum(map(len, (data.train, data.valid, data.test))))
    try:  # the training door: a session is built, or the dataset is refused in one line
        session = TrainingSession(data, TrainConfig(hidden=(4,), epochs=1, batch_size=8))
    except InputError as exc:
        one_line(exc)
        return
    loss, acc, _ = session.evaluate(data.valid)
    assert np.isfinite(loss) and np.isfinite(acc)


@given(n=st.integers(0, 40), data=st.data(), split_keys=st.booleans())
def test_npz_loads_or_is_refused_cleanly(n, data, split_keys):
    x, y = data.draw(features(n)), data.draw(labels(n))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.npz"
        keys = ("x_train", "y_train") if split_keys else ("x", "y")
        extra = {}
        if data.draw(st.booleans()):
            extra["classes"] = np.array(data.draw(st.lists(st.text(max_size=3), max_size=50)), dtype=str)
        np.savez(path, **{keys[0]: x, keys[1]: y}, **extra)
        _check(str(path))


@given(n=st.integers(0, 30), data=st.data())
def test_mat_loads_or_is_refused_cleanly(n, data):
    x, y = data.draw(features(n)), data.draw(labels(n))
    if x.dtype == np.float16 or x.ndim == 0 or y.ndim == 0:  # savemat cannot write these; not a user's file
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.mat"
        split = data.draw(st.sampled_from(["train", "valid", "test"]))
        try:
            scipy.io.savemat(path, {f"{split}_data": x, f"{split}_labels": y})
        except (ValueError, TypeError):
            return  # shapes MATLAB cannot hold
        _check(str(path))


@given(blob=st.binary(max_size=2000), suffix=st.sampled_from([".npz", ".mat", ".png", ".txt", ""]))
def test_random_bytes_are_refused_cleanly(blob, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        path.write_bytes(blob)
        with pytest.raises(InputError) as info:
            load_dataset(str(path))
        one_line(info.value)
        folder = Path(tmp) / "folder" / "A"  # the same bytes as an "image" in an image folder
        folder.mkdir(parents=True)
        (folder / "x.png").write_bytes(blob)
        (folder.parent / "B").mkdir()
        _check(str(folder.parent))


@given(data=st.data())
def test_image_folder_of_generated_images(data):
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "imgs"
        n_classes = data.draw(st.integers(1, 3))
        for c in range(n_classes):
            d = root / f"class{c}"
            d.mkdir(parents=True)
            for i in range(data.draw(st.integers(0, 6))):
                h, w = data.draw(st.integers(1, 50)), data.draw(st.integers(1, 50))
                mode = data.draw(st.sampled_from(["L", "RGB", "RGBA", "1", "I;16", "P", "LA"]))
                seed = data.draw(st.integers(0, 2 ** 32 - 1))
                img = Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w), np.uint8)).convert(mode)
                try:
                    img.save(d / f"{i}.{data.draw(st.sampled_from(['png', 'tif', 'bmp', 'gif']))}")
                except Exception:  # noqa: BLE001
                    pass  # Pillow cannot write that mode in that format: not a file a user could have
        _check(str(root))


@given(spec=st.text(max_size=30))
def test_any_dataset_name_is_a_dataset_or_a_clean_error(spec):
    parts = [spec, *spec.split("+")]
    # real datasets ("glyphs", or a folder that exists such as "/") are tested elsewhere
    assume(not any(p.strip() in NAMED or ("\x00" not in p and user_path(p.strip()).exists()) for p in parts))
    with pytest.raises(InputError) as info:
        load_dataset(spec)
    one_line(info.value)
