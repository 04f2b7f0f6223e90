"""The OCR tab under pytest-qt: open a synthetic page, step through every stage, tune a stage (only it and
the later ones re-run), click a box, correct / delete / merge / draw boxes, export, bad files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PyQt6.QtGui import QDropEvent

from engine.data.pages import render_page
from gui.panels.ocr.files import export_json, export_rows, export_text
from gui.panels.ocr.panel import OcrPanel

LINES = ["HELLO 42", "WORLD"]
STAGES = ["load", "page", "denoise", "grayscale", "background", "threshold", "morphology", "components",
          "characters", "lines", "assemble", "crops", "classify", "context", "text"]


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pages")
    img, _ = render_page(LINES, seed=3, size=(360, 640), char_height=70)
    Image.fromarray(img).save(folder / "page.png")
    (folder / "truth.json").write_text(json.dumps({"page.png": LINES}))
    return folder / "page.png"


def wait_idle(qtbot, panel, timeout=15_000):
    qtbot.waitUntil(lambda: panel.idle and panel.view is not None, timeout=timeout)


@pytest.fixture
def panel(qtbot, tmp_path, page_file):
    p = OcrPanel(settings=QSettings(str(tmp_path / "ocr.ini"), QSettings.Format.IniFormat))
    p.autoload = False
    p.quiet = True  # no "rows added" information box
    qtbot.addWidget(p)
    p.resize(1300, 800)
    p.show()
    p.open_path(str(page_file))
    wait_idle(qtbot, p)
    yield p
    p.shutdown()


def click_box(qtbot, panel, i, modifier=Qt.KeyboardModifier.NoModifier):
    b = panel.result.boxes[i]
    pos = panel.page.view_to_widget((b.col0 + b.col1) / 2, (b.row0 + b.row1) / 2).toPoint()
    qtbot.mouseClick(panel.page.graphics.viewport(), Qt.MouseButton.LeftButton, modifier, pos)


def test_opens_a_page_and_reads_it(panel, page_file):
    assert panel.stage == "text" and panel.view.stage == "text"
    assert panel.result.lines == LINES
    assert panel.truth == LINES and "100.0%" in panel.text.toHtml()
    assert "page.png" in panel.source_label.text()
    assert len(panel.page.rects) == len(panel.result.boxes) == 12 and len(panel.page.labels) == 12
    assert set(panel.view.timings) == set(STAGES)
    assert panel.settings.value("ocr/dir_open") == str(page_file.parent)


def test_steps_through_every_stage_with_next_and_page_keys(qtbot, panel):
    panel.go_stage(0)
    wait_idle(qtbot, panel)
    assert panel.view.stage == "load" and not panel.prev_button.isEnabled()
    shapes = {}
    panel.page.graphics.setFocus()
    for k, name in enumerate(STAGES[1:], 1):
        if k % 2:
            qtbot.keyClick(panel.page.graphics, Qt.Key.Key_PageDown)
        else:
            panel.next_button.click()
        wait_idle(qtbot, panel)
        assert panel.view.stage == name == panel.stage
        assert panel.tree.currentItem() is panel.tree.topLevelItem(k)
        assert panel.page.token == (panel.view.generation, panel.view.token)
        shapes[name] = panel.view.image.shape
        if name in ("components", "characters", "lines"):  # the stage's own boxes
            assert len(panel.page.rects) == len(panel.view.boxes) > 0 and panel.drawn_index is None
    assert not panel.next_button.isEnabled()
    assert shapes["crops"] == (34, 34 * 12)  # the mosaic: one 34 px tile per box
    assert shapes["threshold"] == shapes["text"][:2] == (360, 640)
    qtbot.keyClick(panel.page.graphics, Qt.Key.Key_PageUp)
    wait_idle(qtbot, panel)
    assert panel.view.stage == STAGES[-2]  # the stage before "text"


def test_a_parameter_reruns_only_its_stage_and_later(qtbot, panel):
    panel.go_stage(STAGES.index("threshold"))
    wait_idle(qtbot, panel)
    before = dict(panel.view.tokens)
    method, _ = panel.params.editors["method"]
    combo = panel.params.form.itemAt(0, panel.params.form.ItemRole.FieldRole).widget()
    combo.setCurrentText("manual")  # as the user would
    wait_idle(qtbot, panel)
    assert panel.view.params["threshold"]["method"] == "manual"
    assert panel.view.ran == STAGES[STAGES.index("threshold"):]
    after = panel.view.tokens
    k = STAGES.index("threshold")
    assert all(after[s] == before[s] for s in STAGES[:k]) and all(after[s] != before[s] for s in STAGES[k:])
    assert "re-ran threshold \u2192 text" in panel.rerun_label.text()
    slider = panel.params.form.itemAt(1, panel.params.form.ItemRole.FieldRole).widget().slider
    for k in range(30, 61, 2):  # a drag: coalesced, the last value wins
        slider.setValue(k)
    wait_idle(qtbot, panel)
    assert panel.view.params["threshold"]["level"] == pytest.approx(0.60)
    spin = panel.params.form.itemAt(1, panel.params.form.ItemRole.FieldRole).widget().spin
    assert spin.value() == pytest.approx(0.60)
    panel.reset_stage("threshold")
    wait_idle(qtbot, panel)
    assert panel.view.params["threshold"] == panel.defaults["threshold"]
    assert panel.result.lines == LINES


def test_hover_click_a_box_shows_its_top5_and_relabel_it(qtbot, panel):
    b = panel.result.boxes[0]
    pos = panel.page.view_to_widget((b.col0 + b.col1) / 2, (b.row0 + b.row1) / 2).toPoint()
    qtbot.mouseMove(panel.page.graphics.viewport(), pos)
    qtbot.waitUntil(lambda: "\u201cH\u201d" in panel.hover_label.text(), timeout=3000)
    assert panel.page.hover.isVisible()
    click_box(qtbot, panel, 0)
    assert panel.selected == [0]
    box = panel.result.boxes[0]
    top = panel.detail.top5_text()
    assert len(top) == 5 and top[0][0] == box.char == "H" and top[0][1].endswith("%")
    assert panel.detail.net.pixmap() is not None and not panel.detail.net.pixmap().isNull()
    assert not panel.detail.crop.pixmap().isNull()
    assert len(panel.page.selection) == 1
    qtbot.keyClick(panel.page.graphics, Qt.Key.Key_B)  # boxes hidden: still clickable
    assert not panel.show_boxes.isChecked() and panel.page.paths == [] and panel.page.labels == []
    click_box(qtbot, panel, 2)
    assert panel.selected == [2] and len(panel.page.selection) == 1
    qtbot.keyClick(panel.page.graphics, Qt.Key.Key_B)
    assert len(panel.page.labels) == 12
    click_box(qtbot, panel, 0)
    qtbot.keyClick(panel.page.graphics, Qt.Key.Key_F2)
    assert panel.detail.edit.hasFocus()
    qtbot.keyClicks(panel.detail.edit, "M")  # a letter that is also a shortcut: typed, not "merge"
    qtbot.keyClick(panel.detail.edit, Qt.Key.Key_Return)
    assert panel.selected == [1]  # on to the next box
    wait_idle(qtbot, panel)
    assert panel.result.lines[0] == "MELLO 42"
    assert panel.result.boxes[0].corrected == "H" and len(panel.result.corrections) == 1
    assert "1 correction" in panel.text_title.text() and "1 corrections" not in panel.text_title.text()
    panel.text.anchorClicked.emit(QUrl("box:3"))  # a click on a character of the text
    assert panel.selected == [3] and panel.detail.top5_text()[0][0] == "L"
    qtbot.keyClick(panel.page.graphics, Qt.Key.Key_Escape)
    assert panel.selected == [] and panel.detail.top5_text() == []


def test_delete_merge_and_draw(qtbot, panel):
    n = len(panel.result.boxes)
    click_box(qtbot, panel, 4)  # the O of HELLO
    qtbot.keyClick(panel.page.graphics, Qt.Key.Key_Delete)
    wait_idle(qtbot, panel)
    assert len(panel.result.boxes) == n - 1 and panel.result.lines[0] == "HELL 42"
    click_box(qtbot, panel, 2)
    click_box(qtbot, panel, 3, Qt.KeyboardModifier.ControlModifier)
    assert panel.selected == [2, 3] and panel.detail.merge_button.isEnabled()
    qtbot.keyClick(panel.page.graphics, Qt.Key.Key_M)
    wait_idle(qtbot, panel)
    assert len(panel.result.boxes) == n - 2
    assert len(panel.selected) == 1  # the merged box is selected
    merged = panel.result.boxes[panel.selected[0]]
    assert merged.line == 0 and merged.width > 0
    qtbot.keyClick(panel.page.graphics, Qt.Key.Key_D)
    assert panel.draw_button.isChecked() and panel.page.box.draw_mode
    gone = [c["box"] for c in panel.result.corrections if c["op"] == "delete"][0]
    panel.page.box.drawn.emit(*map(float, gone))  # what a drag around the deleted O reports
    wait_idle(qtbot, panel)
    assert not panel.draw_button.isChecked()
    assert len(panel.result.boxes) == n - 1 and panel.result.boxes[panel.selected[0]].rect == tuple(gone)
    assert [c["op"] for c in panel.result.corrections] == ["delete", "merge", "add"]


def test_exports_and_a_rerun_asks_before_discarding_corrections(qtbot, panel, tmp_path, no_blocking_dialogs):
    click_box(qtbot, panel, 1)
    panel.relabel("F")
    wait_idle(qtbot, panel)
    assert export_text(panel, str(tmp_path / "page.txt"))
    assert (tmp_path / "page.txt").read_text() == "HFLLO 42\nWORLD\n"
    assert export_json(panel, str(tmp_path / "page.json"))
    saved = json.loads((tmp_path / "page.json").read_text())
    assert saved["lines"][0] == "HFLLO 42" and saved["corrections"][0]["now"] == "F"
    assert saved["boxes"][1]["corrected"] and len(saved["boxes"][1]["top5"]) == 5
    rows = tmp_path / "rows.npz"
    assert export_rows(panel, only_corrected=True, path=str(rows)) == 1
    assert export_rows(panel, only_corrected=False, path=str(rows)) == 12
    with np.load(rows) as f:
        assert f["x"].shape == (13, 1024) and len(f["y"]) == 13
    asked = len(no_blocking_dialogs)
    panel.go_stage(STAGES.index("denoise"))
    panel.set_param("denoise", "sigma", 1.5)  # the conftest answers "Discard"
    assert len(no_blocking_dialogs) == asked + 1
    wait_idle(qtbot, panel)
    assert panel.result.corrections == [] and panel.result.lines == LINES
    assert panel.view.ran[0] == "denoise" and "load" not in panel.view.ran


def test_bad_files_keep_the_page(qtbot, panel, tmp_path):
    generation, lines = panel.view.generation, list(panel.result.lines)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image" * 4)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for path in (bad, empty, tmp_path / "missing.png"):
        panel.last_error = ""
        panel.open_path(str(path))
        qtbot.waitUntil(lambda: panel.last_error != "", timeout=10_000)
        wait_idle(qtbot, panel)
        assert path.name in panel.last_error
        assert panel.error_box is not None and panel.error_box.isVisible()
        assert panel.view.generation == generation and panel.result.lines == lines
        assert "page.png" in panel.source_label.text()
    for array in (np.full((40, 30, 4), 255, np.uint8), np.full((3, 2), 65535, np.uint16)):  # RGBA, 16-bit, tiny
        panel.open_array(array, "blank")
        wait_idle(qtbot, panel)
        assert panel.result.boxes == [] and "no characters" in panel.text.toPlainText()


def test_an_unreadable_file_is_refused_before_corrections_are_given_up(qtbot, panel, tmp_path, no_blocking_dialogs):
    click_box(qtbot, panel, 1)
    panel.relabel("F")
    wait_idle(qtbot, panel)
    asked = len(no_blocking_dialogs)
    text = tmp_path / "notes.png"
    text.write_text("not a picture at all\n")
    panel.open_path(str(text))
    assert len(no_blocking_dialogs) == asked  # no "discard your correction?" for a file that cannot be read
    assert panel.last_error == "notes.png: holds plain text, not a PNG image as its name says"
    wait_idle(qtbot, panel)
    assert len(panel.result.corrections) == 1 and panel.result.lines[0] == "HFLLO 42"


def test_a_new_page_forgets_the_old_selection_and_hover(qtbot, panel, tmp_path):
    click_box(qtbot, panel, 2)
    b = panel.result.boxes[2]
    panel._hovered((b.col0 + b.col1) / 2, (b.row0 + b.row1) / 2)
    assert panel.page.selection and panel.page.hover.isVisible() and "\u201c" in panel.hover_label.text()
    img, _ = render_page(["AB"], seed=5, size=(200, 300), char_height=60)
    other = tmp_path / "other.png"
    Image.fromarray(img).save(other)
    generation = panel.view.generation
    panel.open_path(str(other))
    qtbot.waitUntil(lambda: panel.view.generation == generation + 1 and panel.idle, timeout=10_000)
    assert panel.selected == [] and panel.page.selection == []
    assert not panel.page.hover.isVisible() and "\u201c" not in panel.hover_label.text()


def test_the_hover_line_names_other_classes_and_follows_a_merge(qtbot, panel):
    def hover(b):
        panel._hovered((b.col0 + b.col1) / 2, (b.row0 + b.row1) / 2)
        return panel.hover_label.text()

    for b in panel.result.boxes:  # '"J" 7% (then J 7%, 5 5%)' named the box's own class among the others
        text = hover(b)
        assert f"\u201c{b.char}\u201d {b.confidence:.0%}" in text
        others = text.split("(then ", 1)[1].split(")")[0].split(", ") if "(then " in text else []
        assert b.char not in [o.split(" ")[0] for o in others], text
    first = panel.result.boxes[2]
    hover(first)
    panel.select([2, 3])
    panel.merge_selected()
    wait_idle(qtbot, panel)
    merged = panel.result.boxes[panel.selected[0]]
    r = panel.page.hover.rect()  # the dotted outline and the line describe the box under the mouse now
    assert (round(r.left() + 1), round(r.top() + 1), round(r.right() - 1), round(r.bottom() - 1)) == \
        (merged.col0, merged.row0, merged.col1, merged.row1)
    assert f"\u201c{merged.char}\u201d {merged.confidence:.0%}" in panel.hover_label.text()


def test_drop_an_image_on_the_tab(qtbot, panel, tmp_path):
    img, _ = render_page(["AB"], seed=5, size=(200, 300), char_height=60)
    path = tmp_path / "dropped.png"
    Image.fromarray(img).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    generation = panel.view.generation
    panel.dropEvent(QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                               Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: panel.view.generation == generation + 1 and panel.idle, timeout=10_000)
    assert panel.result.lines == ["AB"] and panel.truth is None


def test_the_window_has_the_tab_and_one_open_image_entry(window, monkeypatch):
    panel = window.panels["ocr"]
    assert isinstance(panel, OcrPanel) and panel.settings is window.settings
    file_menu = window.menuBar().actions()[0].menu()
    entries = [a for a in file_menu.actions() if "image" in a.text().lower()]
    assert [a.text() for a in entries] == ["Open image\u2026"]  # one entry (it was there twice)
    asked = []
    monkeypatch.setattr(panel, "ask_open", lambda: asked.append(True))
    entries[0].trigger()
    assert asked and window.workspaces.current == "ocr" and window.workspaces.visible_panel("ocr")


def test_box_detail_shows_both_top5_and_the_context_stage_both_readings(qtbot, panel):
    digit = next(i for i, b in enumerate(panel.result.boxes) if b.char == "4")
    panel.select([digit])
    box = panel.result.boxes[digit]
    raw, ctx = panel.detail.top5_text(), panel.detail.top5_text(context=True)
    assert [c for c, _ in raw] == [c for c, _ in box.top5] and len(raw) == 5
    assert [c for c, _ in ctx] == [c for c, _ in box.context_top5] and all(c.isdigit() for c, _ in ctx)
    assert panel.detail.context_list.isVisibleTo(panel) and "digits" in panel.detail.context_caption.text()
    panel.go_stage(STAGES.index("context"))
    wait_idle(qtbot, panel)
    text = panel.info_label.text()
    assert "network" in text and "context" in text and "HELLO 42" in text
    panel.go_stage(STAGES.index("assemble"))
    wait_idle(qtbot, panel)
    assert len(panel.page.rects) == len(panel.view.boxes) > 0 and panel.drawn_index is None  # its own boxes


def test_sample_pages_and_image_types_come_from_the_package():
    import resources
    from engine import images
    from gui.panels.ocr import files as ocr_files
    assert ocr_files.SAMPLES == resources.PAGES and ocr_files.IMAGE_SUFFIXES is images.IMAGE_SUFFIXES
    assert ocr_files.first_sample() is not None and ocr_files.first_sample().parent == resources.PAGES
