"""Issue 11's classes of bad input, each through the command line: one `error:` line and exit 2 for
the user's mistakes, a traceback for the code's own bugs, and never a NaN reported as a result."""
import json
import os

import numpy as np
import pytest
from helpers import prototype_dataset

import main
from engine.data.dataset import NIST36_CLASSES
from engine.nn.network import Network
from engine.training.checkpoint import FORMAT, save_network


def run(capsys, *argv):
    code = main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def user_error(capsys, *argv, match=""):
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert match.lower() in err.lower(), err
    return err


def npz(path, x, y, **extra):
    np.savez(path, x=x, y=y, **extra)
    return path


def prototypes(n=60, k=4, seed=0):
    train = prototype_dataset(n_train=n, n_valid=0, n_classes=k, seed=seed, noise=0.1).train
    return train.x, train.y


# ---- datasets ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case, match", [
    ("huge_float64", "out-of-range"),
    ("nan", "nan"),
    ("one_class", "one class"),
    ("two_rows", "too few"),
    ("one_row", "too few"),
    ("label_1e7", "classes for"),
    ("label_1e12", "label 1e+12"),
    ("label_1e300", "label"),
    ("one_hot_1e6_wide", "classes for"),
    ("many_class_names", "class names"),
])
def test_bad_datasets(tmp_path, capsys, case, match):
    x, y = prototypes()
    f = tmp_path / f"{case}.npz"
    if case == "huge_float64":
        x = x.astype(np.float64)
        x[3, 7] = 1e300  # finite in float64, inf once cast to float32
    elif case == "nan":
        x[0, 0] = np.nan
    elif case == "one_class":
        y = np.zeros_like(y)
    elif case == "two_rows":
        x, y = x[:2], y[:2]
    elif case == "one_row":
        x, y = x[:1], y[:1]
    elif case == "label_1e7":
        y = y.copy()
        y[0] = 10 ** 7
    elif case == "label_1e12":
        y = y.astype(np.int64)
        y[0] = 10 ** 12
    elif case == "label_1e300":
        y = y.astype(np.float64)
        y[0] = 1e300
    elif case == "one_hot_1e6_wide":
        x, y = x[:2], np.zeros((2, 10 ** 6), np.uint8)
        y[0, 0] = y[1, 10 ** 6 - 1] = 1
    elif case == "many_class_names":
        npz(f, x, y, classes=np.array([f"c{i}" for i in range(5000)]))
    if not f.exists():
        npz(f, x, y)
    user_error(capsys, "train", "--data", f, "--epochs", "1", match=match)
    if case in ("two_rows", "huge_float64"):  # the autoencoder's door too ("PSNR nan" came from 2 rows)
        user_error(capsys, "autoencoder", "--data", f, "--epochs", "1", match=match)


def test_one_class_is_fine_for_the_autoencoder_but_not_a_classifier(tmp_path, capsys):
    x, _ = prototypes(n=40)
    f = npz(tmp_path / "a.npz", x, np.zeros(40, int))
    user_error(capsys, "train", "--data", f, "--epochs", "1", match="one class")
    code, out, _ = run(capsys, "autoencoder", "--data", f, "--epochs", "1", "--json")
    assert code == 0
    row = json.loads(out.splitlines()[-1])  # strict JSON: a NaN PSNR could not be printed
    assert np.isfinite(row["valid_psnr"]) and np.isfinite(row["loss"])


# ---- flags ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("flags, match", [
    (["--epochs", "0"], "epochs"),
    (["--epochs", "-2"], "epochs"),
    (["--lr-decay", "0"], "lr-decay"),
    (["--lr-decay", "1.5"], "lr-decay"),
    (["--lr-decay", "nan"], "lr-decay"),
    (["--decay-every", "-3"], "decay every"),
    (["--batch-size", "0"], "batch size"),
    (["--lr", "nan"], "learning rate"),
    (["--momentum", "1"], "momentum"),
    (["--seed", "-1"], "seed"),
    (["--save", ""], "empty"),
])
def test_bad_train_flags_fail_before_any_data_is_read(tmp_path, capsys, flags, match):
    # the data path does not exist: the flag must be refused before the loader gets to it
    user_error(capsys, "train", "--data", tmp_path / "not-there.npz", *flags, match=match)


def test_a_network_too_large_for_memory_is_refused(tmp_path, capsys):
    x, y = prototypes()
    user_error(capsys, "train", "--data", npz(tmp_path / "d.npz", x, y), "--hidden", "100000000", match="parameters")


def test_epochs_0_never_overwrites_a_trained_checkpoint(tmp_path, capsys):
    x, y = prototypes()
    data = npz(tmp_path / "d.npz", x, y)
    ckpt = tmp_path / "trained.npz"
    assert run(capsys, "train", "--data", data, "--epochs", "1", "--hidden", "8", "--save", ckpt)[0] == 0
    before = ckpt.read_bytes()
    user_error(capsys, "train", "--data", data, "--epochs", "0", "--save", ckpt, match="epochs")
    assert ckpt.read_bytes() == before


def test_unwritable_save_is_found_before_training(tmp_path, capsys, monkeypatch):
    import engine.training.session as session

    trained = []
    monkeypatch.setattr(session.TrainingSession, "run", lambda self, *a, **k: trained.append(1))
    x, y = prototypes()
    data = npz(tmp_path / "d.npz", x, y)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    user_error(capsys, "train", "--data", data, "--save", blocker / "model.npz")
    user_error(capsys, "train", "--data", data, "--save", tmp_path, match="folder")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        user_error(capsys, "train", "--data", data, "--save", locked / "m.npz", match="not writable")
    assert trained == []


def test_gradcheck_needs_entries(capsys):
    user_error(capsys, "gradcheck", "--entries", "0", match="entries")
    user_error(capsys, "gradcheck", "--entries", "-5", match="entries")


# ---- model files ---------------------------------------------------------------------------------

def _model_file(path, meta=None, params=None):
    net = Network.mlp(1024, (4,), 36, "relu")
    arrays = {f"param/{k}": v for k, v in net.params().items()}
    arrays.update(params or {})
    m = {"format": FORMAT, "sizes": net.sizes, "activations": net.activations, "classes": list(NIST36_CLASSES)}
    m = meta(m) if callable(meta) else m
    arrays["meta"] = np.array(json.dumps(m))
    np.savez(path, **arrays)
    return path


def _nan_weight():
    w = Network.mlp(1024, (4,), 36, "relu").params()["layer1.W"].copy()
    w[0, 0] = np.nan
    return {"param/layer1.W": w}


@pytest.mark.parametrize("meta, params, match", [
    (lambda m: [m], None, "metadata is a list"),
    (lambda m: "just text", None, "metadata is a str"),
    (lambda m: {**m, "sizes": "1024,4,36"}, None, "sizes"),
    (lambda m: {**m, "sizes": [1024, 4.5, 36]}, None, "sizes"),
    (lambda m: {**m, "sizes": [1024, True, 36]}, None, "sizes"),
    (lambda m: {**m, "sizes": [1024, 10 ** 9, 36]}, None, "parameters"),
    (lambda m: {**m, "activations": "relu"}, None, "activations"),
    (lambda m: {**m, "activations": ["relu", "nope"]}, None, "activations"),
    (lambda m: {**m, "classes": 36}, None, "classes"),
    (lambda m: {**m, "classes": list("ABC")}, None, "3 class names for 36 outputs"),
    (lambda m: {**m, "format": None}, None, "format"),
    (None, _nan_weight(), "nan"),
    (None, {"param/output.b": np.zeros(35, np.float32)}, "shape"),
    (None, {"param/extra.W": np.zeros(3, np.float32)}, "parameter names"),
    (None, {"param/output.b": np.array(["a"] * 36)}, "weights"),
])
def test_bad_model_files(tmp_path, capsys, meta, params, match):
    from PIL import Image

    page = tmp_path / "p.png"
    Image.fromarray(np.full((40, 60), 255, np.uint8)).save(page)
    model = _model_file(tmp_path / "m.npz", meta, params)
    user_error(capsys, "ocr", page, "--model", model, "--json", match=match)


def test_an_autoencoder_checkpoint_is_not_an_ocr_model(tmp_path, capsys):
    from PIL import Image

    page = tmp_path / "p.png"
    Image.fromarray(np.full((40, 60), 255, np.uint8)).save(page)
    model = tmp_path / "ae.npz"
    save_network(model, Network.mlp(1024, (8,), 1024, "relu", "sigmoid"), NIST36_CLASSES,
                 {"config": {"loss": "squared_error"}})
    user_error(capsys, "ocr", page, "--model", model, match="not a classifier")


# ---- ocr-eval stays in its folder --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../secret.png", "/etc/hostname", "sub/../../secret.png", ""])
def test_ocr_eval_never_leaves_its_folder(tmp_path, capsys, name):
    from PIL import Image

    (tmp_path / "secret.png").write_bytes(b"")
    Image.fromarray(np.full((40, 60), 255, np.uint8)).save(tmp_path / "secret.png")
    folder = tmp_path / "eval"
    (folder / "sub").mkdir(parents=True)
    (folder / "truth.json").write_text(json.dumps({name: ["A"]}))
    user_error(capsys, "ocr-eval", folder, match="not a file inside")


# ---- errors vs bugs ------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [ValueError("a bug, not your input"), OSError(28, "No space left on device"),
                                 TypeError("a bug"), KeyError("bug")])
def test_a_bug_keeps_its_traceback(monkeypatch, capsys, exc):
    """Only InputError and the OS errors of opening a user's file are 'error:' lines; a ValueError or
    a full disk raised inside the code propagates, so the traceback to fix it is printed."""
    import engine.cli.training

    def broken(*a, **k):
        raise exc

    monkeypatch.setattr(engine.cli.training, "default_problem", broken)
    with pytest.raises(type(exc)):
        main.main(["gradcheck", "--entries", "1"])


def test_emit_json_refuses_nan(capsys):
    main.emit_json({"loss": 1.5})
    assert json.loads(capsys.readouterr().out) == {"loss": 1.5}
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            main.emit_json({"loss": bad})


def test_permission_denied_on_a_user_file_is_a_user_error(tmp_path, capsys, monkeypatch):
    import engine.cli.training

    def denied(spec, seed=0):
        raise PermissionError(13, "Permission denied", str(tmp_path / "d.npz"))

    monkeypatch.setattr(engine.cli.training, "load_dataset", denied)
    err = user_error(capsys, "train", "--data", tmp_path / "d.npz", match="permission denied")
    assert str(tmp_path / "d.npz") in err


def test_an_infinite_validation_loss_is_a_divergence_not_a_result(tmp_path, capsys):
    """lr 2 on this data: every training batch stays finite, but a validation row gets probability 0
    for its class (loss inf). That used to print "valid loss inf" and exit 0."""
    x, y = prototypes()
    data = npz(tmp_path / "d.npz", x, y)
    code, out, err = run(capsys, "train", "--data", data, "--epochs", "1", "--batch-size", "23", "--lr", "2.0",
                         "--hidden", "8")
    assert code == 1 and "inf" not in out and "nan" not in out
    assert err.strip().splitlines()[-1].startswith("error: diverged at the end of epoch 1 (on the validation rows)")


@pytest.mark.parametrize("argv, match", [
    (["train", "--hidden", "0"], "--hidden needs positive sizes"),
    (["train", "--epochs", "x"], "invalid int value"),
    (["ocr"], "required: image"),
    (["no-such-command"], "invalid choice"),
])
def test_argument_errors_are_one_line_too(capsys, argv, match):
    """argparse's own errors follow the same rule as ours: one 'error:' line and exit 2, not the usage block."""
    with pytest.raises(SystemExit) as exit_:
        main.main(argv)
    _, err = capsys.readouterr()
    assert exit_.value.code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and match in err, err


# ---- JSON inputs: bounded in size and depth --------------------------------------------------------------

def _json_input(tmp_path, kind, text):
    if kind == "truth":
        (tmp_path / "eval").mkdir()
        (tmp_path / "eval" / "truth.json").write_text(text)
        return ["ocr-eval", tmp_path / "eval"]
    (tmp_path / "e.json").write_text(text)
    x, y = prototypes()
    return ["train", "--data", npz(tmp_path / "d.npz", x, y), "--epochs", "1", "--edits", tmp_path / "e.json"]


@pytest.mark.parametrize("kind", ["truth", "edits"])
@pytest.mark.parametrize("text, match", [
    ('{"a.png": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested 100001 levels deep"),
    ('{"a.png": ["' + "A" * (17 * 2 ** 20) + '"]}', "a JSON file of at most 16.0 MB"),
    ('{"a.png": [' + "9" * 5000 + "]}", "not valid JSON"),  # past Python's int digit limit
], ids=["deep", "large", "long_integer"])
def test_json_inputs_are_bounded(tmp_path, capsys, kind, text, match):
    user_error(capsys, *_json_input(tmp_path, kind, text), match=match)


@pytest.mark.parametrize("name", ["a\nb.json", "a\r\nb.json", "a\x1b[31mb.json", "a\u2028b.json"],
                         ids=["newline", "crlf", "escape", "line_separator"])
def test_an_os_error_on_an_odd_file_name_is_one_line(tmp_path, capsys, name):
    """The OS's own message names the file as it is: a folder given as the edit list (IsADirectoryError)."""
    (tmp_path / name).mkdir()
    x, y = prototypes()
    err = user_error(capsys, "train", "--data", npz(tmp_path / "d.npz", x, y), "--epochs", "1",
                     "--edits", tmp_path / name, match="is a directory")
    assert "\x1b" not in err and "\u2028" not in err
