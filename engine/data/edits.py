"""Fixing the data without touching it: an edit list (relabel or drop samples) applied on load, and
correction rows (drawn characters, OCR corrections) collected for training.

Why a list and not an edited copy: the original file stays the truth, an edit can be undone or reviewed,
and the list is small enough to keep beside a checkpoint. Each edit names its sample by split and index
*and* a digest of its pixels, so a list can never silently apply to different data (another seed,
another file): ``apply`` refuses with an InputError instead.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from engine import jsontext
from engine.archive import Npz
from engine.data.dataset import SIDE, Dataset, Edited, Split
from engine.data.loaders import MAX_ARRAY_BYTES, MAX_NAMES_BYTES
from engine.data.registry import load_dataset
from engine.errors import InputError
from engine.files import atomic_write, user_path

FORMAT = "backprop-studio-edits/1"
SPLITS = ("train", "valid", "test")


def digest(row: np.ndarray) -> str:
    """A short fingerprint of one sample's pixels (float32 bytes)."""
    return hashlib.sha1(np.ascontiguousarray(row, np.float32).tobytes()).hexdigest()[:12]


@dataclass
class Edit:
    split: str
    index: int
    op: str              # "relabel" or "drop"
    label: str = ""      # the new class name (relabel only)
    was: str = ""        # the class name in the data, for reading the list
    digest: str = ""


@dataclass
class EditList:
    """Edits to one dataset, at most one per sample (the latest wins)."""
    dataset: str = ""
    edits: list[Edit] = field(default_factory=list)

    def _set(self, data: Dataset, split: str, index: int, op: str, label: str = "") -> Edit:
        if split not in SPLITS:
            raise InputError(f"no split {split!r}; splits: {', '.join(SPLITS)}")
        part: Split = getattr(data, split)
        if not 0 <= index < len(part):
            raise InputError(f"no sample {index} in {split}: it has {len(part)}")
        if op == "relabel" and label not in data.classes:
            raise InputError(f"no class {label!r}; classes: {''.join(data.classes)}")
        self.dataset = self.dataset or data.name
        edit = Edit(split, int(index), op, label, data.classes[int(part.y[index])], digest(part.x[index]))
        self.remove(split, index)
        self.edits.append(edit)
        return edit

    def relabel(self, data: Dataset, split: str, index: int, label: str) -> Edit:
        return self._set(data, split, index, "relabel", label)

    def drop(self, data: Dataset, split: str, index: int) -> Edit:
        return self._set(data, split, index, "drop")

    def remove(self, split: str, index: int) -> None:
        """Undo the edit of one sample (if any)."""
        self.edits = [e for e in self.edits if (e.split, e.index) != (split, int(index))]

    def find(self, split: str, index: int) -> Edit | None:
        return next((e for e in self.edits if (e.split, e.index) == (split, int(index))), None)

    def __len__(self) -> int:
        return len(self.edits)

    def apply(self, data: Dataset) -> Dataset:
        """A new Dataset with the edits applied (the given one, the data as loaded, is not modified); it
        remembers them (``Dataset.edited``), so a checkpoint of a session on it keeps them."""
        if data.edited is not None:
            raise InputError(f"{data.name}: already edited; apply the edit list to the data as loaded")
        splits, rows = {}, {}
        for s in SPLITS:
            part: Split = getattr(data, s)
            y, keep = part.y.copy(), np.ones(len(part), bool)
            for e in (e for e in self.edits if e.split == s):
                if e.index >= len(part) or digest(part.x[e.index]) != e.digest:
                    raise InputError(f"the edit list does not fit this data: {s} sample {e.index} is not the one "
                                     f"that was edited (made for {self.dataset!r}, applied to {data.name!r})")
                if e.op == "drop":
                    keep[e.index] = False
                else:
                    y[e.index] = data.classes.index(e.label)
            splits[s] = Split(part.x[keep], y[keep])
            rows[s] = np.flatnonzero(keep)
        if not self.edits:
            return data
        kept = EditList(self.dataset or data.name, [replace(e) for e in self.edits])
        return replace(data, name=f"{data.name} (edited)", edited=Edited(data, kept, rows), **splits)

    def summary(self) -> str:
        """'3 edits (2 relabelled, 1 dropped)'."""
        relabelled = sum(e.op == "relabel" for e in self.edits)
        return (f"{len(self.edits):,} {'edit' if len(self.edits) == 1 else 'edits'} ({relabelled:,} relabelled, "
                f"{len(self.edits) - relabelled:,} dropped)")

    def copy(self) -> "EditList":
        return EditList(self.dataset, [replace(e) for e in self.edits])

    def relabelled_rows(self, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the relabelled samples with their new labels: correction rows for fine-tuning."""
        rel = [e for e in self.edits if e.op == "relabel"]
        if not rel:
            return np.zeros((0, data.n_inputs), np.float32), np.zeros(0, np.int64)
        x = np.stack([getattr(data, e.split).x[e.index] for e in rel]).astype(np.float32)
        return x, np.array([data.classes.index(e.label) for e in rel], np.int64)

    # ---- files -------------------------------------------------------------------------------------------

    def as_json(self) -> dict:
        """The list as a JSON document (an edits file, or a checkpoint's metadata)."""
        return {"format": FORMAT, "dataset": self.dataset, "edits": [asdict(e) for e in self.edits]}

    @classmethod
    def from_json(cls, doc, where: str = "the edit list") -> "EditList":
        """An EditList from ``as_json``'s document; InputError (naming ``where``) for anything else."""
        try:
            if doc.get("format") != FORMAT:
                raise ValueError(f"format {doc.get('format')!r}")
            edits = [Edit(**e) for e in doc["edits"]]
        except Exception as exc:
            raise InputError(f"{where}: not an edit list ({type(exc).__name__}: {exc})") from None
        bad = [e for e in edits if e.split not in SPLITS or e.op not in ("relabel", "drop")
               or type(e.index) is not int or e.index < 0]
        if bad:
            raise InputError(f"{where}: bad edit {asdict(bad[0])}")
        return cls(str(doc.get("dataset", "")), edits)

    def save(self, path) -> None:
        with atomic_write(path, "w") as f:
            json.dump(self.as_json(), f, indent=1)

    @classmethod
    def load(cls, path) -> "EditList":
        try:
            doc = jsontext.read(user_path(path))  # bounded in size and depth
        except (OSError, InputError):
            raise
        except Exception as exc:
            raise InputError(f"{path}: not an edit list ({type(exc).__name__}: {exc})") from None
        return cls.from_json(doc, str(path))


def load_edited(spec: str, edits_path, seed: int = 0) -> Dataset:
    """``load_dataset(spec)`` with an edit list applied: how an edited dataset is opened again."""
    return EditList.load(edits_path).apply(load_dataset(spec, seed=seed))


# ---- correction rows: new samples (drawn characters, OCR corrections) ---------------------------------------


@dataclass
class Rows:
    """Labelled network inputs collected by hand, in the NIST layout, with where each came from."""
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, SIDE * SIDE), np.float32))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    source: list[str] = field(default_factory=list)  # "drawn", "ocr", "relabel", ...

    def add(self, x: np.ndarray, y, source: str) -> None:
        x = np.asarray(x, np.float32).reshape(-1, SIDE * SIDE)
        y = np.atleast_1d(np.asarray(y, np.int64))
        if len(x) != len(y):
            raise ValueError(f"{len(x)} rows but {len(y)} labels")
        self.x, self.y = np.concatenate([self.x, x]), np.concatenate([self.y, y])
        self.source += [source] * len(y)

    def __len__(self) -> int:
        return len(self.y)


def append_rows(path, x: np.ndarray, y: np.ndarray, classes) -> int:
    """Append labelled rows to an .npz (x, y, classes) that ``load_dataset`` reads (creating it); rows
    written. ``--data ocr-train+rows.npz`` then trains on them."""
    path = Path(path)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    n = len(y)
    if path.exists():
        try:  # only x, y and classes are decompressed, each bounded by its header
            with Npz(path, what="training-rows file") as f:
                old_x, old_y = f.read("x", MAX_ARRAY_BYTES), f.read("y", MAX_ARRAY_BYTES)
                old_classes = [str(c) for c in np.asarray(f.read("classes", MAX_NAMES_BYTES)).reshape(-1)]
        except KeyError as exc:
            raise InputError(f"{path}: not a training-rows file to append to (no {exc.args[0]})") from None
        if old_x.dtype.kind != "f" or old_y.dtype.kind not in "iu" or len(old_x) != len(old_y):
            raise InputError(f"{path}: not a training-rows file to append to ({old_x.dtype} x of {len(old_x)} rows, "
                             f"{old_y.dtype} y of {len(old_y)})")
        if old_classes != list(classes) or old_x.shape[1:] != x.shape[1:]:
            raise InputError(f"{path}: holds other classes or image sizes; choose a new file")
        x, y = np.concatenate([old_x, x]), np.concatenate([old_y, y])
    with atomic_write(path, "wb") as f:
        np.savez(f, x=x, y=y, classes=np.array(list(classes)))
    return n


__all__ = ["Edit", "EditList", "Rows", "append_rows", "digest", "load_edited"]
