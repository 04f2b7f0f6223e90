"""The Experiments panel's run list: one row per run with its color, a tick to show it, status, progress,
epoch, validation result and buttons to pause/resume, stop and export it. It shows what it is given and
reports clicks as signals; the panel turns them into worker commands.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHeaderView, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem

from engine.eta import Eta
from engine.training.session import TrainConfig
from gui.widgets.plots import Series
from gui.widgets.theme import run_color

ACTIVE = ("running", "paused")
MAX_ROWS = 8  # runs shown without scrolling the table


@dataclass
class RunData:
    """One run as the panel keeps it: settings, status and its curves (grown by updates)."""

    name: str
    color: int
    config: TrainConfig
    live: bool
    status: str
    step: int
    total: int
    epoch: int
    bpe: int
    reconstruct: bool
    message: str = ""
    x: Series = field(default_factory=Series)
    loss: Series = field(default_factory=Series)
    acc: Series = field(default_factory=Series)
    epochs: list = field(default_factory=list)
    visible: bool = True


class RunTable(QTableWidget):
    visibility_changed = pyqtSignal(str, bool)
    pause_clicked = pyqtSignal(str)  # pause, or resume a paused run
    stop_clicked = pyqtSignal(str)
    export_clicked = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(0, 8, parent)
        self.setHorizontalHeaderLabels(["run", "status", "progress", "epoch", "valid", "", "", ""])
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(24)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("One row per run: tick to show it; pause/resume, stop or export its log")
        self.itemChanged.connect(self._changed)
        self.etas: dict[str, Eta] = {}  # running run -> its time left

    def _changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self.visibility_changed.emit(item.data(Qt.ItemDataRole.UserRole),
                                         item.checkState() == Qt.CheckState.Checked)

    def set_visible(self, name: str, visible: bool) -> None:
        for row in range(self.rowCount()):
            item = self.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == name:
                item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def fill(self, runs) -> None:
        """New rows for ``runs`` (name -> run with name, color, config, visible, ...)."""
        self.blockSignals(True)
        self.clearContents()
        self.setRowCount(len(runs))
        for row, r in enumerate(runs.values()):
            item = QTableWidgetItem(f"\u25a0 {r.name}")
            item.setForeground(pg.mkColor(run_color(r.color)))
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if r.visible else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, r.name)
            c = r.config
            item.setToolTip(f"{r.name}: hidden {c.hidden} {c.activation}, lr {c.lr:g}, batch {c.batch_size}, "
                            f"momentum {c.momentum:g}\nuntick to hide it on the plots")
            self.setItem(row, 0, item)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setMaximumHeight(16)
            bar.setToolTip("Batches trained of the run's total")
            self.setCellWidget(row, 2, bar)
            for col, (text, tip, signal) in zip((5, 6, 7), (
                    ("Pause", "Pause or resume this run", self.pause_clicked),
                    ("Stop", "Stop this run for good", self.stop_clicked),
                    ("Export\u2026", "Save this run's full log as JSON (reload it with File > Open run log)",
                     self.export_clicked))):
                b = QPushButton(text)
                b.setToolTip(tip)
                b.clicked.connect(lambda _=False, n=r.name, signal=signal: signal.emit(n))
                self.setCellWidget(row, col, b)
        self.blockSignals(False)
        rows = min(max(len(runs), 1), MAX_ROWS)  # every run in sight (a preset has up to 5); the plots get the rest
        self.setFixedHeight(self.horizontalHeader().height() + rows * 24 + 4)
        self.update_rows(runs)

    def update_rows(self, runs) -> None:
        for row, r in enumerate(runs.values()):
            valid = r.epochs[-1].valid_acc if r.epochs else float("nan")
            cells = {1: r.status + (f": {r.message}" if r.message and r.status in ("paused", "diverged") else ""),
                     3: f"{r.epoch}/{r.config.epochs}" if r.live else f"{len(r.epochs)}",
                     4: ("\u2014" if not np.isfinite(valid) else
                         f"{valid:.2f} dB" if r.reconstruct else f"{100 * valid:.1f} %")}
            for col, text in cells.items():
                item = self.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    self.setItem(row, col, item)
                item.setText(text)
                item.setToolTip(text)
            bar = self.cellWidget(row, 2)
            if bar is not None:
                frac = min(r.step / r.total, 1.0) if r.total else 0.0
                bar.setValue(int(1000 * frac))
                eta = self.etas.setdefault(r.name, Eta(start_fraction=frac)) if r.status == "running" else None
                if eta is None:
                    self.etas.pop(r.name, None)  # paused, finished: a resumed run is timed afresh
                bar.setFormat(eta.words(frac) if eta is not None else f"{100 * frac:.0f} %")
            pause = self.cellWidget(row, 5)
            if pause is not None:
                pause.setText("Resume" if r.status == "paused" else "Pause")
                pause.setEnabled(r.live and r.status in ACTIVE)
            stop = self.cellWidget(row, 6)
            if stop is not None:
                stop.setEnabled(r.live and r.status in ACTIVE)
