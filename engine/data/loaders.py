"""Loaders for users' own data: NIST36 .mat files, .npz archives and folders of images.

Every loader returns an ``engine.data.dataset.Dataset`` in the NIST layout (x float32 (N, 1024), rows
column-major, dark strokes on white; y int64 class indices), so a model trained on one source can
continue on another. Values are kept as stored (the real NIST files overshoot [0, 1] slightly).
Splits missing from the input are carved deterministically from what is there:
- no train split: everything present is pooled and split 80/10/10 (``split_deterministic``);
- train present: each missing valid/test split takes 10% of all rows out of train.
Every problem with the user's input raises ``DataError`` with a one-line message naming the file.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import scipy.io
from skimage.transform import resize

from engine.archive import Npz
from engine.data import matfile
from engine.data.dataset import NIST36_CLASSES, SIDE, Dataset, Split, from_image, split_deterministic
from engine.errors import InputError
from engine.files import user_path
from engine.images import IMAGE_SUFFIXES, ImageError, decode, to_float, to_gray

SPLITS = ("train", "valid", "test")
N_PIXELS = SIDE * SIDE
# One stored array of a user's dataset, as its header gives it: 260,000 float32 rows of 32x32 (the NIST36
# files hold 66 MB). Larger ones are refused before any byte of them is decompressed.
MAX_ARRAY_BYTES = 2 ** 30
MAX_NAMES_BYTES = 2 ** 20  # an .npz's class names


class DataError(InputError):
    """A problem with the user's data files: the message is one line and names the file."""


def _why(exc: Exception) -> str:
    """The first line of an exception's message, so wrapped library errors stay one line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def default_classes(k: int) -> tuple[str, ...]:
    """Names for k classes without a names list: NIST36 for 36, A-Z for 26, else "0".."k-1"."""
    if k in (36, 26):
        return NIST36_CLASSES[:k]
    return tuple(str(i) for i in range(k))


# ---- validation shared by the .mat and .npz loaders -------------------------------------------

def _features(x, where: str, key: str, allow_images: bool = False) -> np.ndarray:
    """(N, 1024) float32 rows; (N, 32, 32) upright images are converted to the NIST layout."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where}: {key} is not numeric (dtype {x.dtype})")
    if allow_images and x.ndim == 3 and x.shape[1:] == (SIDE, SIDE):
        x = x.transpose(0, 2, 1).reshape(len(x), N_PIXELS)
    if x.ndim != 2 or x.shape[1] != N_PIXELS:
        extra = " or (N, 32, 32) images" if allow_images else ""
        raise DataError(f"{where}: {key} has shape {x.shape}; expected rows of {N_PIXELS} values (32x32){extra}")
    if len(x) == 0:
        raise DataError(f"{where}: {key} is empty")
    with np.errstate(over="ignore", invalid="ignore"):  # checked after the cast: 1e300 in float64 is inf in float32
        x = np.ascontiguousarray(x, np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{where}: {key} contains NaN, infinite or out-of-range values (beyond float32's ~3.4e38)")
    return x


def _labels(lab, n: int, where: str, key: str) -> tuple[np.ndarray, int | None]:
    """Class indices from one-hot rows or integer labels, plus the one-hot width (None for integers)."""
    lab = np.asarray(lab)
    if lab.dtype.kind not in "biuf":
        raise DataError(f"{where}: {key} is not numeric (dtype {lab.dtype})")
    if lab.ndim == 2 and 1 in lab.shape and lab.size == n:
        lab = lab.reshape(-1)  # a MATLAB column/row vector of integer labels
    if lab.ndim == 1:
        if len(lab) != n:
            raise DataError(f"{where}: {key} has {len(lab)} labels for {n} rows of data")
        if not (np.isfinite(lab).all() and (lab == np.round(lab)).all() and (lab >= 0).all()):
            raise DataError(f"{where}: {key} is neither one-hot rows nor non-negative integer labels")
        if len(lab) and lab.max() >= 2 ** 31:  # before the cast, which would wrap it
            raise DataError(f"{where}: {key} holds label {lab.max():g}; labels are class indices 0..K-1")
        return lab.astype(np.int64), None
    if lab.ndim != 2:
        raise DataError(f"{where}: {key} has shape {lab.shape}; expected integer labels or one-hot rows")
    if len(lab) != n:
        raise DataError(f"{where}: {key} has {len(lab)} labels for {n} rows of data")
    bad = ~(np.isin(lab, (0, 1)).all(axis=1) & (lab.sum(axis=1) == 1))
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{where}: {key} row {row} is not one-hot (needs exactly one 1, got {lab[row].sum():g})")
    return lab.argmax(axis=1).astype(np.int64), lab.shape[1]


def _assemble(name: str, where: str, parts: dict[str, list], seed: int, classes=None) -> Dataset:
    """A Dataset from {split: [(x, y, one_hot_width)]}: name the classes, then fill missing splits."""
    rows = sum(len(y) for ps in parts.values() for _, y, _ in ps)
    limit = max(len(NIST36_CLASSES), rows)  # more classes than rows: a label is not a class index
    if classes is None:
        k = max(w if w is not None else int(y.max()) + 1 for ps in parts.values() for _, y, w in ps)
        if k > limit:
            raise DataError(f"{where}: labels imply {k:,} classes for {rows:,} rows of data; labels must be "
                            f"class indices 0..K-1 with K at most {limit:,}")
        classes = default_classes(k)
    elif len(classes) > limit:
        raise DataError(f"{where}: {len(classes):,} class names for {rows:,} rows of data (at most {limit:,})")
    classes = tuple(str(c) for c in classes)
    present = {}
    for split, ps in parts.items():
        x, y = np.concatenate([p[0] for p in ps]), np.concatenate([p[1] for p in ps])
        if y.max() >= len(classes):
            raise DataError(f"{where}: {split} label {int(y.max())} is out of range for {len(classes)} classes")
        present[split] = Split(x, y)
    return Dataset(name, classes, *_complete(present, seed))


def _complete(present: dict[str, Split], seed: int) -> tuple[Split, Split, Split]:
    """train/valid/test, carving whatever is missing so the same files always give the same split."""
    if all(s in present for s in SPLITS):
        return tuple(present[s] for s in SPLITS)
    if "train" not in present:
        x = np.concatenate([p.x for p in present.values()])
        y = np.concatenate([p.y for p in present.values()])
        return split_deterministic(x, y, seed=seed)
    train = present["train"]
    missing = [s for s in SPLITS if s not in present]
    total = sum(len(p) for p in present.values())
    n = min(int(round(0.1 * total)), (len(train) - 1) // len(missing))
    order = np.random.default_rng(seed).permutation(len(train))
    out = dict(present)
    for i, s in enumerate(missing):
        idx = np.sort(order[i * n:(i + 1) * n])
        out[s] = Split(train.x[idx], train.y[idx])
    keep = np.sort(order[len(missing) * n:])
    out["train"] = Split(train.x[keep], train.y[keep])
    return tuple(out[s] for s in SPLITS)


# ---- NIST36 .mat ---------------------------------------------------------------------------------

def _mat_keys() -> list[str]:
    return [f"{s}_{k}" for s in SPLITS for k in ("data", "labels")]


def _listed(path: Path) -> tuple[bytes | None, dict[str, matfile.Variable | tuple]]:
    """The file's variables by name: walked with bounded decompression (level 5), or scipy's header-only
    list (level 4, never compressed). A level 7.3 file is left to loadmat, which refuses it."""
    walked = matfile.variables(path)
    if walked is not None:
        return walked[0], {v.name: v for v in walked[1]}
    return None, {name: (shape, kind) for name, shape, kind in scipy.io.whosmat(str(path))}


def _mat_size(v) -> tuple[tuple[int, ...], str, int | None]:
    if isinstance(v, matfile.Variable):
        return v.shape, v.kind, v.nbytes
    shape, kind = v
    size = dict(matfile.CLASSES.values()).get(kind, 1 if kind == "logical" else None)
    return tuple(shape), kind, None if size is None else math.prod(shape) * size


def _read_mat(path: Path) -> dict:
    """The train_/valid_/test_ data and labels variables of a .mat, each checked from its header (name,
    shape, class) before it is read; other variables are never decompressed (engine.data.matfile)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        header, listed = _listed(path)
        wanted = [k for k in _mat_keys() if k in listed]
        for name in wanted:
            shape, kind, size = _mat_size(listed[name])
            if size is None:
                raise DataError(f"{path}: {name} is a MATLAB {kind}, not a numeric matrix")
            if size > MAX_ARRAY_BYTES:
                raise DataError(f"{path}: {name} is too large: {kind} {shape} is {size / 2 ** 30:.1f} GB "
                                f"(at most {MAX_ARRAY_BYTES / 2 ** 30:.1f} GB)")
        if header is not None:
            found = matfile.load_variables(path, header, [listed[k] for k in wanted]) if wanted else {}
        else:
            found = scipy.io.loadmat(str(path), variable_names=wanted) if wanted else {}
    except DataError:
        raise
    except Exception as exc:  # scipy raises ValueError, TypeError, OSError, zlib errors, ... on bad files
        raise DataError(f"{path}: not a readable MATLAB .mat file (truncated or corrupt?) ({_why(exc)})") from None
    return {**{k: None for k in listed}, **{k: v for k, v in found.items() if not k.startswith("__")}}


def load_mat(path, seed: int = 0) -> Dataset:
    """One .mat file, or a folder of them, with train_/valid_/test_ data+labels pairs combined by key."""
    path = user_path(path)
    if path.is_dir():
        files = sorted(path.glob("*.mat"))
        named = [f for f in files if re.search(r"_(train|valid|test)$", f.stem)]
        files = named or files
        if not files:
            raise DataError(f"{path}: folder has no .mat files")
    else:
        files = [path]
    parts: dict[str, list] = {}
    for f in files:
        d = _read_mat(f)  # the data/labels variables; any other name maps to None (never read)
        found = [k for k in d if not k.startswith("__")]
        hits = 0
        for s in SPLITS:
            dk, lk = f"{s}_data", f"{s}_labels"
            if dk not in d and lk not in d:
                continue
            if dk not in d or lk not in d:
                raise DataError(f"{f}: has {dk if dk in d else lk} but not {lk if dk in d else dk}")
            x = _features(d[dk], str(f), dk)
            parts.setdefault(s, []).append((x, *_labels(d[lk], len(x), str(f), lk)))
            hits += 1
        if not hits:
            raise DataError(f"{f}: no train_/valid_/test_ data and labels keys (found: {', '.join(found) or 'none'})")
    return _assemble(path.stem if path.is_file() else path.name, str(path), parts, seed)


# ---- .npz ----------------------------------------------------------------------------------------

def load_npz(path, seed: int = 0) -> Dataset:
    """An .npz with x_train/y_train (+ optional x_valid/y_valid, x_test/y_test) or just x/y.

    x: (N, 1024) rows already in the NIST layout (column-major), or (N, 32, 32) upright images,
    which are converted. y: integer labels or one-hot rows. Optional ``classes``: names; otherwise
    36 classes are NIST36, 26 are A-Z and any other count is "0".."K-1". Only these members are
    decompressed, each at most MAX_ARRAY_BYTES as its header says (engine.archive.Npz): any other member,
    however large it expands, is never read.
    """
    path = user_path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    where = str(path)
    with Npz(path, DataError) as z:
        names = z.names
        pairs = {s: (f"x_{s}", f"y_{s}") for s in SPLITS if f"x_{s}" in z or f"y_{s}" in z}
        if not pairs and ("x" in z or "y" in z):
            pairs = {"all": ("x", "y")}  # no train split: pooled and split 80/10/10
        if not pairs:
            raise DataError(f"{where}: no x_train/y_train or x/y keys (found: {', '.join(names) or 'none'})")
        parts: dict[str, list] = {}
        for s, (xk, yk) in pairs.items():
            if xk not in z or yk not in z:
                raise DataError(f"{where}: has {xk if xk in z else yk} but not {yk if xk in z else xk}")
            x = _features(z.read(xk, MAX_ARRAY_BYTES), where, xk, allow_images=True)
            parts[s] = [(x, *_labels(z.read(yk, MAX_ARRAY_BYTES), len(x), where, yk))]
        classes = z.read("classes", MAX_NAMES_BYTES) if "classes" in z else None
    if classes is not None:
        classes = [str(c) for c in np.asarray(classes).reshape(-1)]
    return _assemble(path.stem, where, parts, seed, classes)


# ---- image folder --------------------------------------------------------------------------------

FOLDER_MAX_SIDE = 8 * SIDE  # a character image is decoded at most this large: it becomes 32x32

def image_to_row(img: np.ndarray, where: str = "image") -> np.ndarray:
    """Any image -> one NIST row: gray in [0, 1] over white, dark-on-light, padded square, 32x32."""
    a = to_gray(to_float(img, where, max_side=8 * SIDE)).astype(np.float64)  # a huge photo: reduced before float
    if a.mean() < 0.5:
        a = 1.0 - a  # light strokes on dark: flip to the NIST convention
    h, w = a.shape
    s = max(h, w)
    page = np.ones((s, s))
    page[(s - h) // 2:(s - h) // 2 + h, (s - w) // 2:(s - w) // 2 + w] = a
    small = resize(page, (SIDE, SIDE), anti_aliasing=True) if s != SIDE else page
    return from_image(np.clip(small, 0.0, 1.0))


def load_image_folder(path, seed: int = 0) -> Dataset:
    """One subfolder per class (its name is the class name), any image format Pillow reads, decoded as
    the OCR decodes its pages (engine.images.decode: upright by the EXIF tag, first frame, size-bounded)."""
    path = user_path(path)
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(f"{path}: no .mat files and no class subfolders (one subfolder of images per class)")
    rows, labels = [], []
    for i, d in enumerate(class_dirs):
        for f in sorted(d.iterdir()):
            if f.name.startswith(".") or f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                img, _ = decode(f, max_side=FOLDER_MAX_SIDE)
            except ImageError as exc:  # the OCR's words for the same file, as a data error
                raise DataError(str(exc)) from None
            rows.append(image_to_row(img, str(f)))
            labels.append(i)
    if not rows:
        raise DataError(f"{path}: class subfolders contain no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    x, y = np.stack(rows).astype(np.float32), np.asarray(labels, np.int64)
    return Dataset(path.name, tuple(d.name for d in class_dirs), *split_deterministic(x, y, seed=seed))


# ---- combining and the one entry point -----------------------------------------------------------

def combine(datasets: list[Dataset]) -> Dataset:
    """Merge datasets by class NAME, concatenating each split (e.g. A-Z letters into a NIST36 set)."""
    if not datasets:
        raise DataError("combine: no datasets given")
    widths = {d.n_inputs for d in datasets}
    if len(widths) > 1:
        raise DataError(f"combine: datasets have different input sizes {sorted(widths)}")
    union = tuple(dict.fromkeys(c for d in datasets for c in d.classes))
    if set(union) <= set(NIST36_CLASSES):
        union = tuple(c for c in NIST36_CLASSES if c in union)  # keep letters-then-digits order
    index = {c: i for i, c in enumerate(union)}

    def merged(split: str) -> Split:
        xs = [getattr(d, split).x for d in datasets]
        ys = [np.array([index[c] for c in d.classes], np.int64)[getattr(d, split).y] for d in datasets]
        return Split(np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64))

    return Dataset("+".join(d.name for d in datasets), union, *(merged(s) for s in SPLITS))


def load_path(path, seed: int = 0) -> Dataset:
    """A dataset from a file or folder: .mat, a folder of .mat files, .npz or a folder of class subfolders."""
    path = user_path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return load_mat(path, seed) if any(path.glob("*.mat")) else load_image_folder(path, seed)
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return load_mat(path, seed)
    if suffix == ".npz":
        return load_npz(path, seed)
    raise DataError(f"{path}: unsupported file type {suffix or '(none)'} (expected .mat, .npz or a folder)")

