"""The Inspect tools as standalone widgets: Explain, Draw, Hidden space, Top losses (pytest-qt, offscreen).

Each test also saves a screenshot (``widget.grab``) into the test's folder, or into $SCREENSHOT_DIR."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT
from PyQt6.QtCore import QEvent, QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication

from engine.data.dataset import SIDE, from_image
from engine.data.edits import EditList
from engine.debug.explain import explain
from engine.nn.network import Network
from engine.ocr.model import DEFAULT_MODEL, load_classifier
from engine.ocr.normalize import normalize_mask
from engine.training.session import State, TrainConfig, TrainingSession

needs_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="resources/ocr_model.npz not trained yet")


def shot(widget, tmp_path, name) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert widget.grab().save(str(path))
    return path


def stroke(canvas, points) -> None:
    """A mouse stroke through ``points`` (in the canvas's SIDE units: scaled to the size it is shown at),
    with the button held while moving."""
    points = [(x * canvas.width() / canvas.SIDE, y * canvas.height() / canvas.SIDE) for x, y in points]

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
    from gui.panels.inspect.explain import ExplainPanel

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
def test_drawing_a_z_reads_z_live_and_becomes_a_training_row(qtbot, tmp_path, monkeypatch):
    from gui.panels.inspect.draw import DrawPanel

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
    assert all(v.image is not None and v.heightForWidth(200) > 0 for _, v in panel.layer_views)
    shot(panel, tmp_path, "draw")

    added = []
    panel.row_added.connect(lambda row, y: added.append(y))
    panel.add_row()
    assert not added and "type the character" in panel.status.text()
    panel.label_edit.setText("z")
    panel.add_row()
    assert added == [clf.classes.index("Z")] and len(panel.rows) == 1 and panel.rows.source == ["drawn"]
    from PyQt6.QtWidgets import QFileDialog
    asked = str(tmp_path / "rows.npz")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (asked, "")))
    panel.ask_save_rows()
    assert "appended 1 row to" in panel.status.text() and panel.save_rows(tmp_path / "rows.npz") == 1
    panel.canvas.undo()
    assert len(panel.canvas.strokes) == 2
    panel.canvas.clear()
    qtbot.waitUntil(lambda: panel.top5.text() == "draw a character", timeout=5_000)
    assert panel.row is None


# ---- Hidden space --------------------------------------------------------------------------------------------


def test_hidden_map_shows_the_validation_set_and_follows_training(qtbot, tmp_path, data, trained):
    from gui.panels.inspect.hidden_map import HiddenMapPanel

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


def test_top_losses_finds_a_wrong_label_and_edits_feed_retraining(qtbot, tmp_path, data, trained, monkeypatch):
    from engine.data.dataset import Dataset, Split
    from gui.panels.inspect.top_losses import TopLossesPanel

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
    from PyQt6.QtWidgets import QFileDialog
    saved = str(tmp_path / "edits.json")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (saved, "")))
    panel.ask_save_edits()
    assert "saved 2 edits" in panel.status.text()
    assert EditList.load(tmp_path / "edits.json").apply(dirty).train.y[11] == data.train.y[11]
    panel.undo_current()
    assert "dropped" not in panel.grid.item(1).text() and len(panel.edits) == 1 and dropped != 11
    panel.split.setCurrentText("valid")
    qtbot.waitUntil(lambda: f"of {len(data.valid)} samples" in panel.caption.text(), timeout=10_000)
    panel.resize(760, 520)
    shot(panel, tmp_path, "top_losses")


# ---- Correction loop -------------------------------------------------------------------------------------------


@needs_model
def test_correction_loop_fine_tunes_shows_curves_and_changed_boxes(qtbot, tmp_path):
    from engine.ocr import OcrPipeline, edit
    from engine.ocr.finetune import FinetuneConfig
    from engine.ocr.model import build_training_set
    from gui.panels.ocr.correction import CorrectionPanel

    clf = load_classifier()
    pipe = OcrPipeline(clf)
    pipe.open(ROOT / "resources" / "pages" / "page3.png")
    base = build_training_set(n_glyphs=600, nist=tmp_path / "no-nist")
    panel = CorrectionPanel(config=FinetuneConfig(epochs=2, base_rows=300), base_loader=lambda: base)
    qtbot.addWidget(panel)
    panel.set_page(pipe)
    pipe.run()
    panel.start()
    assert "nothing to learn" in panel.status.text() and panel.session is None
    q = min(range(len(pipe.result.boxes)), key=lambda k: pipe.result.boxes[k].confidence)  # least sure box
    edit.relabel(pipe, q, next(c for c, _ in pipe.result.boxes[q].context_top5 if c != pipe.result.boxes[q].char))
    panel.start()
    assert not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: panel.new_classifier is not None, timeout=120_000)
    assert len(panel._losses) == panel.session.step and len(panel._accs) == 3  # before + 2 epochs
    assert panel._losses == panel.session.history.batch_loss
    # words that cannot contradict each other: the rows it trained on, then the page read again
    assert panel.status.text().startswith("The new model reads the correction it trained on as corrected; "
                                          "re-reading the page: the corrected box now reads as corrected")
    assert panel.keep_button.isEnabled() and panel.progress.format() == "done"
    assert panel.changes.count() == len(panel.result.changes)
    assert all(": " in panel.changes.item(k).text() for k in range(panel.changes.count()))  # each with its verdict
    assert panel.session.net is not clf.net and pipe.classifier is clf  # nothing swapped until kept
    panel.resize(700, 460)
    shot(panel, tmp_path, "correction")
    with qtbot.waitSignal(panel.model_kept) as sig:
        panel.keep()
    assert sig.args[0] is panel.new_classifier and not panel.keep_button.isEnabled()


# ---- in the window: the Inspect workspace ----------------------------------------------------------------------


def test_inspect_workspace_tools_follow_the_session_and_time_travel(qtbot, window, data, tmp_path):
    p = window.panels
    hm, explain, top, draw = (p[k] for k in ("hidden_map", "explain", "top_losses", "draw"))
    window.show_panel("hidden_map")
    window.show_panel("explain")
    qtbot.waitUntil(lambda: hm.widget.map is not None and explain.widget.result is not None, timeout=20_000)
    first = hm.view.net.layers[0].W.copy()
    assert hm.view.net is not window.worker.session.net  # a private copy, made in the worker thread
    window.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 1 and window.state == State.PAUSED, timeout=20_000)
    qtbot.waitUntil(lambda: hm.view is not None and not np.array_equal(hm.view.net.layers[0].W, first),
                    timeout=20_000)
    trained_W = hm.view.net.layers[0].W.copy()
    np.testing.assert_array_equal(trained_W, window.worker.session.net.layers[0].W)
    # scrubbing the timeline to the first snapshot shows the old weights in the hidden map
    window.worker.timeline.travel(0)
    qtbot.waitUntil(lambda: hm.view.view_step == 0 and np.array_equal(hm.view.net.layers[0].W, first),
                    timeout=20_000)
    qtbot.waitUntil(lambda: hm.widget.background.idle, timeout=20_000)
    window.worker.timeline.travel(None)
    qtbot.waitUntil(lambda: hm.view.view_step is None and np.array_equal(hm.view.net.layers[0].W, trained_W),
                    timeout=20_000)
    # a hidden-map click and a top-loss double-click both explain that sample
    hm.widget.select(3)
    qtbot.waitUntil(lambda: explain.widget.result is not None and
                    np.array_equal(explain.widget.result.row, data.valid.x[3]), timeout=20_000)
    # so does a double-click on a sample of the confusion drill-down
    confusion = window.show_panel("confusion")
    qtbot.waitUntil(lambda: confusion.matrix is not None, timeout=20_000)
    confusion.show_cell(*divmod(int(np.argmax(confusion.matrix)), len(confusion.matrix)))
    item = confusion.samples.item(0)
    confusion.samples.itemDoubleClicked.emit(item)
    i = int(item.data(Qt.ItemDataRole.UserRole))
    qtbot.waitUntil(lambda: np.array_equal(explain.widget.result.row, data.valid.x[i]), timeout=20_000)
    window.show_panel("top_losses")
    qtbot.waitUntil(lambda: top.widget.top is not None and top.widget.grid.count() > 0, timeout=20_000)
    shot(window, tmp_path, "workspace-inspect")
    # drop the worst sample and retrain: a new session on the edited data that trains at once, the file
    # untouched (the question before the trained model is replaced: tests/gui/test_discard.py)
    n = len(data.train)
    top.widget.grid.setCurrentRow(0)
    top.widget.drop_current()
    top.widget.retrain()
    qtbot.waitUntil(lambda: window.worker.session is not None and len(window.worker.session.data.train) == n - 1,
                    timeout=20_000)
    qtbot.waitUntil(lambda: window.state == State.RUNNING or window.step > 0, timeout=20_000)
    assert len(data.train) == n
    window.worker.pause()
    assert draw.widget.net is None  # a hidden panel asks for nothing (explaining costs CPU training needs) ...
    window.show_panel("draw")
    qtbot.waitUntil(lambda: draw.widget.net is not None, timeout=20_000)  # ... until it is shown


@needs_model
def test_ocr_workspace_explains_a_box_and_closes_the_correction_loop(qtbot, window, tmp_path):
    from engine.ocr.finetune import FinetuneConfig
    from engine.ocr.model import build_training_set

    ocr, box_explain, correction = (window.panels[k] for k in ("ocr", "ocr_explain", "correction"))
    ocr.open_path(str(ROOT / "resources" / "pages" / "page3.png"), remember=False)
    qtbot.waitUntil(lambda: ocr.idle and ocr.result is not None and bool(ocr.result.boxes), timeout=30_000)
    q = min(range(len(ocr.result.boxes)), key=lambda k: ocr.result.boxes[k].confidence)  # the least sure box
    box = ocr.result.boxes[q]
    target = next(c for c, _ in box.context_top5 if c != box.char)  # the user's correction: its runner-up
    ocr.select([q])  # selecting a box explains it with the OCR's own model
    qtbot.waitUntil(lambda: box_explain.widget.result is not None, timeout=20_000)
    assert box_explain.widget.net is ocr.runner.model.net and box_explain.widget.result.top(1)[0][0] == box.top5[0][0]
    window.show_panel("ocr_explain")
    shot(window, tmp_path, "workspace-ocr-explain")

    ocr.relabel(target)
    qtbot.waitUntil(lambda: ocr.idle and ocr.result.boxes[q].corrected == box.char, timeout=20_000)
    base = build_training_set(n_glyphs=600, nist=tmp_path / "no-nist")
    correction.base_loader, correction.config = (lambda: base), FinetuneConfig(epochs=2, base_rows=300)
    old = ocr.runner.model
    window.show_panel("correction")
    correction.start()  # a job in the window's worker
    qtbot.waitUntil(lambda: correction.new_classifier is not None, timeout=120_000)
    assert len(correction._losses) == correction.session.step > 0 and correction.changes.count() == len(
        correction.result.changes)
    assert window.worker.scheduler is not None and correction.job is None
    shot(window, tmp_path, "workspace-ocr-correction")
    correction.keep()  # the OCR view reads the page again with the kept model
    qtbot.waitUntil(lambda: ocr.idle and ocr.runner.model is correction.new_classifier, timeout=30_000)
    assert ocr.runner.model is not old


def test_correction_loop_can_be_stopped(qtbot, tmp_path):
    from engine.data.dataset import NIST36_CLASSES
    from engine.data.edits import Rows
    from engine.ocr.finetune import FinetuneConfig
    from engine.ocr.model import Classifier, build_training_set
    from gui.panels.ocr.correction import CorrectionPanel

    base = build_training_set(n_glyphs=400, nist=tmp_path / "no-nist")
    # far more epochs than can run before Stop arrives (a tiny net trains 50 epochs in milliseconds)
    panel = CorrectionPanel(config=FinetuneConfig(epochs=100_000, base_rows=300, copies=2), base_loader=lambda: base)
    qtbot.addWidget(panel)
    rows = Rows()
    rows.add(base.valid.x[:2], [0, 1], "drawn")  # drawn characters alone can be learned (no page needed)
    panel.rows_source = lambda: rows
    panel.page_source = lambda: (None, None, None, Classifier(Network.mlp(1024, (8,), 36, "tanh"), NIST36_CLASSES))
    panel.start()
    qtbot.waitUntil(lambda: len(panel._losses) > 0, timeout=30_000)
    panel.stop()
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=30_000)
    assert panel.status.text() == "fine-tuning stopped" and panel.new_classifier is None
    assert panel.session.epoch < 100_000 and not panel.keep_button.isEnabled()


def test_the_correction_loop_shows_the_base_sets_progress_and_time_left(qtbot, tmp_path):
    """Building the base set takes about a minute the first time: a bar with the share done and the time left,
    not a still "reading the base set..." for 30-45 s."""
    import threading
    import time

    from engine.data.dataset import NIST36_CLASSES
    from engine.data.edits import Rows
    from engine.ocr.finetune import FinetuneConfig
    from engine.ocr.model import Classifier, build_training_set
    from gui.panels.ocr.correction import CorrectionPanel

    base, go_on = build_training_set(n_glyphs=400, nist=tmp_path / "no-nist"), threading.Event()

    def slow_loader(progress=None):  # as load_training_set while it builds the set
        progress(0.1)
        time.sleep(0.6)  # (the estimate waits for half a second of evidence)
        progress(0.5)
        go_on.wait(30)
        return base

    panel = CorrectionPanel(config=FinetuneConfig(epochs=1, base_rows=100, copies=2), base_loader=slow_loader)
    qtbot.addWidget(panel)
    rows = Rows()
    rows.add(base.valid.x[:2], [0, 1], "drawn")
    panel.rows_source = lambda: rows
    panel.page_source = lambda: (None, None, None, Classifier(Network.mlp(1024, (8,), 36, "tanh"), NIST36_CLASSES))
    panel.start()
    qtbot.waitUntil(lambda: panel.progress.value() == 500, timeout=10_000)
    assert panel.progress.format().startswith("reading the base set: 50 % \u00b7 about 0:0")
    assert panel.progress.format().endswith(" left")
    go_on.set()
    qtbot.waitUntil(lambda: panel.new_classifier is not None, timeout=60_000)
    assert panel.progress.format() == "done"


def test_the_window_shows_bugs_of_the_inspect_tools(qtbot, window):
    from gui.worker.background import Background

    backgrounds = [b for p in window.panels.values() for b in p.findChildren(Background)]
    assert len(backgrounds) >= 3  # explain, draw, hidden map, top losses
    assert all(b.receivers(b.bug) >= 1 for b in backgrounds)  # each wired to the window's bug dialog


def test_colours_that_carry_meaning_have_a_legend(qtbot, data):
    """The hidden space's dots are coloured by class (36 of them) and the saliency pictures by sign: each says
    which colour is what."""
    from gui.panels.inspect.explain import ExplainPanel
    from gui.panels.inspect.hidden_map import HiddenMapPanel
    from gui.widgets.theme import EVIDENCE_AGAINST, EVIDENCE_FOR, class_color, class_hex

    net = Network.mlp(1024, (16,), data.n_classes, "sigmoid")
    hm = HiddenMapPanel()
    qtbot.addWidget(hm)
    hm.set_data(data.valid.x, data.valid.y, data.classes)
    legend = hm.legend.text()
    for k, c in enumerate(data.classes):
        assert f"color:{class_hex(k, data.n_classes)}'>\u25cf</span>{c}</td>" in legend  # each class, its colour
    assert "misclassified" in legend
    hm.set_model(net)
    qtbot.waitUntil(lambda: hm.map is not None, timeout=20_000)
    spot = hm.scatter.points()[0]
    k = int(hm.map.y[int(spot.data())])
    assert spot.brush().color().getRgb()[:3] == class_color(k, data.n_classes)  # the legend's colour is the dot's

    ex = ExplainPanel()
    qtbot.addWidget(ex)
    ex.set_model(net, data.classes)
    ex.show_input(data.valid.x[0])
    qtbot.waitUntil(lambda: ex.result is not None, timeout=20_000)
    name = ex.result.classes[ex.result.target]
    text = ex.legend.text()
    assert EVIDENCE_FOR in text and EVIDENCE_AGAINST in text and f"for {name}" in text and f"against {name}" in text
