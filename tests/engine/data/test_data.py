"""engine.data.loaders: user data in the NIST layout, carved splits, combining, and one-line DataErrors."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import skimage.io
from helpers import SHARED

from engine.data.dataset import NIST36_CLASSES, Dataset, Split, to_image
from engine.data.loaders import DataError, combine
from engine.data.registry import load_dataset

NIST26 = SHARED / "data" / "nist26" / "nist26_valid.mat"


def upright_glyph() -> np.ndarray:
    """An asymmetric 'L' (dark strokes on white): left column and bottom row dark, top-left not mirrored."""
    img = np.ones((32, 32))
    img[4:28, 6:9] = 0.0   # vertical bar on the left
    img[25:28, 6:22] = 0.0  # foot at the bottom
    return img


def nist_pair(n: int, k: int = 36, seed: int = 0, start: int = 0):
    """Rows exactly like the course files: float64 in about -0.14..1.12, MATLAB column-major, one-hot uint8.

    Pixel 100 holds a unique row id so carved splits can be checked for overlap.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.14, 1.12, size=(n, 1024))
    x[0] = upright_glyph().flatten(order="F")  # what MATLAB's img(:)' stores
    x[:, 100] = start + np.arange(n)
    labels = np.arange(n) % k
    onehot = np.zeros((n, k), np.uint8)
    onehot[np.arange(n), labels] = 1
    return x, onehot, labels


def write_mat(path: Path, **splits) -> Path:
    """savemat with keys <split>_data / <split>_labels, as in nist36_*.mat."""
    d = {}
    for s, (x, onehot) in splits.items():
        d[f"{s}_data"], d[f"{s}_labels"] = x, onehot
    scipy.io.savemat(path, d)
    return path


def ids(split: Split) -> set[int]:
    return set(split.x[:, 100].astype(int).tolist())


# ---- .mat ---------------------------------------------------------------------------------------

def test_mat_folder_three_splits_keeps_values_and_orientation(tmp_path):
    tr, va, te = nist_pair(40), nist_pair(12, seed=1, start=100), nist_pair(12, seed=2, start=200)
    for s, (x, oh, _) in zip(("train", "valid", "test"), (tr, va, te)):
        write_mat(tmp_path / f"nist36_{s}.mat", **{s: (x, oh)})
    ds = load_dataset(str(tmp_path))
    assert ds.classes == NIST36_CLASSES and ds.n_inputs == 1024
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (40, 12, 12)
    assert ds.train.x.dtype == np.float32 and ds.train.y.dtype == np.int64
    np.testing.assert_array_equal(ds.train.y, tr[2])
    np.testing.assert_array_equal(ds.valid.x, va[0].astype(np.float32))  # not clipped, not reordered
    assert ds.train.x.min() < -0.1 and ds.train.x.max() > 1.1
    expected = upright_glyph()
    expected[4, 3] = 0.0  # pixel 100 (column-major) holds row id 0
    np.testing.assert_array_equal(to_image(ds.train.x[0]), expected)


def test_single_mat_with_only_valid_is_split_80_10_10_deterministically(tmp_path):
    x, oh, _ = nist_pair(40)
    f = write_mat(tmp_path / "only_valid.mat", valid=(x, oh))
    a, b = load_dataset(str(f)), load_dataset(str(f))
    assert (len(a.train), len(a.valid), len(a.test)) == (32, 4, 4)
    for s in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(a, s).x, getattr(b, s).x)
    assert ids(a.train) | ids(a.valid) | ids(a.test) == set(range(40))
    assert not (ids(a.train) & ids(a.valid) or ids(a.train) & ids(a.test) or ids(a.valid) & ids(a.test))
    assert ids(load_dataset(str(f), seed=1).valid) != ids(a.valid)


def test_train_and_valid_without_test_carves_test_from_train(tmp_path):
    tr, va = nist_pair(40), nist_pair(10, seed=1, start=100)
    f = write_mat(tmp_path / "two.mat", train=tr[:2], valid=va[:2])
    ds = load_dataset(str(f))
    assert ids(ds.valid) == set(range(100, 110))  # the user's valid split is untouched
    assert len(ds.test) == 5 and len(ds.train) == 35
    assert ids(ds.train) | ids(ds.test) == set(range(40)) and not ids(ds.train) & ids(ds.test)


def test_integer_label_column_vector_is_accepted(tmp_path):
    x, _, labels = nist_pair(20, k=10)
    f = tmp_path / "ints.mat"
    scipy.io.savemat(f, {"train_data": x, "train_labels": labels[:, None]})
    ds = load_dataset(str(f))
    assert ds.classes == tuple("0123456789")
    assert sorted(np.concatenate([ds.train.y, ds.valid.y, ds.test.y]).tolist()) == sorted(labels.tolist())


@pytest.mark.skipif(not NIST26.exists(), reason="real nist26 file not available")
def test_real_nist26_file_loads_as_is():
    ds = load_dataset(str(NIST26))
    y = np.concatenate([ds.train.y, ds.valid.y, ds.test.y])
    assert len(y) == 1300 and ds.classes == NIST36_CLASSES[:26]
    assert np.bincount(y).tolist() == [50] * 26
    assert ds.train.x.min() < 0 and ds.train.x.max() > 1  # values kept, not clipped
    assert 0.75 < ds.train.x.mean() < 0.9  # dark strokes on white


# ---- .npz ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("onehot", [True, False])
def test_npz_with_splits_and_class_names(tmp_path, onehot):
    x, oh, labels = nist_pair(30, k=3)
    y = oh if onehot else labels
    f = tmp_path / "d.npz"
    np.savez(f, x_train=x[:20], y_train=y[:20], x_valid=x[20:25], y_valid=y[20:25],
             x_test=x[25:], y_test=y[25:], classes=np.array(["cat", "dog", "owl"]))
    ds = load_dataset(str(f))
    assert ds.classes == ("cat", "dog", "owl") and (len(ds.train), len(ds.valid), len(ds.test)) == (20, 5, 5)
    np.testing.assert_array_equal(ds.test.y, labels[25:])


def test_npz_xy_only_of_upright_images(tmp_path):
    imgs = np.ones((20, 32, 32), np.float32)
    imgs[0] = upright_glyph()
    imgs[:, 0, 31] = np.arange(20)  # unique id in the top-right pixel
    f = tmp_path / "xy.npz"
    np.savez(f, x=imgs, y=np.arange(20) % 4)
    ds = load_dataset(str(f))
    assert ds.classes == ("0", "1", "2", "3") and (len(ds.train), len(ds.valid), len(ds.test)) == (16, 2, 2)
    everything = np.concatenate([ds.train.x, ds.valid.x, ds.test.x])
    first = everything[np.argmin([to_image(r)[0, 31] for r in everything])]
    np.testing.assert_array_equal(to_image(first)[1:], upright_glyph()[1:])


# ---- image folder -------------------------------------------------------------------------------

def test_image_folder_rgba_16bit_gray(tmp_path):
    big = np.kron(upright_glyph(), np.ones((3, 2)))  # 96x64, not square
    (tmp_path / "A").mkdir(), (tmp_path / "B").mkdir(), (tmp_path / "C").mkdir()
    rgba = np.zeros(big.shape + (4,), np.uint8)
    rgba[..., 3] = ((1 - big) * 255).astype(np.uint8)  # black ink on a transparent page
    for i in range(5):
        skimage.io.imsave(tmp_path / "A" / f"{i}.png", rgba, check_contrast=False)
        skimage.io.imsave(tmp_path / "B" / f"{i}.png", (big * 65535).astype(np.uint16), check_contrast=False)
        skimage.io.imsave(tmp_path / "C" / f"{i}.png", ((1 - big) * 255).astype(np.uint8), check_contrast=False)
    (tmp_path / "C" / "notes.txt").write_text("not an image, skipped")
    ds = load_dataset(str(tmp_path))
    assert ds.classes == ("A", "B", "C")
    x = np.concatenate([ds.train.x, ds.valid.x, ds.test.x])
    y = np.concatenate([ds.train.y, ds.valid.y, ds.test.y])
    assert x.shape == (15, 1024) and x.dtype == np.float32 and np.bincount(y).tolist() == [5, 5, 5]
    assert x.min() >= 0 and x.max() <= 1
    for row in x:  # every source ends up dark-on-light and upright: left bar dark, top-right white
        img = to_image(row)
        assert img.mean() > 0.6 and img[16, 10] < 0.3 and img[2, 30] > 0.9


# ---- combining ----------------------------------------------------------------------------------

def make_ds(name, classes, y):
    s = Split(np.full((len(y), 1024), 0.5, np.float32), np.asarray(y, np.int64))
    return Dataset(name, tuple(classes), s, s, s)


def test_combine_maps_by_class_name():
    digits_first = make_ds("a", "0A", [0, 1])
    letters = make_ds("b", NIST36_CLASSES[:26], [0, 25])
    ds = combine([digits_first, letters])
    assert ds.classes == NIST36_CLASSES[:27]  # union in letters-then-digits order
    assert [ds.classes[i] for i in ds.train.y] == ["0", "A", "A", "Z"]
    other = combine([make_ds("c", ["cat", "dog"], [1]), make_ds("d", ["dog", "eel"], [1])])
    assert other.classes == ("cat", "dog", "eel") and other.train.y.tolist() == [1, 2]


def test_plus_spec_combines_glyphs_with_nist26_file(tmp_path, monkeypatch):
    fake = types.ModuleType("engine.data.glyphs")
    fake.load_glyphs = lambda: make_ds("glyphs", NIST36_CLASSES, list(range(36)))
    monkeypatch.setitem(sys.modules, "engine.data.glyphs", fake)
    x, oh, labels = nist_pair(30, k=26)
    f = write_mat(tmp_path / "nist26_valid.mat", valid=(x, oh))
    ds = load_dataset(f"glyphs+{f}")
    assert ds.classes == NIST36_CLASSES and ds.name == "glyphs+nist26_valid"
    y = np.concatenate([ds.train.y, ds.valid.y, ds.test.y])
    assert len(y) == 3 * 36 + 30 and np.bincount(y, minlength=36)[26:].tolist() == [3] * 10


# ---- errors: one DataError naming the file ------------------------------------------------------

def _good(tmp_path):
    x, oh, _ = nist_pair(10)
    return x, oh


def bad_truncated(tmp_path):
    f = write_mat(tmp_path / "cut.mat", train=_good(tmp_path))
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    return f


def bad_text(tmp_path):
    f = tmp_path / "notes.mat"
    f.write_text("these are my notes, not a MATLAB file\n" * 20)
    return f


def bad_keys(tmp_path):
    f = tmp_path / "keys.mat"
    scipy.io.savemat(f, {"images": _good(tmp_path)[0], "targets": _good(tmp_path)[1]})
    return f


def bad_shape(tmp_path):
    x, oh = _good(tmp_path)
    return write_mat(tmp_path / "shape.mat", train=(x[:, :1000], oh))


def bad_nan(tmp_path):
    x, oh = _good(tmp_path)
    x[3, 7] = np.nan
    return write_mat(tmp_path / "nan.mat", train=(x, oh))


def bad_onehot(tmp_path):
    x, oh = _good(tmp_path)
    oh[4, 0] = oh[4, 1] = 1
    return write_mat(tmp_path / "onehot.mat", train=(x, oh))


def bad_length(tmp_path):
    x, oh = _good(tmp_path)
    return write_mat(tmp_path / "length.mat", train=(x, oh[:-1]))


def bad_missing_labels(tmp_path):
    f = tmp_path / "half.mat"
    scipy.io.savemat(f, {"valid_data": _good(tmp_path)[0]})
    return f


def bad_float_labels(tmp_path):
    f = tmp_path / "labels.npz"
    np.savez(f, x=_good(tmp_path)[0], y=np.linspace(0, 1, 10))
    return f


def bad_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def bad_image(tmp_path):
    (tmp_path / "imgs" / "A").mkdir(parents=True)
    f = tmp_path / "imgs" / "A" / "broken.png"
    f.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return f


def bad_missing(tmp_path):
    return tmp_path / "nist36_train.mat"


@pytest.mark.parametrize("make", [bad_truncated, bad_text, bad_keys, bad_shape, bad_nan, bad_onehot, bad_length,
                                  bad_missing_labels, bad_float_labels, bad_empty_folder, bad_image, bad_missing])
def test_errors_are_one_line_and_name_the_file(tmp_path, make):
    f = make(tmp_path)
    spec = tmp_path / "imgs" if make is bad_image else f
    with pytest.raises(DataError) as info:
        load_dataset(str(spec))
    msg = str(info.value)
    assert f.name in msg and "\n" not in msg
    if make is bad_keys:
        assert "images" in msg and "targets" in msg
