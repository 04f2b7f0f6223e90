"""The project's own error type for bad input.

Only an ``InputError`` (and the ``OSError`` of opening a user's file) is the user's problem: the
CLI prints it as one ``error: ...`` line with exit code 2 and the GUI shows it in the status bar.
Anything else is a bug and keeps its traceback. It subclasses ValueError so that code written
against the old convention (``except ValueError``) still sees it.
"""
from __future__ import annotations


def one_line(text: str) -> str:
    """A message as one line whatever it quotes: runs of whitespace (newlines too) become one space and
    any other control character its escape (a file name may hold a terminal's escape sequences)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(str(text).split()))


class InputError(ValueError):
    """Bad input from the user: a file, a flag, a dataset, a model that cannot be used."""

    def __init__(self, message: str = "", *args):
        super().__init__(one_line(message), *args)
