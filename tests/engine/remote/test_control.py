"""The worked example attached: pause, step exactly one batch, step an epoch, resume, stop, restore."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
from attached import QUICK

from engine.training.session import PauseReason, State


def test_pause_step_batch_step_epoch_resume(example, drive):
    # ten epochs (at the drivers' pace): the pause must land before the last epoch, or a step of one epoch ends
    # the script (the window sees step 3 a flush late, and a busy machine delays it more)
    d = drive(example / "run_q3.py", "--epochs", "10", "--rows", "640")
    s = d.session
    assert [l["name"] for l in s.layers] == ["layer1", "output"]  # the order of the forward calls
    d.wait(lambda: s.step >= 3, what="three batches")
    s.pause()
    d.wait(lambda: s.state == State.PAUSED, what="the pause")
    at = s.step
    assert at < 180, f"the pause landed in the last epoch (step {at}): no epoch left to step"
    s.step_batch()
    d.wait(lambda: s.state == State.PAUSED and s.step != at, what="one step")
    assert s.step == at + 1 and s.pause_reason == PauseReason.BUDGET
    for _ in range(20):  # paused means paused: the script does not run on by itself
        d.pump()
    assert s.step == at + 1
    s.step_epoch()
    d.wait(lambda: s.state == State.PAUSED and s.step > at + 1, what="the epoch's end")
    assert s.batch == 0 and s.step % 20 == 0 and len(s.history.epochs) == s.step // 20
    s.resume()
    assert d.finish() == 0
    assert s.state == State.FINISHED and s.step == 200
    assert len(s.history.epochs) == 10 and np.isfinite(s.history.epochs[-1].valid_acc)


def test_weights_wanted_in_the_welcome_arrive_as_they_were_at_step_0(example, drive):
    """A script that ends (or crashes) at once still gives the window its initial weights: asked for in the
    welcome, they are sent before the first batch (the headless report's and the weight tiles' first)."""
    d = drive(example / "run_q3.py", *QUICK, want=["weights"])
    assert d.finish() == 0
    s = d.session
    assert s.first_weights is not None and s.first_weights[0] == 0
    assert set(s.first_weights[1]) == {"Wlayer1", "blayer1", "Woutput", "boutput"}
    assert not np.array_equal(s.first_weights[1]["Wlayer1"], s.weights["Wlayer1"])  # the final ones differ


def test_stop_ends_the_script_at_a_batch_boundary(example, drive):
    d = drive(example / "run_q3.py", *QUICK)
    s = d.session
    d.wait(lambda: s.step >= 2)
    s.stop()
    code = d.finish()
    assert s.state == State.STOPPED and s.step < 60
    assert code == 1 and f"stopped by backprop-studio at step {s.step}" in d.output  # as an interrupted run


def test_restore_writes_a_snapshot_back_into_the_scripts_params(example, drive):
    d = drive(example / "run_q3.py", *QUICK)
    s = d.session
    d.wait(lambda: s.epoch >= 1 and s.snapshots, what="the first epoch's snapshot")
    s.pause()
    d.wait(lambda: s.state == State.PAUSED)
    first = s.snapshots[0].step
    s.request_snapshot(first)
    d.wait(lambda: first in s.snapshot_arrays, what="the snapshot's arrays")
    old = {k: v.copy() for k, v in s.snapshot_arrays[first].items()}
    s.want_weights()
    d.wait(lambda: s.weights_step == s.step, what="the weights now")
    assert not np.array_equal(s.weights["Wlayer1"], old["Wlayer1"])  # it trained since
    s.restore(first)
    d.wait(lambda: s.restored, what="the restore")
    s.want_weights()
    d.wait(lambda: s.weights_step == s.step and np.array_equal(s.weights["Wlayer1"], old["Wlayer1"]),
           what="the restored weights")
    s.resume()
    assert d.finish() == 0


def test_with_no_window_the_script_runs_exactly_as_without_the_debugger(example, tmp_path):
    """A grader runs the script with the debugger's lines in it and no window open: same output."""
    plain = example.parent / "plain"
    plain.mkdir()
    for name in ("nn.py", "run_q3.py"):
        text = (example / name).read_text()
        if name == "run_q3.py":
            assert "studio.attach(params)" in text and "run.batches(batches)" in text
            text = (text.replace("import backprop_studio as studio  # debugger\n", "")
                    .replace("    run = studio.attach(params)  # debugger\n", "")
                    .replace("run.batches(batches)", "batches")
                    .replace("        run.log(valid_loss=valid_loss / len(valid_x) * batch_size, valid_acc=valid_acc)  # debugger "
                             "(per 32 rows, as the loss)\n", ""))
            assert "studio" not in text and "run." not in text
        (plain / name).write_text(text)
    outs = []
    for folder in (example, plain):
        env = {"PATH": "/usr/bin:/bin", "BACKPROP_STUDIO_RENDEZVOUS": str(tmp_path / "nowhere"),
               "PYTHONPATH": ":".join(sys.path)}
        r = subprocess.run([sys.executable, "run_q3.py", *QUICK, "--save", "w.pickle"], cwd=folder, env=env,
                           capture_output=True, text=True, timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        outs.append((r.stdout, r.stderr, (folder / "w.pickle").read_bytes()))
    assert outs[0] == outs[1]  # printed lines, warnings and the trained weights, bit for bit
