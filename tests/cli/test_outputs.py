"""An output that is one of the command's inputs, or two outputs that are one file, is refused before any
work starts: one `error:` line, exit 2, every file as it was."""
import os

import numpy as np
import pytest
from helpers import prototype_dataset

import main
from engine.report.data import save_checkpoint
from engine.training.session import TrainConfig, TrainingSession


@pytest.fixture()
def files(tmp_path):
    """A dataset, an edit list and a checkpoint, with their bytes as written."""
    train = prototype_dataset(n_train=40, n_valid=0, n_classes=4).train
    np.savez(tmp_path / "d.npz", x=train.x, y=train.y)
    (tmp_path / "e.json").write_text('{"format": "backprop-studio-edits/1", "dataset": "", "edits": []}')
    session = TrainingSession(prototype_dataset(n_train=64, n_valid=16, n_classes=4), TrainConfig(epochs=1, hidden=(4,)))
    session.run()
    save_checkpoint(tmp_path / "ck.npz", session)
    return {p.name: p.read_bytes() for p in tmp_path.iterdir()}


def refused(capsys, tmp_path, files, *argv, match):
    code = main.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert match in err, err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in files} == files  # nothing touched
    return err


@pytest.mark.parametrize("argv, match", [
    (["report", "{t}/ck.npz", "--out", "{t}/ck.npz"], "--out {t}/ck.npz is the checkpoint this command reads"),
    (["report", "{t}/./ck.npz", "--out", "{t}/ck.npz"], "is the checkpoint"),
    (["train", "--data", "{t}/d.npz", "--save", "{t}/d.npz", "--epochs", "1"], "--save {t}/d.npz is the --data"),
    (["train", "--data", "{t}/d.npz", "--report", "{t}/d.npz", "--epochs", "1"], "--report {t}/d.npz is the --data"),
    (["train", "--data", "glyphs+{t}/d.npz", "--save", "{t}/d.npz"], "is the --data"),
    (["train", "--data", "{t}/d.npz", "--edits", "{t}/e.json", "--save", "{t}/e.json"], "is the --edits"),
    (["train", "--data", "{t}/d.npz", "--save", "{t}/x.npz", "--report", "{t}/x.npz"],
     "--save and --report are one file"),
    (["train", "--data", "{t}/d.npz", "--save", "{t}/ck.npz", "--report", "{t}/sub/../ck.npz"], "are one file"),
    (["screenshot", "--data", "{t}", "--out", "{t}"], "--out {t} is the --data"),
])
def test_an_output_onto_an_input_is_refused_before_any_work(tmp_path, capsys, files, argv, match):
    (tmp_path / "sub").mkdir()
    refused(capsys, tmp_path, files, *(a.format(t=tmp_path) for a in argv), match=match.format(t=tmp_path))


def test_a_checkpoint_named_html_is_not_its_own_default_report(tmp_path, capsys, files):
    os.replace(tmp_path / "ck.npz", tmp_path / "run.html")
    files["run.html"] = files.pop("ck.npz")
    refused(capsys, tmp_path, files, "report", tmp_path / "run.html", match="--out")


def test_links_to_an_input_are_that_input(tmp_path, capsys, files):
    os.symlink(tmp_path / "d.npz", tmp_path / "soft.npz")
    os.link(tmp_path / "d.npz", tmp_path / "hard.npz")
    for link in ("soft.npz", "hard.npz"):
        refused(capsys, tmp_path, files, "train", "--data", tmp_path / "d.npz", "--save", tmp_path / link,
                match="is the --data")


def test_a_home_relative_output_is_compared_as_the_user_means_it(tmp_path, capsys, files, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    refused(capsys, tmp_path, files, "train", "--data", tmp_path / "d.npz", "--save", "~/d.npz",
            match="is the --data")
