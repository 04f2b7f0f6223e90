import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
from helpers import ROOT

import main
from engine.data.dataset import NIST36_CLASSES


def write_nist_mat(path, n=60, seed=0, keys=("train", "valid", "test")):
    """A small file in exactly the NIST36 layout: float64 rows (column-major), one-hot uint8 labels."""
    rng = np.random.default_rng(seed)
    d = {}
    for k in keys:
        y = rng.integers(0, 36, n)
        d[f"{k}_data"] = rng.random((n, 1024)) * 1.26 - 0.14
        d[f"{k}_labels"] = np.eye(36, dtype=np.uint8)[y]
    scipy.io.savemat(path, d)
    return path


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_train_json_prints_one_object_per_epoch(tmp_path, capsys):
    mat = write_nist_mat(tmp_path / "nist36_train.mat")
    save = tmp_path / "model.npz"
    assert main.main(["train", "--data", str(mat), "--epochs", "3", "--json", "--save", str(save)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    rows = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert {"epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds", "layers"} <= set(r)
        assert set(r["layers"]) == {"layer1", "output"}
        assert set(r["layers"]["layer1"]) == {"grad_mean_abs", "saturation"}
    assert save.is_file()


def test_train_save_model_writes_the_network_alone(tmp_path, capsys):
    """--save-model: the weights and class names a model file needs (the OCR's), none of the checkpoint's
    optimizer state, history or report frames; the same run writes the same weights as --save holds."""
    from engine.ocr.model import load_classifier
    from engine.training.checkpoint import load_network

    mat = write_nist_mat(tmp_path / "nist36_train.mat")
    ckpt, model = tmp_path / "run.npz", tmp_path / "model.npz"
    args = ["train", "--data", str(mat), "--epochs", "2", "--hidden", "16", "--save", str(ckpt)]
    assert main.main([*args, "--save-model", str(model)]) == 0
    assert f"saved model {model}" in capsys.readouterr().out
    with np.load(model) as f:
        names = set(f.files)
    assert names == {"meta", "param/layer1.W", "param/layer1.b", "param/output.W", "param/output.b"}
    with np.load(ckpt) as f:
        assert any(n.startswith("report/") for n in f.files) and "history/batch_loss" in f.files
    net, classes, meta = load_network(model)
    full, _, _ = load_network(ckpt)
    assert all(np.array_equal(a, full.params()[k]) for k, a in net.params().items())
    assert meta["epoch"] == 2 and meta["config"]["hidden"] == [16] and 0 <= meta["valid_acc"] <= 1
    assert load_classifier(model).classes == load_classifier(ckpt).classes == classes  # both load as models
    assert main.main([*args[:-2], "--save-model", str(model), "--report", str(model)]) == 2  # one file twice
    assert "one file" in capsys.readouterr().err


def test_train_with_several_hidden_layers_and_tanh(tmp_path, capsys):
    mat = write_nist_mat(tmp_path / "d.mat", keys=("valid",))
    assert main.main(["train", "--data", str(mat), "--epochs", "1", "--hidden", "16,8", "--activation", "tanh",
                      "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert set(row["layers"]) == {"layer1", "layer2", "output"}


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/nonexistent/x.mat"], "no such file"),
    (["train", "--data", "BAD_MAT"], "not a readable MATLAB"),
    (["train", "--lr", "-1", "--data", "GOOD_MAT"], "learning rate"),
])
def test_bad_input_is_one_line_error_with_exit_code_2(tmp_path, args, message):
    (tmp_path / "bad.mat").write_text("this is not a mat file")
    good = write_nist_mat(tmp_path / "good.mat", n=10, keys=("valid",))
    args = [str(tmp_path / "bad.mat") if a == "BAD_MAT" else str(good) if a == "GOOD_MAT" else a for a in args]
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_gradcheck_cli_passes_and_reports_every_parameter(capsys):
    assert main.main(["gradcheck", "--json", "--entries", "30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["max_rel_error"]) == {"layer1.W", "layer1.b", "output.W", "output.b"}
    assert max(out["max_rel_error"].values()) < 1e-5


def test_bench_json_keys(monkeypatch, capsys):
    import engine.bench.training as bench

    monkeypatch.setattr(bench, "N_TRAIN", 640)  # the keys and the arithmetic, not the timing
    assert main.main(["bench", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"engine_ms", "seed_style_ms", "floor_ms"} <= set(out)  # the stable keys; ratios are extra
    assert all(v > 0 for v in out.values())
    assert out["engine_vs_floor"] == pytest.approx(out["engine_ms"] / out["floor_ms"])
    assert out["engine_vs_floor_and_gather"] == pytest.approx(out["engine_ms"] / (out["floor_ms"] + out["gather_ms"]))


def test_engine_training_matches_a_float64_reference_loop():
    """The engine (float32, fused softmax-CE, BLAS updates) takes the same SGD steps as a plain
    float64 re-implementation of the reference exercise's loop on the same batches."""
    from engine.data.dataset import Dataset, Split
    from engine.training.session import TrainConfig, TrainingSession

    rng = np.random.default_rng(1)
    x = rng.random((256, 1024), dtype=np.float32)
    y = rng.integers(0, 36, 256)
    data = Dataset("r", NIST36_CLASSES, Split(x, y), Split(x[:32], y[:32]), Split(x[:32], y[:32]))
    session = TrainingSession(data, TrainConfig(epochs=1, lr=3e-3))
    W1, W2 = (l.W.astype(np.float64) for l in session.net.layers)
    b1, b2 = np.zeros(64), np.zeros(36)
    order = np.random.default_rng([0, 0]).permutation(256)
    for i in range(0, 256, 32):
        xb, yb = x[order[i:i + 32]].astype(np.float64), np.eye(36)[y[order[i:i + 32]]]
        h = 1 / (1 + np.exp(-(xb @ W1 + b1)))
        z = h @ W2 + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d2 = p - yb
        d1 = (d2 @ W2.T) * h * (1 - h)
        W2, b2 = W2 - 3e-3 * h.T @ d2, b2 - 3e-3 * d2.sum(0)
        W1, b1 = W1 - 3e-3 * xb.T @ d1, b1 - 3e-3 * d1.sum(0)
    session.run()
    np.testing.assert_allclose(session.net.layers[0].W, W1, atol=2e-5)
    np.testing.assert_allclose(session.net.layers[1].W, W2, atol=2e-5)
    np.testing.assert_allclose(session.net.layers[1].b, b2, atol=2e-5)


def test_an_infinite_test_loss_is_a_divergence_not_a_result(tmp_path, capsys):
    """Found by the property tests: training and validation stay finite, but one test example's true class
    gets probability 0 after a too-large step; 'test loss inf' used to be printed with exit 0."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 4
    x = (rng.random((4, 1024))[y] + 0.1 * rng.random((60, 1024))).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    code = main.main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "2", "--batch-size", "48",
                      "--lr", "1.0", "--hidden", "8"])
    out, err = capsys.readouterr()
    assert code == 1 and "diverged on the test rows" in err and err.count("\n") == 1
    assert "inf" not in out.lower().split() and "test loss" not in out
