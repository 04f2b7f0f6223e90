"""L2 weight decay, inverted dropout and leaky ReLU: gradients, determinism, checkpoints, CLI."""
import json

import numpy as np
import pytest
from helpers import prototype_dataset

import engine.nn.gradcheck as gradcheck
import main
from engine.errors import InputError
from engine.nn.activations import ACTIVATIONS, LEAKY_SLOPE
from engine.nn.gradcheck import check, default_problem, regularization_checks
from engine.nn.network import Network
from engine.training.checkpoint import load_session, save_session
from engine.training.session import TrainConfig, TrainingSession


@pytest.fixture(scope="module")
def data():
    return prototype_dataset(n_train=320, n_valid=64)


def params_equal(a, b):
    pa, pb = a.net.params(), b.net.params()
    return all(np.array_equal(pa[k], pb[k]) for k in pa)


# ---- gradients ---------------------------------------------------------------------------------

def test_leaky_relu_values_and_derivative():
    f, df = ACTIVATIONS["leaky_relu"]
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    a = f(z.copy())
    np.testing.assert_allclose(a, [[-2 * LEAKY_SLOPE, -0.5 * LEAKY_SLOPE, 0.0, 0.5, 3.0]])
    np.testing.assert_allclose(df(a, np.ones_like(a)), [[LEAKY_SLOPE, LEAKY_SLOPE, LEAKY_SLOPE, 1.0, 1.0]])


@pytest.mark.parametrize("activation", ["sigmoid", "leaky_relu"])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_dropout_and_weight_decay_pass_the_gradient_check(activation, loss):
    net, x, target = default_problem(sizes=(40, 16, 12, 9), activation=activation, loss=loss, n=6)
    masks = net.dropout_masks(len(x), 0.5, np.random.default_rng(3))
    for reg in ({"masks": masks}, {"weight_decay": 0.05}, {"masks": masks, "weight_decay": 0.05}):
        result = check(net, x, target, loss, entries=60, **reg)
        assert result.passed, (reg.keys(), result.max_rel_error)


def test_gradient_check_catches_a_backward_pass_that_ignores_the_dropout_mask(monkeypatch):
    net, x, target = default_problem(sizes=(40, 16, 9), n=6)
    masks = net.dropout_masks(len(x), 0.5, np.random.default_rng(3))
    original = gradcheck.loss_and_backprop
    monkeypatch.setattr(gradcheck, "loss_and_backprop",
                        lambda net, x, t, loss, masks=None, **kw: original(net, x, t, loss, None, **kw))
    assert not check(net, x, target, entries=40, masks=masks).passed


def test_gradient_check_catches_a_wrong_weight_decay_gradient(monkeypatch):
    net, x, target = default_problem(sizes=(40, 16, 9), n=6)
    original = Network.add_weight_decay
    monkeypatch.setattr(Network, "add_weight_decay", lambda self, s: original(self, 0.5 * s))  # forgot the 2 of d/dW W^2
    result = check(net, x, target, entries=40, weight_decay=0.05)
    assert not result.passed and result.max_rel_error["layer1.W"] > 1e-2
    assert result.max_rel_error["layer1.b"] < 1e-5  # biases are not decayed


def test_regularization_checks_cover_every_combination():
    results = regularization_checks(entries=20)
    assert len(results) == 12 and all(r.passed for r in results.values())
    assert any("leaky_relu" in k and "both" in k for k in results)


# ---- dropout semantics -------------------------------------------------------------------------

def test_dropout_masks_are_inverted_and_evaluation_uses_none():
    net = Network([20, 300, 200, 5], ["sigmoid", "sigmoid", "softmax"], seed=1)
    masks = net.dropout_masks(400, 0.25, np.random.default_rng(0))
    assert [m.shape for m in masks] == [(400, 300), (400, 200)]
    for m in masks:
        assert set(np.unique(m)) == {0.0, np.float32(1 / 0.75)}
        assert abs(np.mean(m == 0) - 0.25) < 0.01
    x = np.random.default_rng(1).random((400, 20), dtype=np.float32)
    plain = net.forward(x).copy()
    dropped = net.forward(x, masks).copy()
    assert not np.allclose(plain, dropped)
    np.testing.assert_array_equal(net.predict(x), plain)  # predict never drops ...
    assert net.layers[0].drop is masks[0]  # ... and leaves the training caches as they were
    np.testing.assert_array_equal(net.layers[1].x, net.layers[0].a * masks[0])


def test_dropout_training_is_deterministic_and_resumes_bit_identically(data, tmp_path):
    config = TrainConfig(epochs=2, activation="leaky_relu", dropout=0.3, weight_decay=1e-3, momentum=0.9,
                         lr=0.005, hidden=(32, 16))
    a = TrainingSession(data, config)
    a.run(max_batches=13)  # mid-epoch on purpose
    save_session(tmp_path / "run.npz", a)
    b = load_session(tmp_path / "run.npz", data)
    assert b.config == config
    a.run()
    b.run()
    assert params_equal(a, b) and a.history.batch_loss == b.history.batch_loss
    fresh = TrainingSession(data, config)
    fresh.run()
    assert params_equal(a, fresh)
    undropped = TrainingSession(data, TrainConfig(**{**config.__dict__, "dropout": 0.0}))
    undropped.run()
    assert not params_equal(a, undropped)


def test_old_checkpoints_without_the_new_fields_still_load(data, tmp_path):
    session = TrainingSession(data, TrainConfig(epochs=1))
    session.run(max_batches=3)
    path = tmp_path / "old.npz"
    save_session(path, session)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["config"]["weight_decay"], meta["config"]["dropout"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    loaded = load_session(path, data)
    assert loaded.config.weight_decay == 0.0 and loaded.config.dropout == 0.0 and loaded.step == 3


# ---- weight decay semantics --------------------------------------------------------------------

def test_weight_decay_keeps_the_weights_smaller(data):
    norms = {}
    for wd in (0.0, 0.1):
        s = TrainingSession(data, TrainConfig(epochs=2, weight_decay=wd))
        s.run()
        norms[wd] = [float(np.linalg.norm(l.W)) for l in s.net.layers]
    assert all(d < 0.9 * n for d, n in zip(norms[0.1], norms[0.0]))


def test_weight_decay_alone_is_an_exponential_shrink():
    """With a zero data gradient, one step is W <- (1 - lr * n * wd) W: decay per example."""
    net = Network([6, 4, 3], ["sigmoid", "softmax"], seed=0)
    W = net.layers[0].W.copy()
    for layer in net.layers:
        layer.dW[...] = 0
    net.add_weight_decay(32 * 1e-2)
    np.testing.assert_allclose(net.layers[0].dW, 0.32 * W, rtol=1e-6)
    assert net.l2_penalty(2.0) == pytest.approx(sum(float((l.W.astype(float) ** 2).sum()) for l in net.layers))


# ---- configuration and CLI ---------------------------------------------------------------------

@pytest.mark.parametrize("bad", [{"weight_decay": -1e-3}, {"weight_decay": float("nan")}, {"dropout": 1.0},
                                 {"dropout": -0.1}, {"activation": "swish"}])
def test_config_rejects_bad_regularization_as_input_errors(bad):
    with pytest.raises(InputError):
        TrainConfig(**bad)


@pytest.mark.parametrize("flags, message", [(["--weight-decay", "-1"], "weight decay"),
                                            (["--dropout", "1"], "dropout"), (["--dropout", "-0.5"], "dropout")])
def test_cli_rejects_bad_regularization_flags(flags, message, capsys):
    assert main.main(["train", *flags, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_cli_trains_with_every_regularizer(tmp_path, capsys):
    save = tmp_path / "m.npz"
    assert main.main(["train", "--epochs", "1", "--activation", "leaky_relu", "--dropout", "0.2",
                      "--weight-decay", "1e-4", "--json", "--save", str(save)]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["epoch"] == 1 and np.isfinite(row["train_loss"])
    with np.load(save) as f:
        config = json.loads(str(f["meta"]))["config"]
    assert (config["activation"], config["dropout"], config["weight_decay"]) == ("leaky_relu", 0.2, 1e-4)
