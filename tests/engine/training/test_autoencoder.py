"""The autoencoder: PSNR against hand-worked numbers, the session's squared-error objective, the
reference architecture, augmentation, reconstructions for the GUI and the CLI."""
import json

import numpy as np
import pytest
from helpers import prototype_dataset

import main
from engine.data.dataset import NIST36_CLASSES, Dataset, split_deterministic
from engine.data.glyphs import generate
from engine.nn.gradcheck import loss_and_backprop
from engine.training.autoencoder import (
    AutoencoderConfig,
    augment_shifts,
    init_network,
    make_session,
    mean_psnr,
    psnr,
    reconstructions,
)
from engine.training.session import TrainConfig, TrainingSession, row_psnr


@pytest.fixture(scope="module")
def glyphs():
    x, y = generate(1440, seed=5)
    return Dataset("small glyphs", NIST36_CLASSES, *split_deterministic(x, y, (0.8, 0.1, 0.1), 0))


def test_psnr_hand_checked():
    original = np.array([[0.0, 0.0], [1.0, 1.0]])
    # one pixel off by 0.5: MSE = 0.25 / 4 = 1/16, PSNR = 10 log10(16) = 12.0412 dB
    assert psnr(original, [[0.0, 0.5], [1.0, 1.0]]) == pytest.approx(12.041199826559248, abs=1e-12)
    # every pixel off by 0.1: MSE = 0.01, PSNR = 20 dB exactly
    assert psnr(original, original + 0.1) == pytest.approx(20.0)
    assert psnr(original, original) == 100.0  # capped like row_psnr: finite, so JSON and curves can hold it
    # per image (rows), and the mean the reference reports: (12.0412 + 20) / 2
    rows = np.array([[0, 0, 1, 1], [0, 0, 1, 1]], float)
    recon = np.array([[0, 0.5, 1, 1], [0.1, 0.1, 1.1, 1.1]])
    assert row_psnr(rows, recon) == pytest.approx([12.0412, 20.0], abs=1e-4)
    assert mean_psnr(rows, recon) == pytest.approx(16.0206, abs=1e-4)
    assert row_psnr(rows, rows)[0] == pytest.approx(100.0)  # perfect rows are capped, not inf
    from skimage.metrics import peak_signal_noise_ratio
    rng = np.random.default_rng(0)
    a, b = rng.random((32, 32)), rng.random((32, 32))
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0))


def test_train_config_objectives():
    assert TrainConfig().output == "softmax" and TrainConfig(loss="squared_error").output == "sigmoid"
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        TrainConfig(loss="hinge")
    with pytest.raises(ValueError, match="cross-entropy needs a softmax output"):
        TrainConfig(output="sigmoid")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        TrainingSession(prototype_dataset(64, 16), TrainConfig(loss="squared_error", output="swish"))


def test_squared_error_session_step_is_backprop_and_reports_psnr():
    data = prototype_dataset(n_train=64, n_valid=32)
    session = TrainingSession(data, TrainConfig(hidden=(8,), activation="relu", loss="squared_error",
                                                lr=1e-4, epochs=1, batch_size=16))
    assert session.net.sizes == [1024, 8, 1024] and session.net.activations == ["relu", "sigmoid"]
    x = data.train.x[np.random.default_rng([0, 0]).permutation(64)[:16]]
    ref = session.net.astype(np.float64)
    loss = loss_and_backprop(ref, x.astype(np.float64), x.astype(np.float64), "squared_error")
    before = session.net.predict(x)
    event = session.step_batch()
    assert event.loss == pytest.approx(loss / 16, rel=1e-5)
    assert event.acc == pytest.approx(row_psnr(x, before).mean(), rel=1e-5)  # acc holds PSNR
    for layer, r in zip(session.net.layers, ref.layers):
        assert np.allclose(layer.dW, r.dW, rtol=1e-3, atol=1e-6 * np.abs(r.dW).max())
    valid_loss, valid_psnr, per_image = session.evaluate(data.valid)
    assert per_image.shape == (32,) and valid_psnr == pytest.approx(per_image.mean())
    out = session.net.predict(data.valid.x)
    assert valid_loss == pytest.approx(((out - data.valid.x) ** 2).sum() / 32, rel=1e-4)
    with pytest.raises(ValueError, match="no confusion matrix"):
        session.confusion()


def test_reference_architecture_and_init(glyphs):
    session = make_session(glyphs, AutoencoderConfig(min_train=0))
    c = session.config
    assert session.net.sizes == [1024, 32, 32, 32, 1024]
    assert session.net.activations == ["relu", "relu", "relu", "sigmoid"]
    assert (c.loss, c.momentum, c.lr_decay) == ("squared_error", 0.9, 0.9) and c.decay_every > 0
    assert session.schedule.at(c.decay_every) == pytest.approx(0.9 * c.lr)
    net = init_network(glyphs.train.x)
    for layer in net.layers[:-1]:
        assert np.abs(layer.W.mean(axis=0)).max() < 1e-6  # no common-mode input: fewer dead ReLUs
    mean = np.clip(glyphs.train.x.mean(axis=0), 0.02, 0.98)
    assert 1 / (1 + np.exp(-net.layers[-1].b)) == pytest.approx(mean, abs=1e-5)


def test_augment_shifts(glyphs):
    train = glyphs.train
    big = augment_shifts(train, 3000, 2, seed=1)
    assert len(big) == 3000 and np.array_equal(big.x[:len(train)], train.x)
    assert np.array_equal(augment_shifts(train, 3000, 2, seed=1).x, big.x)  # deterministic
    # every added row is its class's source image moved by at most 2 pixels (edges repeated)
    imgs = train.x.reshape(-1, 32, 32)
    pad = np.pad(imgs, ((0, 0), (2, 2), (2, 2)), mode="edge")
    for row, label in zip(big.x[len(train)::400], big.y[len(train)::400]):
        found = any(np.array_equal(row.reshape(32, 32), pad[i, 2 + dy:34 + dy, 2 + dx:34 + dx])
                    for i in np.flatnonzero(train.y == label) for dy in range(-2, 3) for dx in range(-2, 3))
        assert found
    assert augment_shifts(train, 100, 2) is train and augment_shifts(train, 3000, 0) is train


def test_training_improves_psnr_and_reconstructions(glyphs):
    mean_image = np.broadcast_to(glyphs.train.x.mean(axis=0), glyphs.valid.x.shape)
    baseline = mean_psnr(glyphs.valid.x, mean_image)
    session = make_session(glyphs, AutoencoderConfig(epochs=8, min_train=4000))
    session.run()
    psnrs = [e.valid_acc for e in session.history.epochs]
    assert psnrs[-1] > baseline + 2.0 and psnrs[-1] > psnrs[0]
    r = reconstructions(session, per_class=2)
    classes = [NIST36_CLASSES.index(c) for c in r.labels]
    assert classes == sorted(classes) and max(np.bincount(classes)) <= 2
    assert r.originals.shape == r.outputs.shape == (len(r.indices), 32, 32)
    assert r.psnr == pytest.approx(row_psnr(glyphs.valid.x[r.indices], session.net.predict(glyphs.valid.x[r.indices])))
    assert r.originals.min() >= 0 and r.originals.max() <= 1 and 0 < r.outputs.min() and r.outputs.max() < 1
    early = reconstructions(session, per_class=2, params=session.snapshots[0].params)  # the timeline's view
    assert np.array_equal(early.indices, r.indices) and early.psnr.mean() < r.psnr.mean()


def test_cli_json_lines_and_errors(tmp_path, capsys):
    data = prototype_dataset(n_train=200, n_valid=40)
    x = np.clip(np.concatenate([data.train.x, data.valid.x]), 0, 1)
    np.savez(tmp_path / "small.npz", x=x, y=np.concatenate([data.train.y, data.valid.y]))
    argv = ["autoencoder", "--data", str(tmp_path / "small.npz"), "--epochs", "2", "--batch-size", "64", "--json"]
    assert main.main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["epoch"] for d in lines] == [1, 2]
    assert all({"epoch", "loss", "valid_psnr"} <= set(d) for d in lines) and lines[1]["valid_psnr"] > 5
    assert main.main(["autoencoder", "--epochs", "0"]) == 2
    assert "error: --epochs must be at least 1" in capsys.readouterr().err
    assert main.main(["autoencoder", "--data", str(tmp_path / "missing.npz"), "--epochs", "1"]) == 2
    assert "error: " in capsys.readouterr().err
