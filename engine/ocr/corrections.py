"""What the correction loop learns from: the boxes the user corrected on an OCR page plus any other rows
collected in the window (drawn characters, relabelled top-loss samples), as one training set for
``engine.ocr.finetune.Finetune``.
"""
from __future__ import annotations

import numpy as np

from engine.data.dataset import SIDE
from engine.data.edits import Rows
from engine.ocr.edit import training_rows
from engine.ocr.result import OcrResult


def correction_rows(result: OcrResult | None, extra: Rows | None) -> tuple[np.ndarray, np.ndarray]:
    """(x (N, 1024) NIST-layout rows, y (N,) NIST36 indices): the corrected boxes of a page's result, then
    the ``extra`` rows."""
    xs, ys = [], []
    if result is not None:
        x, y = training_rows(result, only_corrected=True)
        xs.append(x)
        ys.append(y)
    if extra is not None and len(extra):
        xs.append(extra.x)
        ys.append(extra.y)
    if not xs:
        return np.zeros((0, SIDE * SIDE), np.float32), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys)


__all__ = ["correction_rows"]
