"""Every reader of a checkpoint checks what it uses: a damaged file is one CheckpointError naming the file
and the field (never a traceback), and only the members a reader uses are decompressed, each bounded."""
import json

import numpy as np
import pytest
from helpers import add_zero_member, one_line, peak_bytes, prototype_dataset

from engine.ocr.model import load_classifier
from engine.training.checkpoint import CheckpointError, load_network, load_session, save_session
from engine.training.session import TrainConfig, TrainingSession

MB = 2 ** 20


@pytest.fixture(scope="module")
def data():
    return prototype_dataset(n_train=64, n_valid=32)


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    """(metadata, arrays) of a checkpoint two epochs into a run with momentum (so it has optimizer state)."""
    path = tmp_path_factory.mktemp("ck") / "run.npz"
    session = TrainingSession(data, TrainConfig(epochs=3, hidden=(8,), momentum=0.5, batch_size=16))
    session.step_epoch()
    session.step_epoch()
    save_session(path, session)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(str(arrays.pop("meta"))), arrays


def rewrite(path, meta, arrays):
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


def damaged(saved, tmp_path, change):
    meta, arrays = json.loads(json.dumps(saved[0])), dict(saved[1])
    change(meta, arrays)
    return rewrite(tmp_path / "ck.npz", meta, arrays)


def _set(path: str, value):
    def change(meta, arrays):
        *parents, last = path.split(".")
        d = meta
        for p in parents:
            d = d[int(p)] if isinstance(d, list) else d[p]
        d[int(last) if isinstance(d, list) else last] = value
    return change


def _drop(path: str):
    def change(meta, arrays):
        *parents, last = path.split(".")
        d = meta
        for p in parents:
            d = d[int(p)] if isinstance(d, list) else d[p]
        del d[last]
    return change


def _array(name: str, value):
    def change(meta, arrays):
        arrays[name] = value
    return change


SESSION_DAMAGE = [
    (_set("position.step", "12"), "position.step is the string '12', not an integer"),
    (_set("position.epoch", -1), "position.epoch is -1"),
    (_set("position.batch", 99), "position.batch is 99"),
    (_set("config", [1, 2]), "config is a list of 2, not an object"),
    (_set("config.lr", "fast"), "config.lr is the string 'fast'"),
    (_set("config.batch_size", 0), "config: batch size must be at least 1"),
    (_set("config.hidden", [8.5]), "config.hidden[0] is the number 8.5"),
    (_drop("epochs.1.valid_acc"), "epochs[1].valid_acc is missing"),
    (_set("epochs.0.layers", []), "epochs[0].layers is a list of 0, not an object"),
    (_set("epochs.0.layers.layer1.saturation", None), "epochs[0].layers.layer1.saturation is null"),
    (_set("epoch_acc", [1.0]), "epoch_acc holds 1 items, not 3"),
    (_array("history/batch_loss", np.zeros((2, 3))), "history/batch_loss has shape (2, 3)"),
    (_array("history/batch_acc", np.array(["a", "b"])), "history/batch_acc holds <U1 values"),
    (_array("opt/velocity.layer1.W", np.zeros(5)), "opt/velocity.layer1.W has shape (5,)"),
    (_array("opt/velocity.nothing", np.zeros(5)), "belongs to no parameter"),
    (_array("param/layer1.W", np.float32(1.0)), "layer1.W has shape ()"),
]


@pytest.mark.parametrize("change, match", SESSION_DAMAGE)
def test_resuming_a_damaged_session_names_the_field(saved, data, tmp_path, change, match):
    path = damaged(saved, tmp_path, change)
    with pytest.raises(CheckpointError, match=f"^{tmp_path / 'ck.npz'}: ") as exc:
        load_session(path, data)
    assert match in str(exc.value), str(exc.value)
    one_line(exc.value)


def test_an_undamaged_session_still_resumes(saved, data, tmp_path):
    session = load_session(rewrite(tmp_path / "ck.npz", *saved), data)
    assert (session.epoch, session.step) == (2, 8) and len(session.history.epochs) == 2


def test_weights_beyond_float32_are_refused(saved, data, tmp_path):
    """1e300 is finite in a float64 file and inf once the network holds it as float32."""
    w = saved[1]["param/layer1.W"].astype(np.float64)
    w[0, 0] = 1e300
    path = damaged(saved, tmp_path, _array("param/layer1.W", w))
    for read in (lambda: load_network(path), lambda: load_session(path, data)):
        with pytest.raises(CheckpointError, match="layer1.W holds NaN or infinite"):
            read()


def test_metadata_nested_too_deep_is_refused(saved, tmp_path):
    text = json.dumps({**saved[0], "report": "here"}).replace('"here"', "[" * 5000 + "]" * 5000)
    path = tmp_path / "ck.npz"
    np.savez(path, meta=np.array(text), **saved[1])
    with pytest.raises(CheckpointError, match="nested 5001 levels deep") as exc:
        load_network(path)
    one_line(exc.value)


def test_a_resume_decompresses_only_the_members_it_uses(saved, data, tmp_path):
    path = rewrite(tmp_path / "ck.npz", *saved)
    add_zero_member(path, "report/unused", 64 * MB)
    session, peak = peak_bytes(load_session, path, data)
    assert session.epoch == 2 and peak < 16 * MB, peak


@pytest.fixture()
def ocr_model(tmp_path):
    """A copy of the shipped OCR model: (path, metadata, arrays)."""
    from engine.ocr.model import DEFAULT_MODEL

    with np.load(DEFAULT_MODEL) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    return tmp_path / "model.npz", meta, arrays


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan, 1e300])
def test_an_ocr_model_with_a_non_finite_output_bias_is_refused(ocr_model, value):
    path, meta, arrays = ocr_model
    b = arrays["param/output.b"].astype(np.float64)
    b[3] = value
    rewrite(path, meta, {**arrays, "param/output.b": b})
    with pytest.raises(CheckpointError, match="output.b holds NaN or infinite") as exc:
        load_classifier(path)
    one_line(exc.value)


def test_an_ocr_model_decompresses_only_its_parameters(ocr_model):
    path, meta, arrays = ocr_model
    rewrite(path, meta, arrays)
    add_zero_member(path, "unused", 64 * MB)
    clf, peak = peak_bytes(load_classifier, path)
    size = sum(a.nbytes for a in arrays.values())
    assert len(clf.classes) == 36 and peak < size + 16 * MB, (peak, size)
