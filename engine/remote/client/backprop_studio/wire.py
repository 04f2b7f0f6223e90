"""The frames the window and an attached script exchange: a JSON header plus raw array bytes.

Never pickle: a frame is ``MAGIC | u32 header length | JSON header | array bytes``, and the header
lists each array's key, dtype and shape. The reader checks every number before it trusts it (the
header's size and depth, an allowed dtype, shapes that add up to exactly the bytes received), so a
damaged or hostile frame is a ``WireError``, never code run or memory blown.
"""
from __future__ import annotations

import itertools
import json
import math
import re
import struct

import numpy as np

MAGIC = b"BPS1"
MAX_HEADER = 1 << 20  # 1 MB of JSON: figures and names, never arrays
MAX_FRAME = 1 << 30  # 1 GB: a whole large network's weights fit with room to spare
MAX_DEPTH = 32
DTYPES = {"<f4", "<f8", "<f2", "<i4", "<i8", "|u1", "|i1", "|b1", "<u2", "<i2", "<u4", "<u8"}


class WireError(ValueError):
    """A frame that is not one of ours."""


def encode(header: dict, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """One frame. ``arrays`` travel as their raw little-endian bytes, C order."""
    specs, blobs = [], []
    for key, a in (arrays or {}).items():
        a = np.asarray(a, order="C")  # not ascontiguousarray: that makes a 0-d array 1-d
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        specs.append({"key": str(key), "dtype": a.dtype.str, "shape": list(a.shape)})
        blobs.append(a.tobytes())
    body = json.dumps({**header, "arrays": specs}, allow_nan=True, separators=(",", ":")).encode()
    return b"".join([MAGIC, struct.pack("<I", len(body)), body, *blobs])


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def _depth(text: bytes) -> int:
    """How deeply a JSON text nests, read from its brackets outside strings (one pass in C, not a walk
    over every value the header holds)."""
    brackets = _STRING.sub(b"", text).translate(None, _NOT_BRACKET)
    return max(itertools.accumulate(1 if b in b"[{" else -1 for b in brackets), default=0)


def decode(frame: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a frame; WireError if anything about it is off."""
    if len(frame) > MAX_FRAME:
        raise WireError(f"frame of {len(frame):,} bytes is over the {MAX_FRAME:,} limit")
    if len(frame) < 8 or frame[:4] != MAGIC:
        raise WireError("not a backprop-studio frame")
    (n,) = struct.unpack("<I", frame[4:8])
    if n > MAX_HEADER or 8 + n > len(frame):
        raise WireError("frame header length out of range")
    try:
        header = json.loads(frame[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise WireError("frame header is not JSON") from None
    if not isinstance(header, dict) or _depth(frame[8:8 + n]) > MAX_DEPTH:
        raise WireError("frame header is not a flat enough JSON object")
    specs = header.pop("arrays", [])
    if not isinstance(specs, list):
        raise WireError("frame arrays must be a list")
    arrays, pos, data = {}, 8 + n, memoryview(frame)
    for spec in specs:
        try:
            key, dtype, shape = spec["key"], np.dtype(spec["dtype"]), tuple(spec["shape"])
        except (KeyError, TypeError, ValueError):
            raise WireError("bad array description") from None
        if (not isinstance(key, str) or dtype.str not in DTYPES
                or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < MAX_FRAME for s in shape)):
            raise WireError(f"array {str(key)[:40]!r}: dtype or shape not allowed")
        size = dtype.itemsize * math.prod(shape)  # Python ints: a hostile shape cannot wrap around
        if size > len(frame) - pos:
            raise WireError(f"array {key[:40]!r} runs past the end of the frame")
        arrays[key] = np.frombuffer(data[pos:pos + size], dtype).reshape(shape).copy()
        pos += size
    if pos != len(frame):
        raise WireError("frame has trailing bytes")
    return header, arrays
