"""`report` on a damaged checkpoint: every field the report uses is checked first, so damage is one
`error:` line naming the file and the field, never a traceback and never a report of wrong numbers."""
import json

import numpy as np
import pytest
from helpers import add_zero_member, peak_bytes, prototype_dataset

import main
from engine.debug.watch import parse
from engine.report.data import save_checkpoint
from engine.report.html import load
from engine.training.session import TrainConfig, TrainingSession

MB = 2 ** 20


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(metadata, arrays) of a 2-epoch run's checkpoint with everything a report shows."""
    data = prototype_dataset(n_train=160, n_valid=72, noise=1.0)
    session = TrainingSession(data, TrainConfig(epochs=2, lr=0.02, hidden=(16,), snapshot_every=2))
    session.checks.append(parse("valid_acc > 0.01", session))
    while not session.done:
        session.run()
    path = tmp_path_factory.mktemp("ck") / "run.npz"
    save_checkpoint(path, session)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(str(arrays.pop("meta"))), arrays


def write(path, meta, arrays):
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


def at(meta, path: str):
    """The container holding the last key of a dotted path, and that key."""
    *parents, last = path.split(".")
    for p in parents:
        meta = meta[int(p)] if isinstance(meta, list) else meta[p]
    return meta, int(last) if isinstance(meta, list) else last


def set_(path, value):
    def change(meta, arrays):
        d, k = at(meta, path)
        d[k] = value
    return change


def drop(path):
    def change(meta, arrays):
        d, k = at(meta, path)
        del d[k]
    return change


def array(name, value):
    def change(meta, arrays):
        arrays[name] = value(arrays[name]) if callable(value) else value
    return change


def remove(name):
    return lambda meta, arrays: arrays.pop(name)


DAMAGE = [  # the five first
    (array("param/layer1.W", np.float32(0.5)), "param/layer1.W has shape ()"),
    (array("report/confusion", lambda cm: cm.reshape(-1)), "report/confusion has shape (1296,), not (36, 36)"),
    (drop("epochs.-1.valid_acc"), "epochs[1].valid_acc is missing"),
    (set_("report.confused.0.true", 99), "report.confused[0].true is 99, outside 0..35"),
    (set_("config", [1, 2, 3]), "config is a list of 3, not an object"),
    (set_("epochs.0.train_loss", "low"), "epochs[0].train_loss is the string 'low', not a number"),
    (set_("epochs.0.layers.layer1", 3), "epochs[0].layers.layer1 is the number 3, not an object"),
    (set_("epochs.1.layers", {}), "epochs[1].layers names no layer"),
    (set_("position", "start"), "position is the string 'start', not an object"),
    (set_("report.dataset.sizes.train", -4), "report.dataset.sizes.train is -4"),
    (set_("report.confused.0.count", "3"), "report.confused[0].count is the string '3'"),
    (set_("report.watchpoints.0.hits", [{"epoch": 1}]), "report.watchpoints[0].hits[0].batch is missing"),
    (set_("report.weights.0.step", 1.5), "report.weights[0].step is the number 1.5"),
    (set_("report.weights.2.param", "output.W"), "report.weights[2].param is the string 'output.W'"),
    (set_("report.state", 7), "report.state is the number 7, not a string"),
    (array("report/confusion", lambda cm: -cm), "report/confusion holds a negative count"),
    (array("report/confusion", lambda cm: cm.astype(np.float64)), "report/confusion holds float64 values"),
    (array("report/weights/0", np.zeros((3, 3), np.float32)), "report/weights/0 has shape (3, 3), not (1024, 16)"),
    (array("report/confused/0", lambda a: a.astype(np.float32)), "report/confused/0 holds float32 values"),
    (array("report/saliency/0", np.zeros(7, np.float32)), "report/saliency/0 has shape (7,), not (1024,)"),
    (array("history/batch_loss", np.zeros((2, 2))), "history/batch_loss has shape (2, 2)"),
    (remove("param/layer1.W"), "param/layer1.W is missing"),
    (set_("sizes", [1024, "16", 36]), "sizes"),
    (set_("classes", ["A"]), "1 class names for 36 outputs"),
]


@pytest.mark.parametrize("change, match", DAMAGE)
def test_a_damaged_checkpoint_is_one_error_line_naming_the_field(saved, tmp_path, capsys, change, match):
    meta, arrays = json.loads(json.dumps(saved[0])), dict(saved[1])
    change(meta, arrays)
    ck = write(tmp_path / "ck.npz", meta, arrays)
    code = main.main(["report", str(ck), "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {ck}: ") and len(err.strip().splitlines()) == 1, err
    assert match in err, err
    assert not (tmp_path / "r.html").exists()


def test_an_undamaged_checkpoint_still_reports(saved, tmp_path, capsys):
    ck = write(tmp_path / "ck.npz", *saved)
    assert main.main(["report", str(ck), "--out", str(tmp_path / "r.html")]) == 0
    assert "Most confused pairs" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_the_report_decompresses_only_what_it_shows(saved, tmp_path):
    ck = write(tmp_path / "ck.npz", *saved)
    add_zero_member(ck, "report/unused", 64 * MB)
    data, peak = peak_bytes(load, ck)
    assert data.confusion is not None and peak < 16 * MB, peak
