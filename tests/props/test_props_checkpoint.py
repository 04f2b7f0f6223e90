"""Property: any damage to a checkpoint's metadata or arrays ends in a report (or a resumed session) or in
one clean InputError, never a traceback. A field anywhere in the metadata tree is replaced by any JSON value
or deleted; an array by another of any shape and dtype, or deleted."""
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line, prototype_dataset
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from engine.report.data import save_checkpoint
from engine.report.html import render
from engine.report.html import load as load_report
from engine.training.checkpoint import load_session
from engine.training.session import TrainConfig, TrainingSession

JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 2 ** 40) | st.floats() | st.text(max_size=4),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)
DATA = prototype_dataset(n_train=96, n_valid=48, n_classes=6, noise=1.0)


def _saved():
    session = TrainingSession(DATA, TrainConfig(epochs=2, hidden=(8,), momentum=0.5, snapshot_every=2))
    session.run()
    with tempfile.TemporaryDirectory() as tmp:
        save_checkpoint(Path(tmp) / "c.npz", session)
        with np.load(Path(tmp) / "c.npz") as f:
            arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta["report"]["experiment"] = {"title": "lr", "finding": "x", "psnr": False, "runs": [
        {"name": "a", "status": "done", "lr": 0.1, "hidden": [8], "activation": "relu", "final_valid_acc": 0.5,
         "valid_acc": [0.4, 0.5], "train_loss": [1.0, 0.9]}]}
    meta["report"]["autoencoder"] = {"labels": ["A", "B"], "psnr": [12.0, 14.0], "valid_psnr": 13.0, "epochs": 2,
                                     "own": False}
    arrays["report/recon/originals"] = arrays["report/recon/outputs"] = np.zeros((2, 32, 32), np.uint8)
    return meta, arrays


SAVED = _saved()


def _paths(value, prefix=()):
    """Every path into a JSON tree (keys and list indices)."""
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        yield from _paths(v, prefix + (k,))


PATHS = [p for p in _paths(SAVED[0]) if p]


@st.composite
def damaged(draw):
    meta, arrays = json.loads(json.dumps(SAVED[0])), dict(SAVED[1])
    for path in draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=2)):
        parent = meta
        try:
            for k in path[:-1]:
                parent = parent[k]
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced it
        if draw(st.booleans()):
            parent[path[-1]] = draw(JSON)
        elif isinstance(parent, dict):
            del parent[path[-1]]
    for name in draw(st.lists(st.sampled_from(sorted(arrays)), max_size=2, unique=True)):
        if draw(st.booleans()):
            del arrays[name]
            continue
        shape = draw(st.sampled_from([(), (0,), (3,), arrays[name].shape, (2, *arrays[name].shape), (1024, 8)]))
        dtype = draw(st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_, "U2"]))
        arrays[name] = np.full(shape, draw(st.sampled_from([0, 1, -1, 99, np.nan, np.inf]))
                               if np.dtype(dtype).kind == "f" else 1).astype(dtype)
    return meta, arrays


def _write(tmp, meta, arrays) -> Path:
    path = Path(tmp) / "c.npz"
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@given(damaged())
def test_a_damaged_checkpoint_reports_or_fails_cleanly(case):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(tmp, *case)
        try:
            html = render(load_report(path))
        except InputError as exc:
            one_line(exc)
            return
        assert html.startswith("<!DOCTYPE html>") and "</html>" in html


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@given(damaged())
def test_a_damaged_checkpoint_resumes_or_fails_cleanly(case):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(tmp, *case)
        try:
            session = load_session(path, DATA)
        except InputError as exc:
            one_line(exc)
            return
        session.step_batch()  # what it loaded is usable
