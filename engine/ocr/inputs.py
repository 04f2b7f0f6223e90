"""What ``explain`` reads: a character image, normalized exactly like an OCR page crop, or a .npy of
network inputs fed as they are."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.archive import read_npy
from engine.data.dataset import SIDE, from_image
from engine.errors import InputError
from engine.ocr.normalize import normalize_mask
from engine.ocr.pipeline import OcrPipeline

MAX_NPY_BYTES = 2 ** 28  # a stack of network inputs for explain: 65,000 float32 32x32 images


def character_input(source) -> np.ndarray:
    """A character crop or page-free image of one character (path or array) -> the upright 32x32 input,
    made exactly as the OCR makes a page crop's: its ink stages (denoise, grayscale, background, threshold,
    morphology), then all ink through ``normalize_mask``. Differences, because the image is one character
    and not a page: the paper brightness is estimated over half the image, not 5 % tiles (a tile inside a
    thick stroke of a close-up would call it paper), and the page stage neither looks for a sheet, levels
    text lines, enlarges small writing nor finds a way up (measured on the sample pages' boxes cut out
    with a margin: same input within 1 %, same top class)."""
    pipe = OcrPipeline()  # only the ink stages run: no model is loaded (orientation "0" asks none)
    pipe.set_param("background", "tile", 0.5)
    pipe.set_param("page", "sheet", "off")  # the image is the character's surroundings, not a photo of a sheet
    pipe.set_param("page", "max_skew", 0)  # one character has no text lines to level (a K would be turned 31 deg)
    pipe.set_param("page", "orientation", "0")  # ... nor a way up to find: it is read as given
    pipe.set_param("page", "min_char", 0)  # ... nor small writing to enlarge: its parts are no letter size
    pipe.open(source)
    mask = pipe.data("morphology")  # an unreadable, empty or odd image raises ImageError (an InputError)
    if not mask.any():
        raise InputError(f"{source if isinstance(source, (str, os.PathLike)) else 'the image'}: no ink found "
                         "(expected dark writing on a lighter background)")
    return normalize_mask(mask)


def load_inputs(path) -> tuple[np.ndarray, bool]:
    """(network rows (N, D) float32, whether they came as-is from a .npy). A .npy holds one 32x32 input
    or a stack (N, 32, 32) in the model's own layout (row-major flattening = the vector it receives);
    anything else is an image of one character, normalized like an OCR crop."""
    path = Path(path)
    if path.suffix.lower() != ".npy":
        return from_image(character_input(path))[None], False
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    a = read_npy(path, MAX_NPY_BYTES)  # bounded by its header before any byte of data is read
    if a.ndim not in (2, 3) or a.shape[-2:] != (SIDE, SIDE) or a.dtype.kind not in "biuf":
        raise InputError(f"{path}: expected numbers of shape (32, 32) or (N, 32, 32), got {a.dtype} {a.shape}")
    rows = a.reshape(-1, SIDE * SIDE).astype(np.float32)
    if len(rows) == 0:
        raise InputError(f"{path}: holds no inputs (shape {a.shape})")
    if not np.isfinite(rows).all():
        raise InputError(f"{path}: holds NaN or infinite values")
    return rows, True
