"""The one entry point for "--data SPEC": named datasets, files and '+' joins.

Named datasets are registered as "module:function" strings and imported only when asked for, so the
generic loaders (engine.data.loaders) never import an application such as the OCR. Anything that is not a
name is a path (engine.data.loaders.load_path). ``a+b`` merges sources by class name.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from engine.data.dataset import Dataset
from engine.data.loaders import DataError, combine, load_path
from engine.files import user_path

# name -> "module:function"; the function takes no arguments and returns a Dataset
NAMED: dict[str, str] = {
    "glyphs": "engine.data.glyphs:load_glyphs",  # the embedded stroke-font capitals and digits
    "ocr-train": "engine.ocr.model:load_training_set",  # the OCR model's set: normalized glyphs + NIST letters
}


def register(name: str, loader: str | Callable[[], Dataset]) -> None:
    """Make ``--data name`` load ``loader`` ("module:function" or a callable)."""
    NAMED[name] = loader


def _named(name: str) -> Dataset:
    loader = NAMED[name]
    if isinstance(loader, str):
        module, func = loader.split(":")
        loader = getattr(importlib.import_module(module), func)
    return loader()


def load_dataset(spec: str, seed: int = 0) -> Dataset:
    """A dataset from a registered name, a path (.mat, folder of .mat, .npz, image folder), or a
    '+'-joined list of those."""
    spec = str(spec).strip()
    if not spec:
        raise DataError("no dataset given (a name such as 'glyphs', or a path)")
    if spec in NAMED:
        return _named(spec)
    path = user_path(spec)
    if "+" in spec and not path.exists():
        parts = [p.strip() for p in spec.split("+")]
        if not all(parts):
            raise DataError(f"{spec}: empty name in a '+'-joined dataset list")
        return combine([load_dataset(p, seed) for p in parts])
    return load_path(path, seed)


def spec_paths(spec: str) -> list[Path]:
    """The files and folders ``load_dataset(spec)`` reads (registered names read none of the user's)."""
    spec = str(spec).strip()
    if not spec or spec in NAMED:
        return []
    path = user_path(spec)
    if "+" in spec and not path.exists():
        return [p for part in spec.split("+") if part.strip() for p in spec_paths(part)]
    return [path]


__all__ = ["NAMED", "load_dataset", "register", "spec_paths"]
