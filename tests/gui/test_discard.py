"""Nothing is discarded silently: Reset, Retrain with edits and opening another file ask before a trained,
unsaved model is replaced (and a file is read before the question); Retrain trains at once; after time
travel the quit dialog and every counter name the same moment, also after Cancel."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtWidgets import QMessageBox

from engine.training.position import moment
from engine.training.session import State, TrainConfig

Button = QMessageBox.StandardButton


@pytest.fixture
def answer(monkeypatch):
    """answer(Button.X): the next questions get that answer; returns the list of the questions asked from now."""
    def set_answer(button):
        asked = []
        monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: (asked.append(a), button)[1]))
        return asked
    return set_answer


def trained_some(qtbot, window, batches: int = 3) -> int:
    for _ in range(batches):
        window.step_batch()
    qtbot.waitUntil(lambda: window.step == batches, timeout=10_000)
    return batches


def test_reset_asks_when_the_trained_model_is_not_saved(qtbot, window, answer, tmp_path):
    trained_some(qtbot, window)
    session = window.worker.session
    asked = answer(Button.Cancel)
    window.actions["reset"].trigger()  # Ctrl+R, the button
    assert len(asked) == 1 and "Reset" in asked[0][1] and "3 batches" in asked[0][2]
    qtbot.wait(200)  # (nothing to wait for: Cancel sends nothing)
    assert window.worker.session is session and window.step == 3
    answer(Button.Discard)
    window.reset()
    qtbot.waitUntil(lambda: window.worker.session is not session and window.step == 0, timeout=10_000)
    # a saved model is not discarded by a reset: no question
    trained_some(qtbot, window, 1)
    window.worker.save_checkpoint(str(tmp_path / "kept.npz"))
    qtbot.waitUntil(lambda: not window.dirty, timeout=10_000)
    asked = answer(Button.Cancel)
    window.reset()
    qtbot.waitUntil(lambda: window.step == 0, timeout=10_000)
    assert asked == []


def test_reset_save_first_saves_then_resets(qtbot, window, answer, tmp_path):
    trained_some(qtbot, window)
    window.checkpoint_path = str(tmp_path / "before_reset.npz")  # where Save goes without a file dialog
    answer(Button.Save)
    window.reset()
    qtbot.waitUntil(lambda: window.step == 0, timeout=10_000)
    from engine.training.checkpoint import load_session
    assert load_session(tmp_path / "before_reset.npz", window.worker.session.data).step == 3


def test_retrain_asks_then_trains_on_the_edited_data(qtbot, window, answer):
    trained_some(qtbot, window)
    top = window.show_panel("top_losses")
    qtbot.waitUntil(lambda: top.widget.top is not None and top.widget.grid.count() > 0, timeout=20_000)
    session, n = window.worker.session, len(window.worker.session.data.train)
    top.widget.grid.setCurrentRow(0)
    top.widget.drop_current()
    asked = answer(Button.Cancel)
    top.widget.retrain_button.click()
    assert len(asked) == 1 and "Retrain" in asked[0][1] and "(edited)" in asked[0][2]
    qtbot.wait(200)
    assert window.worker.session is session  # kept
    answer(Button.Discard)
    top.widget.retrain_button.click()
    qtbot.waitUntil(lambda: window.worker.session is not session, timeout=20_000)
    assert len(window.worker.session.data.train) == n - 1
    qtbot.waitUntil(lambda: window.step > 0, timeout=20_000)  # it trains: no Space needed
    window.worker.pause()


def test_a_file_is_read_before_anything_is_discarded_for_it(qtbot, window, answer, tmp_path, data):
    trained_some(qtbot, window)
    session = window.worker.session
    bad = tmp_path / "random.npz"
    bad.write_bytes(np.random.default_rng(0).bytes(4000))
    asked = answer(Button.Discard)
    window.open_data(str(bad))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=10_000)
    assert asked == [] and window.worker.session is session  # no question for a file that cannot be used
    # one line, the file's name, what is wrong with it in plain words
    assert window.last_error.startswith("random.npz: ") and "Error" not in window.last_error
    assert "allow_pickle" not in window.last_error and "\n" not in window.last_error
    good = tmp_path / "good.npz"
    np.savez(good, x_train=data.train.x, y_train=data.train.y, x_valid=data.valid.x, y_valid=data.valid.y)
    asked = answer(Button.Cancel)
    window.open_data(str(good))
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=10_000)  # read, then asked
    assert "good.npz" in asked[0][2]
    qtbot.wait(200)
    assert window.worker.session is session
    answer(Button.Discard)
    window.open_data(str(good))
    qtbot.waitUntil(lambda: window.worker.session is not session, timeout=10_000)


def test_the_same_broken_file_reads_the_same_wherever_it_is_opened(qtbot, window, tmp_path):
    bad = tmp_path / "random.npz"
    bad.write_bytes(np.random.default_rng(1).bytes(4000))
    words = set()
    for opener in (lambda: window.open_data(str(bad)), lambda: window.open_path(str(bad)),
                   lambda: window.load_checkpoint(str(bad))):
        window.last_error = ""
        opener()
        qtbot.waitUntil(lambda: window.last_error != "", timeout=10_000)
        words.add(window.last_error)
    assert len(words) == 1, words


@pytest.fixture
def travelled(qtbot, make_window):
    window = make_window(TrainConfig(epochs=50))
    window.worker.reset(TrainConfig(epochs=50, snapshot_every=5))
    qtbot.waitUntil(lambda: window.worker.session.config.snapshot_every == 5, timeout=10_000)
    window.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 1 and window.state == State.PAUSED, timeout=20_000)
    window.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 2 and window.state == State.PAUSED, timeout=20_000)
    timeline = window.panels["timeline"]
    qtbot.waitUntil(lambda: len(timeline.steps) == len(window.worker.session.snapshots), timeout=10_000)
    timeline.go_index(2)
    step = timeline.steps[2]
    qtbot.waitUntil(lambda: window.info.view_step == step, timeout=10_000)
    return window, step


def test_counters_agree_after_time_travel_and_a_cancelled_quit(qtbot, travelled, answer):
    window, step = travelled
    live = window.worker.session.step
    bpe, epochs = window.info.batches_per_epoch, 50
    shown = moment(step, bpe, epochs)

    def agree():
        assert window.status_pos.text() == "\u21b6 " + shown
        assert moment(step, bpe, epochs).split(" \u00b7 ", 1)[1] in window.controls.progress.format()
        assert shown in window.panels["timeline"].where.text()
        assert window.step == live  # the session itself did not move

    agree()
    asked = answer(Button.Cancel)
    window.close()
    assert window.isVisible() and len(asked) == 1
    text = asked[0][2]
    assert f"It has trained {live:,} batches ({moment(live, bpe, epochs)})" in text
    assert f"The panels show the past: {shown}." in text
    qtbot.wait(300)  # (any late position message would arrive now)
    agree()


def test_a_checkpoint_round_trip_keeps_the_edits_and_the_gradient_figures(qtbot, window, data, tmp_path):
    top = window.show_panel("top_losses")
    qtbot.waitUntil(lambda: top.widget.top is not None and top.widget.grid.count() > 1, timeout=20_000)
    top.widget.grid.setCurrentRow(0)
    top.widget.label_picker.setCurrentIndex(0)
    top.widget.relabel_current()
    top.widget.grid.setCurrentRow(1)
    top.widget.drop_current()
    edits = top.widget.edits.as_json()
    top.widget.retrain()
    qtbot.waitUntil(lambda: window.worker.session.data.edited is not None and window.step > 0, timeout=20_000)
    window.worker.pause()
    qtbot.waitUntil(lambda: window.state == State.PAUSED, timeout=10_000)
    gradients = window.panels["gradients"]
    qtbot.waitUntil(lambda: len(gradients.x.values) == window.step and bool(gradients.stats), timeout=10_000)
    trained, curve = window.step, gradients.grads["layer1"].values.copy()
    path = tmp_path / "edited.npz"
    window.worker.save_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.checkpoint_path == str(path), timeout=10_000)

    window.worker.set_data(data)  # back to the data as loaded, nothing trained
    qtbot.waitUntil(lambda: window.step == 0 and window.worker.session.data is data, timeout=10_000)
    qtbot.waitUntil(lambda: "no batches yet" in gradients.words.text(), timeout=10_000)
    window.load_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.info.source == str(path), timeout=10_000)
    session = window.worker.session
    assert window.step == trained and session.data.edited.edits.as_json() == edits  # the edits came back
    assert len(session.data.train) == len(data.train) - 1 and session.data.name.endswith("(edited)")
    qtbot.waitUntil(lambda: len(gradients.x.values) == trained, timeout=10_000)  # not "no batches yet"
    assert np.allclose(gradients.grads["layer1"].values, curve)
    window.show_panel("gradients")  # (a hidden panel redraws when it is shown)
    qtbot.waitUntil(lambda: "no batches yet" not in gradients.words.text(), timeout=10_000)
    assert gradients.table.item(0, 1) is not None and gradients.histograms
    window.show_panel("top_losses")
    qtbot.waitUntil(lambda: top.widget.data is session.data, timeout=20_000)
    assert top.widget.edits.as_json() == edits  # and Top losses carries on with them
