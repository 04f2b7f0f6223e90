"""The one atomic-write helper (engine.files) and the writers that use it."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT

from engine.errors import InputError
from engine.files import atomic_write, check_writable


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_replaces_whole_file_with_ordinary_permissions(tmp_path):
    target = tmp_path / "sub" / "out.txt"  # missing folders are created
    old = os.umask(0o022)
    try:
        with atomic_write(target, "w") as f:
            f.write("one")
        with atomic_write(target, "w") as f:
            f.write("two")
    finally:
        os.umask(old)
    assert target.read_text() == "two"
    assert target.stat().st_mode & 0o777 == 0o644  # not mkstemp's owner-only 0o600
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failure_keeps_the_old_file_and_removes_the_temp_file(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"half of a new")
            raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_a_killed_writer_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    target = tmp_path / "ckpt.npz"
    code = ("import os, signal, sys; sys.path.insert(0, sys.argv[2]); from engine.files import atomic_write\n"
            "with atomic_write(sys.argv[1]) as f:\n"
            "    f.write(b'x' * 1000); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(target), str(ROOT)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    leftovers = list(tmp_path.iterdir())
    assert len(leftovers) == 1 and leftovers[0] != target  # the kill left a temp file and no target
    # legacy names of the five routines this helper replaced, left by a killed older version
    legacy = [tmp_path / "ckpt.npzab12cd.tmp", tmp_path / "ckpt.4242.tmp.npz", tmp_path / "ckpt.npz.tmp.npz"]
    for p in legacy:
        p.write_bytes(b"junk")
    unrelated = tmp_path / "ckpt_other.npz"
    unrelated.write_bytes(b"keep")
    young = tmp_path / f".ckpt.npz.live{os.getpid()}.partial"  # another writer that is still running
    young.write_bytes(b"busy")
    for p in [*leftovers, *legacy, unrelated]:
        _age(p, 3600)
    with atomic_write(target) as f:
        f.write(b"complete")
    assert target.read_bytes() == b"complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ckpt.npz", "ckpt_other.npz", young.name])


def test_check_writable(tmp_path):
    assert check_writable(tmp_path / "new" / "deeper" / "m.npz") == tmp_path / "new" / "deeper" / "m.npz"
    for bad, message in [("", "empty"), ("  ", "empty"), (str(tmp_path), "is a folder")]:
        with pytest.raises(InputError, match=message):
            check_writable(bad)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(InputError, match="not writable"):
                check_writable(locked / "m.npz")
        finally:
            locked.chmod(0o700)
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(InputError):
        check_writable(blocker / "m.npz")


def test_every_writer_goes_through_the_helper(tmp_path, monkeypatch):
    """Checkpoints, run logs, training rows, caches, sample pages: each write passes atomic_write."""
    import engine.files as files
    from engine.nn.network import Network
    from engine.training.checkpoint import save_network

    seen = []
    real = files.atomic_write

    def spy(path, mode="wb"):
        seen.append(Path(path).name)
        return real(path, mode)

    import engine.data.glyphs
    import engine.data.pages
    import engine.training.checkpoint
    import engine.training.runlog

    for module in list(sys.modules.values()):  # every module that imported the helper by name
        if getattr(module, "atomic_write", None) is real:
            monkeypatch.setattr(module, "atomic_write", spy)
    save_network(tmp_path / "net.npz", Network([4, 3], ["softmax"]), "ABC")
    engine.training.runlog.save_csv(tmp_path / "c.csv", {"a": [1.0, 2.0]})
    engine.data.pages.write_samples(tmp_path / "pages", n=1, size=(120, 160))
    engine.data.glyphs.load_glyphs(n=72, seed=3, cache_dir=tmp_path / "cache")
    assert {"net.npz", "c.csv", "page1.png", "truth.json"} <= set(seen)
    assert any(n.startswith("glyphs_v") for n in seen)  # the glyph cache
    with np.load(tmp_path / "net.npz") as f:
        assert "meta" in f.files
    source = "\n".join(p.read_text() for p in (ROOT / "engine").rglob("*.py") if p.name != "files.py")
    for routine in ("mkstemp", "os.replace(", ".tmp"):  # no second atomic-write routine left anywhere
        assert routine not in source, routine


def test_a_nul_character_in_a_path_is_a_clean_input_error():
    """Found by the property tests: '~\\x00' made pwd raise a bare ValueError (a traceback)."""
    import pytest

    from engine.errors import InputError
    from engine.files import user_path

    for text in ("~\x00", "data\x00.npz"):
        with pytest.raises(InputError, match="NUL"):
            user_path(text)
