"""Counted words for messages people read: "1 edit", "2 edits", "1 correction", "12,500 batches".

One place, so no message says "1 edits" or "1 snapshots" because its author wrote the plural only.
"""
from __future__ import annotations


def plural(n: int | float, one: str, many: str | None = None) -> str:
    """The word for ``n`` of them: ``one`` for exactly 1, else ``many`` (default ``one`` + "s")."""
    return one if n == 1 else (many if many is not None else one + "s")


def count(n: int, one: str, many: str | None = None) -> str:
    """'1 edit', '2 edits', '12,500 batches' (thousands separated)."""
    return f"{n:,} {plural(n, one, many)}"


__all__ = ["count", "plural"]
