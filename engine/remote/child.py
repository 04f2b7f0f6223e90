"""`debug SCRIPT`: the user's script in its own interpreter, so nothing it does can hurt the window.

A crash, ``sys.exit``, a global seed or pyplot (the Agg backend: ``plt.show()`` returns) stay in the
child. It runs in its own session, so closing the window or pressing Ctrl+C in the terminal does not
end it; its output (stdout and stderr, in order) goes to a log file that the window tails, so it can
finish and keep printing after the window is gone. It finds ``backprop_studio`` on its path and the
host's socket and key in its environment.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InputError
from engine.remote import AUTOATTACH_DIR, CLIENT_DIR

TAIL_BYTES = 1 << 20  # at most this much new output is read per call

LAUNCHERS = ("torchrun",)  # commands that start Python scripts themselves


@dataclass
class Child:
    proc: subprocess.Popen
    script: Path
    log_path: Path
    started: float = field(default_factory=time.perf_counter)
    _offset: int = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read(self) -> str:
        """Output written since the last call."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._offset)
                data = f.read(TAIL_BYTES)
        except OSError:
            return ""
        self._offset += len(data)
        return data.decode("utf-8", "replace")

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def signal(self, sig) -> bool:
        """Send ``sig`` to the script's process group without waiting; False if it has ended."""
        if self.proc.poll() is not None:
            return False
        try:
            os.killpg(self.proc.pid, sig)
            return True
        except ProcessLookupError:
            return False

    def stop(self, grace_s: float = 3.0, first_wait_s: float = 0.0) -> None:
        """Wait ``first_wait_s`` for the script to end by itself (a Stop sent to it), then interrupt (a
        KeyboardInterrupt in the script: its finally blocks run), then terminate, then kill."""
        try:
            self.proc.wait(first_wait_s)
            return
        except subprocess.TimeoutExpired:
            pass
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                return
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                continue

    def tail(self, n: int = 1 << 16) -> str:
        """The last ``n`` bytes of its output."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, self.log_path.stat().st_size - n))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def summary(self) -> str:
        """How it ended, in one line: "exited 0", "exited 1: ValueError: ...", "killed by SIGKILL"."""
        code = self.proc.poll()
        if code is None:
            return "running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        last = last_exception(self.tail())
        return f"exited {code}" + (f": {last}" if code and last else "")


def last_exception(text: str) -> str:
    """The final 'Name: message' line of the last traceback in ``text`` ("" if there is none)."""
    lines = text.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return ""
    tail = [line for line in lines[starts[-1] + 1:] if line.strip() and not line.startswith((" ", "\t"))]
    return tail[-1].strip()[:300] if tail else ""


def last_traceback(text: str) -> str:
    """The last traceback in ``text``, from its first line to its final 'Name: message' ("" if none)."""
    lines = text.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return ""
    body = lines[starts[-1]:]
    ends = [i for i, line in enumerate(body) if i and line.strip() and not line.startswith((" ", "\t"))]
    return "\n".join(body[:ends[-1] + 1] if ends else body)


def check_script(script) -> tuple[Path, bool]:
    """The script's path, and whether it is a launcher (torchrun) rather than a .py; InputError for a script
    that is not there or is not a Python script."""
    path = Path(script).expanduser()
    launcher = shutil.which(str(script)) if Path(script).name in LAUNCHERS else None
    if launcher:
        return Path(launcher), True
    if not path.is_file():
        raise InputError(f"{script}: no such script")
    if path.suffix not in (".py", ""):
        raise InputError(f"{script}: not a Python script (expected a .py file)")
    return path, False


def start(script, args: list[str], env: dict[str, str], cwd=None) -> Child:
    """Start ``python SCRIPT ARGS`` (or ``torchrun ARGS``: its ranks inherit the attach environment and
    rank 0 attaches) with the attach environment; InputError for a script that is not there."""
    path, launcher = check_script(script)
    out = tempfile.NamedTemporaryFile(prefix="backprop-studio-", suffix=".log", delete=False)  # noqa: SIM115 - the child writes it
    child_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg",
                 "PYTHONPATH": os.pathsep.join(p for p in (str(AUTOATTACH_DIR), str(CLIENT_DIR),
                                                                os.environ.get("PYTHONPATH", "")) if p)}
    with out:
        proc = subprocess.Popen([str(path), *args] if launcher else [sys.executable, str(path), *args], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=child_env, cwd=cwd, start_new_session=True)
    return Child(proc, path, Path(out.name))
