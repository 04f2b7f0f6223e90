"""Editing a recognized page: relabel, delete, merge or add boxes; export text, corrections and crops.

Every function works on ``pipe.result`` (the last full run of an OcrPipeline), keeps ``result.lines``
in step with the boxes and logs what it did in ``result.corrections``. Re-running a stage (a parameter
change) recomputes the result from the image and so discards edits: export them first.
Corrected crops become training rows in the NIST layout (an .npz that ``load_dataset`` reads and that
can be combined with the OCR training set: ``--data ocr-train+corrections.npz``).
"""
from __future__ import annotations

import os

import numpy as np

from engine.data.dataset import NIST36_CLASSES, SIDE, from_image
from engine.data.edits import append_rows
from engine.errors import InputError
from engine.ocr.lines import group_lines, reading_slope
from engine.ocr.pipeline import OcrPipeline
from engine.ocr.recognize import Reader, label
from engine.ocr.result import Box, OcrResult, assemble


def _result(pipe: OcrPipeline) -> OcrResult:
    return pipe.run()


def _check(result: OcrResult, i: int) -> Box:
    if not 0 <= i < len(result.boxes):
        raise InputError(f"no box {i}: the page has {len(result.boxes)} boxes")
    return result.boxes[i]


def _log(result: OcrResult, op: str, box: Box, **extra) -> None:
    result.corrections.append({"op": op, "box": list(box.rect), **extra})


def relayout(pipe: OcrPipeline, result: OcrResult) -> None:
    """Recompute reading order, lines and word gaps of the current boxes with the pipeline's settings."""
    if not result.boxes:
        result.lines = []
        return
    height = pipe.data("characters").height or float(np.median([b.height for b in result.boxes]))
    rects = np.array([b.rect for b in result.boxes], np.int64)
    lay = group_lines(rects, height, **pipe.stage("lines").values())
    ordered = []
    for li, (idx, spaces, slope) in enumerate(zip(lay.lines, lay.space_before, lay.slopes)):
        for i, sp in zip(idx, spaces):
            b = result.boxes[i]
            b.line, b.space_before, b.slope = li, sp, reading_slope(slope)
            ordered.append(b)
    result.boxes[:] = ordered  # in place: the "text" stage's output shows the same list
    result.lines = assemble(ordered)


def relabel(pipe: OcrPipeline, i: int, char: str) -> None:
    """Set box i's character (the model's reading is kept in ``corrected`` for the corrections log)."""
    result = _result(pipe)
    box = _check(result, i)
    if len(char) != 1 or char.isspace():
        raise InputError(f"a box holds exactly one character, got {char!r}")
    _log(result, "relabel", box, was=box.char, now=char)
    if not box.corrected:
        box.corrected = box.char or "?"
    box.char = char
    result.lines = assemble(result.boxes)


def delete(pipe: OcrPipeline, i: int) -> None:
    """Remove box i (noise read as a character)."""
    result = _result(pipe)
    box = _check(result, i)
    _log(result, "delete", box, was=box.char)
    del result.boxes[i]
    relayout(pipe, result)


def _classified(pipe: OcrPipeline, box: Box) -> Box:
    reader = Reader(pipe.classifier, pipe.data("components")[0], pipe.data("morphology"))
    reader.read([box])
    label([box], reader.probs[id(box)][None], pipe.classifier.classes, consistency=1.0)
    return box


def merge(pipe: OcrPipeline, indices: list[int]) -> int:
    """Merge boxes (pieces of one character) into one, re-read it; returns its new index."""
    result = _result(pipe)
    if len(set(indices)) < 2:
        raise InputError("merging needs at least two different boxes")
    parts = [_check(result, i) for i in sorted(set(indices))]
    box = Box(min(b.row0 for b in parts), min(b.col0 for b in parts), max(b.row1 for b in parts),
              max(b.col1 for b in parts), members=sorted({m for b in parts for m in b.members}))
    if any(not b.members for b in parts):
        box.members = []  # a hand-drawn part: take all ink in the union
    _classified(pipe, box)
    _log(result, "merge", box, was="".join(b.char for b in parts), now=box.char)
    result.boxes[:] = [b for b in result.boxes if not any(b is p for p in parts)] + [box]
    relayout(pipe, result)
    return next(k for k, b in enumerate(result.boxes) if b is box)


def add_box(pipe: OcrPipeline, row0: int, col0: int, row1: int, col1: int) -> int:
    """A hand-drawn box (work-image pixels): all ink inside it is one character, read by the model."""
    result = _result(pipe)
    h, w = pipe.data("morphology").shape
    r0, r1 = sorted((int(np.clip(row0, 0, h)), int(np.clip(row1, 0, h))))
    c0, c1 = sorted((int(np.clip(col0, 0, w)), int(np.clip(col1, 0, w))))
    if r1 - r0 < 2 or c1 - c0 < 2:
        raise InputError("the box is too small (needs at least 2x2 pixels inside the image)")
    box = _classified(pipe, Box(r0, c0, r1, c1))
    _log(result, "add", box, now=box.char)
    result.boxes.append(box)
    relayout(pipe, result)
    return next(k for k, b in enumerate(result.boxes) if b is box)


def export_json(result: OcrResult, source: str | os.PathLike | None = None) -> dict:
    """Text, boxes (source pixels, with top-5 and whether corrected) and the corrections log."""
    return {"source": str(source) if source is not None else None,
            "lines": list(result.lines),
            "boxes": [{"box": result.source_box(b), "char": b.char, "confidence": round(b.confidence, 4),
                       "top5": [[c, round(p, 4)] for c, p in b.top5], "line": b.line,
                       "model_read": b.corrected or b.char, "corrected": bool(b.corrected)} for b in result.boxes],
            "corrections": [dict(c) for c in result.corrections]}


def training_rows(result: OcrResult, only_corrected: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(x (N, 1024) NIST-layout normalized inputs, y (N,) NIST36 indices) of boxes with a known class."""
    keep = [b for b in result.boxes if b.input is not None and b.char in NIST36_CLASSES
            and (b.corrected or not only_corrected)]
    x = np.stack([from_image(b.input) for b in keep]) if keep else np.zeros((0, SIDE * SIDE), np.float32)
    return x.astype(np.float32), np.array([NIST36_CLASSES.index(b.char) for b in keep], np.int64)


def save_training_rows(path, result: OcrResult, only_corrected: bool = False) -> int:
    """Append the page's rows to an .npz (x, y, classes = NIST36), creating it if needed; rows written."""
    x, y = training_rows(result, only_corrected)
    return append_rows(path, x, y, NIST36_CLASSES)


__all__ = ["add_box", "delete", "export_json", "merge", "relabel", "relayout", "save_training_rows",
           "training_rows"]
