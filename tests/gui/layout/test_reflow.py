"""Rows that go on as columns in a narrow frame: the Reflow widget, and the Inspect panels that use it
(Explain's pictures and top-5, Top losses' button row) fitting a 1366-wide Inspect column."""
from __future__ import annotations

from PyQt6.QtWidgets import QPushButton

from gui.layout.frames import PanelScroll
from gui.layout.reflow import Reflow
from gui.panels.inspect.explain import ExplainPanel
from gui.panels.inspect.top_losses import TopLossesPanel


def test_groups_go_under_each_other_only_when_the_row_does_not_fit(qtbot):
    a, b = QPushButton("a" * 30), QPushButton("b" * 30)
    row = Reflow(a, b)
    qtbot.addWidget(row)
    row.show()
    need = row.row_width()
    assert row.minimumSizeHint().width() < need  # a scroll area may give it less than the row
    row.resize(need + 20, 60)
    qtbot.waitUntil(lambda: not row.wrapped and a.geometry().right() < b.geometry().left())
    assert a.geometry().top() == b.geometry().top()
    row.resize(need - 40, 60)
    qtbot.waitUntil(lambda: row.wrapped and a.geometry().bottom() < b.geometry().top())
    assert a.geometry().right() <= row.width()
    row.resize(need + 20, 60)
    qtbot.waitUntil(lambda: not row.wrapped)


def test_explain_and_top_losses_fit_a_narrow_column_without_scrolling_sideways(qtbot):
    for panel in (ExplainPanel(), TopLossesPanel()):
        area = PanelScroll()
        qtbot.addWidget(area)
        area.setWidget(panel)
        area.resize(440, 700)
        area.show()
        qtbot.waitUntil(lambda: panel.width() <= area.viewport().width())
        assert not area.horizontalScrollBar().isVisible(), type(panel).__name__
        reflow = panel.body if isinstance(panel, ExplainPanel) else panel.actions
        assert reflow.wrapped and reflow.geometry().right() <= panel.width()
        area.resize(900, 700)
        qtbot.waitUntil(lambda: not reflow.wrapped)
