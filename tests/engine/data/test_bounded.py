"""Datasets read bounded: a small .npz or .mat never expands past memory. Only the members (variables) a
loader uses are decompressed, each refused from its header when larger than its bound."""
import zipfile

import numpy as np
import pytest
import scipy.io
from helpers import add_zero_member, one_line, peak_bytes

from engine.data import loaders
from engine.data.loaders import DataError
from engine.data.registry import load_dataset

MB = 2 ** 20


def small_npz(path, **extra):
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.random((40, 1024), dtype=np.float32), y=np.arange(40) % 4, **extra)
    return path


def test_an_unused_member_is_never_decompressed(tmp_path):
    """64 MB of zeros beside the data (a few hundred KB on disk): loading used to unpack it all."""
    f = small_npz(tmp_path / "d.npz")
    add_zero_member(f, "unused", 64 * MB)
    assert f.stat().st_size < 2 * MB
    data, peak = peak_bytes(load_dataset, str(f))
    assert len(data.train) == 32 and peak < 16 * MB, peak


def test_a_corrupt_unused_member_does_not_matter(tmp_path):
    f = small_npz(tmp_path / "d.npz")
    with zipfile.ZipFile(f, "a") as z:
        z.writestr("notes.npy", np.lib.format.MAGIC_PREFIX + b"\x01\x00 cut here")
    assert len(load_dataset(str(f)).train) == 32


def test_a_used_member_over_its_bound_is_refused_from_its_header(tmp_path, monkeypatch):
    f = small_npz(tmp_path / "d.npz")
    monkeypatch.setattr(loaders, "MAX_ARRAY_BYTES", 100_000)  # x holds 160 KB
    with pytest.raises(DataError, match=r"member 'x' is too large: float32 \(40, 1024\)") as exc:
        load_dataset(str(f))
    assert str(f) in str(exc.value)
    one_line(exc.value)


def test_a_header_that_disagrees_with_the_archive_is_damage(tmp_path):
    """A member whose .npy header promises more than the zip directory says it holds."""
    f = tmp_path / "d.npz"
    small_npz(f)
    with zipfile.ZipFile(f) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    header_end = members["x.npy"].index(b"\n") + 1
    head = members["x.npy"][:header_end].replace(b"(40, 1024)", b"(80, 1024)")
    members["x.npy"] = head + members["x.npy"][header_end:]
    with zipfile.ZipFile(f, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(DataError, match="member 'x' is damaged: its header promises") as exc:
        load_dataset(str(f))
    one_line(exc.value)


def test_a_mat_file_reads_only_its_data_variables(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 1024)), np.eye(4)[np.arange(40) % 4]
    f = tmp_path / "d.mat"
    scipy.io.savemat(f, {"train_data": x, "train_labels": y, "notes": np.zeros((64 * MB // 8,))},
                     do_compression=True)
    assert f.stat().st_size < 2 * MB
    data, peak = peak_bytes(load_dataset, str(f))
    assert len(data.train) == 32 and peak < 16 * MB, peak


def test_a_mat_variable_over_its_bound_is_refused_before_reading(tmp_path, monkeypatch):
    f = tmp_path / "d.mat"
    scipy.io.savemat(f, {"train_data": np.zeros((40, 1024)), "train_labels": np.eye(4)[np.arange(40) % 4]})
    monkeypatch.setattr(loaders, "MAX_ARRAY_BYTES", 100_000)
    with pytest.raises(DataError, match=r"train_data is too large: double \(40, 1024\)") as exc:
        load_dataset(str(f))
    one_line(exc.value)


@pytest.mark.parametrize("fmt, compress", [("5", True), ("5", False), ("4", False)])
def test_mat_files_of_every_level_still_read(tmp_path, fmt, compress):
    rng = np.random.default_rng(0)
    x, labels = rng.random((40, 1024)), np.arange(40) % 4
    f = tmp_path / "d.mat"
    scipy.io.savemat(f, {"notes": np.ones((3, 3)), "train_data": x, "train_labels": np.eye(4)[labels]},
                     format=fmt, do_compression=compress)
    data = load_dataset(str(f))
    rows = np.concatenate([data.train.x, data.valid.x, data.test.x])
    assert len(rows) == 40 and np.allclose(np.sort(rows[:, 0]), np.sort(x[:, 0].astype(np.float32)))


def test_a_cut_compressed_mat_is_one_error_line(tmp_path):
    f = tmp_path / "d.mat"
    scipy.io.savemat(f, {"train_data": np.random.default_rng(0).random((40, 1024)),
                         "train_labels": np.eye(4)[np.arange(40) % 4]}, do_compression=True)
    f.write_bytes(f.read_bytes()[:f.stat().st_size * 2 // 3])
    with pytest.raises(DataError, match="not a readable MATLAB") as exc:
        load_dataset(str(f))
    one_line(exc.value)
