"""Bounded reading of .npz archives and .npy files: a small file can never expand past memory.

``np.load`` on an .npz reads its members lazily, but ``{k: f[k] for k in f.files}`` decompresses all of
them, used or not (a 3.6 MB archive can hold a 3 GB array of zeros). ``Npz`` decompresses only the
members asked for, and each one's size is known before a byte of it is read: the .npy header inside the
member gives its shape and dtype (a few hundred bytes decompressed), and the zip directory its
uncompressed size, which must agree. A member over its byte limit, holding Python objects (a pickle) or
whose header disagrees with the archive is refused with the caller's error type, naming file and member.
"""
from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import numpy.lib.format as npy

from engine.errors import InputError

MAX_HEADER = 10_000  # bytes of .npy header text (numpy's own default bound)
# what a damaged member raises while read: a bad header, a cut or corrupt deflate stream, a CRC mismatch,
# an unsupported compression method (zipfile: NotImplementedError), an encrypted member (RuntimeError)
_MEMBER_ERRORS = (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError, RuntimeError)


def _why(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _header(f) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) from the start of an .npy stream; ValueError if it is not one."""
    version = npy.read_magic(f)
    if version == (1, 0):
        return npy.read_array_header_1_0(f, max_header_size=MAX_HEADER)
    if version == (2, 0):
        return npy.read_array_header_2_0(f, max_header_size=MAX_HEADER)
    if version == (3, 0) and hasattr(npy, "_read_array_header"):  # utf-8 field names (numpy >= 1.17)
        return npy._read_array_header(f, version, max_header_size=MAX_HEADER)
    raise ValueError(f"unsupported .npy format version {version}")


def _nbytes(shape, dtype: np.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def _size(n: int) -> str:
    return f"{n / 2 ** 30:.1f} GB" if n >= 2 ** 30 else f"{n / 2 ** 20:.1f} MB" if n >= 2 ** 20 else f"{n:,} bytes"


class Npz:
    """An .npz opened for bounded reading. ``names`` lists the members (".npy" stripped); ``shape`` and
    ``dtype`` come from a member's header; ``read(name, max_bytes)`` decompresses one member."""

    def __init__(self, path, error: Callable[[str], InputError] = InputError, what: str = ".npz archive"):
        self.path, self.error = Path(path), error
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
            if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise
            raise error(f"{self.path}: not a readable {what} ({_why(exc)})") from None
        self._info = {i.filename[:-4] if i.filename.endswith(".npy") else i.filename: i for i in infos}
        self._headers: dict[str, tuple[tuple[int, ...], bool, np.dtype]] = {}

    def __enter__(self) -> "Npz":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def names(self) -> list[str]:
        return list(self._info)

    def __contains__(self, name: str) -> bool:
        return name in self._info

    def _bad(self, name: str, why: str) -> InputError:
        return self.error(f"{self.path}: member {name!r} {why}")

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """(shape, dtype) of a member, from its .npy header alone; checked against the zip directory."""
        if name not in self._headers:
            info = self._info[name]
            try:
                with self._zip.open(info) as f:
                    shape, fortran, dtype = _header(f)
                    offset = f.tell()
            except _MEMBER_ERRORS as exc:
                raise self._bad(name, f"is not a readable array ({_why(exc)})") from None
            if dtype.hasobject:
                raise self._bad(name, "holds Python objects (a pickle), which are never loaded")
            if offset + _nbytes(shape, dtype) != info.file_size:
                raise self._bad(name, f"is damaged: its header promises {_size(_nbytes(shape, dtype))} of "
                                      f"{dtype} {shape}, the archive holds {_size(max(info.file_size - offset, 0))}")
            self._headers[name] = (tuple(shape), fortran, dtype)
        shape, _, dtype = self._headers[name]
        return shape, dtype

    def shape(self, name: str) -> tuple[int, ...]:
        return self.header(name)[0]

    def dtype(self, name: str) -> np.dtype:
        return self.header(name)[1]

    def nbytes(self, name: str) -> int:
        return _nbytes(*self.header(name))

    def read(self, name: str, max_bytes: int) -> np.ndarray:
        """One member, refused before decompression when it is larger than ``max_bytes``."""
        n = self.nbytes(name)
        if n > max_bytes:
            shape, dtype = self.header(name)
            raise self._bad(name, f"is too large: {dtype} {shape} is {_size(n)} (at most {_size(max_bytes)})")
        try:
            with self._zip.open(self._info[name]) as f:
                return npy.read_array(f, allow_pickle=False, max_header_size=MAX_HEADER)
        except _MEMBER_ERRORS as exc:
            raise self._bad(name, f"is not a readable array ({_why(exc)})") from None


def read_npy(path, max_bytes: int, error: Callable[[str], InputError] = InputError) -> np.ndarray:
    """A .npy file, refused from its header when larger than ``max_bytes`` or shorter than it promises."""
    path = Path(path)
    with open(path, "rb") as f:
        try:
            shape, _, dtype = _header(f)
        except (ValueError, EOFError) as exc:
            raise error(f"{path}: not a readable .npy ({_why(exc)})") from None
        if dtype.hasobject:
            raise error(f"{path}: holds Python objects (a pickle), which are never loaded")
        n = _nbytes(shape, dtype)
        if n > max_bytes:
            raise error(f"{path}: too large: {dtype} {tuple(shape)} is {_size(n)} (at most {_size(max_bytes)})")
        if f.tell() + n > path.stat().st_size:
            raise error(f"{path}: damaged: the file ends before its {_size(n)} of data")
        f.seek(0)
        try:
            return npy.read_array(f, allow_pickle=False, max_header_size=MAX_HEADER)
        except (ValueError, EOFError) as exc:
            raise error(f"{path}: not a readable .npy ({_why(exc)})") from None


__all__ = ["Npz", "read_npy"]
