"""Checking what a reader uses of a file it did not write itself: decoded JSON against a small spec, and
an array's dtype and shape (from its header, before it is read).

A problem is one ``Bad(field, what)``, e.g. ``epochs[3].valid_acc is missing`` or ``position.step is the
string '12', not an integer``; the reader turns it into its own error line naming the file. Specs::

    Obj({"step": Int(lo=0)}, optional={"message": Str()})   an object with these keys (others ignored)
    List(Num(), max_len=10)   Map(Int())   Nullable(Str())   Int(lo, hi)   Num()   Str()   Bool()   ANY
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


class Bad(Exception):
    """One field of a file that cannot be used: ``field`` names it (a path like ``epochs[2].layers``)."""

    def __init__(self, field: str, what: str):
        super().__init__(f"{field or 'the value'} {what}")
        self.field, self.what = field, what


def describe(value) -> str:
    """A JSON value in a few words: 'a list', 'the string '12'', 'the number 1.5', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        text = repr(value)
        return f"the number {text if len(text) <= 24 else text[:21] + '...'}"
    if isinstance(value, str):
        text = repr(value)
        return f"the string {text if len(text) <= 24 else text[:21] + '...'}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"


def _join(field: str, key) -> str:
    return f"{field}[{key}]" if isinstance(key, int) else f"{field}.{key}" if field else str(key)


class Spec:
    def check(self, value, field: str = ""):
        raise NotImplementedError

    def _not(self, value, field: str, expected: str):
        raise Bad(field, f"is {describe(value)}, not {expected}")


class _Any(Spec):
    def check(self, value, field=""):
        return value


ANY = _Any()


class Int(Spec):
    def __init__(self, lo: int | None = None, hi: int | None = None):
        self.lo, self.hi = lo, hi

    def check(self, value, field=""):
        if isinstance(value, bool) or not isinstance(value, int):
            self._not(value, field, "an integer")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            lo = "" if self.lo is None else f"{self.lo}"
            raise Bad(field, f"is {value}, outside {lo}..{'' if self.hi is None else self.hi}")
        return value


class Num(Spec):
    """A JSON number (NaN and infinities allowed unless ``finite``: a diverged run stores them)."""

    def __init__(self, finite: bool = False, lo: float | None = None):
        self.finite, self.lo = finite, lo

    def check(self, value, field=""):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._not(value, field, "a number")
        if self.finite and not math.isfinite(value):
            raise Bad(field, f"is {value}, not a finite number")
        if self.lo is not None and value < self.lo:
            raise Bad(field, f"is {value}, below {self.lo}")
        return value


class Str(Spec):
    def __init__(self, choices: Sequence[str] | None = None):
        self.choices = choices

    def check(self, value, field=""):
        if not isinstance(value, str):
            self._not(value, field, "a string")
        if self.choices is not None and value not in self.choices:
            raise Bad(field, f"is {describe(value)}, not one of {', '.join(self.choices)}")
        return value


class Bool(Spec):
    def check(self, value, field=""):
        if not isinstance(value, bool):
            self._not(value, field, "true or false")
        return value


class Nullable(Spec):
    def __init__(self, inner: Spec):
        self.inner = inner

    def check(self, value, field=""):
        return None if value is None else self.inner.check(value, field)


class List(Spec):
    def __init__(self, item: Spec = ANY, max_len: int | None = None, length: int | None = None):
        self.item, self.max_len, self.length = item, max_len, length

    def check(self, value, field=""):
        if not isinstance(value, list):
            self._not(value, field, "a list")
        if self.length is not None and len(value) != self.length:
            raise Bad(field, f"holds {len(value)} items, not {self.length}")
        if self.max_len is not None and len(value) > self.max_len:
            raise Bad(field, f"holds {len(value):,} items, more than {self.max_len:,}")
        for i, v in enumerate(value):
            self.item.check(v, _join(field, i))
        return value


class Map(Spec):
    """An object whose keys are names and whose values all match one spec."""

    def __init__(self, value: Spec = ANY, max_len: int | None = None):
        self.value, self.max_len = value, max_len

    def check(self, value, field=""):
        if not isinstance(value, dict):
            self._not(value, field, "an object")
        if self.max_len is not None and len(value) > self.max_len:
            raise Bad(field, f"holds {len(value):,} entries, more than {self.max_len:,}")
        for k, v in value.items():
            self.value.check(v, _join(field, k))
        return value


class Obj(Spec):
    """An object with these required (and optional) keys; other keys are not looked at, unless ``exact``
    (a reader that passes the object on as keyword arguments)."""

    def __init__(self, required: dict[str, Spec], optional: dict[str, Spec] | None = None, exact: bool = False):
        self.required, self.optional, self.exact = required, optional or {}, exact

    def check(self, value, field=""):
        if not isinstance(value, dict):
            self._not(value, field, "an object")
        if self.exact:
            extra = [k for k in value if k not in self.required and k not in self.optional]
            if extra:
                raise Bad(_join(field, extra[0]), f"is not a field here (fields: {', '.join(self.required)})")
        for k, spec in self.required.items():
            if k not in value:
                raise Bad(_join(field, k), "is missing")
            spec.check(value[k], _join(field, k))
        for k, spec in self.optional.items():
            if k in value:
                spec.check(value[k], _join(field, k))
        return value


def array_problem(shape: tuple[int, ...], dtype: np.dtype, kinds: str = "fiu",
                  want: Sequence[int | None] | None = None) -> str | None:
    """Why an array of this (header) shape and dtype does not fit: ``kinds`` are NumPy dtype kinds
    ('f' float, 'i'/'u' integers, 'b' bool, 'U' text), ``want`` the shape (None: any length there)."""
    names = {"f": "floats", "i": "integers", "u": "integers", "b": "booleans", "U": "text"}
    if dtype.kind not in kinds or (dtype.itemsize > 8 and dtype.kind != "U"):
        expected = " or ".join(dict.fromkeys(names.get(k, k) for k in kinds))
        return f"holds {dtype} values, not {expected}"
    if want is not None and (len(shape) != len(want) or any(w is not None and s != w for s, w in zip(shape, want))):
        expected = "(" + ", ".join("N" if w is None else str(w) for w in want) + ("," if len(want) == 1 else "") + ")"
        return f"has shape {tuple(shape)}, not {expected}"
    return None


def check(value: Any, spec: Spec, field: str = ""):
    """``value`` if it matches ``spec``; Bad naming the first field that does not."""
    return spec.check(value, field)


__all__ = ["ANY", "Bad", "Bool", "Int", "List", "Map", "Nullable", "Num", "Obj", "Spec", "Str", "array_problem",
           "check", "describe"]
