"""The OCR's model: its training set ("ocr-train") and loading the default model.

The training set is the embedded stroke-font glyphs (engine.data.glyphs) drawn with a stronger hand than the
default "glyphs" set, plus the real handwritten NIST letters in ../shared/data/nist26 when present,
augmented with small affine distortions. Every image goes through ``normalize`` exactly as page crops
do, so the model sees one stroke width whatever the pen.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import ndimage

import resources
from engine.data.dataset import NIST36_CLASSES, SIDE, Dataset, Split, split_deterministic
from engine.data.glyphs import (
    FONT_WEIGHTS,
    FONTS,
    GENERATOR_VERSION,
    Style,
    default_cache_dir,
    render_batch,
    sample_fonts,
    stroke_table,
)
from engine.data.loaders import load_mat
from engine.files import atomic_write
from engine.ocr.normalize import NORM_VERSION, normalize_glyph, normalize_rows
from engine.training.checkpoint import CheckpointError, load_network

TRAINSET_VERSION = 4
WILD_WEIGHT = 0.3  # the share of the "wild" forms beside the fonts' (0.55, 0.3, 0.15), for the classes they draw
CHUNK = 2000  # images rendered (and normalized) at a time: the set is the same whatever reports its progress
RENDER_COST = 0.55  # rendering an image costs about this many normalizations (measured: 0.40 vs 0.72 ms)
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = resources.MODEL  # resources/ocr_model.npz, in a checkout or an installed wheel
# Real handwriting shipped beside the project (never copied into it); $BACKPROP_STUDIO_NIST26 overrides.
DEFAULT_NIST26 = ROOT.parent / "shared" / "data" / "nist26" / "nist26_valid.mat"


def nist26_path() -> Path:
    return Path(os.environ.get("BACKPROP_STUDIO_NIST26") or DEFAULT_NIST26)


def strong_style():
    """Hand distortions wider than the glyph set's defaults. Measured on NIST letters held out from training
    (a model trained on glyphs only): the default style transfers at 59 %, this one at ~72 %. Shape
    variation (warp, aspect, strokes missing their joints) is what helps; slant and rotation beyond this
    make a barred I lean into a Z (rotation to 15 degrees, tried for issue 22, read thin pen worse and real
    photos no better: letters on sloping lines are straightened by the crops stage instead)."""
    return Style(rotation_deg=12.0, slant_mean=0.08, slant_sd=0.2, aspect_sd=0.3, wobble=0.05, jitter=0.07,
                 warp=0.14, elastic=0.008, proportion=0.1, taper=0.1, trim=0.03, gaps=0.25, pen=(0.8, 2.8),
                 darkness=(0.8, 1.02))


def render_glyphs(n: int, seed: int, done: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """n upright (n, 32, 32) glyph images balanced over the 36 classes, in the strong style, from the glyph
    set's fonts plus the "wild" forms real writers use (glyphs.WILD: tailed U, barred J, round-backed E, ...);
    ``done(k)`` after each chunk of k images (progress)."""
    fonts, weights = FONTS + ("wild",), FONT_WEIGHTS + (WILD_WEIGHT,)
    table = stroke_table(fonts)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(NIST36_CLASSES)).astype(np.int64)
    gid = table.glyph_id(sample_fonts(y, rng, fonts, weights), y)
    chunks = []
    for i in range(0, n, CHUNK):
        chunks.append(render_batch(table, gid[i:i + CHUNK], rng, strong_style()))
        if done is not None:
            done(len(chunks[-1]) * RENDER_COST)
    return np.concatenate(chunks), y


def affine_jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A randomly rotated, sheared and stretched copy of an upright image (white fill)."""
    a = np.deg2rad(rng.normal(0, 8))
    shear, sx, sy = rng.normal(0, 0.15), np.exp(rng.normal(0, 0.12)), np.exp(rng.normal(0, 0.08))
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.array([[sy, 0], [shear, sx]])
    inv = np.linalg.inv(m)
    c = (np.array(img.shape) - 1) / 2
    return ndimage.affine_transform(img, inv, offset=c - inv @ c, order=1, mode="constant", cval=1.0)


def augment_real(imgs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies of real upright letters (n, 32, 32) as other hands and pens would draw them: affine jitter, a smooth
    elastic displacement (Simard et al.), thicker or thinner ink (a shifted level before normalize thresholds at
    0.5) and, for some, 1-3 white specks on the strokes (a pencil line that breaks)."""
    n = len(imgs)
    out = np.stack([affine_jitter(im, rng) for im in imgs])
    field = ndimage.gaussian_filter(rng.uniform(-1, 1, (2, n, SIDE, SIDE)), (0, 0, 4, 4))
    field *= rng.uniform(0, 1.5, (1, n, 1, 1)) / np.maximum(field.std((2, 3), keepdims=True), 1e-9)
    grid = np.indices(out.shape, dtype=np.float64)
    out = ndimage.map_coordinates(out, [grid[0], grid[1] + field[0], grid[2] + field[1]], order=1, cval=1.0)
    out = out + rng.uniform(-0.2, 0.2, (n, 1, 1))
    rows, cols = np.indices((SIDE, SIDE))
    for i in np.nonzero(rng.random(n) < 0.3)[0]:
        ink = np.argwhere(out[i] < 0.5)
        for r, c in ink[rng.integers(0, len(ink), rng.integers(1, 4))] if len(ink) > 40 else ():
            out[i][(rows - r) ** 2 + (cols - c) ** 2 <= rng.uniform(1.0, 2.5)] = 1.0
    return out.astype(np.float32)


def _normalize_images(imgs: np.ndarray, done: Callable[[int], None] | None = None) -> np.ndarray:
    out = np.empty((len(imgs), SIDE * SIDE), np.float32)
    for i in range(0, len(imgs), CHUNK):
        out[i:i + CHUNK] = [normalize_glyph(im).T.reshape(-1) for im in imgs[i:i + CHUNK]]
        if done is not None:
            done(len(out[i:i + CHUNK]))
    return out


class _Work:
    """Progress of building the set, in units of one normalized image (rendering one costs RENDER_COST)."""

    def __init__(self, total: float, progress: Callable[[float], None] | None):
        self.total, self.n, self.progress = max(total, 1.0), 0.0, progress

    def done(self, units: float) -> None:
        self.n += units
        if self.progress is not None:
            self.progress(min(self.n / self.total, 1.0))


def build_training_set(n_glyphs: int = 40_000, nist_copies: int = 12, seed: int = 0,
                       nist: Path | None = None, progress: Callable[[float], None] | None = None) -> Dataset:
    """The "ocr-train" dataset: normalized glyphs (+ augmented NIST letters when the file exists).

    NIST letters are split 80/10/10 before augmentation, so valid/test hold only unseen writers' letters
    in their original form. Digits have no real samples, so as many extra generated digits join the training
    split as letters gain from NIST: every class then has about the same number of training images.
    ``progress(fraction)`` as it goes (about a minute on a laptop: the correction loop shows it)."""
    path = nist or nist26_path()
    real = load_mat(path, seed) if path.is_file() else None  # classes A-Z: the indices of NIST36's first 26
    n_real = len(real.train) * nist_copies if real is not None else 0
    n_digits = n_real * 36 // 26
    work = _Work((1 + RENDER_COST) * n_glyphs + n_real + RENDER_COST * n_digits + n_digits * 10 / 36, progress)
    imgs, y = render_glyphs(n_glyphs, seed, work.done)
    gx = _normalize_images(imgs, work.done)
    g_train, g_valid, g_test = split_deterministic(gx, y, (0.9, 0.05, 0.05), seed)
    parts = {"train": [g_train], "valid": [g_valid], "test": [g_test]}
    if real is not None:
        rng = np.random.default_rng(seed + 1)
        up = np.stack([r.reshape(SIDE, SIDE).T for r in real.train.x])
        aug = [augment_real(up, rng) for _ in range(nist_copies - 1)]
        parts["train"].append(Split(_normalize_images(np.concatenate([up, *aug]), work.done),
                                    np.tile(real.train.y, nist_copies)))
        digits, dy = render_glyphs(n_digits, seed + 2, work.done)  # 10/36 of them are digits
        keep = dy >= 26
        parts["train"].append(Split(_normalize_images(digits[keep], work.done), dy[keep]))
        parts["valid"].append(Split(normalize_rows(real.valid.x), real.valid.y))
        parts["test"].append(Split(normalize_rows(real.test.x), real.test.y))
    splits = [Split(np.concatenate([p.x for p in parts[s]]), np.concatenate([p.y for p in parts[s]]))
              for s in ("train", "valid", "test")]
    return Dataset("ocr-train", NIST36_CLASSES, *splits)


def load_training_set(cache_dir: str | os.PathLike | None = None, progress: Callable[[float], None] | None = None,
                      **kwargs) -> Dataset:
    """``build_training_set`` cached as .npz in the glyph cache folder (keyed by version and NIST presence);
    ``progress(fraction)`` while it is built (the cached set reads in about a second)."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    has_nist = (kwargs.get("nist") or nist26_path()).is_file()
    tag = f"v{TRAINSET_VERSION}_n{NORM_VERSION}_g{GENERATOR_VERSION}_{'nist' if has_nist else 'glyphs'}"
    path = folder / f"ocr_train_{tag}.npz"
    try:
        with np.load(path) as f:
            splits = [Split(f[f"x_{s}"], f[f"y_{s}"]) for s in ("train", "valid", "test")]
        if progress is not None:
            progress(1.0)
        return Dataset("ocr-train", NIST36_CLASSES, *splits)
    except Exception:  # missing or corrupt: rebuild
        pass
    data = build_training_set(progress=progress, **kwargs)
    try:
        with atomic_write(path) as f:
            np.savez(f, **{f"{k}_{s}": getattr(getattr(data, s), k) for s in ("train", "valid", "test")
                           for k in ("x", "y")})
    except OSError:
        pass  # a read-only cache only costs time
    return data


@dataclass
class Classifier:
    """A trained network plus its class names: rows in, probabilities out."""
    net: object
    classes: tuple[str, ...]
    path: str = ""

    def probs(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            p = self.net.predict(np.asarray(rows, np.float32))
        if not np.isfinite(p).all():  # finite but huge weights overflow: never report a NaN confidence
            raise CheckpointError(f"{self.path or 'the model'}: its weights overflow (NaN or infinite outputs)")
        return p


def load_classifier(path: str | os.PathLike | None = None) -> Classifier:
    """The model at ``path`` (default resources/ocr_model.npz); CheckpointError (a ValueError) if unusable."""
    path = Path(path) if path is not None else DEFAULT_MODEL
    if not path.exists():
        hint = " (train it with the command in README.md)" if path == DEFAULT_MODEL else ""
        raise CheckpointError(f"{path}: no such model file{hint}")
    net, classes, _ = load_network(path)  # metadata types, shapes and finite weights are checked there
    if net.sizes[0] != SIDE * SIDE:
        raise CheckpointError(f"{path}: the model takes {net.sizes[0]} inputs; the OCR needs {SIDE * SIDE} (32x32)")
    if len(classes) != net.sizes[-1] or net.layers[-1].activation != "softmax":
        raise CheckpointError(f"{path}: not a classifier ({len(classes)} class names for {net.sizes[-1]} "
                              f"{net.layers[-1].activation} outputs)")
    return Classifier(net, tuple(classes), str(path))


__all__ = ["Classifier", "DEFAULT_MODEL", "augment_real", "build_training_set", "load_classifier", "load_training_set",
           "nist26_path"]
