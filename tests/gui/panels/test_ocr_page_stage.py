"""The OCR tab on a sheet photographed on a desk: the page stage shows the photo with the sheet outlined and
no boxes (they live on the cut-out page), later stages show the page with its boxes."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import QSettings

from engine.data.pages import on_desk, render_page
from gui.panels.ocr.panel import OcrPanel

LINES = ["ON A DESK", "TURNED 42"]


@pytest.fixture
def panel(qtbot, tmp_path):
    sheet, _ = render_page(LINES, seed=3, size=(420, 560), char_height=60)
    photo = on_desk(sheet, (640, 820), 18.0, np.random.default_rng(0))
    path = tmp_path / "desk.png"
    Image.fromarray(photo).save(path)
    p = OcrPanel(settings=QSettings(str(tmp_path / "ocr.ini"), QSettings.Format.IniFormat))
    p.autoload = False
    p.quiet = True
    qtbot.addWidget(p)
    p.resize(1200, 760)
    p.show()
    p.open_path(str(path))
    qtbot.waitUntil(lambda: p.idle and p.view is not None, timeout=20_000)
    yield p, photo
    p.shutdown()


def test_page_stage_outlines_the_sheet_and_later_stages_show_the_page(qtbot, panel):
    p, photo = panel
    assert p.result.transform is not None and len(p.result.boxes) > 0
    names = [s.name for s in p.stages]
    p.go_stage(names.index("page"))
    qtbot.waitUntil(lambda: p.idle and p.view.stage == "page", timeout=20_000)
    assert p.view.info["found"] == "sheet"
    assert p.view.image.shape[:2] == photo.shape[:2]  # the photo as taken, sheet outlined
    assert len(p.page.rects) == 0  # the boxes are on the cut-out page, not on the photo
    p.draw_button.setChecked(True)
    p._drawn(10, 10, 60, 60)  # drawing here would put a box in the wrong frame: refused
    assert "page stage" in p.status.text()
    p.draw_button.setChecked(False)
    p.go_stage(names.index("denoise"))
    qtbot.waitUntil(lambda: p.idle and p.view.stage == "denoise", timeout=20_000)
    assert p.view.image.shape[:2] != photo.shape[:2] and len(p.page.rects) == len(p.result.boxes)
    assert p.view.page.shape[:2] == p.view.image.shape[:2]  # close-ups are cut from the page
