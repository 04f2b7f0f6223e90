"""The job protocol in the window: pause / resume / step for every job type run by the worker, commands
kept in order (the autoencoder's lost pause), one position for every counter, pace control, and bugs
shown as bugs."""
from __future__ import annotations

import threading

import pytest

from engine.training.autoencoder import AutoencoderConfig
from engine.training.session import State


def in_worker(worker, fn, timeout=20.0):
    """Run ``fn`` in the worker thread after every command already sent, and return its result."""
    done, out = threading.Event(), []
    worker.send(lambda: (out.append(fn()), done.set()))
    assert done.wait(timeout), "the worker did not answer"
    return out[0]


def small_ae():
    return AutoencoderConfig(epochs=300, min_train=0, batch_size=64)


def test_autoencoder_pause_right_after_start_is_kept(qtbot, window):
    """Issue 11 item 7: after Pause, a queued Start set it running again and every batch trained."""
    ae = window.worker.autoencoder
    ae.start(small_ae())  # building the session takes a moment: the pause is sent while it is queued
    ae.pause()
    running, step = in_worker(window.worker, lambda: (ae.running, ae.session.step))
    assert not running
    later = in_worker(window.worker, lambda: ae.session.step)
    total = in_worker(window.worker, lambda: ae.session.config.epochs * ae.session.batches_per_epoch)
    assert later == step < total


def test_autoencoder_pause_resume_step(qtbot, window):
    panel = window.show_panel("autoencoder")
    ae = window.worker.autoencoder
    ae.start(small_ae())
    qtbot.waitUntil(lambda: panel.step > 3, timeout=20_000)
    ae.pause()
    qtbot.waitUntil(lambda: panel.state == State.PAUSED, timeout=10_000)
    held = in_worker(window.worker, lambda: ae.session.step)
    assert in_worker(window.worker, lambda: ae.session.step) == held
    ae.step()
    assert in_worker(window.worker, lambda: (ae.session.step, ae.running)) == (held + 1, False)
    ae.start()
    qtbot.waitUntil(lambda: panel.step > held + 3, timeout=20_000)
    ae.pause()
    qtbot.waitUntil(lambda: panel.state == State.PAUSED, timeout=10_000)


def test_experiment_pause_resume_step(qtbot, window):
    panel = window.show_panel("experiments")
    exps = window.worker.experiments
    panel.run_preset("learning-rate", 50)
    qtbot.waitUntil(lambda: len(panel.runs) == 3 and all(r.step > 3 for r in panel.runs.values()), timeout=20_000)
    exps.pause()
    steps = in_worker(window.worker, lambda: [r.session.step for r in exps.exp.runs])
    assert not in_worker(window.worker, lambda: exps.running)
    assert in_worker(window.worker, lambda: [r.session.step for r in exps.exp.runs]) == steps
    exps.step()
    assert in_worker(window.worker, lambda: [r.session.step for r in exps.exp.runs]) == [s + 1 for s in steps]
    exps.run()
    qtbot.waitUntil(lambda: all(r.step > s + 5 for r, s in zip(panel.runs.values(), steps)), timeout=20_000)
    exps.stop()


def test_gradcheck_pause_resume_and_result(qtbot, window):
    panel = window.show_panel("gradcheck")
    gc = window.worker.gradcheck
    results = []
    gc.finished.connect(results.append)
    gc.run(0, 4)
    gc.pause()  # sent right after the start: it is applied after it, before the check ends
    job_state = in_worker(window.worker, lambda: (gc.job.state.value, gc.job.progress().done))
    assert job_state[0] == "paused" and job_state[1] < 64
    assert not results
    gc.resume()
    qtbot.waitUntil(lambda: bool(results), timeout=30_000)
    assert results[0].passed and results[0].layer == "layer1"
    qtbot.waitUntil(lambda: "PASS" in window.statusBar().currentMessage()
                    or "gradient check of" not in window.statusBar().currentMessage(), timeout=5_000)
    assert "\u2026" not in window.statusBar().currentMessage()  # "gradient check of layer1 ..." has ended
    assert panel is not None


def test_main_session_pause_step_and_counters_agree(qtbot, window):
    """Status bar, Controls progress, the window's step and the engine agree after run/pause/step/finish/reset."""
    bpe = window.info.batches_per_epoch

    def agree():
        step = in_worker(window.worker, lambda: window.worker.session.step)
        qtbot.waitUntil(lambda: window.step == step, timeout=30_000)
        assert window.position.step == step
        assert window.status_pos.text() == window.position.words()  # 'step 12 · epoch 2/2000 · batch 4/8'
        assert window.position.label() in window.status_pos.text()
        assert window.position.label() in window.controls.progress.format()
        assert f"{step:,} /" in window.controls.eta_label.text()
        return step

    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.RUNNING and window.step > 3, timeout=20_000)
    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.PAUSED, timeout=10_000)
    step = agree()
    window.step_batch()
    qtbot.waitUntil(lambda: window.step == step + 1, timeout=10_000)
    assert agree() == step + 1
    window.step_epoch()
    qtbot.waitUntil(lambda: window.state == State.PAUSED and window.step % bpe == 0 and window.step > step + 1,
                    timeout=20_000)
    at_end = agree()
    assert window.status_pos.text().endswith(f"batch {bpe}/{bpe}")  # never "batch 0" at an epoch's end
    window.reset()
    qtbot.waitUntil(lambda: window.step == 0, timeout=10_000)
    assert agree() == 0 and at_end > 0 and "batch 0/" in window.status_pos.text()


def test_finish_and_status_words(qtbot, make_window):
    from engine.training.session import TrainConfig
    window = make_window(TrainConfig(epochs=1, batch_size=64))
    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.FINISHED, timeout=20_000)
    bpe = window.info.batches_per_epoch
    qtbot.waitUntil(lambda: window.step == bpe, timeout=10_000)
    assert window.status_pos.text() == f"step {bpe} \u00b7 epoch 1/1 \u00b7 batch {bpe}/{bpe}"
    assert "ready" not in window.statusBar().currentMessage()


def test_pace_control_limits_batches_per_second_and_stepping_still_works(qtbot, window):
    window.worker.set_pace(20)
    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.RUNNING, timeout=10_000)
    t0 = in_worker(window.worker, lambda: (window.worker.session.step, __import__("time").perf_counter()))
    qtbot.waitUntil(lambda: window.step >= t0[0] + 10, timeout=20_000)
    t1 = in_worker(window.worker, lambda: (window.worker.session.step, __import__("time").perf_counter()))
    rate = (t1[0] - t0[0]) / (t1[1] - t0[1])
    assert rate < 30  # at full speed this set trains hundreds of batches a second
    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.PAUSED, timeout=10_000)
    step = in_worker(window.worker, lambda: window.worker.session.step)
    window.step_batch()
    window.step_batch()
    assert in_worker(window.worker, lambda: window.worker.session.step) == step + 2
    window.worker.set_pace(None)
    window.toggle_run()
    qtbot.waitUntil(lambda: window.step > step + 100, timeout=20_000)
    window.toggle_run()


def test_a_bug_is_shown_with_its_traceback_and_the_window_keeps_working(qtbot, window):
    def broken():
        raise KeyError("no such thing")  # not an input error: a bug

    window.worker.send(broken)
    qtbot.waitUntil(lambda: window.bug_box is not None and window.bug_box.isVisible(), timeout=10_000)
    assert "internal error: KeyError" in window.bug_box.text()
    assert "Traceback" in window.bug_box.detailedText() and "broken" in window.bug_box.detailedText()
    copy = next(b for b in window.bug_box.buttons() if b.text() == "Copy details")
    copy.click()
    from PyQt6.QtWidgets import QApplication
    assert "KeyError" in QApplication.clipboard().text()
    step = window.step
    window.step_batch()
    qtbot.waitUntil(lambda: window.step == step + 1, timeout=10_000)


def test_input_errors_stay_one_line_messages(qtbot, window, tmp_path):
    window.worker.load_checkpoint(str(tmp_path / "missing.npz"))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=10_000)
    assert window.bug_box is None and "missing.npz" in window.last_error


def test_rate_counts_the_batches_own_time_not_the_wait_around_them():
    from gui.worker.messages import Rate

    r = Rate(window_s=5.0)
    r.add_batches(100.0, 100.5, 3200)  # a run's first update: its batches took 0.5 s
    assert r.value == pytest.approx(6400)
    r.restart()  # paused for a minute, then started again: the pause is not training time
    r.add_batches(160.0, 160.25, 1600)
    assert r.value == pytest.approx(6400)
