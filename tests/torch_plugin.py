"""PyTorch's tests: skipped cleanly without it (a user's plain install), never skipped in CI.

A test that needs PyTorch asks for the ``torch`` fixture (it gets the module) or carries
``@pytest.mark.torch`` (one that runs PyTorch in a child process); either way it is marked ``torch``
(``pytest -m torch`` runs them all) and skipped, with the line that says how to get PyTorch, when it
is absent. With ``BACKPROP_STUDIO_TORCH_TALLY=PATH`` the outcomes of those tests (and any skip whose
reason names PyTorch) are written to PATH as JSON, with PyTorch's version: .ci/run fails on a skip.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os

import pytest

NEEDS_TORCH = 'needs PyTorch: pip install ".[torch]"'
HAVE_TORCH = importlib.util.find_spec("torch") is not None
_tally = {"passed": 0, "failed": 0, "skipped": 0}


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason=NEEDS_TORCH)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.torch)
        if not HAVE_TORCH and item.get_closest_marker("torch"):
            item.add_marker(pytest.mark.skip(reason=NEEDS_TORCH))


def _about_torch(report) -> bool:
    return "torch" in report.keywords or (report.skipped and "torch" in str(report.longrepr).lower())


def pytest_runtest_logreport(report):
    if not _about_torch(report):
        return
    if report.failed:
        _tally["failed"] += 1
    elif report.skipped:
        _tally["skipped"] += 1
    elif report.when == "call":
        _tally["passed"] += 1


def pytest_collectreport(report):
    if report.skipped and "torch" in str(report.longrepr).lower():  # a module that skipped itself
        _tally["skipped"] += 1


def pytest_terminal_summary(terminalreporter):
    if _tally["skipped"] and not HAVE_TORCH:
        terminalreporter.write_line(f"{_tally['skipped']} PyTorch tests skipped: pip install \".[torch]\" to run them")
    path = os.environ.get("BACKPROP_STUDIO_TORCH_TALLY")
    if path:
        with open(path, "w") as f:
            json.dump({**_tally, "torch": importlib.metadata.version("torch") if HAVE_TORCH else None}, f)
