"""engine.archive: an .npz read member by member, each member's size known from its header before a byte of
it is decompressed; a .npy bounded the same way."""
import numpy as np
import pytest

from engine.archive import Npz, read_npy
from engine.errors import InputError

MB = 2 ** 20


def small_npz(path, **extra):
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.random((40, 1024), dtype=np.float32), y=np.arange(40) % 4, **extra)
    return path


def test_npz_reads_only_what_is_asked(tmp_path):
    f = small_npz(tmp_path / "d.npz", obj=np.array([{"a": 1}], dtype=object))
    with Npz(f) as z:
        assert sorted(z.names) == ["obj", "x", "y"]
        assert z.shape("x") == (40, 1024) and z.dtype("x") == np.float32 and z.nbytes("x") == 40 * 1024 * 4
        np.testing.assert_array_equal(z.read("y", 1000), np.arange(40) % 4)
        with pytest.raises(InputError, match="holds Python objects"):
            z.read("obj", MB)


def test_a_npy_file_is_bounded_by_its_header(tmp_path):
    f = tmp_path / "a.npy"
    np.save(f, np.zeros((3, 32, 32), np.float32))
    assert read_npy(f, MB).shape == (3, 32, 32)
    with pytest.raises(InputError, match="too large"):
        read_npy(f, 1000)
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(InputError, match="ends before"):
        read_npy(f, MB)
