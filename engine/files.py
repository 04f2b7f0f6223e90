"""The one atomic-write helper: every file the project writes goes through ``atomic_write``.

Readers see the old file or the new one, never half of one. The temporary file sits beside the
target (same filesystem, so ``os.replace`` is atomic), gets ordinary permissions (``mkstemp``
makes files owner-only), is removed when writing fails, and stale ones left by a killed run are
removed on the next save to the same path.
"""
from __future__ import annotations

import glob
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from engine.errors import InputError

_TMP_SUFFIX = ".partial"


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}."


# Temp names of the five routines this helper replaced: a killed run of an older version left these.
_LEGACY = ("{name}*.tmp", "{stem}.*tmp.npz", "{name}.tmp.npz")


def _remove_stale(path: Path, min_age: float = 60.0) -> None:
    """Temp files of an earlier writer of ``path`` that died before renaming. Matched by name only,
    so a live writer's file is spared by age: it is younger than ``min_age`` seconds."""
    name, stem = glob.escape(path.name), glob.escape(path.stem)
    patterns = [f"{glob.escape(_tmp_prefix(path))}*{_TMP_SUFFIX}"] + [p.format(name=name, stem=stem) for p in _LEGACY]
    for pattern in patterns:
        for old in path.parent.glob(pattern):
            try:
                if old != path and time.time() - old.stat().st_mtime > min_age:
                    old.unlink()
            except OSError:
                pass


@contextmanager
def atomic_write(path, mode: str = "wb") -> Iterator[IO]:
    """``with atomic_write(p) as f: f.write(...)``: p appears complete, or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path), suffix=_TMP_SUFFIX)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def user_path(path) -> Path:
    """A path the user typed, ``~`` expanded. ``~nobody/x`` (no such user, or no home at all) stays as
    written, so it ends as "no such file" instead of pathlib's RuntimeError."""
    if "\x00" in str(path):  # the OS refuses it anyway, as a ValueError deep inside pathlib or pwd
        raise InputError(f"{str(path)!r}: a path cannot contain a NUL character")
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def _same(a: Path, b: Path) -> bool:
    """One file under two names: the same path once links are resolved, or the same inode (a hard link)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): only the names could tell
        return False


def check_distinct(inputs: list[tuple[str, object]], outputs: list[tuple[str, object]]) -> None:
    """Before any work: no output is one of the inputs (``report ck.npz --out ck.npz`` would replace the
    checkpoint with HTML) and no two outputs are one file (``--save x --report x`` would keep neither).
    Pairs of (what the user calls it, path); a None path is a flag not given."""
    ins = [(k, user_path(v)) for k, v in inputs if v is not None and str(v).strip()]
    outs = [(k, user_path(v)) for k, v in outputs if v is not None and str(v).strip()]
    for name, out in outs:
        for source, given in ins:
            if _same(out, given):
                raise InputError(f"{name} {out} is the {source} this command reads: writing it would destroy "
                                 "that input; choose another path")
    for i, (a, pa) in enumerate(outs):
        for b, pb in outs[i + 1:]:
            if _same(pa, pb):
                raise InputError(f"{a} and {b} are one file ({pa}): one would overwrite the other")


def check_writable(path) -> Path:
    """Fail now, not after an hour of training, when ``path`` cannot be written."""
    if not str(path).strip():  # before Path(): Path("") is "."
        raise InputError("the save path is empty")
    path = user_path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {path}: {parent} is not writable")
    return path
