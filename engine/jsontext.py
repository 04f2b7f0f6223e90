"""JSON from a user's file, bounded: its size is checked before it is read and its nesting depth
before it is parsed, so no input is a RecursionError or a parse that fills memory.

Parsed JSON can be ~20x its text in Python objects (``[[],[],...]``: 3 bytes of text, 64 of objects per
item), so the byte limits are what a desktop holds comfortably, far above any file the project writes.
The depth is found without parsing (strings removed, brackets counted in NumPy): the project's own
formats nest at most 6 deep.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np

from engine.errors import InputError

MAX_BYTES = 16 * 2 ** 20  # truth.json, edit lists: far above any real one
MAX_DEPTH = 32
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _mb(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MB" if n >= 2 ** 20 else f"{n:,} bytes"


def depth(text: str) -> int:
    """The deepest bracket nesting of JSON text (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max())


def loads(text: str, where: str, error: Callable[[str], InputError] = InputError, max_bytes: int = MAX_BYTES,
          max_depth: int = MAX_DEPTH):
    """Parsed JSON; ``error("<where>: ...")`` for text too long, too deep or not JSON."""
    if len(text) > max_bytes:
        raise error(f"{where}: {_mb(len(text))} of JSON text; at most {_mb(max_bytes)} is read")
    d = depth(text)
    if d > max_depth:
        raise error(f"{where}: JSON nested {d} levels deep; at most {max_depth} are read")
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
        raise error(f"{where}: not valid JSON ({exc})") from None


def read(path, error: Callable[[str], InputError] = InputError, max_bytes: int = MAX_BYTES,
         max_depth: int = MAX_DEPTH):
    """The JSON of a file (UTF-8), its size checked before reading. OS errors (no such file, ...) propagate."""
    path = Path(path)
    size = os.stat(path).st_size
    if size > max_bytes:
        raise error(f"{path}: {_mb(size)}; a JSON file of at most {_mb(max_bytes)} is read")
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)  # the file may grow after the check
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return loads(text, str(path), error, max_bytes, max_depth)


__all__ = ["MAX_BYTES", "MAX_DEPTH", "depth", "loads", "read"]
