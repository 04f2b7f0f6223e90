"""Files in, pixels out: the one image decoder and the one pixel conversion of the project.

``decode`` is used for every image the project reads (OCR pages, image-folder datasets, explain
inputs): a photo's EXIF orientation tag is honoured (a phone photo loads upright everywhere), only
the first frame of an animation or a multi-page TIFF is decoded, a huge image is refused or reduced
while still 8/16-bit (Pillow's decompression-bomb bound; JPEGs decoded straight at a reduced size),
and a file whose pixel data ends early is refused instead of read as black rows.

``to_float``: any bit depth, gray, gray+alpha, RGB or RGBA -> float32 in [0, 1]; alpha is composited
over a white page, so a transparent PNG reads like the paper it was drawn on. The suffix list is the
one the image-folder loader, the OCR's file dialogs and drops agree on.
"""
from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

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


def _present(path) -> Path:
    """The path, if it is a file whose bytes are all there (a PNG cut short is refused before decoding)."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if not _png_complete(path):
        raise ImageError(f"{path}: the file ends before its pixels do (a damaged or partly written PNG)")
    return path


def decode(path: Path, max_side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """(pixels as uint8/uint16, the source's (rows, cols) as a viewer shows it). Decoded with Pillow:
    JPEGs straight at a reduced size (DCT scaling), any image resized to ``max_side`` while still
    8/16-bit (a huge PNG is never held as float), the first frame only, then the EXIF turn applied."""
    path = _present(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                size = im.size
                k = max(size) / max_side
                target = (max(1, round(size[0] / k)), max(1, round(size[1] / k))) if k > 1 else size
                if k > 1:  # JPEG only: DCT-scaled by 1/2, 1/4 or 1/8 while decoding (never below the size asked)
                    im.draft("RGB", target)
                if im.mode in ("P", "PA"):
                    im = im.convert("RGBA")
                elif im.mode in ("YCbCr", "LAB", "HSV"):
                    im = im.convert("RGB")
                elif im.mode == "1":
                    im = im.convert("L")
                if k > 1 and im.size != target and im.mode in ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F"):
                    im = im.resize(target, Image.Resampling.BOX, reducing_gap=2.0)
                if im.mode == "CMYK":
                    im = im.convert("RGB")
                stored = im.size
                im = ImageOps.exif_transpose(im)
                if im.size != stored:  # turned by 90 degrees: the source is what a viewer shows
                    size = (size[1], size[0])
                a = np.asarray(im)
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: image too large to open safely") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, ... on bad files
        raise ImageError(f"{path}: not a readable image ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0]})") from None
    if im.mode.startswith("I;16") or a.dtype == np.uint16:
        a = a.astype(np.uint16)
    return a, (size[1], size[0])


def check(path) -> None:
    """ImageError unless ``path`` is an image ``decode`` can read, judged without decoding its pixels (the
    header, a PNG's chunks and length): fast enough to run before the user is asked to give anything up."""
    path = _present(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.verify()
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: image too large to open safely") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, ... on bad files
        raise ImageError(f"{path}: not a readable image ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0]})") from None


def _png_complete(path: Path) -> bool:
    """False for a PNG whose compressed pixel data holds fewer rows than its header promises: Pillow
    reads such a file without complaint, the missing rows black. (Other formats raise when cut short.)"""
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return True
        data = f.read()
    try:
        w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", data[8:21])
        idat, pos = [], 0
        while pos + 8 <= len(data):
            n, kind = struct.unpack(">I4s", data[pos:pos + 8])
            if kind == b"IDAT":
                idat.append(data[pos + 8:pos + 8 + n])
            if kind == b"IEND":
                break
            pos += 12 + n
    except struct.error:
        return True  # not parseable here: let Pillow judge the file
    if w * h > 2 * (Image.MAX_IMAGE_PIXELS or 0):
        return True  # Pillow refuses it as too large before reading any pixel
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color, 1)
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    sizes = [(-(-(w - x0) // dx), -(-(h - y0) // dy)) for x0, y0, dx, dy in passes] if interlace else [(w, h)]
    need = sum(rows * (1 + -(-(cols * depth * channels) // 8)) for cols, rows in sizes if cols > 0 and rows > 0)
    d, got = zlib.decompressobj(), 0
    try:
        for chunk in idat:  # counted 4 MB at a time: the pixels are never held here
            while chunk and got < need:
                got += len(d.decompress(chunk, 1 << 22))
                chunk = d.unconsumed_tail
    except zlib.error:
        return True  # a corrupt stream: Pillow raises on it
    return got >= need


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


__all__ = ["IMAGE_SUFFIXES", "ImageError", "block_mean", "check", "decode", "to_float", "to_gray"]
