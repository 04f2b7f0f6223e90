"""NumPy images as Qt pixmaps (the Inspect tools, the OCR close-up, the confusion drill-down)."""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QRect, QSize, Qt
from PyQt6.QtGui import QImage, QPainter, QPixmap
from PyQt6.QtWidgets import QSizePolicy, QWidget


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


class ScaledPicture(QWidget):
    """A picture as wide as its place allows (pixels kept sharp), as tall as its aspect needs: a strip of
    activations reads in a narrow frame instead of widening it."""

    def __init__(self, min_width: int = 64, max_scale: int = 10, parent=None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.min_width, self.max_scale = min_width, max_scale
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_image(self, img: np.ndarray) -> None:
        """A gray image in [0, 1] (dark = high is the caller's choice)."""
        g = np.ascontiguousarray((np.clip(np.asarray(img, np.float64), 0, 1) * 255).astype(np.uint8))
        h, w = g.shape
        self.image = QImage(g.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self.updateGeometry()
        self.update()

    def _width(self, available: int) -> int:
        if self.image is None:
            return available
        return min(available, self.image.width() * self.max_scale)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if self.image is None or self.image.width() == 0:
            return 0
        return max(1, round(self._width(width) * self.image.height() / self.image.width()))

    def sizeHint(self) -> QSize:
        w = self.image.width() * self.max_scale if self.image is not None else self.min_width
        return QSize(w, self.heightForWidth(w))

    def minimumSizeHint(self) -> QSize:
        return QSize(self.min_width, self.heightForWidth(self.min_width))

    def paintEvent(self, event) -> None:
        if self.image is None:
            return
        w = self._width(self.width())
        p = QPainter(self)
        p.drawImage(QRect(0, 0, w, self.heightForWidth(self.width())), self.image)


__all__ = ["ScaledPicture", "sample_pixmap", "to_pixmap"]
