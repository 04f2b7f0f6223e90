"""The window's docks and status bar: the Controls dock on the left and the panels of ``gui.app.PANELS`` -- tiles in a
2-column grid, each further panel a tab beside a tile -- with PNG/CSV export on every plot (gui/export.py).

Tabs are a QTabWidget inside the tile's dock rather than tabbed QDockWidgets: Qt 6.11 leaves stray,
visible tab bars behind when a window lays out several groups of tabbed docks before it is shown, or
restores a saved layout that has them. ``window.docks[key]`` is the dock that holds a panel.
"""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget, QLabel, QTabWidget, QWidget

from gui import export


def build(w, specs, report=None) -> None:
    """The Controls dock on the left, then the panels of ``specs``: tiles in a grid, tabs beside them."""
    controls = QDockWidget("Controls", w)
    controls.setObjectName("dock_controls")
    controls.setWidget(w.controls)
    controls.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    w.controls.setMinimumWidth(270)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, controls)
    w.docks["controls"] = controls
    tiles = []
    for spec in specs:
        panel = spec.factory()
        w.panels[spec.key] = panel
        export.install(panel, panel.title, report=report)
        if spec.tab_with is None:
            dock = QDockWidget(panel.title, w)
            dock.setObjectName(f"dock_{spec.key}")
            dock.setWidget(panel)
            w.docks[spec.key] = dock
            tiles.append(dock)
        else:
            add_tab(w, spec.tab_with, spec.key, panel)
    w.setCentralWidget(QWidget())  # empty: the docks are the window
    w.centralWidget().hide()
    lay_out_tiles(w, tiles)
    confusion = w.panels.get("confusion")
    if confusion is not None:  # a painted matrix, not a pyqtgraph plot: its export is wired here
        export.install_widget(confusion.view, "Confusion", lambda: export.matrix_columns(
            confusion.matrix, confusion.classes), report=report)


def add_tab(w, beside: str, key: str, panel) -> None:
    """``panel`` as a tab in the dock of tile ``beside`` (a QTabWidget is put in the dock on first use)."""
    host = w.docks[beside]
    tabs = w.tab_hosts.get(host)
    if tabs is None:
        tabs = QTabWidget()
        tabs.setDocumentMode(True)
        first = host.widget()
        tabs.addTab(first, first.title)
        tabs.setTabToolTip(0, first.title)
        host.setWidget(tabs)
        tabs.currentChanged.connect(lambda i, host=host, tabs=tabs: host.setWindowTitle(tabs.widget(i).title))
        w.tab_hosts[host] = tabs
    tabs.addTab(panel, panel.title)
    tabs.setTabToolTip(tabs.count() - 1, (panel.__doc__ or panel.title).strip().split("\n\n")[0])
    w.docks[key] = host


def lay_out_tiles(w, tiles: list[QDockWidget]) -> None:
    """Two columns: the 1st and 2nd tiles side by side, the next ones under them in turn."""
    if not tiles:
        return
    w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, tiles[0])
    cols = tiles[:2]
    if len(tiles) > 1:
        w.splitDockWidget(tiles[0], tiles[1], Qt.Orientation.Horizontal)
    for i, dock in enumerate(tiles[2:]):
        above = cols[i % len(cols)]
        w.splitDockWidget(above, dock, Qt.Orientation.Vertical)
        cols[i % len(cols)] = dock
    if len(tiles) >= 3:  # the lower row (gradients, confusion) has more to show
        w.resizeDocks([tiles[0], tiles[2]], [400, 560], Qt.Orientation.Vertical)
    w.resizeDocks([w.docks["controls"], *tiles[:2]], [290, 640, 640], Qt.Orientation.Horizontal)


def show_panel(w, key: str):
    """Bring a panel's dock to the front (its tab, if it is one); None if there is no such panel."""
    dock = w.docks.get(key)
    if dock is None:
        return None
    dock.show()
    dock.raise_()
    panel = w.panels.get(key)
    tabs = w.tab_hosts.get(dock)
    if tabs is not None and panel is not None:
        tabs.setCurrentWidget(panel)
    return panel


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
