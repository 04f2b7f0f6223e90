"""The cost of the debugger on a user's own loop: the worked example (resources/examples/run_q3.py),
its loop timed by itself (``--timing``), run detached and attached, interleaved, in one run.

Attached means the real path: a child process attached to a host here that reads every frame,
keeps the session and asks for the weights as often as a window redraws them (``WEIGHTS_EVERY_S``).
The figures of every batch are computed and sent in both attached runs; ``attached_vs_plain`` is the
attached loop's speed over the plain loop's (best run of each: the least disturbed one).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from engine.remote import CLIENT_DIR
from engine.remote.child import start
from engine.remote.host import Host, private_folder
from engine.remote.session import RemoteSession

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "run_q3.py"
WEIGHTS_EVERY_S = 0.25  # a busy window redraws the weight tiles a few times a second
_SECONDS = re.compile(r"loop seconds: ([0-9.]+)")


@dataclass
class AttachBench:
    plain_s: list[float]
    attached_s: list[float]
    epochs: int
    batches: int

    @property
    def ratio(self) -> float:
        return min(self.plain_s) / min(self.attached_s)

    def as_json(self) -> dict:
        return {"plain_s": min(self.plain_s), "attached_s": min(self.attached_s), "attached_vs_plain": self.ratio,
                "runs": len(self.plain_s), "epochs": self.epochs, "batches_attached": self.batches}

    def lines(self) -> list[str]:
        return [f"plain loop     {min(self.plain_s):7.3f} s  (best of {len(self.plain_s)})",
                f"attached loop  {min(self.attached_s):7.3f} s  attached/plain speed = {self.ratio:.3f}\u00d7 "
                f"(target \u2265 0.95\u00d7: {'ok' if self.ratio >= 0.95 else 'MISSED'})",
                f"({self.epochs} epochs of the worked example, every figure of every batch sent)"]


def _seconds(output: str) -> float:
    m = _SECONDS.search(output)
    if not m:
        raise RuntimeError(f"the example printed no timing:\n{output[-2000:]}")
    return float(m.group(1))


def plain_run(epochs: int) -> float:
    env = {**os.environ, "BACKPROP_STUDIO_DETACH": "1",  # the same interpreter and path as the attached child
           "PYTHONPATH": os.pathsep.join(p for p in (str(CLIENT_DIR), os.environ.get("PYTHONPATH", "")) if p)}
    out = subprocess.run([sys.executable, str(EXAMPLE), "--epochs", str(epochs), "--timing"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return _seconds(out)


def attached_run(epochs: int) -> tuple[float, int]:
    host = Host(private_folder())
    child = start(EXAMPLE, ["--epochs", str(epochs), "--timing"], host.env)
    session, asked = None, 0.0
    try:
        while child.returncode is None or (session is not None and session.connected):
            if session is None:
                attached = host.poll()
                if attached is not None:
                    session = RemoteSession(attached.conn, attached.hello)
            else:
                session.pump(0.02)
                if time.perf_counter() - asked > WEIGHTS_EVERY_S:
                    asked = time.perf_counter()
                    session.want_weights()
            time.sleep(0.005)
        child.proc.wait()
        if child.returncode:
            raise RuntimeError(f"the attached example failed: {child.summary()}")
        return _seconds(child.tail()), session.step if session else 0
    finally:
        host.close()


def bench_attach(epochs: int = 3, repeats: int = 3) -> AttachBench:
    plain, attached, batches = [], [], 0
    for _ in range(repeats):
        plain.append(plain_run(epochs))
        seconds, batches = attached_run(epochs)
        attached.append(seconds)
    return AttachBench(plain, attached, epochs, batches)
