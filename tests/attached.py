"""Attached scripts in tests: run a copy of the worked example (resources/examples) and drive it as the
window does (tests/engine/remote and tests/gui import this by name, like helpers)."""
from __future__ import annotations

import time
from pathlib import Path

from helpers import ROOT

from engine.debug.watch import parse
from engine.remote.child import start
from engine.remote.host import Host
from engine.remote.session import RemoteSession

EXAMPLES = ROOT / "resources" / "examples"
QUICK = ["--epochs", "3", "--rows", "640"]  # 20 batches an epoch
# the script's pace from its first batch (batches a second): a test that pauses or stops it while it runs
# must get there before it ends, and on a busy machine the window sees a batch late
PACE = 100


class Driver:
    """One attached script: ``wait`` pumps the session until a condition holds (never a fixed sleep)."""

    def __init__(self, folder: Path, script: Path, args: list[str], watching: bool = False, checks=(),
                 pace: float | None = PACE, want=()):
        self.host = Host(folder)
        self.child = start(script, args, self.host.env)
        self.session: RemoteSession | None = None
        self.watching = watching
        self.pace = pace
        self.want = list(want)  # what the script sends as soon as it has attached
        self.checks = list(checks)  # watchpoints, armed before the first batch is judged
        self.output = ""
        self.wait(lambda: self.session is not None, what="the script to attach")

    def pump(self) -> None:
        self.output += self.child.read()
        if self.session is None:
            attached = self.host.poll({"watching": self.watching, "pace": self.pace, "want": self.want})
            if attached is not None:
                self.session = RemoteSession(attached.conn, attached.hello, watching=self.watching)
                self.session.checks = [parse(expr, self.session) for expr in self.checks]
            elif self.child.returncode is not None:
                raise AssertionError(f"the script ended before attaching: {self.child.read()}{self.output}")
        else:
            self.host.poll()  # as the window does: a second script is answered (refused), never left hanging
            self.session.pump(0.05)

    def wait(self, cond, timeout: float = 120.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump()
            if cond():
                return
            time.sleep(0.005)
        raise AssertionError(f"timed out waiting for {what or cond}; output:\n{self.output[-2000:]}")

    def finish(self, timeout: float = 120.0) -> int:
        self.wait(lambda: self.child.returncode is not None and not (self.session and self.session.connected),
                  timeout, "the script to end")
        self.output += self.child.read()
        return self.child.returncode

    def close(self) -> None:
        if self.child.returncode is None:
            self.child.stop()
        self.host.close()




def mutate(path: Path, old: str, new: str) -> None:
    """Inject a bug: the text must be there, so a changed example fails the test instead of hiding it."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new))
