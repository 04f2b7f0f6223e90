"""A row of widget groups that goes on as a column when its frame is too narrow for the row: a panel's
button row or its pictures-and-list on a 1366-wide screen, instead of the panel scrolling sideways."""
from __future__ import annotations

from PyQt6.QtCore import QSize
from PyQt6.QtWidgets import QBoxLayout, QLayout, QWidget


class Reflow(QWidget):
    """Groups side by side when they fit, one under the other when they do not. Its minimum width is the
    widest group's, so a scroll area can give it less room than the row needs (it then reflows)."""

    def __init__(self, *groups: QWidget, spacing: int = 6, stretch: tuple[int, ...] = (), parent=None):
        super().__init__(parent)
        self.groups = list(groups)
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(spacing)
        self.box.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # (as a window too: it may be narrower)
        for k, g in enumerate(groups):
            self.box.addWidget(g, stretch[k] if k < len(stretch) else 0)

    @property
    def wrapped(self) -> bool:
        return self.box.direction() == QBoxLayout.Direction.TopToBottom

    def row_width(self) -> int:
        """The width the groups need side by side."""
        return sum(g.minimumSizeHint().expandedTo(g.minimumSize()).width() for g in self.groups) \
            + self.box.spacing() * (len(self.groups) - 1)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        widest = max((g.minimumSizeHint().expandedTo(g.minimumSize()).width() for g in self.groups), default=0)
        return QSize(widest, hint.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        direction = QBoxLayout.Direction.TopToBottom if event.size().width() < self.row_width() \
            else QBoxLayout.Direction.LeftToRight
        if direction != self.box.direction():
            self.box.setDirection(direction)
            self.updateGeometry()  # the minimum height changed: the scroll area fits the panel again


__all__ = ["Reflow"]
