"""What the window holds and how its panels' requests reach each other.

``PANELS`` lists the views, one line each (where each one goes is the workspaces' layouts,
gui/layout/workspaces.py: WORKSPACES). ``wire`` connects the panels that hand each other work -- the
"why" tools hand inputs to Explain, Top losses retrains on its edited data, the OCR tab's selected box is
explained, the correction loop learns from the OCR page, the drawn characters and the top-loss relabels --
so no panel ever sees another.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PyQt6.QtCore import Qt

from engine.data.edits import Rows
from gui.panels.autoencoder.panel import AutoencoderPanel
from gui.panels.console.panel import ConsolePanel
from gui.panels.debugger.gradcheck import GradcheckPanel
from gui.panels.debugger.timeline import TimelinePanel
from gui.panels.debugger.watchpoints import WatchpointsPanel
from gui.panels.experiments.panel import ExperimentsPanel
from gui.panels.inspect.tabs import DrawTab, ExplainTab, HiddenMapTab, OcrExplainTab, TopLossesTab
from gui.panels.ocr.correction import CorrectionPanel
from gui.panels.ocr.panel import OcrPanel
from gui.panels.training.confusion import ConfusionPanel
from gui.panels.training.curves import CurvesPanel
from gui.panels.training.gradients import GradientsPanel
from gui.panels.training.weights import WeightsPanel
from gui.widgets.panel import Panel


@dataclass(frozen=True)
class PanelSpec:
    key: str
    factory: Callable[[], Panel]
    workspace: str | None = None  # with tab_with: the workspace to add it to (None: where tab_with is)
    tab_with: str | None = None  # None: placed by the workspaces' layouts (gui/layout/workspaces.py); else a tab beside it


# The views. A new view is one line here, e.g. PanelSpec("explain", ExplainPanel, workspace="inspect",
# tab_with="confusion").
PANELS: list[PanelSpec] = [
    PanelSpec("curves", CurvesPanel),
    PanelSpec("weights", WeightsPanel),
    PanelSpec("gradients", GradientsPanel),
    PanelSpec("confusion", ConfusionPanel),
    PanelSpec("watchpoints", WatchpointsPanel),
    PanelSpec("timeline", TimelinePanel),
    PanelSpec("experiments", ExperimentsPanel),
    PanelSpec("gradcheck", GradcheckPanel),
    PanelSpec("console", ConsolePanel),
    PanelSpec("autoencoder", AutoencoderPanel),
    PanelSpec("ocr", OcrPanel),
    PanelSpec("hidden_map", HiddenMapTab, workspace="inspect", tab_with="watchpoints"),
    PanelSpec("draw", DrawTab, workspace="inspect", tab_with="confusion"),
    PanelSpec("top_losses", TopLossesTab, workspace="inspect", tab_with="confusion"),
    PanelSpec("explain", ExplainTab, workspace="inspect", tab_with="gradcheck"),
    PanelSpec("ocr_explain", OcrExplainTab, workspace="ocr", tab_with="ocr"),
    PanelSpec("correction", CorrectionPanel, workspace="ocr", tab_with="ocr"),
]


def wire(window) -> None:
    """Connect the panels of ``window`` (a MainWindow) that hand each other work."""
    p = window.panels
    explain = p.get("explain")
    if explain is not None:
        _wire_explain(window, explain)
    if "top_losses" in p:
        p["top_losses"].widget.retrain_requested.connect(lambda data, edits: window.retrain(data))
    ocr = p.get("ocr")
    if ocr is not None:
        window.worker.model_opened.connect(ocr.use_model)  # File -> Open weights, when they fit the OCR
    if ocr is not None and "ocr_explain" in p:
        ocr.box_selected.connect(p["ocr_explain"].show_box)
    if ocr is not None and "correction" in p:
        _wire_correction(window, ocr, p["correction"])


def _wire_explain(window, explain) -> None:
    """Draw, Top losses, the hidden space and the confusion drill-down hand their samples to Explain."""
    p = window.panels

    def show(row):
        explain.show_input(row)
        window.show_panel("explain")
    if "draw" in p:
        p["draw"].widget.explain_requested.connect(show)
    if "top_losses" in p:
        p["top_losses"].widget.explain_requested.connect(show)
    if "hidden_map" in p:
        hm = p["hidden_map"].widget
        hm.sample_clicked.connect(lambda i: explain.show_input(hm.x[i]))
    if "confusion" in p:  # a validation sample of the drill-down
        p["confusion"].samples.itemDoubleClicked.connect(
            lambda item: explain.view is not None and show(
                explain.view.data.valid.x[int(item.data(Qt.ItemDataRole.UserRole))]))


def _wire_correction(window, ocr, correction) -> None:
    """The correction loop learns from the OCR page's corrections, the drawn characters and the top-loss
    relabels (when the session's data are 32x32 characters of the same classes); a kept model reads on."""
    def page():
        t = ocr.runner
        if t is None or t.pipe is None or ocr.result is None or ocr.view is None:
            return None
        return t.pipe.source, ocr.view.params, ocr.result, t.model, ocr.truth

    def rows():
        out = Rows()
        draw, top = window.panels.get("draw"), window.panels.get("top_losses")
        if draw is not None and len(draw.widget.rows):
            out.add(draw.widget.rows.x, draw.widget.rows.y, "drawn")
        data = top.widget.data if top is not None else None
        if data is not None and data.n_inputs == 1024 and tuple(data.classes) == tuple(ocr_classes()):
            x, y = top.widget.edits.relabelled_rows(data.base)  # (an edit names a row of the data as loaded)
            if len(y):
                out.add(x, y, "relabel")
        return out

    def ocr_classes():
        t = ocr.runner
        return t.model.classes if t is not None and t.model is not None else ()

    correction.page_source, correction.rows_source = page, rows
    correction.model_kept.connect(ocr.use_model)


__all__ = ["PANELS", "PanelSpec", "wire"]
