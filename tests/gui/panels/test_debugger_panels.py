"""The debugger views in the window: watchpoints, time travel and branching, the gradient check."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from engine.debug.timeline import view
from engine.nn.activations import ACTIVATIONS
from engine.training.session import BatchEvent, State, TrainConfig, TrainingSession


def wait_state(qtbot, window, *states, timeout=20_000):
    qtbot.waitUntil(lambda: window.state in states, timeout=timeout)


# ---- watchpoints ----------------------------------------------------------------------------------

def test_watchpoint_pauses_at_the_first_batch_where_it_holds(qtbot, make_window, data):
    config = TrainConfig(epochs=3)
    # the same run without a window: where does the batch loss first go under its median?
    probe = TrainingSession(data, config)
    losses = []
    probe.subscribe(lambda e: isinstance(e, BatchEvent) and losses.append(e.loss))
    probe.run(max_batches=2 * probe.batches_per_epoch)
    threshold = float(np.median(losses))
    expr = f"loss < {threshold!r}"
    first = next(i for i, v in enumerate(losses) if v < threshold) + 1
    assert first > 1
    reference = TrainingSession(data, config)
    reference.run(max_batches=first)

    window = make_window(config)
    panel = window.panels["watchpoints"]
    window.actions["watch"].trigger()  # Ctrl+B
    qtbot.keyClicks(panel.edit, expr)
    qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(panel.watches) == 1, timeout=10_000)
    assert panel.edit.text() == "" and panel.table.item(0, 1).text() == "armed"

    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.PAUSED and bool(window.message), timeout=20_000)
    qtbot.waitUntil(lambda: panel.marker_steps == [first], timeout=10_000)
    session = window.worker.session
    assert session.step == first and f"at step {first} \u00b7 epoch" in session.message
    # highlighted: status bar, the panel's banner and row, a marker on the plot of the watched value
    assert session.message in window.statusBar().currentMessage()
    assert panel.banner.isVisible() and f"step {first}" in panel.banner.text()
    epoch = (first - 1) // session.batches_per_epoch + 1
    assert panel.table.item(0, 1).text().startswith(f"hit at step {first} \u00b7 epoch {epoch}/3 \u00b7 batch ")
    assert panel.table.item(0, 0).background().color().name() == "#fdd9d5"
    assert window.workspaces.visible_panel("watchpoints")  # its workspace was brought to the front
    qtbot.waitUntil(lambda: panel.hits_item.getData()[0] is not None and len(panel.hits_item.getData()[0]) == 1,
                    timeout=5_000)  # drawn
    x, y = panel.hits_item.getData()
    assert x[0] == pytest.approx(first / session.batches_per_epoch) and y[0] < threshold
    # the other panels show the network as it is at that batch
    qtbot.waitUntil(lambda: window.step == first, timeout=10_000)
    assert np.array_equal(window.panels["weights"].W, reference.net.layers[0].W)
    assert window.panels["curves"].point_counts["batch"] == first
    assert window.panels["confusion"].matrix is not None  # at these weights, even mid-epoch

    window.toggle_run()  # resuming does not stop again at once: the watchpoint re-arms when the loss goes back up
    qtbot.waitUntil(lambda: window.worker.session.step > first + 1 or window.state != State.RUNNING, timeout=10_000)


def test_bad_watchpoints_are_explained_inline(qtbot, window):
    panel = window.panels["watchpoints"]
    panel.edit.setText("loss >")
    assert "\u2716" in panel.feedback.text() and not panel.add_button.isEnabled()  # checked as you type
    panel.edit.setText("grad(layer9) < 1e-6")
    assert panel.add_button.isEnabled()  # the syntax is fine; the layer is checked against the session
    panel.add_current()
    qtbot.waitUntil(lambda: "no layer 'layer9'" in panel.feedback.text(), timeout=10_000)
    assert panel.watches == [] and "layer1, output" in panel.feedback.text()
    panel.edit.setText("saturation(layer1) > 90%")
    panel.add_current()
    qtbot.waitUntil(lambda: len(panel.watches) == 1, timeout=10_000)
    panel.remove_selected()
    qtbot.waitUntil(lambda: panel.watches == [], timeout=10_000)
    assert window.worker.session.checks == []


# ---- time travel ----------------------------------------------------------------------------------

@pytest.fixture
def trained(qtbot, make_window):
    window = make_window(TrainConfig(epochs=50))
    window.worker.reset(TrainConfig(epochs=50, snapshot_every=5))  # (the form has no field for it)
    qtbot.waitUntil(lambda: window.worker.session.config.snapshot_every == 5, timeout=10_000)
    window.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 1 and window.state == State.PAUSED, timeout=20_000)
    window.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 2 and window.state == State.PAUSED, timeout=20_000)
    qtbot.waitUntil(lambda: len(window.panels["timeline"].steps) == len(window.worker.session.snapshots),
                    timeout=10_000)
    return window


def test_scrubbing_shows_the_run_as_it_was(qtbot, trained):
    window, timeline = trained, trained.panels["timeline"]
    session = window.worker.session
    live_w = session.net.layers[0].W.copy()
    assert timeline.slider.value() == timeline.slider.maximum()  # live
    i = 2
    timeline.go_index(i)
    step = timeline.steps[i]
    qtbot.waitUntil(lambda: window.info.view_step == step, timeout=10_000)
    qtbot.waitUntil(lambda: window.panels["curves"].point_counts["batch"] == step, timeout=10_000)
    snap = session.snapshots[i]
    past = view(session, i)
    assert np.array_equal(window.panels["weights"].W, snap.params["layer1.W"])
    assert not np.array_equal(window.panels["weights"].W, live_w)
    assert np.array_equal(window.panels["confusion"].matrix, past.confusion)
    assert window.panels["gradients"].stats["layer1"].grad_mean_abs == pytest.approx(past.layers["layer1"].grad_mean_abs)
    assert "Viewing the past" in timeline.where.text() and f"step {step}" in window.status_past.text()
    assert window.step == session.step  # the session itself did not move

    timeline.live()
    qtbot.waitUntil(lambda: window.info.view_step is None, timeout=10_000)
    qtbot.waitUntil(lambda: window.panels["curves"].point_counts["batch"] == session.step, timeout=10_000)
    assert np.array_equal(window.panels["weights"].W, live_w)
    assert not window.status_past.isVisible()


def test_branching_keeps_both_histories_on_the_plot(qtbot, trained):
    window, timeline = trained, trained.show_panel("timeline")  # (a hidden tab redraws when it is shown)
    original = window.worker.session
    before = list(original.history.batch_loss)
    bpe = original.batches_per_epoch
    timeline.go_step(bpe)  # the end of epoch 1
    qtbot.waitUntil(lambda: window.info.view_step == bpe, timeout=10_000)
    timeline.lr.setValue(0.05)
    timeline.branch_here()
    qtbot.waitUntil(lambda: len(timeline.branches) == 2 and window.info.branch == "branch 1", timeout=10_000)
    branch = window.worker.session
    assert branch is not original and branch.step == bpe and branch.config.lr == 0.05
    window.step_epoch()
    qtbot.waitUntil(lambda: branch.epoch == 2 and window.state == State.PAUSED, timeout=20_000)
    qtbot.waitUntil(lambda: timeline.curve_lengths.get("branch 1") == 2 * bpe, timeout=10_000)
    assert timeline.curve_lengths["main"] == len(before)  # the original stays on the plot, untouched
    assert original.history.batch_loss == before
    assert branch.history.batch_loss[:bpe] == before[:bpe] and branch.history.batch_loss[bpe:] != before[bpe:]
    assert "branch 1" in window.windowTitle()
    # switch back: the panels follow the original again
    timeline.switch("main")
    qtbot.waitUntil(lambda: window.worker.session is original, timeout=10_000)
    qtbot.waitUntil(lambda: window.panels["curves"].point_counts["batch"] == len(before), timeout=10_000)


def test_snapshot_memory_cap(qtbot, trained):
    window, timeline = trained, trained.panels["timeline"]
    session = window.worker.session
    per = sum(a.nbytes for a in session.net.params().values())
    n_before = len(session.snapshots)
    assert n_before > 4
    window.worker.timeline.set_cap(4 * per / 2 ** 20)
    qtbot.waitUntil(lambda: len(timeline.steps) <= 4, timeout=10_000)
    assert len(session.snapshots) <= 4 and session.snapshots[0].step == 0
    assert timeline.cap.value() == max(1, round(4 * per / 2 ** 20))
    assert f"{len(session.snapshots)} snapshots" in timeline.memory.text()
    window.worker.timeline.set_cap(per / 2 ** 20)  # too small: refused with the reason
    qtbot.waitUntil(lambda: "fewer than 3 snapshots" in window.last_error, timeout=10_000)


# ---- gradient check -------------------------------------------------------------------------------

def test_gradient_check_heatmap_flags_a_broken_backward_pass(qtbot, window, monkeypatch):
    panel = window.panels["gradcheck"]
    window.actions["gradcheck"].trigger()  # Ctrl+G: the first layer of the current network
    qtbot.waitUntil(lambda: panel.result is not None, timeout=20_000)
    good = panel.result
    assert good.passed and panel.badge.text() == "PASS" and good.max_error < 1e-3
    assert good.errors.shape == (1024, 64) and good.tiles
    qtbot.waitUntil(lambda: panel.image is not None, timeout=5_000)
    assert panel.image.shape == (8 * 33 - 1, 8 * 33 - 1)  # 64 units as 8 x 8 tiles of 32 x 32
    assert panel.progress.value() == panel.progress.maximum() == 64

    forward, _ = ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(ACTIVATIONS, "sigmoid", (forward, lambda a, g: g * a))  # forgot the (1 - a)
    panel.run_check()
    qtbot.waitUntil(lambda: panel.result is not good, timeout=20_000)
    bad = panel.result
    assert not bad.passed and panel.flagged and panel.badge.text() == "FAIL"
    assert bad.max_error > 0.1 and bad.over > 1000
    assert "FAIL" in panel.badge.text() and f"{bad.max_error:.2e}" in panel.summary.text()
    qtbot.waitUntil(lambda: np.nanmax(panel.image) > -1, timeout=5_000)  # the heatmap is hot where it is wrong

