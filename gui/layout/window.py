"""The window's frame: the Controls column on the left (the form, the run buttons and a live loss curve,
scrolling when the screen is short), the workspaces in the middle (gui/layout/workspaces.py), and the status bar,
with PNG/CSV export on every plot (gui/widgets/export.py). ``window.docks["controls"]`` is the Controls column.
``fit_to_screen`` keeps the window on the screen it opens on: a first launch, or a remembered geometry from a
larger screen.
"""
from __future__ import annotations

from PyQt6.QtCore import QRect, Qt
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QDockWidget, QFrame, QLabel, QScrollArea, QStyle, QVBoxLayout, QWidget

from gui.layout.frames import wheel_scrolls
from gui.layout.workspaces import WORKSPACES, Workspaces
from gui.widgets import export

DEFAULT_SIZE = (1480, 940)  # a first launch on a screen that has room for it


def available_geometry(w) -> QRect:
    """The part of ``w``'s screen that windows may use (without task bars and docks)."""
    screen = w.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fit_to_screen(w, remembered: bool) -> None:
    """A first launch (``remembered`` False) opens at DEFAULT_SIZE or the available screen, whichever is
    smaller, centred; a remembered geometry that no longer fits (a smaller screen, another resolution) is
    shrunk and moved onto the screen. The window's frame (title bar, borders) counts: once shown the
    platform knows it, before that an estimate from the style (a title bar of 30 px or more, borders) stands in."""
    area = available_geometry(w)
    border = 2 * w.style().pixelMetric(QStyle.PixelMetric.PM_MdiSubWindowFrameWidth)
    title = max(w.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight), 30)
    measured_w, measured_h = w.frameGeometry().width() - w.width(), w.frameGeometry().height() - w.height()
    extra_w = measured_w if measured_w > 0 else border
    extra_h = measured_h if measured_h > 0 else border + title
    room_w, room_h = area.width() - extra_w, area.height() - extra_h
    width, height = (w.width(), w.height()) if remembered else DEFAULT_SIZE
    width, height = min(width, room_w), min(height, room_h)
    w.resize(width, height)
    if remembered:
        x = min(max(w.x(), area.left()), area.right() + 1 - width - extra_w)
        y = min(max(w.y(), area.top()), area.bottom() + 1 - height - extra_h)
    else:
        x, y = area.left() + (room_w - width) // 2, area.top() + (room_h - height) // 2
    w.move(x, y)


def build(w, specs, report=None) -> Workspaces:
    """The Controls column, then the panels of ``specs`` in their workspaces (the central widget)."""
    column = QWidget()
    lay = QVBoxLayout(column)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(0)
    lay.addWidget(w.controls)
    lay.addWidget(w.live)
    scroll = QScrollArea()
    scroll.setWidget(column)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    wheel_scrolls(scroll, w.live)  # the wheel over the live loss curve scrolls the column
    controls = QDockWidget("Controls", w)
    controls.setObjectName("dock_controls")
    controls.setWidget(scroll)
    controls.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
    controls.setTitleBarWidget(QWidget())  # no title bar: the column is part of the window
    w.controls.setMinimumWidth(260)
    scroll.setMinimumWidth(w.controls.minimumWidth() + scroll.verticalScrollBar().sizeHint().width())
    scroll.setMaximumWidth(330)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, controls)
    w.docks = {"controls": controls}
    extras = []
    parked = QWidget(w)  # panels wait here, children of the window, until their workspace is shown
    parked.hide()
    for spec in specs:
        panel = spec.factory()
        panel.setParent(parked)
        w.panels[spec.key] = panel
        export.install(panel, panel.title, report=report)
        if spec.tab_with is not None:
            extras.append(spec)
    workspaces = Workspaces(w.panels, WORKSPACES)
    for spec in extras:
        workspaces.add_panel(spec.key, spec.workspace, spec.tab_with)
    w.setCentralWidget(workspaces)
    workspaces.maximised.connect(lambda on: controls.setVisible(not on and workspaces.spec.controls))
    workspaces.changed.connect(lambda _key: controls.setVisible(workspaces.spec.controls
                                                                and workspaces.page.maximised is None))
    controls.setVisible(workspaces.spec.controls)
    # the live loss curve is for the workspaces without the Curves panel (in Train it would be drawn twice)
    workspaces.changed.connect(lambda key: w.live.setVisible("curves" not in workspaces.page.keys()))
    w.live.setVisible("curves" not in workspaces.page.keys())
    confusion = w.panels.get("confusion")
    if confusion is not None:  # a painted matrix, not a pyqtgraph plot: its export is wired here
        export.install_widget(confusion.view, "Confusion", lambda: export.matrix_columns(
            confusion.matrix, confusion.classes), report=report)
    return workspaces


def build_status_bar(w) -> None:
    """Permanent fields on the right: time travel (hidden when live), position, throughput, learning rate."""
    bar = w.statusBar()
    w.status_past = QLabel("")
    w.status_past.setToolTip("Time travel: the panels show this past moment (Alt+End returns to live)")
    w.status_past.hide()
    bar.addPermanentWidget(w.status_past)
    w.status_pos = QLabel("")
    w.status_rate = QLabel("")
    w.status_lr = QLabel("")
    for w, tip in ((w.status_pos, "completed epochs and the batch within the current epoch"),
                   (w.status_rate, "training throughput over the last seconds"),
                   (w.status_lr, "current learning rate")):
        w.setToolTip(tip)
        w.setMinimumWidth(90)
        bar.addPermanentWidget(w)
