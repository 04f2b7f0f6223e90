"""Your own loop under the debugger, in the window (issue 19): the worked example run by `debug`, paused,
stepped one batch (exactly one) and one epoch, resumed and stopped from the window; a script run on its own
attaches; a second one is refused; closing the window lets the script finish; time travel restores into the
script's dict; its own gradient check per layer; watchpoints; the exercise's pickle opened as a network."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
from helpers import ROOT

from engine.remote import CLIENT_DIR
from engine.training.session import State

RUN_Q3 = ROOT / "resources" / "examples" / "run_q3.py"
ROWS = ["--rows", "320"]  # 10 batches an epoch
ATTACH_S = 60_000  # (ms) a fresh interpreter imports NumPy and builds the example's data first


def in_worker(worker, fn, timeout=20.0):
    done, out = threading.Event(), []
    worker.send(lambda: (out.append(fn()), done.set()))
    assert done.wait(timeout), "the worker did not answer"
    return out[0]


def attached(qtbot, w, min_step: int = 1):
    qtbot.waitUntil(lambda: w.info is not None and bool(w.info.script) and w.step >= min_step, timeout=ATTACH_S)


def paused_at(qtbot, w, condition=lambda: True, timeout=30_000):
    qtbot.waitUntil(lambda: w.state == State.PAUSED and condition(), timeout=timeout)
    return w.step


def test_pause_step_one_batch_step_epoch_resume_stop(qtbot, window, children):
    window.worker.set_pace(50)  # slow enough to catch it running
    window.debug_script(str(RUN_Q3), ["--epochs", "200", *ROWS])
    attached(qtbot, window, 3)
    assert window.workspaces.current == "script" and window.state == State.RUNNING
    remote = window.worker.remote
    window.toggle_run()  # Space: pause
    held = paused_at(qtbot, window)
    counts = in_worker(window.worker, lambda: (remote.session.step, len(remote.session.history.batch_loss)))
    assert counts == (held, held)

    window.step_batch()  # exactly one batch: the script's own count, and every batch it reported
    paused_at(qtbot, window, lambda: window.step != held)
    assert window.step == held + 1
    assert in_worker(window.worker, lambda: (remote.session.step, len(remote.session.history.batch_loss))) == \
        (held + 1, held + 1)
    assert window.info.batches_per_epoch == 10 and window.position.label().endswith(f"batch {held % 10 + 1}/10")

    window.step_epoch()  # to the end of the epoch it is in (paused at an epoch's end: the whole next one)
    end = paused_at(qtbot, window, lambda: window.step > held + 1)
    assert end == (held + 1) // 10 * 10 + 10
    assert in_worker(window.worker, lambda: remote.session.epoch) == end // 10

    window.toggle_run()  # resume
    qtbot.waitUntil(lambda: window.state == State.RUNNING and window.step > end + 3, timeout=30_000)
    console = window.panels["console"]
    assert "itr: 00" in console.output  # the script's own output, live
    console.stop_button.click()
    qtbot.waitUntil(lambda: console.summary != "", timeout=30_000)
    assert console.summary.startswith("stopped at step") and children[0].returncode is not None
    assert window.state == State.STOPPED and not console.stop_button.isEnabled()


def test_closing_the_window_lets_the_script_finish(qtbot, window, children):
    window.worker.set_pace(10)
    window.debug_script(str(RUN_Q3), ["--epochs", "5", *ROWS])
    attached(qtbot, window, 2)
    child = children[0]
    assert child.returncode is None
    window.close()  # mid-run: no question asked, the script is let go
    assert child.proc.wait(60) == 0
    log = child.log_path.read_text()
    assert "itr: 04" in log and "Traceback" not in log  # all five epochs, at full speed once detached


def test_a_script_run_on_its_own_attaches_and_a_second_is_refused(qtbot, window, children, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(CLIENT_DIR), "BACKPROP_STUDIO_DETACH": ""}
    env.pop("BACKPROP_STUDIO_ATTACH", None)
    window.worker.set_pace(20)
    first = subprocess.Popen([sys.executable, str(RUN_Q3), "--epochs", "100", *ROWS], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        attached(qtbot, window, 2)
        console = window.panels["console"]
        assert "attached on its own" in console.header.text() and str(first.pid) in window.info.script + \
            console.header.text()
        second = subprocess.run([sys.executable, str(RUN_Q3), "--epochs", "1", "--rows", "64"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 0 and "already debugging" in second.stderr  # it ran, without the debugger
        qtbot.waitUntil(lambda: "refused run_q3.py" in window.statusBar().currentMessage(), timeout=10_000)
        console.stop_button.click()
        assert first.wait(60) != 0
        qtbot.waitUntil(lambda: console.summary.startswith("stopped"), timeout=30_000)
    finally:
        first.kill()
        first.wait()


def test_time_travel_restores_the_scripts_params(qtbot, window, children):
    window.debug_script(str(RUN_Q3), ["--epochs", "200", *ROWS])
    attached(qtbot, window, 25)
    window.toggle_run()
    paused_at(qtbot, window)
    timeline = window.show_panel("timeline")
    assert timeline.branch_button.text() == "Restore into the script" and not timeline.branch_form.isVisible()
    qtbot.waitUntil(lambda: len(timeline.steps) >= 3, timeout=10_000)  # step 0 and every epoch end
    timeline.go_index(0)  # the weights as the script initialised them
    qtbot.waitUntil(lambda: window.info.view_step == 0, timeout=20_000)
    start = window.panels["weights"].W.copy()
    live = in_worker(window.worker, lambda: window.worker.remote.session.weights["Wlayer1"].copy())
    assert not np.allclose(start, live)  # it has learnt since
    timeline.branch_here()  # Restore into the script
    qtbot.waitUntil(lambda: window.info.view_step is None and "restored the weights of step 0"
                    in window.statusBar().currentMessage(), timeout=20_000)
    qtbot.waitUntil(lambda: np.array_equal(window.panels["weights"].W, start), timeout=20_000)  # the script's own
    held = window.step
    window.step_batch()  # and it trains on from there
    paused_at(qtbot, window, lambda: window.step == held + 1)


def test_the_scripts_own_gradient_check_per_layer(qtbot, window, children):
    window.debug_script(str(RUN_Q3), ["--epochs", "200", *ROWS])
    attached(qtbot, window, 3)
    window.toggle_run()
    paused_at(qtbot, window)
    panel = window.show_panel("gradcheck")
    panel.examples.setValue(2)
    panel.layer.setCurrentIndex(0)
    panel.run_check()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    r = panel.result
    assert r.passed and panel.badge.text() == "PASS" and r.tiles and r.errors.shape == (1024, 64)
    checked = np.isfinite(r.errors)
    assert checked.all(axis=0).sum() == checked.any(axis=0).sum() == 8  # whole units: complete pictures
    assert any(line.startswith("PASS") and "layer1" in line for line in r.lines)
    assert any(line.startswith("PASS") and "output" in line for line in r.lines)


def test_a_watchpoint_stops_the_script_at_the_batch_where_it_holds(qtbot, window, children):
    window.worker.watches.add("loss < 110")  # armed before the script attaches: it runs in lockstep from batch 1
    window.debug_script(str(RUN_Q3), ["--epochs", "200", *ROWS])
    paused_at(qtbot, window, lambda: "watchpoint" in window.message, timeout=ATTACH_S)
    step = window.step
    losses = in_worker(window.worker, lambda: list(window.worker.remote.session.history.batch_loss))
    assert len(losses) == step and step > 5  # the first batch where it holds, exactly:
    assert losses[-1] < 110 and all(v >= 110 for v in losses[:-1])
    assert f"at step {step} \u00b7" in window.message
    qtbot.waitUntil(lambda: window.panels["watchpoints"].last_hit is not None, timeout=10_000)
    window.worker.watches.add("class_acc(Q) < 0.5")  # the script's validation data are its own: refused in words
    qtbot.waitUntil(lambda: "own" in window.panels["watchpoints"].feedback.text(), timeout=10_000)


SMALL = """
import sys
sys.path.insert(0, {examples!r})
import numpy as np
from nn import backwards, compute_loss_and_acc, forward, get_random_batches, initialize_weights, linear_deriv
from nn import sigmoid_deriv, softmax
import backprop_studio as studio

rng = np.random.default_rng(0)
x = rng.normal(size=(320, 20))
y = np.eye(3)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0)]
params = {{}}
initialize_weights(20, 16, params, "hidden")
initialize_weights(16, 3, params, "output")
run = studio.attach(params)
for itr in range(1000):
    for xb, yb in run.batches(get_random_batches(x, y, 32)):
        probs = forward(forward(xb, params, "hidden"), params, "output", softmax)
        loss, acc = compute_loss_and_acc(yb, probs)
        backwards(backwards(probs - yb, params, "output", linear_deriv), params, "hidden", sigmoid_deriv)
        for k in ("Whidden", "bhidden", "Woutput", "boutput"):
            params[k] = params[k] - 0.01 * params["grad_" + k]  # rebound, not changed in place
"""


def test_a_network_of_its_own_shape_shows_its_weights_as_a_heatmap(qtbot, window, children, tmp_path):
    path = tmp_path / "small.py"
    path.write_text(SMALL.format(examples=str(RUN_Q3.parent)))
    window.debug_script(str(path))
    attached(qtbot, window, 30)
    window.toggle_run()
    paused_at(qtbot, window)
    weights, session = window.panels["weights"], window.worker.remote.session
    step = window.step
    qtbot.waitUntil(lambda: in_worker(window.worker, lambda: session.weights_step) == step, timeout=20_000)
    at_pause = in_worker(window.worker, lambda: session.weights["Whidden"].copy())  # the script's, at this step
    qtbot.waitUntil(lambda: weights.W is not None and np.array_equal(weights.W, at_pause), timeout=20_000)
    assert not weights.tiles
    assert weights.grid_image.shape == (16, 20) and "16 units (rows)" in weights.caption.text()
    assert window.info.layers == [("hidden", "sigmoid", 16), ("output", "softmax", 3)]


def test_opening_the_exercises_pickle_as_a_network(qtbot, window, tmp_path, data):
    rng = np.random.default_rng(0)
    params = {"Wlayer1": rng.normal(0, 0.1, (1024, 64)), "blayer1": np.zeros(64),
              "Woutput": rng.normal(0, 0.1, (64, 36)), "boutput": np.zeros(36), "m_Wlayer1": np.zeros((1024, 64))}
    path = tmp_path / "q3_weights.pickle"
    path.write_bytes(pickle.dumps(params))
    models = []
    window.worker.model_opened.connect(models.append)
    window.open_path(str(path))  # (as a drop)
    qtbot.waitUntil(lambda: window.info.layers[0][2] == 64 and np.allclose(window.panels["weights"].W,
                                                                          params["Wlayer1"]), timeout=20_000)
    assert window.panels["confusion"].matrix is not None and window.panels["confusion"].matrix.sum() == len(data.valid)
    qtbot.waitUntil(lambda: len(models) == 1, timeout=10_000)
    assert models[0].net.sizes == [1024, 64, 36] and "q3_weights.pickle" in window.statusBar().currentMessage()

    evil = tmp_path / "evil.pickle"
    marker = tmp_path / "ran"
    evil.write_bytes(pickle.dumps({"Wlayer1": Boom(str(marker))}))
    generation = window.info.generation
    window.open_path(str(evil))
    qtbot.waitUntil(lambda: window.error_box is not None and window.error_box.isVisible(), timeout=10_000)
    assert "evil.pickle" in window.last_error and "\n" not in window.last_error and not marker.exists()
    assert window.info.generation == generation  # the network shown is kept


class Boom:
    """Pickles into a call of os.system: a loader that runs it would create ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


ATTACHED_THEN_SLOW = textwrap.dedent("""
    import pathlib, sys, time
    import numpy as np
    import backprop_studio as studio

    params = {"Wlayer1": np.full((4, 3), 0.1), "blayer1": np.zeros(3)}
    run = studio.attach(params)
    pathlib.Path(sys.argv[1]).write_text("attached" if run.attached else "detached")
    for i in run.batches(list(range(150))):
        time.sleep(0.02)
    pathlib.Path(sys.argv[2]).write_text(f"done {i}")
""")


def until(condition, timeout_s: float = 60.0) -> bool:
    """Wait for ``condition`` (a file another process writes), polling; False if it never held."""
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_main_debug_opens_the_window_and_closing_it_lets_the_script_finish(tmp_path):
    """`python main.py debug SCRIPT ARGS`: the window runs the script attached; Ctrl+C closes the window and
    the script runs on to its end. (A process of its own: run_app owns its event loop.)"""
    path = tmp_path / "slow.py"
    path.write_text(ATTACHED_THEN_SLOW)
    marks = tmp_path / "attached.txt", tmp_path / "done.txt"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "BACKPROP_STUDIO_RENDEZVOUS": str(tmp_path / "rv")}
    gui = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "debug", str(path), *map(str, marks)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
    try:
        assert until(lambda: marks[0].exists() and marks[0].read_text() == "attached"), gui.stderr.read()
        assert not marks[1].exists()
        gui.send_signal(signal.SIGINT)  # closes the window the normal way
        _, err = gui.communicate(timeout=60)
        assert gui.returncode == 0 and "goes on without the window" in err, err
        assert until(lambda: marks[1].exists() and marks[1].read_text() == "done 149")
    finally:
        gui.kill()


def test_main_debug_refuses_a_missing_script_in_one_line(tmp_path, capsys):
    import main

    assert main.main(["debug", str(tmp_path / "nope.py")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "nope.py" in err and err.count("\n") == 1
