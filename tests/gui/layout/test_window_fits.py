"""The window on a real screen: a first launch and a remembered geometry fit the available screen, the wheel
scrolls a panel instead of zooming the plot under the pointer, and Ctrl+M maximises the panel used last."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import QPoint, QPointF, QRect, Qt
from PyQt6.QtGui import QWheelEvent
from PyQt6.QtWidgets import QApplication

import gui.layout.window as frame_of_window
from gui.layout.frames import PanelScroll

SMALL = QRect(0, 0, 1366, 768)


@pytest.fixture
def small_screen(monkeypatch):
    monkeypatch.setattr(frame_of_window, "available_geometry", lambda w: QRect(SMALL))
    return SMALL


def inside(window, area: QRect) -> bool:
    return area.contains(window.frameGeometry())  # (the offscreen platform's frame: 2 px borders)


def test_a_first_launch_fits_a_1366x768_screen(qtbot, settings, data, small_screen):
    from gui.app import MainWindow

    w = MainWindow(settings, data=data)  # no remembered geometry
    w.show()
    qtbot.waitUntil(lambda: w.info is not None, timeout=20_000)
    assert inside(w, small_screen), w.frameGeometry()
    assert w.width() >= 0.9 * small_screen.width()  # not a postage stamp either
    hint = w.minimumSizeHint()
    assert hint.width() <= small_screen.width() and hint.height() <= small_screen.height()


def test_a_remembered_geometry_from_a_larger_screen_is_clamped(qtbot, window, small_screen):
    """(Qt's restoreGeometry judges by the real screen -- offscreen, 800x800 -- so the clamp is asked
    directly, as the window asks it after restoring.)"""
    window.resize(1900, 1040)
    window.move(400, 300)  # as it was on a 2560x1440 screen
    frame_of_window.fit_to_screen(window, remembered=True)
    assert inside(window, small_screen), window.frameGeometry()
    assert window.width() > 1300  # it keeps as much of the remembered size as fits
    window.resize(900, 600)
    window.move(1000, 500)  # fits, but hangs off the right and bottom edges
    frame_of_window.fit_to_screen(window, remembered=True)
    assert inside(window, small_screen) and window.size().width() == 900 and window.size().height() == 600


def wheel(widget, pos: QPoint, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    event = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_plot_scrolls_its_panel_unless_the_plot_has_focus_or_ctrl(qtbot, window):
    window.resize(1100, 600)  # the Gradients panel is taller than its frame: it scrolls
    window.show_workspace("train")
    panel = window.panels["gradients"]
    scroll = panel.parentWidget().parentWidget()
    assert isinstance(scroll, PanelScroll)
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5_000)
    view, box = panel.view, panel.grad_plot.getViewBox()
    at = view.mapFromScene(box.sceneBoundingRect().center())
    x_range = list(box.viewRange()[0])

    wheel(view.viewport(), at)
    assert bar.value() > 0, "the wheel scrolled the panel"
    assert box.viewRange()[0] == x_range, "and did not zoom the plot"

    before = bar.value()
    wheel(view.viewport(), at, Qt.KeyboardModifier.ControlModifier)
    assert box.viewRange()[0] != x_range and bar.value() == before  # Ctrl: the plot zooms

    x_range = list(box.viewRange()[0])
    view.setFocus()
    wheel(view.viewport(), at)
    assert box.viewRange()[0] != x_range and bar.value() == before  # a plot with the focus zooms too


def test_ctrl_m_maximises_the_panel_used_last(qtbot, window):
    window.show_workspace("train")
    page = window.workspaces.page
    gradients = page.frame_of("gradients")
    qtbot.mouseClick(gradients.title, Qt.MouseButton.LeftButton)  # the title bar: the frame takes the focus
    qtbot.waitUntil(lambda: page.last_used is gradients, timeout=5_000)
    window.controls.setFocus()  # then a click in the Controls column (outside every frame)
    window.controls.hidden.setFocus()
    window.actions["maximise"].trigger()
    qtbot.waitUntil(lambda: page.maximised is gradients, timeout=5_000)
    window.actions["maximise"].trigger()
    qtbot.waitUntil(lambda: page.maximised is None, timeout=5_000)


def laid_out(scroll) -> bool:
    """The scroll area has fitted its panel to the current width: as wide as the viewport, or as narrow as the
    panel can be, with the scroll bar's range to match (before that, the geometry is a stale one)."""
    panel, view, bar = scroll.widget(), scroll.viewport(), scroll.horizontalScrollBar()
    narrowest = max(panel.minimumSizeHint().width(), panel.minimumWidth())
    return panel.width() == max(view.width(), narrowest) and bar.maximum() == max(0, panel.width() - view.width())


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_no_panel_of_any_workspace_is_cut_at_the_side(qtbot, window, size):
    """At both sizes every panel, in front or behind a tab, fits its frame's width: text and buttons go to a
    second line or under each other, never off the right edge (a panel may scroll down, not sideways)."""
    window.resize(*size)
    for key, page in window.workspaces.pages.items():
        window.show_workspace(key)
        for frame in page.frames:
            for tab in frame.keys:
                frame.select(tab)
                scroll = frame.wrappers[tab]
                qtbot.waitUntil(lambda s=scroll: laid_out(s), timeout=10_000)  # (a busy machine's layout pass is late)
                assert scroll.horizontalScrollBar().maximum() == 0, (size, key, tab, scroll.widget().width(),
                                                                     scroll.viewport().width())
            frame.select(frame.keys[0])
