"""The cost of the debugger on a user's own loop: a worked example (resources/examples/run_q3.py, or
torch_fc.py for PyTorch), its loop timed by itself (``--timing``), run detached and attached,
interleaved, in one run, on one thread (the window's side gets the other core).

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

from engine.bench.torch import import_torch
from engine.remote import CLIENT_DIR
from engine.remote.child import start
from engine.remote.host import Host, private_folder
from engine.remote.session import RemoteSession

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
EXAMPLE, TORCH_EXAMPLE = EXAMPLES / "run_q3.py", EXAMPLES / "torch_fc.py"
EPOCHS, REPEATS = 3, 3
ROWS: int | None = None  # all the training rows (a test trains on fewer)
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
WEIGHTS_EVERY_S = 0.25  # a busy window redraws the weight tiles a few times a second
_SECONDS = re.compile(r"loop seconds: ([0-9.]+)")


@dataclass
class AttachBench:
    plain_s: list[float]
    attached_s: list[float]
    epochs: int
    batches: int
    example: str = EXAMPLE.name

    @property
    def ratio(self) -> float:
        return min(self.plain_s) / min(self.attached_s)

    def as_json(self) -> dict:
        return {"plain_s": min(self.plain_s), "attached_s": min(self.attached_s), "attached_vs_plain": self.ratio,
                "runs": len(self.plain_s), "epochs": self.epochs, "batches_attached": self.batches,
                "example": self.example}

    def lines(self) -> list[str]:
        return [f"plain loop     {min(self.plain_s):7.3f} s  (best of {len(self.plain_s)})",
                f"attached loop  {min(self.attached_s):7.3f} s  attached/plain speed = {self.ratio:.3f}\u00d7 "
                f"(target \u2265 0.95\u00d7: {'ok' if self.ratio >= 0.95 else 'MISSED'})",
                f"({self.epochs} epochs of {self.example}, every figure of every batch sent)"]


def _seconds(output: str) -> float:
    m = _SECONDS.search(output)
    if not m:
        raise RuntimeError(f"the example printed no timing:\n{output[-2000:]}")
    return float(m.group(1))


def example_args(epochs: int) -> list[str]:
    return ["--epochs", str(epochs), "--timing", *(["--rows", str(ROWS)] if ROWS else [])]


def plain_run(example: Path, epochs: int) -> float:
    env = {**os.environ, **ONE_THREAD, "BACKPROP_STUDIO_DETACH": "1",  # the same interpreter and path as attached
           "PYTHONPATH": os.pathsep.join(p for p in (str(CLIENT_DIR), os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.run([sys.executable, str(example), *example_args(epochs)], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"the example failed on its own (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return _seconds(proc.stdout)


def attached_run(example: Path, epochs: int) -> tuple[float, int]:
    host = Host(private_folder())
    child = start(example, example_args(epochs), {**host.env, **ONE_THREAD})
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


def bench_attach(example: Path = EXAMPLE) -> AttachBench:
    if example == TORCH_EXAMPLE:
        import_torch("bench --attach --torch")  # its one line, before any child fails on it
    plain, attached, batches = [], [], 0
    for _ in range(REPEATS):
        plain.append(plain_run(example, EPOCHS))
        seconds, batches = attached_run(example, EPOCHS)
        attached.append(seconds)
    return AttachBench(plain, attached, EPOCHS, batches, example.name)
