"""Pixels in, float32 in [0, 1] out: the one conversion both the data loaders and the OCR use.

Any bit depth, gray, gray+alpha, RGB or RGBA; alpha is composited over a white page, so a
transparent PNG reads like the paper it was drawn on. The suffix list is the one the image-folder
loader, the OCR's file dialogs and drops agree on.
"""
from __future__ import annotations

import numpy as np

from engine.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")


class ImageError(InputError):
    """An input image that cannot be used: the message is one line and names the file."""


def block_mean(a: np.ndarray, f: int) -> np.ndarray:
    """Means over f x f blocks (the last blocks repeat edge pixels), float32. Works one block row of input
    at a time, so a huge 8-bit image is never converted to float whole (13000 x 13000 RGB: 0.5 GB as
    uint8, 2 GB as float32)."""
    if a.ndim == 3:  # channel by channel: numpy's inner loop then runs along a row, not over 3 channels
        return np.stack([block_mean(a[..., c], f) for c in range(a.shape[2])], -1)
    h, w = a.shape[:2]
    gh, gw = -(-h // f), -(-w // f)
    out = np.zeros((gh, gw), np.float32)
    for i in range(f):
        rows = a[min(i, h - 1)::f]  # strided views: no copy of the image
        if len(rows) < gh:
            rows = np.concatenate([rows, a[-1:]])
        for j in range(f):
            cols = rows[:, min(j, w - 1)::f]
            n = cols.shape[1]
            out[:, :n] += cols
            if n < gw:
                out[:, n:] += rows[:, -1:]
    out *= np.float32(1.0 / (f * f))
    return out


def to_float(a: np.ndarray, where: str = "image", max_side: int | None = None) -> np.ndarray:
    """Any numeric (H, W[, C]) array -> float32 in [0, 1]: gray (H, W) or RGB (H, W, 3), alpha over white;
    reduced by block means (before the conversion to float) to at most about ``max_side`` pixels."""
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (2, 3, 4)):
        raise ImageError(f"{where}: unsupported image shape {a.shape} (expected H x W, H x W x 3 or 4)")
    if a.size == 0 or min(a.shape[:2]) == 0:
        raise ImageError(f"{where}: the image is empty ({a.shape[1] if a.ndim > 1 else 0}x{a.shape[0]} pixels)")
    if a.dtype.kind not in "biuf":
        raise ImageError(f"{where}: unsupported pixel type {a.dtype}")
    k = int(np.ceil(max(a.shape[:2]) / max_side)) if max_side else 1
    if k > 1 and a.dtype.kind == "f":
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)  # one NaN must not blank its whole block
    if a.dtype in (np.uint8, np.uint16):
        f = block_mean(a, k) if k > 1 else a.astype(np.float32)
        f *= np.float32(1.0 / np.iinfo(a.dtype).max)
    else:  # bool, other integers (scaled by their maximum) and floats (assumed in [0, 1] unless larger)
        with np.errstate(over="ignore", invalid="ignore"):  # 1e300 in float64 is inf in float32: cleaned next
            f = block_mean(a, k) if k > 1 else a.astype(np.float32)
        f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
        top = float(f.max())
        if top > 1.0:
            f /= top
        f = np.clip(f, 0.0, 1.0)
    if f.ndim == 3:
        c = f.shape[-1]
        alpha = f[..., -1:] if c in (2, 4) else 1.0
        color = f[..., :3] if c >= 3 else f[..., :1]
        f = color * alpha + (1.0 - alpha)  # composite over a white page
        if f.shape[-1] == 1:
            f = f[..., 0]
    return np.ascontiguousarray(f, np.float32)


def to_gray(f: np.ndarray) -> np.ndarray:
    """Luminance (Rec. 709) of a to_float image; gray images pass through."""
    return f @ np.array([0.2125, 0.7154, 0.0721], np.float32) if f.ndim == 3 else f


__all__ = ["IMAGE_SUFFIXES", "ImageError", "block_mean", "to_float", "to_gray"]
