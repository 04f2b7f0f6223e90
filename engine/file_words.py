"""What is wrong with a file, in words a person can act on: one line, the file's name, no exception class
names, no library advice ("If you trust the file you can load it unsafely using allow_pickle=...").

``plain_words(path, exc)`` turns whatever a loader raised about ``path`` into those words. The words depend
on the file, not on who opened it: the same random bytes named .npz read the same whether they were opened as
data, dropped on the window or loaded as a checkpoint, because a file that does not hold what its name says
is described by what it does hold (``sniff``, from its first bytes). A file that is what it says but that the
loader could not use keeps the loader's own reason, cleaned of quoted exceptions.

``reading(path)`` wraps an open: ``with reading(p): load(p)`` raises the same error type with those words.
"""
from __future__ import annotations

import re
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from engine.errors import InputError

# what a file holds, judged by its first bytes -> how it is named in a message
KINDS = {"zip": "an .npz (zip) archive", "npy": "a single NumPy array (.npy)", "mat": "a MATLAB .mat file",
         "png": "a PNG image", "jpeg": "a JPEG image", "gif": "a GIF image", "bmp": "a BMP image",
         "tiff": "a TIFF image", "webp": "a WebP image", "pnm": "a PNM image", "pickle": "a Python pickle",
         "json": "JSON text", "text": "plain text"}
# what a file's suffix promises
PROMISES = {".npz": "zip", ".npy": "npy", ".mat": "mat", ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg",
            ".gif": "gif", ".bmp": "bmp", ".tif": "tiff", ".tiff": "tiff", ".webp": "webp", ".pgm": "pnm",
            ".ppm": "pnm", ".pbm": "pnm", ".json": "json", ".txt": "text"}
_MAGIC = ((b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"\x93NUMPY", "npy"), (b"MATLAB", "mat"),
          (b"\x89HDF\r\n\x1a\n", "mat"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"),
          (b"GIF8", "gif"), (b"BM", "bmp"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"))
# a quoted exception: "(ValueError: ...)", "(BadZipFile: ...)", "UnidentifiedImageError: ..."
_QUOTED = re.compile(r"\s*\((?:[A-Za-z_.]*(?:Error|Exception|File|Warning))(?::[^()]*(?:\([^()]*\)[^()]*)*)?\)"
                     r"|\b[A-Z]\w*(?:Error|Exception):\s*")


def sniff(path) -> str:
    """A key of KINDS, or "empty" / "unknown", from the first bytes of the file at ``path``."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        return "empty"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if re.match(rb"P[1-6]\s", head):
        return "pnm"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if len(head) > 512 and head[512:520] == b"\x89HDF\r\n\x1a\n":  # a MATLAB v7.3 file: HDF5 after a header
        return "mat"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = "" if len(head) < 4096 else head[:4000].decode("utf-8", "ignore")
    if text and "\x00" not in text and sum(c.isprintable() or c in "\r\n\t" for c in text) > 0.95 * len(text):
        return "json" if text.lstrip()[:1] in ("{", "[") else "text"
    return "unknown"


def _intact(path: Path, kind: str) -> bool | None:
    """Whether the file's container reads to its end (None: not known for this kind)."""
    if kind != "zip":
        return None
    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def clean(message: str, path=None) -> str:
    """A loader's message without quoted exceptions, the file named by its name rather than its path."""
    text = _QUOTED.sub("", str(message)).strip()
    if path is not None and str(path) and Path(path).name:
        text = text.replace(str(path), Path(path).name)
    return " ".join(text.split()).rstrip(" :;,")


def plain_words(path, exc: BaseException, wants: tuple[str, ...] = (), wanted: str = "") -> str:
    """One line about the file at ``path`` that ``exc`` (a loader's InputError or OSError) was about.
    ``wants``: the KINDS the opener reads, ``wanted`` its words for them ("a run log (.json)"): a sound file
    of another kind is named as what it is, not what the opener wanted."""
    p = Path(path)
    name = p.name or str(path)
    if not p.exists():
        return f"{name}: no such file or folder (moved, renamed or deleted?)"
    if isinstance(exc, PermissionError):
        return f"{name}: you do not have permission to read it"
    if p.is_dir():
        return clean(exc, path)
    try:
        kind = sniff(p)
    except OSError as err:
        return f"{name}: cannot be read ({(err.strerror or str(err)).lower()})"
    promised = PROMISES.get(p.suffix.lower())
    if kind == "empty":
        return f"{name}: the file is empty (0 bytes)"
    if kind == "unknown":
        what = KINDS[promised] if promised else "a file backprop-studio can open"
        return f"{name}: not {what}: its bytes are in no format backprop-studio reads (damaged, or renamed?)"
    if promised and kind != promised and not (promised == "text" and kind == "json"):
        return f"{name}: holds {KINDS[kind]}, not {KINDS[promised]} as its name says"
    if kind == "pickle":
        return f"{name}: holds {KINDS[kind]}, which backprop-studio never opens (it could run code)"
    damaged = f"{name}: {KINDS[kind]} that cannot be read to its end (damaged, or cut short while being written)"
    intact = _intact(p, kind)
    if intact is False:
        return damaged
    if wants and kind not in wants:
        return f"{name}: {KINDS[kind]}, not {wanted or ' or '.join(KINDS[k] for k in wants)}"
    if intact is None and _QUOTED.search(str(exc)) and (promised is None or kind == promised):
        return damaged  # the library choked on a file that looks like what it says
    return clean(exc, path) or f"{name}: cannot be read"


IMAGES = ("png", "jpeg", "gif", "bmp", "tiff", "webp", "pnm")
# what each opener reads, and its words for it
DATASET, CHECKPOINT, RUN_LOG = (("zip", "mat"), "a dataset (.npz, .mat or a folder)"), \
    (("zip",), "a checkpoint (.npz)"), (("json",), "a run log (.json)")
IMAGE = (IMAGES, "an image (PNG, JPEG, TIFF, ...)")
ROWS = (("zip",), "a file of training rows (.npz)")


@contextmanager
def reading(path, wants: tuple[tuple[str, ...], str] | None = None) -> Iterator[None]:
    """``with reading(p, DATASET): load(p)``: a loader's InputError (its own type kept) or OSError comes out
    in ``plain_words``; anything else (a bug) passes unchanged. ``wants``: DATASET, CHECKPOINT, RUN_LOG,
    IMAGE (what the opener reads)."""
    kinds, wanted = wants or ((), "")
    try:
        yield
    except InputError as exc:
        raise type(exc)(plain_words(path, exc, kinds, wanted)) from None
    except OSError as exc:
        raise InputError(plain_words(path, exc, kinds, wanted)) from None


__all__ = ["CHECKPOINT", "DATASET", "IMAGE", "KINDS", "ROWS", "RUN_LOG", "clean", "plain_words", "reading", "sniff"]
