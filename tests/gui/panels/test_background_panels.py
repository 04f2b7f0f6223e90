"""Background work in the window (side-by-side experiments, the autoencoder) and exports."""
from __future__ import annotations

import json

import numpy as np
import pyqtgraph as pg
import pytest

from engine.training.autoencoder import AutoencoderConfig
from engine.training.experiments import PRESETS
from engine.training.runlog import load_csv, load_json
from engine.training.session import State
from gui.widgets import export


def wait_state(qtbot, window, *states, timeout=20_000):
    qtbot.waitUntil(lambda: window.state in states, timeout=timeout)


# ---- experiments ------------------------------------------------------------------------------------

def test_preset_runs_side_by_side_and_ends_with_the_finding(qtbot, window):
    panel = window.show_panel("experiments")
    panel.run_preset("learning-rate", 2)
    qtbot.waitUntil(lambda: bool(panel.finding), timeout=30_000)
    exp = window.worker.experiments.exp
    assert [r.name for r in exp.runs] == list(PRESETS["learning-rate"].configs)
    assert panel.finding == exp.finding() and panel.finding in panel.finding_label.text()
    bpe = exp.runs[0].session.batches_per_epoch
    assert panel.curve_counts == {r.name: 2 * bpe for r in exp.runs}  # every batch of every run
    assert {r.status for r in panel.runs.values()} == {"finished"}
    qtbot.waitUntil(lambda: all(items["valid_loss"].xData is not None and len(items["valid_loss"].xData) == 2
                                for items in panel.items.values()), timeout=5_000)  # drawn
    colors = {panel.items[n]["valid_loss"].opts["pen"].color().name() for n in panel.runs}
    assert len(colors) == 3  # one color per run, named in the legend
    assert len(panel.legend.items) == 3
    panel.set_visible("lr 0.0003", False)  # a run can be hidden
    qtbot.waitUntil(lambda: not panel.items["lr 0.0003"]["valid_loss"].isVisible(), timeout=5_000)
    assert panel.items["lr 0.03"]["valid_loss"].isVisible()


def test_runs_pause_and_stop_one_by_one_and_share_the_cpu_with_training(qtbot, window):
    panel = window.show_panel("experiments")
    panel.run_preset("depth", 200)
    qtbot.waitUntil(lambda: len(panel.runs) == 4 and all(r.step > 5 for r in panel.runs.values()), timeout=20_000)
    names = list(panel.runs)
    window.worker.experiments.pause_run(names[0])
    window.worker.experiments.stop_run(names[1])
    qtbot.waitUntil(lambda: panel.runs[names[0]].status == "paused" and panel.runs[names[1]].status == "stopped",
                    timeout=10_000)
    held = {n: panel.runs[n].step for n in names[:2]}
    window.toggle_run()  # the main session trains at the same time
    wait_state(qtbot, window, State.RUNNING)
    moving = panel.runs[names[2]].step
    qtbot.waitUntil(lambda: window.step > 20 and panel.runs[names[2]].step > moving + 20, timeout=20_000)
    window.toggle_run()
    wait_state(qtbot, window, State.PAUSED)
    assert {n: window.worker.experiments.exp[n].session.step for n in names[:2]} == held
    assert panel.table.cellWidget(0, 5).text() == "Resume"
    window.worker.experiments.stop()
    qtbot.waitUntil(lambda: bool(panel.finding), timeout=10_000)  # a finding from the runs so far
    assert {panel.runs[n].status for n in names} <= {"stopped", "paused"} or "stopped" in panel.runs[names[2]].status


# ---- the autoencoder ---------------------------------------------------------------------------------

def test_autoencoder_tab_shows_reconstructions_and_psnr(qtbot, window):
    panel = window.show_panel("autoencoder")
    window.worker.autoencoder.start(AutoencoderConfig(epochs=1000, min_train=0, batch_size=16))
    qtbot.waitUntil(lambda: panel.state == State.RUNNING or len(panel.epochs) > 0, timeout=10_000)
    qtbot.waitUntil(lambda: len(panel.epochs) >= 1, timeout=30_000)
    panel.toggle()  # pause, like the main training's Start/Pause
    qtbot.waitUntil(lambda: panel.state != State.RUNNING, timeout=10_000)
    session = window.worker.autoencoder.session
    epochs = session.history.epochs
    assert session.net.sizes == [1024, 32, 32, 32, 1024]
    qtbot.waitUntil(lambda: len(panel.epochs) == len(epochs), timeout=5_000)
    assert panel.shown_psnr == pytest.approx(epochs[-1].valid_acc)
    assert f"validation PSNR {epochs[-1].valid_acc:.2f} dB" in panel.summary.text()
    r = panel.recon
    classes = len(window.info.classes)
    assert len(r.labels) == 2 * classes and r.originals.shape == r.outputs.shape == (2 * classes, 32, 32)
    qtbot.waitUntil(lambda: panel.image is not None, timeout=5_000)  # drawn
    assert np.isfinite(panel.image).sum() == 2 * (2 * classes) * 32 * 32  # pairs
    assert panel.x.n == session.step
    qtbot.waitUntil(lambda: len(panel.valid_psnr.xData) == len(epochs), timeout=5_000)  # drawn
    assert panel.start_button.text() == "Resume"
    panel.toggle()
    qtbot.waitUntil(lambda: session.step > panel.x.n - 1 and panel.state == State.RUNNING, timeout=10_000)
    window.worker.autoencoder.pause()
    qtbot.waitUntil(lambda: panel.state != State.RUNNING, timeout=10_000)
    # a new main session (Reset) must not leave the autoencoder's x axis at the fresh 0..1 range
    before = window.info
    window.reset()
    qtbot.waitUntil(lambda: window.info is not before, timeout=10_000)
    qtbot.waitUntil(lambda: panel.x_range.range is not None and panel.x_range.range[1] >= panel.x.values[-1],
                    timeout=5_000)


# ---- exports -------------------------------------------------------------------------------------------

def test_every_plot_exports_png_and_csv(qtbot, window, tmp_path):
    window.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 1 and window.state == State.PAUSED, timeout=20_000)
    qtbot.waitUntil(lambda: window.panels["curves"].point_counts["epoch"] == 1, timeout=10_000)
    for key, panel in window.panels.items():
        if not panel.findChildren(pg.GraphicsView):
            continue  # a panel without a plot (the Draw canvas) has nothing to export
        assert export.targets(panel), f"{key} has no exportable plot"
        for target in export.targets(panel):
            assert export.menu_texts(target)[-2:] == ["Export plot as PNG\u2026", "Export data as CSV\u2026"]
    loss_plot = window.panels["curves"].loss_plot
    curve = window.panels["curves"].valid_loss_curve  # drawn on a later event-loop pass than the data comes
    qtbot.waitUntil(lambda: curve.getData()[0] is not None and len(curve.getData()[0]) == 1, timeout=10_000)
    png = export.export_png(loss_plot, tmp_path / "loss.png")
    assert png.stat().st_size > 2000
    export.export_csv(loss_plot, tmp_path / "loss.csv")
    cols = load_csv(tmp_path / "loss.csv")
    history = window.worker.session.history
    assert cols["batch y"] == pytest.approx(history.batch_loss)
    assert cols["valid y"] == pytest.approx([e.valid_loss for e in history.epochs])
    qtbot.waitUntil(lambda: window.panels["gradients"].bars is not None, timeout=5_000)  # drawn
    bars = export.columns(window.panels["gradients"].sat_plot)
    assert "bar height" in bars
    confusion = window.panels["confusion"]
    export.export_png(confusion.view, tmp_path / "confusion.png")
    export.export_csv(confusion.view, tmp_path / "confusion.csv")
    cm = load_csv(tmp_path / "confusion.csv")
    assert np.array_equal(np.array([cm[f"predicted {c}"] for c in window.info.classes]).T, confusion.matrix)


def test_run_log_exports_to_json_and_reopens_for_viewing(qtbot, window, tmp_path):
    window.step_epoch()
    qtbot.waitUntil(lambda: window.worker.session.epoch == 1 and window.state == State.PAUSED, timeout=20_000)
    path = tmp_path / "run.json"
    window.worker.export_log(str(path))
    qtbot.waitUntil(path.exists, timeout=10_000)
    json.loads(path.read_text())  # strict JSON
    log = load_json(path)
    assert log.history.batch_loss == pytest.approx(window.worker.session.history.batch_loss)

    window.open_path(str(path))  # File > Open run log, or a drop
    panel = window.panels["experiments"]
    qtbot.waitUntil(lambda: any(not r.live for r in panel.runs.values()), timeout=10_000)
    assert window.workspaces.current == "experiments" and window.workspaces.visible_panel("experiments")
    run = next(r for r in panel.runs.values() if not r.live)
    assert run.name.endswith("(log)") and run.status == "log"
    assert run.x.n == len(log.history.batch_loss) and len(run.epochs) == 1

    (tmp_path / "broken.json").write_text("{ not json")
    window.open_path(str(tmp_path / "broken.json"))
    qtbot.waitUntil(lambda: "broken.json" in window.last_error, timeout=10_000)


def test_gradcheck_heatmap_csv_holds_the_raw_errors(qtbot, window, tmp_path):
    panel = window.panels["gradcheck"]
    panel.run_check()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=20_000)
    export.export_csv(panel.box, tmp_path / "errors.csv")
    cols = load_csv(tmp_path / "errors.csv")
    assert len(cols) == 64 and cols["unit 3"] == pytest.approx(panel.result.errors[:, 3].tolist())


def test_every_control_of_the_new_panels_has_a_tooltip(qtbot, window):
    from PyQt6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QProgressBar, QSlider

    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QProgressBar, QSlider)
    for key in ("watchpoints", "timeline", "experiments", "gradcheck", "autoencoder"):
        panel = window.show_panel(key)
        qtbot.waitUntil(panel.isVisible, timeout=5_000)
        controls = [w for w in panel.findChildren(kinds) if w.isVisible() and not w.objectName().startswith("qt_")]
        assert len(controls) >= 4, key
        missing = [w for w in controls if not w.toolTip() and w.parent().toolTip() == ""]
        assert not missing, (key, [(type(w).__name__, getattr(w, "text", lambda: "")()) for w in missing])
