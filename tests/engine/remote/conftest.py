"""Fixtures: a private copy of the worked example, and drivers of attached scripts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from attached import EXAMPLES, Driver

from engine.remote.host import private_folder


@pytest.fixture
def example(tmp_path) -> Path:
    """A private copy of the worked example (nn.py + run_q3.py) that a test may break."""
    folder = tmp_path / "example"
    folder.mkdir()
    for name in ("nn.py", "run_q3.py"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


@pytest.fixture
def drive():
    drivers: list[Driver] = []
    rendezvous = private_folder()  # short: a Unix socket's path has a 107-byte limit

    def run(script, *args, watching=False, checks=(), want=()) -> Driver:
        d = Driver(rendezvous, Path(script), [str(a) for a in args], watching or bool(checks), checks, want=want)
        drivers.append(d)
        return d

    yield run
    for d in drivers:
        d.close()
    shutil.rmtree(rendezvous, ignore_errors=True)
