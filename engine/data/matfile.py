"""Bounded reading of MATLAB .mat files: the variables' names, shapes and classes from their headers, and
only the wanted variables read.

scipy's ``whosmat`` and ``loadmat`` decompress the first 128 KB block of every compressed variable they
pass, which a run of zeros expands ~1000-fold (a 64 KB file listed 141 MB). Here a level-5 file is walked
element by element: a compressed variable yields only the first few hundred bytes of its stream (its
matrix header), and the wanted variables' raw elements are handed to ``loadmat`` alone. Level 4 files are
never compressed (scipy's lister reads headers only); 7.3 files are HDF5, which scipy does not read.
"""
from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import scipy.io

HEADER = 128  # bytes of a level-5 file's text header, subsystem offset, version and endianness
MI_INT8, MI_UINT32, MI_INT32, MI_MATRIX, MI_COMPRESSED = 1, 6, 5, 14, 15
# mxClass -> (name as whosmat says it, bytes per element once loaded); cells, structs, sparse, objects: none
CLASSES = {4: ("char", 4), 6: ("double", 8), 7: ("single", 4), 8: ("int8", 1), 9: ("uint8", 1), 10: ("int16", 2),
           11: ("uint16", 2), 12: ("int32", 4), 13: ("uint32", 4), 14: ("int64", 8), 15: ("uint64", 8)}
_PEEK = 4096  # decompressed bytes enough for any matrix header (flags, up to ~500 dimensions, a long name)


class MatFormatError(ValueError):
    """The file is not a level-5 .mat that can be walked (the caller words it for the user)."""


@dataclass(frozen=True)
class Variable:
    name: str
    shape: tuple[int, ...]
    kind: str  # "double", "uint8", ... or "cell", "struct", "sparse", ... (no byte size)
    nbytes: int | None  # once loaded (None: not a numeric matrix)
    start: int  # the element's bytes in the file
    end: int


def _tag(data: bytes, pos: int, order: str) -> tuple[int, int, int]:
    """(type, byte count, where its data starts) of the element tag at ``pos`` (small elements too)."""
    if pos + 4 > len(data):
        raise MatFormatError("a variable header ends early")
    first, = struct.unpack_from(order + "I", data, pos)
    if first >> 16:  # small data element: type and count share the first word, data in the second
        return first & 0xFFFF, first >> 16, pos + 4
    if pos + 8 > len(data):
        raise MatFormatError("a variable header ends early")
    return first, struct.unpack_from(order + "I", data, pos + 4)[0], pos + 8


def _padded(pos: int, count: int, small: bool) -> int:
    return pos + (4 if small else (count + 7) // 8 * 8)


def _matrix_header(data: bytes, order: str) -> tuple[str, tuple[int, ...], int, int]:
    """(name, shape, class, flags) from the start of a miMATRIX element's data."""
    kind, count, at = _tag(data, 0, order)
    if kind != MI_UINT32 or count < 8:
        raise MatFormatError("a variable has no array flags")
    flags, = struct.unpack_from(order + "I", data, at)
    pos = _padded(at, count, at == 4)
    kind, count, at = _tag(data, pos, order)
    if kind != MI_INT32 or at + count > len(data):
        raise MatFormatError("a variable has no dimensions")
    shape = struct.unpack_from(f"{order}{count // 4}i", data, at)
    pos = _padded(at, count, at == pos + 4)
    kind, count, at = _tag(data, pos, order)
    if kind != MI_INT8 or at + count > len(data):
        raise MatFormatError("a variable has no name")
    name = data[at:at + count].decode("latin-1")
    return name, tuple(shape), flags & 0xFF, flags


def _kind(mclass: int, flags: int, shape) -> tuple[str, int | None]:
    if mclass not in CLASSES:
        return {1: "cell", 2: "struct", 3: "object", 5: "sparse", 16: "function"}.get(mclass, "unknown"), None
    if any(s < 0 for s in shape):
        raise MatFormatError("a variable has a negative dimension")
    name, size = CLASSES[mclass]
    if flags & 0x0200:
        name = "logical"
    return name, math.prod(shape) * size * (2 if flags & 0x0800 else 1)


def _peek_compressed(f, length: int) -> bytes:
    """The first bytes of a compressed element's stream, decompressing no more than that."""
    d = zlib.decompressobj()
    out, left = b"", length
    while len(out) < _PEEK and left > 0:
        chunk = f.read(min(left, 16384))
        if not chunk:
            break
        left -= len(chunk)
        out += d.decompress(d.unconsumed_tail + chunk, _PEEK - len(out))
        if d.eof:
            break
    return out


def variables(path) -> tuple[bytes, list[Variable]] | None:
    """(the file's 128-byte header, its variables) of a level-5 file; None for another level (4 or 7.3).
    MatFormatError or zlib.error when the walk meets damage."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        if scipy.io.matlab.matfile_version(f)[0] != 1:  # 0: level 4, 2: 7.3 (HDF5)
            return None
        f.seek(0)
        header = f.read(HEADER)
        order = "<" if header[126:128] == b"IM" else ">"
        found, pos = [], HEADER
        while pos + 8 <= size:
            f.seek(pos)
            kind, count = struct.unpack(order + "II", f.read(8))
            end = pos + 8 + (count if kind == MI_COMPRESSED else (count + 7) // 8 * 8)
            if end > size:
                raise MatFormatError(f"the variable at byte {pos} runs past the end of the file")
            if kind == MI_COMPRESSED:
                inner = _peek_compressed(f, count)
                kind, count, at = _tag(inner, 0, order)
                body = inner[at:]
            else:
                body = f.read(min(count, _PEEK))
            if kind != MI_MATRIX:
                raise MatFormatError(f"the element at byte {pos} is not a variable (type {kind})")
            name, shape, mclass, flags = _matrix_header(body, order)
            found.append(Variable(name, shape, *_kind(mclass, flags, shape), pos, end))
            pos = end
    return header, found


def load_variables(path, header: bytes, wanted: list[Variable]) -> dict:
    """``loadmat`` of only these variables: their raw elements copied behind the file's header."""
    with open(path, "rb") as f:
        parts = [header[:116] + bytes(8) + header[124:]]  # no subsystem data: it is not copied
        for v in wanted:
            f.seek(v.start)
            parts.append(f.read(v.end - v.start))
    return scipy.io.loadmat(io.BytesIO(b"".join(parts)))


__all__ = ["CLASSES", "MatFormatError", "Variable", "load_variables", "variables"]
