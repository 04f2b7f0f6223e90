"""NumPy images as Qt pixmaps (the Inspect tools, the OCR close-up, the confusion drill-down)."""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QImage, QPixmap


def to_pixmap(img: np.ndarray, size: int) -> QPixmap:
    """A gray or RGB image in [0, 1] (float) or uint8 as a pixmap that fits ``size`` x ``size``."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if h == 0 or w == 0:
        return QPixmap()
    if a.ndim == 3:
        q = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    else:
        q = QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8)
    smooth = Qt.TransformationMode.FastTransformation if max(h, w) <= 64 else Qt.TransformationMode.SmoothTransformation
    return QPixmap.fromImage(q.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, smooth)


def sample_pixmap(img: np.ndarray, scale: int = 2) -> QPixmap:
    """A gray image in [0, 1] at ``scale`` x its size (no smoothing)."""
    a = np.clip(np.asarray(img, np.float64), 0, 1)
    g = np.ascontiguousarray((255 * a).astype(np.uint8))
    h, w = g.shape
    qimg = QImage(g.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimg).scaled(w * scale, h * scale)


__all__ = ["sample_pixmap", "to_pixmap"]
