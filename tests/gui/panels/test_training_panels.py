"""The window drives training: start/pause/step, live views, divergence, the vanishing-gradient words."""
from __future__ import annotations

import time

import numpy as np
from PyQt6.QtCore import Qt

from engine.training.session import State, TrainConfig


def wait_state(qtbot, window, *states, timeout=20_000):
    qtbot.waitUntil(lambda: window.state in states, timeout=timeout)


def shown_weights(window) -> np.ndarray:
    return window.panels["weights"].W.copy()


def test_start_pause_step_batch_then_step_epoch(qtbot, window):
    bpe = window.info.batches_per_epoch
    window.toggle_run()  # Start
    wait_state(qtbot, window, State.RUNNING)
    qtbot.waitUntil(lambda: window.step >= 3, timeout=20_000)
    window.toggle_run()  # Pause
    wait_state(qtbot, window, State.PAUSED)
    qtbot.waitUntil(lambda: window.step == window.worker.session.step, timeout=10_000)  # the view catches up
    before, w_before = window.step, shown_weights(window)

    window.step_batch()
    qtbot.waitUntil(lambda: window.step != before, timeout=10_000)
    qtbot.wait(150)  # nothing else may arrive
    assert window.step == before + 1
    assert window.worker.session.step == before + 1
    assert not np.array_equal(shown_weights(window), w_before)
    assert window.state == State.PAUSED

    epoch = window.worker.session.epoch
    window.step_epoch()  # from mid-epoch: to the end of this epoch, exactly one epoch counted
    qtbot.waitUntil(lambda: window.worker.session.epoch == epoch + 1 and window.state == State.PAUSED,
                    timeout=20_000)
    assert window.worker.session.batch == 0
    qtbot.waitUntil(lambda: window.step == (epoch + 1) * bpe, timeout=10_000)

    window.step_epoch()  # from an epoch boundary: exactly bpe batches
    qtbot.waitUntil(lambda: window.worker.session.epoch == epoch + 2 and window.state == State.PAUSED,
                    timeout=20_000)
    qtbot.waitUntil(lambda: window.step == (epoch + 2) * bpe, timeout=10_000)
    assert window.controls.progress.value() > 0


def test_curves_weights_and_confusion_follow_training(qtbot, window, data):
    curves, weights, confusion = (window.panels[k] for k in ("curves", "weights", "confusion"))
    bpe = window.info.batches_per_epoch
    window.step_epoch()
    qtbot.waitUntil(lambda: curves.point_counts["epoch"] == 1, timeout=20_000)
    # panels redraw one per event-loop pass: wait for each, never for a fixed time (loaded CI machines)
    qtbot.waitUntil(lambda: confusion.matrix is not None and "epoch 1 " in confusion.caption.text(), timeout=20_000)
    image_1 = weights.grid_image.copy()
    assert confusion.matrix.sum() == len(data.valid)
    window.step_epoch()
    qtbot.waitUntil(lambda: curves.point_counts["epoch"] == 2, timeout=20_000)
    qtbot.waitUntil(lambda: curves.point_counts["batch"] == 2 * bpe and "epoch 2 " in confusion.caption.text()
                    and not np.allclose(image_1, weights.grid_image, equal_nan=True), timeout=20_000)
    # the curve is drawn on a later event-loop pass than the data arrives: wait for the drawing
    qtbot.waitUntil(lambda: len(curves.train_loss_curve.getData()[0]) == 2, timeout=10_000)
    image_2 = weights.grid_image
    assert image_1.shape == image_2.shape == (8 * 33 - 1, 8 * 33 - 1)  # 64 units as 8 x 8 tiles
    assert not np.allclose(image_1, image_2, equal_nan=True)
    (x0, x1), (y0, y1) = weights.grid_box.viewRange()  # the whole grid is in view, not a corner of it
    assert x0 <= 1 and x1 >= image_2.shape[1] - 1 and x1 - x0 < 1.2 * image_2.shape[1]
    assert confusion.matrix.sum() == len(data.valid)
    # the numbers shown are the engine's
    hist = window.worker.session.history.epochs
    assert curves.valid_loss.values[-1] == hist[-1].valid_loss
    assert str(2) in confusion.caption.text()


def test_confusion_cell_click_lists_its_samples(qtbot, window):
    confusion = window.panels["confusion"]
    window.step_epoch()
    qtbot.waitUntil(lambda: confusion.matrix is not None, timeout=20_000)
    i, j = confusion.most_confused() or (0, 0)
    center = confusion.view.cell_rect(i, j).center()
    qtbot.mouseClick(confusion.view, Qt.MouseButton.LeftButton, pos=center)
    assert confusion.view.selected == (i, j)
    assert confusion.samples.count() == min(int(confusion.matrix[i, j]), 200)
    classes = window.info.classes
    assert f"true {classes[i]}" in confusion.samples_title.text()
    if confusion.samples.count():
        assert f"{classes[i]} \u2192 {classes[j]}" in confusion.samples.item(0).text()


def test_weight_tiles_hover_and_click_enlarge(qtbot, window):
    weights = window.panels["weights"]
    assert weights.unit_at(0, 0) == 0
    assert weights.unit_at(33 * 2 + 5, 33 * 1 + 5) == 8 + 2  # row 1, column 2 of the 8 x 8 grid
    assert weights.unit_at(32.5, 3) is None  # the gap between tiles
    weights.select(10)
    assert weights.zoom_item.image is not None and weights.zoom_item.image.shape == (32, 32)
    assert "unit 10" in weights.zoom_title.text
    assert weights.highlight.isVisible()


def test_updates_are_throttled(qtbot, make_window):
    window = make_window(TrainConfig(epochs=100_000, batch_size=8))
    stamps = []
    window.worker.updated.connect(lambda u: stamps.append(time.perf_counter()))
    window.toggle_run()
    qtbot.waitUntil(lambda: window.step > 30, timeout=20_000)
    stamps.clear()
    qtbot.wait(1000)
    window.worker.pause()
    wait_state(qtbot, window, State.PAUSED)
    assert 1 <= len(stamps) <= 33, len(stamps)  # <= 30 Hz (+ slack for timer granularity)


def test_divergence_pauses_and_shows_the_diagnosis(qtbot, make_window):
    window = make_window(TrainConfig(lr=100, epochs=50))  # the example
    window.toggle_run()
    wait_state(qtbot, window, State.DIVERGED)
    diagnosis = window.worker.session.message
    assert "lower the learning rate" in diagnosis
    assert window.controls.message.isVisible() and window.controls.message.text() == diagnosis
    assert "DIVERGED" in window.controls.state_label.text()
    assert window.error_box is not None and diagnosis in window.error_box.text()
    assert not window.actions["start"].isEnabled()
    assert window.worker.thread.isRunning()  # the app keeps working: reset with a sane lr trains again
    window.controls.lr.setValue(3e-3)
    window.reset()
    wait_state(qtbot, window, State.IDLE)
    window.step_batch()
    qtbot.waitUntil(lambda: window.step == 1, timeout=10_000)


def test_deep_sigmoid_net_says_gradients_vanish(qtbot, make_window):
    window = make_window(TrainConfig(hidden=(64, 64, 64, 64), activation="sigmoid"))
    gradients = window.panels["gradients"]
    window.step_epoch()
    qtbot.waitUntil(lambda: "Vanishing" in gradients.words.text(), timeout=20_000)  # drawn
    text = gradients.words.text()
    assert "Vanishing gradients" in text
    assert "layer1 gradients are" in text and "smaller than the output layer's" in text
    assert "% of its sigmoid units are saturated" in text
    ratio = float(text.split("layer1 gradients are ")[1].split("\u00d7")[0].replace(",", ""))
    assert ratio >= 10
    # the table shows the numbers behind the words, per layer
    assert gradients.table.rowCount() == 5
    assert "smaller" in gradients.table.item(0, 2).text()
    assert len(gradients.curves) == 5 and len(gradients.hist_curves) == 4


def test_shallow_net_reports_healthy_gradients(qtbot, window):
    gradients = window.panels["gradients"]
    window.step_epoch()
    qtbot.waitUntil(lambda: "Every layer" in gradients.words.text(), timeout=20_000)  # drawn
    assert gradients.report == []
    assert "Every layer is receiving gradient" in gradients.words.text()


def test_keyboard_shortcuts(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5_000)
    window.panels["curves"].setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.step == 1, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.worker.session.epoch == 1 and window.state == State.PAUSED, timeout=20_000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    wait_state(qtbot, window, State.RUNNING)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    wait_state(qtbot, window, State.PAUSED)


def test_every_control_has_a_tooltip(window):
    from PyQt6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QProgressBar

    controls = window.findChildren((QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QProgressBar))
    ours = [w for w in controls if w.isVisible() and not w.objectName().startswith("qt_")]  # not Qt's internals
    missing = [w for w in ours if not w.toolTip() and not (hasattr(w, "defaultAction") and w.defaultAction())]
    assert len(ours) >= 14
    assert not missing, [(type(w).__name__, getattr(w, "text", lambda: "")()) for w in missing]
    for action in window.actions.values():
        assert action.toolTip()


def test_the_confusion_panel_and_the_report_name_the_same_most_confused_pairs_with_ties(qtbot, data, tmp_path):
    """Four pairs confused twice each: the window's caption and the report's "Most confused pairs" name the
    same ones, in the same order (ties in row-major order), because both ask engine.debug.confusion."""
    import re
    from types import SimpleNamespace

    from engine.report.data import save_checkpoint
    from engine.report.html import write_report
    from engine.training.session import TrainingSession
    from gui.panels.training.confusion import ConfusionPanel

    session = TrainingSession(data, TrainConfig(hidden=(8,), epochs=1))
    y = data.valid.y
    pred = y.copy()
    for true, wrong in ((8, 3), (5, 1), (2, 7), (0, 9)):  # tied at 2; row-major: 0->9, 2->7, 5->1, 8->3
        pred[np.flatnonzero(y == true)[:2]] = wrong
    pred[np.flatnonzero(y == 11)[:1]] = 4  # and one confused once
    session.valid_pred = pred
    save_checkpoint(tmp_path / "ties.npz", session)
    html = write_report(tmp_path / "ties.npz", tmp_path / "ties.html").read_text()
    named = re.findall(r'<div class="what"><b>(\S+) \u2192 (\S+)</b>: (\d+) times', html)
    c = data.classes
    assert named == [(c[0], c[9], "2"), (c[2], c[7], "2"), (c[5], c[1], "2"), (c[8], c[3], "2"), (c[11], c[4], "1")]

    panel = ConfusionPanel()
    qtbot.addWidget(panel)
    panel.on_session(SimpleNamespace(generation=1, classes=c, epoch=1, confusion=session.confusion(), script=""))
    shown = re.findall(r"(\S+)\u2192(\S+) \((\d+)\)", panel.caption.text())
    assert shown == named[:3]  # the window names the report's first three, in its order
    assert panel.most_confused() == (0, 9)


def test_gradient_ratios_are_said_in_words_that_mean_something():
    from gui.panels.training.gradients import versus

    assert versus(2.9) == "2.9\u00d7 smaller than" and versus(120.0, short=True) == "120.0\u00d7 smaller"
    assert versus(1.1) == "about as large as" and versus(0.9, short=True) == "about the same"  # not "1.1x below"
    assert versus(0.25) == "4.0\u00d7 larger than"
