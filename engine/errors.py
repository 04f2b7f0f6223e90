"""The project's own error type for bad input.

Only an ``InputError`` (and the ``OSError`` of opening a user's file) is the user's problem: the
CLI prints it as one ``error: ...`` line with exit code 2 and the GUI shows it in the status bar.
Anything else is a bug and keeps its traceback. It subclasses ValueError so that code written
against the old convention (``except ValueError``) still sees it.
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: a file, a flag, a dataset, a model that cannot be used."""

    def __init__(self, message: str = "", *args):
        # one line, whatever it quotes (a file name or a spec may hold newlines)
        super().__init__(" ".join(str(message).split()), *args)
