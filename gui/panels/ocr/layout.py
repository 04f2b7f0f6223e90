"""The OCR tab's widgets and keys (a mixin of ``OcrPanel``): the toolbar, the stage column (Prev/Next,
stages with timings, the stage's doc and parameters), the page view with its tools and the text under
it, the box close-up on the right; and how the columns share a small or a big tile.
"""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.panels.ocr import files
from gui.panels.ocr.side import SMALL, BoxDetail, ParamsForm, TextView
from gui.panels.ocr.view import HINT, PageView
from gui.widgets import theme

KEYS_HELP = ("<b>Keys</b> (click the page first)<br>PgUp / PgDn&nbsp; previous / next stage<br>"
             "click&nbsp; select a box \u00b7 Ctrl+click&nbsp; several<br>F2&nbsp; correct (type, Enter: next box)<br>"
             "Delete&nbsp; delete \u00b7 M&nbsp; merge \u00b7 D&nbsp; draw a box<br>"
             "B&nbsp; boxes on/off \u00b7 F&nbsp; fit \u00b7 Esc&nbsp; clear<br>"
             "Drop an image on the tab to open it.")


def _menu_button(text: str, tip: str, menu) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    b.setMenu(menu)
    b.setToolTip(tip)
    return b


class OcrLayout:
    """Builds the widgets of an ``OcrPanel`` (which provides the slots they connect to)."""

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
        root.addLayout(self._toolbar())
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(self._stage_column())
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.setChildrenCollapsible(False)
        middle.addWidget(self._page_column())
        middle.addWidget(self._text_box())
        middle.setStretchFactor(0, 4)
        middle.setStretchFactor(1, 1)
        middle.setSizes([600, 150])
        split.addWidget(middle)
        split.addWidget(self._box_column())
        split.setStretchFactor(1, 1)
        split.setSizes([200, 640, 240])
        self.split, self.narrow = split, None
        root.addWidget(split, 1)

    def _toolbar(self) -> QHBoxLayout:
        """Open, Samples, Export; the page's name and the status; Stop."""
        bar = QHBoxLayout()
        self.open_button = QPushButton("Open image\u2026")
        self.open_button.setToolTip("Open a photo or scan of handwritten block capitals and digits "
                                    "(or drop an image on this tab)")
        self.open_button.clicked.connect(self.ask_open)
        self.samples = _menu_button("Samples", "Synthetic pages with known text (resources/pages)",
                                    files.samples_menu(self, self.open_path))
        self.export = _menu_button("Export", "Save the text, the corrections, or the crops as training data",
                                   files.export_menu(self))
        for w in (self.open_button, self.samples, self.export):
            bar.addWidget(w)
        self.source_label = QLabel("no image \u2014 open one, drop one here, or pick a sample")
        self.source_label.setStyleSheet(theme.DARK_TEXT)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.source_label, 1)
        self.status = QLabel("")
        self.status.setStyleSheet(SMALL)
        bar.addWidget(self.status, 1)  # (both labels ignore their text's width: they share the room)
        self.stop_button = QToolButton()
        self.stop_button.setText("Stop")
        self.stop_button.setToolTip("Stop reading the page: the stages reached so far are shown (the next change "
                                    "reads on from there)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_reading)
        bar.addWidget(self.stop_button)
        for label in (self.source_label, self.status):  # long names must not widen the window
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return bar

    def _page_column(self) -> QWidget:
        """The page view and its tools (draw a box, boxes on/off, fit, what the mouse is over)."""
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.page = PageView()
        self.page.box.clicked.connect(self._clicked)
        self.page.box.drawn.connect(self._drawn)
        self.page.hovered.connect(self._hovered)
        lay.addWidget(self.page, 1)
        tools = QHBoxLayout()
        self.draw_button = QToolButton()
        self.draw_button.setText("Draw box")
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip("Drag a rectangle around a character the OCR missed (D; Esc leaves)")
        self.draw_button.toggled.connect(self.page.set_draw_mode)
        self.show_boxes = QCheckBox("Boxes")
        self.show_boxes.setChecked(True)
        self.show_boxes.setToolTip("Draw the boxes over the image (B)")
        self.show_boxes.toggled.connect(lambda _: self._draw_boxes())
        fit = QToolButton()
        fit.setText("Fit")
        fit.setToolTip("Show the whole image (F)")
        fit.clicked.connect(self.page.fit)
        for w in (self.draw_button, self.show_boxes, fit):
            tools.addWidget(w)
        self.hover_label = QLabel(HINT)
        self.hover_label.setStyleSheet(theme.SMALL_DARK)
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        tools.addWidget(self.hover_label, 1)
        lay.addLayout(tools)
        return page

    def _box_column(self) -> QScrollArea:
        """The selected box up close, and the keys (scrolls when the tile is short)."""
        self.detail = BoxDetail()
        self.detail.relabel.connect(self.relabel)
        self.detail.delete.connect(self.delete_selected)
        self.detail.merge.connect(self.merge_selected)
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(0, 0, 0, 0)
        side_lay.addWidget(self.detail)
        self.keys = keys = QLabel(KEYS_HELP)
        keys.setStyleSheet(theme.KEYS_BOX)
        keys.setWordWrap(True)
        side_lay.addWidget(keys)
        side_lay.addStretch(1)
        right = QScrollArea()
        right.setWidgetResizable(True)
        right.setFrameShape(QScrollArea.Shape.NoFrame)
        right.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right.setWidget(side)
        right.setMinimumWidth(160)
        return right

    def _stage_column(self) -> QScrollArea:
        """Prev/Next, the stages, the stage's doc, what it measured and its parameters: one column that scrolls
        as a whole when the tile is short (the context stage's readings never push the text off the tile)."""
        col = QWidget()
        lay = QVBoxLayout(col)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        nav = QHBoxLayout()
        self.prev_button = QPushButton("\u25c0 Prev")
        self.prev_button.setToolTip("The previous stage (PageUp)")
        self.prev_button.clicked.connect(lambda: self.go_stage(self.stage_index - 1))
        self.next_button = QPushButton("Next \u25b6")
        self.next_button.setToolTip("The next stage (PageDown)")
        self.next_button.clicked.connect(lambda: self.go_stage(self.stage_index + 1))
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)
        lay.addLayout(nav)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["stage", "ms"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        for i, s in enumerate(self.stages):
            item = QTreeWidgetItem([f"{i + 1:>2}  {s.name}", ""])
            item.setToolTip(0, s.doc)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(1, header.ResizeMode.ResizeToContents)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setToolTip("The pipeline's stages and how long each took when it last ran (bold: re-ran in "
                             "the last update); PageUp/PageDown step through them")
        rows = self.tree.sizeHintForRow(0) * len(self.stages) + self.tree.header().sizeHint().height() + 6
        self.tree.setFixedHeight(max(rows, 120))
        self.tree.currentItemChanged.connect(
            lambda cur, _: cur is not None and self.go_stage(self.tree.indexOfTopLevelItem(cur)))
        lay.addWidget(self.tree)
        self.rerun_label = QLabel("")
        self.rerun_label.setWordWrap(True)
        self.rerun_label.setStyleSheet(SMALL)
        lay.addWidget(self.rerun_label)
        self.doc = QLabel("")
        self.doc.setWordWrap(True)
        self.doc.setStyleSheet(theme.DOC_BOX)
        lay.addWidget(self.doc)
        self.info_label = QLabel("")
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet(SMALL)
        self.info_label.setToolTip("What this stage measured on the page")
        lay.addWidget(self.info_label)
        self.params = ParamsForm()
        self.params.changed.connect(self.set_param)
        self.params.reset.connect(self.reset_stage)
        lay.addWidget(self.params)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(col)
        scroll.setMinimumWidth(150)
        return scroll

    def _text_box(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        row = QHBoxLayout()
        self.text_title = QLabel("<b>Text</b>")
        self.text_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(self.text_title, 1)
        row.addWidget(QLabel("highlight <"))
        self.low = QDoubleSpinBox()
        self.low.setRange(0.05, 0.99)
        self.low.setSingleStep(0.05)
        self.low.setValue(0.6)
        self.low.setToolTip("Characters read with less confidence than this are highlighted (and their boxes red)")
        self.low.valueChanged.connect(self._low_changed)
        row.addWidget(self.low)
        lay.addLayout(row)
        self.text = TextView()
        self.text.box_clicked.connect(lambda i, add: self.select([i], add=add, center=True))
        self.text.setMinimumHeight(60)
        lay.addWidget(self.text, 1)
        return box

    def _shortcuts(self) -> None:
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        keys = [("PgDown", lambda: self.go_stage(self.stage_index + 1)),
                ("PgUp", lambda: self.go_stage(self.stage_index - 1)),
                ("Delete", self.delete_selected), ("Backspace", self.delete_selected),
                ("M", self.merge_selected), ("D", self.draw_button.toggle),
                ("B", self.show_boxes.toggle), ("F", self.page.fit), ("F2", self.focus_correction),
                ("Esc", self.escape)]
        self.shortcuts = {}
        for key, slot in keys:
            sc = QShortcut(QKeySequence(key), self, context=ctx)
            sc.activated.connect(slot)
            self.shortcuts[key] = sc

    def resizeEvent(self, event) -> None:
        """In a small tile the page gets the room; in a big (or floating) one every column gets its share."""
        super().resizeEvent(event)
        narrow = self.width() < 980
        if narrow != self.narrow:
            self.narrow = narrow
            self.keys.setVisible(not narrow)
            w = max(self.split.width(), self.width() - 8)
            sides = (150, 188) if narrow else (235, 250)
            self.split.setSizes([sides[0], max(w - sum(sides), 100), sides[1]])


__all__ = ["KEYS_HELP", "OcrLayout"]
