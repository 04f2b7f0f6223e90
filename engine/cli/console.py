"""What every command prints with: strict JSON lines and a progress bar for long work."""
from __future__ import annotations

import json
import sys
import time


def emit_json(obj) -> None:
    """One JSON line. Strict: a NaN or inf here is a bug upstream, never printed as a result."""
    print(json.dumps(obj, allow_nan=False), flush=True)


class Progress:
    """A one-line progress bar with ETA on stderr, only when stderr is a terminal."""

    def __init__(self, total: int):
        self.total, self.enabled = total, sys.stderr.isatty()
        self.start = time.perf_counter()

    def update(self, done: int, text: str = "") -> None:
        if not self.enabled or self.total <= 0:
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / max(done, 1) * (self.total - done)
        filled = int(30 * done / self.total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} ETA {eta:5.1f}s {text}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
