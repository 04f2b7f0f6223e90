"""Top losses: the samples the network gets most wrong (``engine.debug.explain.top_losses``) as a grid with
true and predicted labels. Mislabelled data shows up here first. Relabel or drop a sample: the change
goes into an edit list (``engine.data.edits.EditList``; the data itself is never touched), which can be saved
and applied when the data is loaded again; "Retrain with edits" hands the edited dataset on.
"""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtGui import QIcon
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.data.dataset import Dataset, to_image
from engine.data.edits import EditList
from engine.debug.explain import TopLosses, top_losses
from engine.words import count
from gui.layout.reflow import Reflow
from gui.widgets.pixmaps import to_pixmap
from gui.worker.background import Background


class TopLossesPanel(QWidget):
    title = "Top losses"
    retrain_requested = pyqtSignal(object, object)  # edited Dataset, EditList
    explain_requested = pyqtSignal(object)          # a NIST-layout row
    edits_changed = pyqtSignal(object)              # EditList

    def __init__(self, parent=None, k: int = 48):
        super().__init__(parent)
        self.net, self.data, self.k = None, None, k
        self.edits = EditList()
        self.top: TopLosses | None = None
        self.background = Background(self)
        self.background.ready.connect(self._show)

        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.split = QComboBox()
        self.split.addItems(["train", "valid"])
        self.split.currentTextChanged.connect(lambda _: self._request())
        bar.addWidget(QLabel("highest loss in"))
        bar.addWidget(self.split)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)  # (the sample count and loss range wrap in a narrow frame)
        bar.addWidget(self.caption, 1)
        v.addLayout(bar)
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(56, 56))
        self.grid.setGridSize(QSize(96, 112))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.currentItemChanged.connect(lambda *_: self._selected())
        self.grid.itemDoubleClicked.connect(lambda item: self.explain_requested.emit(self._row(item)))
        v.addWidget(self.grid, 1)
        edit_box, file_box = QWidget(), QWidget()
        edits, files = QHBoxLayout(edit_box), QHBoxLayout(file_box)
        for row in (edits, files):
            row.setContentsMargins(0, 0, 0, 0)
        self.label_picker = QComboBox()
        self.label_picker.setToolTip("the label Relabel gives the selected sample")
        edits.addWidget(self.label_picker)
        for text, slot, tip in (("Relabel", self.relabel_current, "give the selected sample the label on the left"),
                                ("Drop", self.drop_current, "leave the selected sample out of the edited data"),
                                ("Undo", self.undo_current, "undo the selected sample's edit")):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            edits.addWidget(b)
        edits.addStretch(1)
        files.addStretch(1)
        self.save_button = QPushButton("Save\u2026")
        self.save_button.setToolTip("the edit list as JSON (engine.data.edits.load_edited applies it on load)")
        self.save_button.clicked.connect(self.ask_save_edits)
        files.addWidget(self.save_button)
        self.retrain_button = QPushButton("Retrain")
        self.retrain_button.setToolTip("a new training session on the data with the edits applied")
        self.retrain_button.clicked.connect(self.retrain)
        files.addWidget(self.retrain_button)
        self.actions = Reflow(edit_box, file_box, stretch=(1, 0))  # two rows when the frame is narrow
        v.addWidget(self.actions)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        v.addWidget(self.status)

    # ---- commands ----------------------------------------------------------------------------------------

    def set_data(self, data: Dataset) -> None:
        """The data the network trains on (ranked and shown). If it is already edited (a retrain, a loaded
        checkpoint), its edit list carries on: new edits join it, in the indices of the data as loaded."""
        self.data = data
        self.edits = data.edited.edits.copy() if data.edited is not None else EditList()
        self.label_picker.clear()
        self.label_picker.addItems(list(data.classes))
        self._request()

    def set_model(self, net) -> None:
        self.net = net
        self._request()

    @property
    def split_name(self) -> str:
        return self.split.currentText()

    def _request(self) -> None:
        if self.net is None or self.data is None:
            return
        part, net, k = getattr(self.data, self.split_name), self.net, self.k
        self.background.submit(lambda: top_losses(net, part.x, part.y, k))

    def _current_index(self) -> int | None:
        item = self.grid.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _loaded_index(self, i: int) -> int:
        """Row ``i`` of the shown split, as an index of the data as loaded (what an edit names)."""
        edited = self.data.edited
        return int(edited.rows[self.split_name][i]) if edited is not None else int(i)

    def _row(self, item) -> np.ndarray:
        return getattr(self.data, self.split_name).x[int(item.data(Qt.ItemDataRole.UserRole))]

    def relabel_current(self) -> None:
        i = self._current_index()
        if i is not None:
            self.edits.relabel(self.data.base, self.split_name, self._loaded_index(i), self.label_picker.currentText())
            self._edited()

    def drop_current(self) -> None:
        i = self._current_index()
        if i is not None:
            self.edits.drop(self.data.base, self.split_name, self._loaded_index(i))
            self._edited()

    def undo_current(self) -> None:
        i = self._current_index()
        if i is not None:
            self.edits.remove(self.split_name, self._loaded_index(i))
            self._edited()

    def save_edits(self, path) -> None:
        self.edits.save(path)
        self.status.setText(f"saved {count(len(self.edits), 'edit')} to {path}")

    def ask_save_edits(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the edit list", "edits.json", "Edit lists (*.json)")
        if path:
            try:
                self.save_edits(path)
            except OSError as exc:
                self.status.setText(f"could not save: {exc}")

    def retrain(self) -> None:
        if self.data is None:
            return
        edited = self.edits.apply(self.data.base)
        self.status.setText(f"Retrain: a new session on {edited.name}, {count(len(edited.train), 'training sample')}")
        self.retrain_requested.emit(edited, self.edits)

    # ---- drawing -----------------------------------------------------------------------------------------

    def _edited(self) -> None:
        for k in range(self.grid.count()):
            self._label(self.grid.item(k))
        self.status.setText(f"{self.edits.summary()}; the data file is not changed")
        self.edits_changed.emit(self.edits)

    def _label(self, item: QListWidgetItem) -> None:
        k = item.data(Qt.ItemDataRole.UserRole + 1)
        t, classes = self.top, self.data.classes
        i = int(t.index[k])
        text = f"{classes[t.y[k]]} → {classes[t.pred[k]]}\nloss {t.loss[k]:.1f}"
        e = self.edits.find(self.split_name, self._loaded_index(i))
        if e is not None:
            text += "\ndropped" if e.op == "drop" else f"\nnow {e.label}"
        item.setText(text)
        item.setToolTip(f"{self.split_name} sample {i}: label {classes[t.y[k]]}, predicted {classes[t.pred[k]]} "
                        f"({t.p_pred[k]:.0%}); double-click to explain")

    def _show(self, t) -> None:
        if isinstance(t, Exception):
            self.status.setText(f"could not rank the samples: {t}")
            return
        self.top = t
        part = getattr(self.data, self.split_name)
        self.grid.clear()
        for k, i in enumerate(t.index):
            item = QListWidgetItem(QIcon(to_pixmap(to_image(part.x[i]), 56)), "")
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            item.setData(Qt.ItemDataRole.UserRole + 1, k)
            self._label(item)
            self.grid.addItem(item)
        self.caption.setText(f"{len(t.index)} of {count(len(part), 'sample')}, "
                             f"loss {t.loss.min():.1f} to {t.loss.max():.1f}")

    def _selected(self) -> None:
        i = self._current_index()
        if i is not None and self.data is not None:
            self.label_picker.setCurrentIndex(int(getattr(self.data, self.split_name).y[i]))
