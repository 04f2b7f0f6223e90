"""The connection: local, authenticated, one script at a time; a watchpoint stops at its first batch."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from attached import QUICK
from backprop_studio import link

from engine.remote.host import Host, private_folder
from engine.training.session import PauseReason, State


def test_a_second_script_is_refused_with_words_and_runs_on_detached(example, drive):
    first = drive(example / "run_q3.py", *QUICK)
    first.session.pause()
    first.wait(lambda: first.session.state == State.PAUSED)
    at = first.session.step
    env = {**first.host.env, "PYTHONPATH": ":".join(sys.path)}
    second = subprocess.Popen([sys.executable, "run_q3.py", "--epochs", "1", "--rows", "64"], cwd=example, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first.wait(lambda: second.poll() is not None, what="the second script to run on its own")
    err = second.stderr.read()
    assert second.returncode == 0, err
    assert "already debugging" in err and "running without the debugger" in err
    for _ in range(20):
        first.pump()
    assert first.session.step == at and first.session.state == State.PAUSED  # the second's batches are not in it
    first.session.resume()
    assert first.finish() == 0 and first.session.step == 60  # nothing of the second mixed in


def test_a_wrong_key_is_not_let_in(tmp_path):
    host = Host(private_folder())
    try:
        with pytest.raises(link.LinkError):
            link.connect(str(host.path), b"\0" * 32)
        assert host.poll() is None
    finally:
        host.close()


def test_the_socket_is_a_private_unix_socket(tmp_path):
    host = Host(private_folder())
    try:
        assert host.path.stat().st_mode & 0o077 == 0 and host.path.parent.stat().st_mode & 0o077 == 0
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(host.path))  # a Unix socket, not a TCP port
    finally:
        host.close()


def test_a_watchpoint_stops_the_script_at_exactly_the_first_batch_where_it_holds(example, drive):
    d = drive(example / "run_q3.py", *QUICK, checks=["loss < 1e9"])
    s = d.session
    d.wait(lambda: s.state == State.PAUSED, what="the watchpoint")
    assert s.pause_reason == PauseReason.WATCHPOINT and s.step == 1
    s.checks = []
    s.set_watching(False)
    s.resume()
    assert d.finish() == 0
