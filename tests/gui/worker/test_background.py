"""gui.worker.background: the Inspect tools' and the correction loop's off-thread calls."""
from __future__ import annotations


def test_a_bug_in_a_background_engine_call_is_announced_as_a_bug(qtbot):
    """The Inspect tools compute off the GUI thread: the user's input error is the panel's one line, anything
    else is a bug and reaches the window (its traceback shown with "Copy details"), not just a status line."""
    from engine.errors import InputError
    from gui.worker.background import Background

    bg = Background()
    bugs, results = [], []
    bg.bug.connect(lambda summary, trace: bugs.append((summary, trace)))
    bg.ready.connect(results.append)

    def broken():
        raise KeyError("layer9")

    def refused():
        raise InputError("no ink found")

    bg.submit(broken)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=5_000)
    assert bugs and bugs[0][0].startswith("KeyError") and "Traceback" in bugs[0][1] and "broken" in bugs[0][1]
    bg.submit(refused)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=5_000)
    assert len(bugs) == 1 and isinstance(results[1], InputError)
