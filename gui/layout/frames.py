"""A frame of a workspace: a title bar (title, maximise/restore) over one panel or tabs of panels, each
panel in a scroll area that lets it fill the frame and scroll only below its minimum size
(gui/layout/workspaces.py arranges frames into workspaces).

In a panel that scrolls, the mouse wheel scrolls the panel, not the plot under the pointer (a plot zooms
with the wheel once it has the focus -- click it -- or with Ctrl held): ``wheel_scrolls``."""
from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QFrame,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.widgets import theme


class WheelToScroll(QObject):
    """An event filter on the plots (graphics views) inside a scroll area: a wheel turn over a plot that does
    not have the focus, without Ctrl, scrolls the area when it can scroll. A plot that has the focus, or a
    turn with Ctrl, zooms as before; so does every plot of an area that has nothing to scroll."""

    def __init__(self, area: QScrollArea):
        super().__init__(area)
        self.area = area
        self.watched: set[int] = set()

    def watch(self, widget) -> None:
        views = [widget] if isinstance(widget, QGraphicsView) else []
        for view in views + widget.findChildren(QGraphicsView):
            if id(view) not in self.watched:
                self.watched.add(id(view))
                view.viewport().installEventFilter(self)
                view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # (a wheel turn never takes the focus)

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.Wheel:
            return False
        view, inner = obj.parentWidget(), self.area.widget()
        if view is None or inner is None or not (inner is view or inner.isAncestorOf(view)):
            return False  # (the panel has moved to another workspace's frame)
        bar = self.area.verticalScrollBar()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier or view.hasFocus() \
                or bar.maximum() <= bar.minimum():
            return False
        self.area.wheelEvent(event)
        event.accept()
        return True


def wheel_scrolls(area: QScrollArea, widget) -> WheelToScroll:
    """The wheel over ``widget``'s plots scrolls ``area`` (see WheelToScroll); returns the filter."""
    wheel = getattr(area, "_wheel", None)
    if wheel is None:
        wheel = area._wheel = WheelToScroll(area)
    wheel.watch(widget)
    return wheel


class PanelScroll(QScrollArea):
    """A panel's scroll area: the panel fills the frame, and scrolls only below its minimum size.
    (QScrollArea's own resizing gives a panel with wrapped labels its *preferred* height -- its
    height-for-width -- so its plots would start below the fold.)"""

    def __init__(self):
        super().__init__()
        self.setWidgetResizable(False)
        self.setFrameShape(QFrame.Shape.NoFrame)

    def setWidget(self, widget) -> None:
        super().setWidget(widget)
        widget.installEventFilter(self)
        wheel_scrolls(self, widget)
        self.fit()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.fit()
        return False

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        w = self.widget()
        if w is None:
            return
        m, view = w.minimumSizeHint().expandedTo(w.minimumSize()), self.maximumViewportSize()
        width = max(view.width(), m.width())
        if m.height() > view.height():  # a vertical scroll bar takes its width from the panel
            width = max(view.width() - self.verticalScrollBar().sizeHint().width(), m.width())
        height = max(view.height(), m.height())
        if width > view.width():
            height = max(view.height() - self.horizontalScrollBar().sizeHint().height(), m.height())
        w.resize(width, height)


def _scroll_area_of(widget) -> "QScrollArea | None":
    viewport = widget.parentWidget()
    area = viewport.parentWidget() if viewport is not None else None
    return area if isinstance(area, QScrollArea) and area.widget() is widget else None


def wrap_long_labels(panel) -> None:
    """Labels on a line of their own (captions, summaries, whose text grows as training runs) wrap instead
    of making their panel wider than its frame: on a small screen the words go to a second line rather
    than off the edge. Labels inside a row of controls are left as they are."""
    for label in panel.findChildren(QLabel):
        parent = label.parentWidget()
        layout = parent.layout() if parent is not None else None
        if isinstance(layout, QVBoxLayout) and layout.indexOf(label) >= 0 and not label.wordWrap():
            label.setWordWrap(True)
    panel._labels_wrap = True


class Frame(QWidget):
    """One place in a workspace: a title bar (title, maximise/restore) over one panel or tabs of panels."""

    maximise_clicked = pyqtSignal(object)

    def __init__(self, keys: tuple[str, ...], parent=None):
        super().__init__(parent)
        self.keys = list(keys)
        self.panels: dict = {}
        self.wrappers: dict[str, QScrollArea] = {}
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # a click on its title bar or tabs gives the frame the focus: Ctrl+M then maximises the panel used last
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(0)
        bar = QWidget()
        bar.setObjectName("frame_bar")
        bar.setStyleSheet(theme.FRAME_BAR_STYLE)
        row = QHBoxLayout(bar)
        row.setContentsMargins(6, 1, 2, 1)
        self.title = QLabel("")
        self.title.setStyleSheet(theme.FRAME_TITLE_STYLE)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the frame
        row.addWidget(self.title, 1)
        self.max_button = QToolButton()
        self.max_button.setAutoRaise(True)
        self.max_button.clicked.connect(lambda: self.maximise_clicked.emit(self))
        row.addWidget(self.max_button)
        lay.addWidget(bar)
        self.tabs = QTabWidget() if len(keys) > 1 else None
        if self.tabs is not None:
            self.tabs.setDocumentMode(True)
            self.tabs.currentChanged.connect(self._show_title)
            lay.addWidget(self.tabs, 1)
        self.body = QVBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self.body, 1)
        self.set_maximised(False)

    def add_key(self, key: str) -> None:
        """One more panel as a tab here (a frame of one panel becomes a tab group)."""
        self.keys.append(key)
        if self.tabs is None:
            self.tabs = QTabWidget()
            self.tabs.setDocumentMode(True)
            self.tabs.currentChanged.connect(self._show_title)
            self.layout().insertWidget(1, self.tabs, 1)

    def install(self, panels: dict) -> None:
        """Move this frame's panels into it (from wherever they were shown last). Each panel sits in its
        own scroll area: on a small screen a panel scrolls instead of being clipped or squeezed."""
        current = self.current_key()
        for key in self.keys:
            panel = panels.get(key)
            if panel is None:
                continue
            self.panels[key] = panel
            wrapper = self.wrappers.get(key)
            if wrapper is None:
                wrapper = self.wrappers[key] = PanelScroll()
                if self.tabs is not None:
                    self.tabs.addTab(wrapper, panel.title)
                    self.tabs.setTabToolTip(self.tabs.count() - 1,
                                            (panel.__doc__ or panel.title).strip().split("\n\n")[0])
                else:
                    self.body.addWidget(wrapper)
            if not getattr(panel, "_labels_wrap", False):
                wrap_long_labels(panel)
            if wrapper.widget() is not panel:
                previous = _scroll_area_of(panel)
                if previous is not None:
                    previous.takeWidget()
                wrapper.setWidget(panel)
            panel.show()
        if current:
            self.select(current)
        self._show_title()

    def current_key(self) -> str:
        if self.tabs is not None and self.tabs.currentWidget() is not None:
            return next((k for k, w in self.wrappers.items() if w is self.tabs.currentWidget()), "")
        return self.keys[0] if self.keys else ""

    def select(self, key: str) -> None:
        if self.tabs is not None and key in self.wrappers:
            self.tabs.setCurrentWidget(self.wrappers[key])

    def _show_title(self, *_):
        key = self.current_key()
        panel = self.panels.get(key)
        self.title.setText(panel.title if panel is not None else key)

    def set_maximised(self, on: bool) -> None:
        px = QStyle.StandardPixmap.SP_TitleBarNormalButton if on else QStyle.StandardPixmap.SP_TitleBarMaxButton
        self.max_button.setIcon(self.style().standardIcon(px))
        self.max_button.setToolTip(("Restore the layout" if on else "Maximise this panel") + " (Ctrl+M)")
