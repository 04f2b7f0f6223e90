"""Run logs: JSON export/reload of a run's full history, and CSV export of curves."""
import json

import numpy as np
import pytest
from helpers import prototype_dataset

from engine.debug.watch import parse
from engine.training.runlog import (
    FORMAT,
    RunLogError,
    curves,
    load_csv,
    load_json,
    run_log,
    save_csv,
    save_curve_csv,
    save_json,
    to_json,
)
from engine.training.session import TrainConfig, TrainingSession


@pytest.fixture(scope="module")
def data():
    return prototype_dataset(n_train=320, n_valid=128)


@pytest.fixture(scope="module")
def session(data):
    s = TrainingSession(data, TrainConfig(epochs=3, hidden=(16, 8), lr=0.01, momentum=0.5))
    s.checks.append(parse("valid_loss rise > -1000"))  # pauses at the end of epoch 2: state and message are logged
    s.run()
    return s


def test_json_round_trip(session, tmp_path):
    path = tmp_path / "logs" / "run.json"
    save_json(path, session, name="baseline")
    log = load_json(path)
    assert log.name == "baseline" and log.config == session.config and not log.reconstruct
    assert log.history.batch_loss == session.history.batch_loss
    assert log.history.batch_acc == session.history.batch_acc
    assert log.history.epochs == session.history.epochs  # including every layer's statistics
    assert set(log.history.epochs[0].layers) == {"layer1", "layer2", "output"}
    assert log.state == "paused" and log.message == session.message and "valid_loss rise" in log.message
    assert len(log.history.epochs) == 2
    assert log.position == {"step": session.step, "epoch": session.epoch, "batch": session.batch}
    assert log.network["sizes"] == [1024, 16, 8, 36] and log.dataset["sizes"]["valid"] == 128
    # a reloaded log plots like the session
    assert curves(log) == curves(session)
    # and saves again identically
    save_json(tmp_path / "again.json", log)
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(path.read_text())


def test_json_is_strict_and_non_finite_numbers_survive(session, tmp_path):
    log = run_log(session)
    log.history.batch_loss[1] = float("nan")
    log.history.batch_acc[2] = float("inf")
    path = tmp_path / "nan.json"
    save_json(path, log)
    d = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert d["format"] == FORMAT and d["batch_loss"][1] is None
    back = load_json(path)
    assert np.isnan(back.history.batch_loss[1]) and np.isnan(back.history.batch_acc[2])


def test_autoencoder_log(data, tmp_path):
    s = TrainingSession(data, TrainConfig(epochs=1, hidden=(8,), activation="relu", loss="squared_error", lr=1e-4))
    s.run()
    save_json(tmp_path / "ae.json", s)
    log = load_json(tmp_path / "ae.json")
    assert log.reconstruct and log.config.output == "sigmoid"
    assert log.history.epochs[0].valid_acc == pytest.approx(s.history.epochs[0].valid_acc)  # PSNR in dB


def test_bad_files_say_which_and_why(tmp_path, session):
    with pytest.raises(RunLogError, match="nope.json: no such file"):
        load_json(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(RunLogError, match="bad.json: not valid JSON"):
        load_json(bad)
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(RunLogError, match="not a backprop-studio run log"):
        load_json(bad)
    d = to_json(run_log(session))
    del d["epochs"][0]["layers"]
    bad.write_text(json.dumps(d))
    with pytest.raises(RunLogError, match="damaged run log"):
        load_json(bad)


def test_curve_csv(session, tmp_path):
    for which in ("batch", "epoch"):
        path = tmp_path / f"{which}.csv"
        save_curve_csv(path, session, which)
        got, want = load_csv(path), curves(session)[which]
        # column by column: pytest.approx of a dict of lists is a TypeError on pytest >= 9.2
        assert list(got) == list(want)
        for name, column in want.items():
            assert got[name] == pytest.approx(column), name
    header = (tmp_path / "epoch.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["epoch", "train_loss", "train_acc", "valid_loss", "valid_acc"]
    assert "layer1.grad_mean_abs" in header and "output.saturation" in header
    assert len((tmp_path / "batch.csv").read_text().splitlines()) == 1 + session.step
    with pytest.raises(ValueError, match="unknown curve 'weights'"):
        save_curve_csv(tmp_path / "x.csv", session, "weights")
    # overlaid runs of different lengths side by side
    save_csv(tmp_path / "two.csv", {"a": [1.0, 2.0, 3.0], "b": [0.5]})
    assert (tmp_path / "two.csv").read_text() == "a,b\n1.0,0.5\n2.0,\n3.0,\n"


def test_exports_are_ordinary_files_and_leave_no_temp_files(session, tmp_path):
    """Run-log exports go through engine.files.atomic_write: the umask's permissions (the old routine
    made them owner-only) and nothing left beside them."""
    import os

    old = os.umask(0o022)
    try:
        save_json(tmp_path / "run.json", session)
        save_curve_csv(tmp_path / "batch.csv", session, "batch")
    finally:
        os.umask(old)
    for name in ("run.json", "batch.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.csv", "run.json"]
