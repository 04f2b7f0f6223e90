"""A checkpoint keeps what the window needs to show a session again: the edit list of edited data (a loaded
session continues on the same edited data, whatever data is open) and the panels' pictures of its batches."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import prototype_dataset

from engine.data.edits import EditList
from engine.debug.figures import Figures
from engine.debug.gradients import GradHistory
from engine.debug.stats import LayerStats
from engine.training.checkpoint import CheckpointError, load_session, save_session
from engine.training.session import TrainConfig, TrainingSession


@pytest.fixture(scope="module")
def data():
    return prototype_dataset(n_train=96, n_valid=32, n_classes=6)


def edited(data):
    edits = EditList()
    edits.relabel(data, "train", 3, data.classes[(int(data.train.y[3]) + 1) % data.n_classes])
    edits.drop(data, "train", 7)
    return edits, edits.apply(data)


def test_a_session_on_edited_data_continues_on_it_whatever_data_is_open(tmp_path, data):
    edits, on = edited(data)
    session = TrainingSession(on, TrainConfig(hidden=(8,), epochs=3, batch_size=16))
    session.step_epoch()
    save_session(tmp_path / "edited.npz", session)
    for open_now in (data, on):  # the data as loaded, or already the edited data
        again = load_session(tmp_path / "edited.npz", open_now)
        assert again.data.name == on.name and len(again.data.train) == len(data.train) - 1
        assert again.data.edited.edits.as_json() == edits.as_json()
        assert np.array_equal(again.data.train.y, on.train.y)
    plain = TrainingSession(data, TrainConfig(hidden=(8,), epochs=3, batch_size=16))
    save_session(tmp_path / "plain.npz", plain)
    assert load_session(tmp_path / "plain.npz", on).data is data  # no edits: back to the data as loaded


def test_edits_made_for_other_data_are_refused_not_applied(tmp_path, data):
    _, on = edited(data)
    save_session(tmp_path / "edited.npz", TrainingSession(on, TrainConfig(hidden=(8,), epochs=3)))
    other = prototype_dataset(n_train=96, n_valid=32, n_classes=6, seed=9)  # same shape, other samples
    with pytest.raises(CheckpointError, match="do not fit the current data"):
        load_session(tmp_path / "edited.npz", other)


def test_the_panels_figures_survive_the_round_trip(tmp_path, data):
    session = TrainingSession(data, TrainConfig(hidden=(8,), epochs=3, batch_size=16))
    session.step_epoch()
    n = session.step
    grads = GradHistory(0)
    grads.add(np.arange(1, n + 1), {"layer1": np.linspace(1e-3, 2e-3, n), "output": np.linspace(0.1, 0.2, n)})
    stats = {"layer1": LayerStats(1e-3, 0.5, 0.2, 0.0), "output": LayerStats(0.1, 0.4, 0.0, 0.0)}
    hists = {"layer1": (np.arange(20), np.linspace(0, 1, 21))}
    save_session(tmp_path / "figures.npz", session, figures=Figures(grads, stats, hists))
    back = load_session(tmp_path / "figures.npz", data).figures
    assert back.grads.start == 0 and back.grads.n == n
    assert np.allclose(back.grads.between(0, n)["layer1"], np.linspace(1e-3, 2e-3, n))
    assert back.stats == stats and np.array_equal(back.histograms["layer1"][0], np.arange(20))
    save_session(tmp_path / "none.npz", session)
    assert load_session(tmp_path / "none.npz", data).figures is None  # (as older checkpoints)
