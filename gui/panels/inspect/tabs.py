"""The Inspect workspace's "why" tools as window panels: Explain, Draw, Hidden space, Top losses.

Each wraps its standalone widget (gui/panels/inspect/explain.py, draw.py, hidden_map.py, top_losses.py) and feeds
it the network the other panels show: the live session's weights, or the snapshot being viewed while the
timeline is scrubbed. While the panels show an attached script it is the script's network with its weights
as last received, on the window's data, when its shapes fit that data; else the built-in network, and a
line above the tool says so (and why). The weights are copied in the worker thread (``worker.send``), never read from the
GUI thread, and sent back with a signal; while training runs they are refreshed at most once a second.
gui/views.py connects the panels' requests to each other; a panel never sees another.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QVBoxLayout

from engine.data.dataset import Dataset, from_image
from gui.panels.inspect.draw import DrawPanel
from gui.panels.inspect.explain import ExplainPanel
from gui.panels.inspect.hidden_map import HiddenMapPanel
from gui.panels.inspect.top_losses import TopLossesPanel
from gui.widgets import theme
from gui.widgets.build import label
from gui.widgets.panel import Panel


@dataclass
class ModelView:
    """A private copy of the network shown now, with the session's data."""
    net: object
    data: Dataset
    generation: int
    view_step: int | None
    source: str = ""  # whose network it is, when that is not obvious (an attached script is shown)


class ModelPanel(Panel):
    """A Panel that holds one widget and gets a ModelView whenever the shown weights change."""

    model_ready = pyqtSignal(object)  # emitted from the worker thread, delivered in the GUI thread
    every_s = 1.0  # while training runs, refresh at most this often

    def __init__(self, widget, parent=None):
        super().__init__(parent)
        self.widget = widget
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.note = label("", theme.QUIET_BANNER, "Whose network this tool shows", wrap=True)
        self.note.hide()
        lay.addWidget(self.note)
        lay.addWidget(widget)
        self.view: ModelView | None = None
        self._last = 0.0
        self._pending = False
        self._view_step: int | None = None
        self._missed = False
        self.model_ready.connect(self._got)

    def on_session(self, info) -> None:
        self._view_step = info.view_step
        self.fetch()

    def on_update(self, update) -> None:
        if update.epochs or time.monotonic() - self._last > self.every_s:
            self.fetch()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._missed:
            self.fetch()

    def fetch(self) -> None:
        """Ask the worker thread for a copy of the shown weights (one request in flight at a time). A hidden
        panel only notes that it missed one: explaining costs CPU that training needs."""
        if self.worker is None or self._pending:
            return
        window = self.window()
        if window is not self and window.isVisible() and not self.isVisible():
            self._missed = True
            return
        self._missed = False
        self._pending, self._last = True, time.monotonic()
        worker, view_step = self.worker, self._view_step

        def job():
            try:
                s = worker.session
                if s is None or s.reconstruct:
                    return
                net, source = s.net.astype(s.net.dtype), ""
                index = worker.timeline.view_index
                if worker.remote.active:  # an attached script: its own network where it fits the data
                    theirs, words = worker.remote.network(s.data)
                    sizes = "\u2013".join(map(str, s.net.sizes))
                    net, source = (theirs, f"Your script's network: {words}.") if theirs is not None else (
                        net, f"The built-in network ({sizes} on {s.data.name}), not your script's: {words}.")
                elif view_step is not None and index is not None:
                    net.set_params(s.snapshots[index].params)
                self.model_ready.emit(ModelView(net, s.data, worker.generation, view_step, source))
            finally:
                self._pending = False

        worker.send(job)

    def _got(self, view: ModelView) -> None:
        fresh_data = self.view is None or self.view.data is not view.data
        self.view = view
        self.note.setText(view.source)
        self.note.setVisible(bool(view.source))
        self.show_model(view, fresh_data)

    def show_model(self, view: ModelView, fresh_data: bool) -> None:
        pass


class ExplainTab(ModelPanel):
    title = "Explain"

    def __init__(self, parent=None):
        super().__init__(ExplainPanel())

    def show_model(self, view, fresh_data) -> None:
        self.widget.set_model(view.net, view.data.classes)
        if self.widget.row is None and len(view.data.valid):
            self.widget.show_input(view.data.valid.x[0])

    def show_input(self, row) -> None:
        self.widget.show_input(row)


class DrawTab(ModelPanel):
    title = "Draw"
    every_s = 3.0

    def __init__(self, parent=None):
        super().__init__(DrawPanel())

    def show_model(self, view, fresh_data) -> None:
        if view.net.sizes[0] == 1024:
            self.widget.set_model(view.net, view.data.classes)


class HiddenMapTab(ModelPanel):
    title = "Hidden space"

    def __init__(self, parent=None):
        super().__init__(HiddenMapPanel())

    def show_model(self, view, fresh_data) -> None:
        if fresh_data:
            self.widget.set_data(view.data.valid.x, view.data.valid.y, view.data.classes)
        self.widget.set_model(view.net)


class TopLossesTab(ModelPanel):
    title = "Top losses"
    every_s = 5.0

    def __init__(self, parent=None):
        super().__init__(TopLossesPanel())

    def show_model(self, view, fresh_data) -> None:
        if fresh_data:  # new data (e.g. retrained with the edits applied): its edit list carries on
            self.widget.set_data(view.data)
        self.widget.set_model(view.net)


class OcrExplainTab(Panel):
    """Explain in the OCR workspace: the selected box, with the OCR's own model (set by the window)."""

    title = "Explain box"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.widget = ExplainPanel()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        self.widget.status.setText("select a box in the OCR view to see why it reads as it does")

    def show_box(self, image, classifier) -> None:
        if classifier is None:
            return
        if self.widget.net is not classifier.net:
            self.widget.set_model(classifier.net, classifier.classes)
        self.widget.show_input(from_image(image))


__all__ = ["OcrExplainTab", "DrawTab", "ExplainTab", "HiddenMapTab", "ModelPanel", "ModelView", "TopLossesTab"]
