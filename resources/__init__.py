"""Files shipped with backprop-studio: the default OCR model (ocr_model.npz) and the sample pages
(pages/*.png + truth.json). A package so that a wheel carries them (package-data in pyproject.toml)
and the code finds them through importlib.resources wherever the project is installed."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """A shipped file as a filesystem path (wheels install package data unzipped beside this module)."""
    return Path(str(files(__name__).joinpath(*parts)))


MODEL = path("ocr_model.npz")
PAGES = path("pages")
