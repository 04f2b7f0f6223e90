"""The Inspect tools as standalone widgets: Explain, Draw, Hidden space, Top losses (pytest-qt, offscreen).

Each test also saves a screenshot (``widget.grab``) into the test's folder, or into $SCREENSHOT_DIR."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QEvent, QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication

from engine.dataset import SIDE, from_image
from engine.edits import EditList
from engine.explain import explain
from engine.nn import Network
from engine.ocr.model import DEFAULT_MODEL, load_classifier
from engine.ocr.normalize import normalize_mask
from engine.session import TrainConfig, TrainingSession

needs_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="resources/ocr_model.npz not trained yet")


def shot(widget, tmp_path, name) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert widget.grab().save(str(path))
    return path


def stroke(canvas, points) -> None:
    """A mouse stroke through ``points`` (canvas pixels), with the button held while moving."""
    def send(kind, p, button, buttons):
        QApplication.sendEvent(canvas, QMouseEvent(kind, QPointF(*p), QPointF(*p), button, buttons,
                                                   Qt.KeyboardModifier.NoModifier))
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send(QEvent.Type.MouseButtonPress, points[0], left, left)
    for p in points[1:]:
        send(QEvent.Type.MouseMove, p, none, left)
    send(QEvent.Type.MouseButtonRelease, points[-1], left, none)


def line(a, b, n=15):
    return [tuple(np.add(a, np.subtract(b, a) * t)) for t in np.linspace(0, 1, n)]


@pytest.fixture(scope="module")
def trained(data):
    session = TrainingSession(data, TrainConfig(hidden=(24,), activation="tanh", lr=0.01, epochs=3))
    session.run()
    return session


# ---- Explain -------------------------------------------------------------------------------------------------


def test_explain_panel_draws_the_engines_explanation(qtbot, tmp_path):
    from gui.panels.explain import ExplainPanel

    net = Network.mlp(SIDE * SIDE, (16,), 36, "tanh", seed=2)
    classes = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    img = np.ones((SIDE, SIDE), np.float32)
    img[6:26, 14:18] = 0.0
    row = from_image(img)
    panel = ExplainPanel()
    qtbot.addWidget(panel)
    panel.set_model(net, classes)
    panel.show_input(row)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10_000)
    want = explain(net, classes, row)
    assert panel.result.target == want.target and np.allclose(panel.result.saliency, want.saliency)
    assert panel.top5.count() == 5 and panel.top5.item(0).text().startswith(classes[want.target])
    assert not panel.saliency_view.pixmap().isNull() and f"saliency for {classes[want.target]}" in \
        panel.saliency_caption.text()
    # "why not Q?": pick a class from the list
    panel.picker.setCurrentIndex(classes.index("Q") + 1)
    panel.picker.activated.emit(classes.index("Q") + 1)
    qtbot.waitUntil(lambda: panel.result.target == classes.index("Q"), timeout=10_000)
    assert np.allclose(panel.result.saliency, explain(net, classes, row, "Q").saliency)
    assert "explaining Q" in panel.status.text()
    panel.resize(760, 300)
    shot(panel, tmp_path, "explain")


# ---- Draw ----------------------------------------------------------------------------------------------------


@needs_model
def test_drawing_a_z_reads_z_live_and_becomes_a_training_row(qtbot, tmp_path):
    from gui.panels.draw import DrawPanel

    clf = load_classifier()
    panel = DrawPanel(throttle_ms=40)
    qtbot.addWidget(panel)
    panel.set_model(clf.net, clf.classes)
    panel.show()
    analyses = []
    panel.analyzed.connect(lambda row: analyses.append(row))
    moves = 0
    for a, b in (((60, 40), (200, 40)), ((200, 40), (60, 220)), ((60, 220), (200, 220))):
        stroke(panel.canvas, line(a, b))
        moves += 15
    qtbot.waitUntil(lambda: panel.background.idle and panel.row is not None and not panel.timer.isActive(),
                    timeout=10_000)
    qtbot.wait(100)
    qtbot.waitUntil(lambda: panel.background.idle, timeout=10_000)
    assert 1 <= len(analyses) < moves  # throttled: not one analysis per mouse move
    assert panel.top5.text().startswith("Z")
    np.testing.assert_allclose(panel.row, from_image(normalize_mask(panel.canvas.mask())))  # the OCR's normalization
    assert [c.text().split(":")[0] for c, _ in panel.layer_views] == ["layer1", "output"]
    assert all(not v.pixmap().isNull() for _, v in panel.layer_views)
    shot(panel, tmp_path, "draw")

    added = []
    panel.row_added.connect(lambda row, y: added.append(y))
    panel.add_row()
    assert not added and "type the character" in panel.status.text()
    panel.label_edit.setText("z")
    panel.add_row()
    assert added == [clf.classes.index("Z")] and len(panel.rows) == 1 and panel.rows.source == ["drawn"]
    assert panel.save_rows(tmp_path / "rows.npz") == 1
    panel.canvas.undo()
    assert len(panel.canvas.strokes) == 2
    panel.canvas.clear()
    qtbot.waitUntil(lambda: panel.top5.text() == "draw a character", timeout=5_000)
    assert panel.row is None


# ---- Hidden space --------------------------------------------------------------------------------------------


def test_hidden_map_shows_the_validation_set_and_follows_training(qtbot, tmp_path, data, trained):
    from gui.panels.hidden_map import HiddenMapPanel

    fresh = TrainingSession(data, TrainConfig(hidden=(24,), activation="tanh", lr=0.01, epochs=1))
    panel = HiddenMapPanel()
    qtbot.addWidget(panel)
    panel.set_data(data.valid.x, data.valid.y, data.classes)
    panel.set_model(fresh.net)
    qtbot.waitUntil(lambda: panel.map is not None, timeout=10_000)
    early = panel.map
    assert len(panel.scatter.points()) == len(data.valid)
    fresh.run()  # training moves the map; the new frame keeps the old one's orientation
    panel.set_model(fresh.net)
    qtbot.waitUntil(lambda: panel.map is not early, timeout=10_000)
    assert np.all((panel.map.axes * early.axes).sum(1) >= 0)
    panel.set_model(trained.net)
    qtbot.waitUntil(lambda: panel.background.idle and panel.map.pred is not None and
                    np.array_equal(panel.map.pred, trained.net.predict(data.valid.x).argmax(1)), timeout=10_000)
    m = panel.map
    symbols = [p.symbol() for p in panel.scatter.points()]
    assert symbols.count("x") == int(m.wrong.sum())
    wrong = int(np.flatnonzero(m.wrong)[0]) if m.wrong.any() else 0
    tip = panel._tip(0, 0, wrong)
    assert f"label {data.classes[m.y[wrong]]}" in tip and f"predicted {data.classes[m.pred[wrong]]}" in tip
    clicked = []
    panel.sample_clicked.connect(clicked.append)
    panel._clicked(panel.scatter, [panel.scatter.points()[wrong]])
    assert clicked == [wrong] and not panel.sample_view.pixmap().isNull()
    assert "variance" in panel.caption.text()
    panel.resize(700, 480)
    shot(panel, tmp_path, "hidden_map")


# ---- Top losses ----------------------------------------------------------------------------------------------


def test_top_losses_finds_a_wrong_label_and_edits_feed_retraining(qtbot, tmp_path, data, trained):
    from engine.dataset import Dataset, Split
    from gui.panels.top_losses import TopLossesPanel

    y = data.train.y.copy()
    y[11] = (y[11] + 5) % 36  # a wrong label the trained network disagrees with
    dirty = Dataset("dirty", data.classes, Split(data.train.x, y), data.valid, data.test)
    panel = TopLossesPanel(k=24)
    qtbot.addWidget(panel)
    panel.set_data(dirty)
    panel.set_model(trained.net)
    qtbot.waitUntil(lambda: panel.top is not None, timeout=10_000)
    assert panel.grid.count() == 24 and int(panel.grid.item(0).data(Qt.ItemDataRole.UserRole)) == 11
    true_name = data.classes[data.train.y[11]]
    assert panel.grid.item(0).text().startswith(f"{data.classes[y[11]]} → {true_name}")
    panel.grid.setCurrentRow(0)
    panel.label_picker.setCurrentText(true_name)
    panel.relabel_current()
    panel.grid.setCurrentRow(1)
    dropped = int(panel.grid.item(1).data(Qt.ItemDataRole.UserRole))
    panel.drop_current()
    assert f"now {true_name}" in panel.grid.item(0).text() and "dropped" in panel.grid.item(1).text()
    with qtbot.waitSignal(panel.retrain_requested) as sig:
        panel.retrain()
    edited, edits = sig.args
    assert edited.train.y[11] == data.train.y[11] and len(edited.train) == len(data.train) - 1
    assert np.array_equal(dirty.train.y, y)  # the data itself is not changed
    panel.save_edits(tmp_path / "edits.json")
    assert EditList.load(tmp_path / "edits.json").apply(dirty).train.y[11] == data.train.y[11]
    panel.undo_current()
    assert "dropped" not in panel.grid.item(1).text() and len(panel.edits) == 1 and dropped != 11
    panel.split.setCurrentText("valid")
    qtbot.waitUntil(lambda: f"of {len(data.valid)} samples" in panel.caption.text(), timeout=10_000)
    panel.resize(760, 520)
    shot(panel, tmp_path, "top_losses")
