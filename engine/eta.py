"""How long a job has left, from how far it got: the correction loop's base set, fine-tune and gradient check
show "42 % · about 0:35 left" (the training's own ETA is measured from its throughput: gui/worker/events.py).
"""
from __future__ import annotations

import math
import time
from typing import Callable


def duration(seconds: float | None) -> str:
    """'1:05', '1:02:03'; '' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = int(round(max(seconds, 0)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Eta:
    """A straight-line estimate of the time left: the elapsed time scaled by what is left. It says nothing
    (None) until the job is 2 % in and half a second has passed, when a guess would be noise."""

    def __init__(self, start_fraction: float = 0.0, clock: Callable[[], float] = time.perf_counter):
        """``start_fraction``: how far the job already was (a job resumed after a pause is timed from there)."""
        self.clock = clock
        self.start, self.start_fraction = clock(), start_fraction

    def left(self, fraction: float) -> float | None:
        elapsed, done = self.clock() - self.start, fraction - self.start_fraction
        if done < 0.02 or elapsed < 0.5:
            return None
        return elapsed * (1.0 - min(fraction, 1.0)) / done

    def words(self, fraction: float) -> str:
        """'42 % · about 0:35 left' (or '42 %' while the estimate would be noise)."""
        left = self.left(fraction)
        return f"{100 * fraction:.0f} %" + (f" \u00b7 about {duration(left)} left" if left is not None else "")


__all__ = ["Eta", "duration"]
