"""The OCR tab reads its page as a job on the worker's scheduler: pausing, resuming and stopping it from the
GUI side, and a parameter change while a job is paused starts over from the changed stage."""
from __future__ import annotations

import threading

import pytest
from PIL import Image
from PyQt6.QtCore import QSettings

from engine.data.pages import render_page
from engine.training.jobs import JobState
from gui.panels.ocr.panel import OcrPanel

LINES = ["PAUSE 7", "STOP"]


@pytest.fixture
def panel(qtbot, tmp_path):
    img, _ = render_page(LINES, seed=5, size=(300, 560), char_height=64)
    Image.fromarray(img).save(tmp_path / "page.png")
    p = OcrPanel(settings=QSettings(str(tmp_path / "ocr.ini"), QSettings.Format.IniFormat))
    p.autoload = False
    qtbot.addWidget(p)
    p.resize(1200, 760)
    p.show()
    p.open_path(str(tmp_path / "page.png"))
    qtbot.waitUntil(lambda: p.idle and p.view is not None, timeout=20_000)
    yield p
    p.shutdown()


def hold(panel) -> threading.Event:
    """Keep the worker thread busy until the event is set, so the commands sent meanwhile queue up in order
    (a pause sent after a change then reaches the job before its first stage)."""
    release = threading.Event()
    panel.runner.worker.send(lambda: release.wait(10))
    return release


def job_state(panel):
    """The job's state as the worker thread sees it (asked in that thread)."""
    worker = panel.runner.worker
    return worker.call_and_wait(lambda: None if panel.runner.job is None else
                                (panel.runner.job.state, panel.runner.job.done))[0]


def test_pause_then_resume_a_reading(qtbot, panel):
    assert panel.result.lines == LINES and panel.runner.job is None  # a finished job leaves the scheduler
    generation, views = panel.view.generation, []
    panel.runner.view.connect(views.append)
    release = hold(panel)
    panel.set_param("threshold", "method", "manual")
    panel.pause_reading()  # queued behind the command: the job is paused before its first stage runs
    release.set()
    state, done = job_state(panel)
    assert state == JobState.PAUSED and done == 0 and not panel.idle and views == []
    assert "paused" in panel.status.text()
    qtbot.wait(200)
    assert views == [] and job_state(panel)[0] == JobState.PAUSED  # nothing runs while paused
    panel.resume_reading()
    qtbot.waitUntil(lambda: panel.idle and len(views) == 1, timeout=20_000)
    assert panel.view.params["threshold"]["method"] == "manual" and panel.view.generation == generation
    assert panel.view.ran[0] == "threshold" and panel.view.error == ""
    assert job_state(panel) is None


def test_stop_shows_what_was_reached_and_the_next_change_reads_again(qtbot, panel):
    names = [s.name for s in panel.stages]
    panel.go_stage(names.index("threshold"))
    qtbot.waitUntil(lambda: panel.idle and panel.view.stage == "threshold", timeout=20_000)
    release = hold(panel)
    panel.set_param("denoise", "sigma", 1.5)
    panel.pause_reading()
    release.set()
    assert job_state(panel)[0] == JobState.PAUSED
    qtbot.waitUntil(lambda: panel.stop_button.isEnabled())
    panel.stop_button.click()
    qtbot.waitUntil(lambda: panel.idle and "stopped" in panel.view.error, timeout=20_000)
    assert "stopped" in panel.status.text() and job_state(panel) is None and not panel.stop_button.isEnabled()
    assert "denoise" not in panel.view.timings and "text" not in panel.view.timings  # nothing ran after
    assert panel.view.image is None and panel.result is None
    panel.set_param("denoise", "sigma", 1.0)  # the next change reads the page again
    qtbot.waitUntil(lambda: panel.idle and panel.view.error == "" and panel.result is not None, timeout=20_000)
    assert panel.result.lines == LINES and set(panel.view.timings) == set(names)


def test_a_change_while_paused_starts_over_from_the_changed_stage(qtbot, panel):
    release = hold(panel)
    panel.set_param("threshold", "method", "manual")
    panel.pause_reading()
    release.set()
    assert job_state(panel)[0] == JobState.PAUSED
    panel.set_param("denoise", "sigma", 1.2)  # a new command replaces the paused job
    qtbot.waitUntil(lambda: panel.idle and panel.view.params["denoise"]["sigma"] == pytest.approx(1.2),
                    timeout=20_000)
    names = [s.name for s in panel.stages]
    assert panel.view.ran == names[names.index("denoise"):] and panel.result.lines == LINES
