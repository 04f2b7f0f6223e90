"""The PyTorch worked examples debugged in the window (issue 20): pause, exactly one optimizer step, resume,
a watchpoint hit, the first layer's filters or 32x32 tiles, and a vanishing layer named in words."""
from __future__ import annotations

import pytest
from helpers import ROOT
from test_remote_runner import attached, in_worker, paused_at

from engine.training.session import PauseReason, State

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

EXAMPLES = ROOT / "resources" / "examples"
ROWS = ["--rows", "320"]  # 10 optimizer steps an epoch


def trace(window) -> list:
    """What the window was told (state, position), in order: the words of a failure."""
    seen = []
    window.worker.position.connect(lambda p: seen.append(("position", p.step, p.view_step)))
    window.worker.state_changed.connect(lambda s, m: seen.append(("state", s.value, m)))
    return seen


def trace_session(session, seen: list) -> None:
    """Also every frame the session gets and every command it sends (worker thread)."""
    handle, send = session._handle, session._send
    session._handle = lambda h, arrays: (seen.append(("in", h.get("type"), h.get("step"))), handle(h, arrays))[1]
    session._send = lambda h: (seen.append(("out", h.get("type"))), send(h))[1]


@pytest.mark.parametrize("example, first, shape", [("torch_fc.py", "linear0", (1024, 64)),
                                                    ("torch_cnn.py", None, None)])
def test_a_torch_example_pauses_steps_one_optimizer_step_and_resumes(qtbot, window, children, example, first, shape):
    window.worker.set_pace(50)
    seen = trace(window)
    window.debug_script(str(EXAMPLES / example), ["--epochs", "200", *ROWS])
    attached(qtbot, window, 3)
    remote = window.worker.remote
    hello = in_worker(window.worker, lambda: remote.session.hello)
    assert hello["kind"] == "torch"
    in_worker(window.worker, lambda: trace_session(remote.session, seen))
    window.toggle_run()
    held = paused_at(qtbot, window)
    seen.append(("held", held))
    window.step_batch()
    paused_at(qtbot, window, lambda: window.step != held)
    assert window.step == held + 1, "\n".join(map(str, seen[-80:]))  # exactly one optimizer step
    layers = in_worker(window.worker, lambda: [dict(l) for l in remote.session.layers])
    if first:
        assert layers[0]["name"] == first and tuple(layers[0]["shape"]) == shape  # 32x32 tiles
    else:
        assert layers[0]["module"] == "Conv2d" and layers[0]["kernel"] == [5, 5]  # filters as tiles
    window.toggle_run()
    qtbot.waitUntil(lambda: window.state == State.RUNNING and window.step > held + 3, timeout=30_000)
    window.panels["console"].stop_button.click()
    qtbot.waitUntil(lambda: children[0].returncode is not None, timeout=30_000)


def test_a_watchpoint_stops_the_torch_example_and_a_deep_sigmoid_stack_is_named(qtbot, window, children, tmp_path):
    script = tmp_path / "deep.py"  # the fully connected example, five sigmoid layers deep
    text = (EXAMPLES / "torch_fc.py").read_text()
    old = "nn.Linear(train_x.shape[1], hidden_size), nn.Sigmoid(),"
    assert old in text, "torch_fc.py no longer builds its model this way"
    script.write_text(text.replace(old, old + " nn.Linear(hidden_size, hidden_size), nn.Sigmoid()," * 4))
    (tmp_path / "torch_data.py").write_text((EXAMPLES / "torch_data.py").read_text())
    window.worker.watches.add("loss < 1e9")  # armed before the script attaches: holds at the first step
    window.debug_script(str(script), ["--epochs", "3", *ROWS])
    paused_at(qtbot, window, lambda: "watchpoint" in window.message, timeout=60_000)
    remote = window.worker.remote
    assert in_worker(window.worker, lambda: (remote.session.pause_reason, remote.session.step)) == \
        (PauseReason.WATCHPOINT, 1)
    window.worker.watches.remove("loss < 1e9")
    window.toggle_run()
    qtbot.waitUntil(lambda: children[0].returncode is not None, timeout=120_000)
    qtbot.waitUntil(lambda: window.state != State.PAUSED, timeout=30_000)
    words = in_worker(window.worker, lambda: (remote.session.refresh_findings(),
                                              [f.words for f in remote.session.findings if f.kind == "vanishing"])[1])
    assert words and "linear0" in words[0], words
