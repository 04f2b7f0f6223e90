"""Time travel (views, branching, snapshot memory cap) and the gradient-check heatmap view."""
import numpy as np
import pytest
from helpers import prototype_dataset

from engine.debug.timeline import (
    branch,
    nearest,
    set_memory_cap,
    snapshot_nbytes,
    snapshot_steps,
    snapshots_nbytes,
    view,
)
from engine.nn.activations import ACTIVATIONS
from engine.nn.gradcheck import default_problem, loss_and_backprop, weight_errors
from engine.training.session import State, TrainConfig, TrainingSession


@pytest.fixture(scope="module")
def data():
    return prototype_dataset(n_train=320, n_valid=128)  # 10 batches per epoch


@pytest.fixture(scope="module")
def trained(data):
    session = TrainingSession(data, TrainConfig(epochs=3, lr=0.01, snapshot_every=4))
    session.run()
    return session


def test_view_shows_the_run_as_it_was(trained, data):
    steps = snapshot_steps(trained)
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == trained.step
    i = nearest(trained, 14)  # snapshots at 0, 4, 8, 10 (epoch end), 12, 16, ...
    v = view(trained, i)
    assert v.step == 12 and steps[i] == 12
    assert len(v.batch_loss) == len(v.batch_acc) == 12 and v.batch_loss == trained.history.batch_loss[:12]
    assert [e.epoch for e in v.epochs] == [1]
    assert v.confusion.shape == (36, 36) and v.confusion.sum() == len(data.valid)
    assert np.trace(v.confusion) / len(data.valid) == pytest.approx(v.valid_acc)
    assert not np.array_equal(v.params["layer1.W"], trained.net.params()["layer1.W"])
    assert set(v.layers) == {"layer1", "output"} and v.layers["layer1"].grad_mean_abs > 0
    # an epoch-end snapshot reproduces the accuracy the epoch event reported
    end = view(trained, nearest(trained, 20))
    assert end.step == 20 and end.valid_acc == pytest.approx(trained.history.epochs[1].valid_acc)
    # learning happened between the two views, and the first one shows it
    first = view(trained, 0)
    assert first.batch_loss == [] and first.valid_acc < end.valid_acc
    assert view(trained, -1).step == trained.step
    with pytest.raises(IndexError, match="out of range"):
        view(trained, len(steps))


def test_view_of_an_autoencoder(data):
    session = TrainingSession(data, TrainConfig(epochs=1, hidden=(16,), activation="relu", loss="squared_error",
                                                lr=1e-4))
    session.run()
    v = view(session, -1)
    assert v.confusion is None and v.valid_acc == pytest.approx(session.history.epochs[-1].valid_acc)
    assert 0 < v.valid_acc < 100  # dB


def test_branch_keeps_both_histories(data):
    original = TrainingSession(data, TrainConfig(epochs=4, lr=0.01, snapshot_every=0))
    original.run()
    before = list(original.history.batch_loss)
    at = nearest(original, 20)  # the end of epoch 2
    fast = branch(original, at, lr=0.05)
    assert (fast.step, fast.epoch, fast.batch) == (20, 2, 0) and fast.config.lr == 0.05
    assert fast.config.hidden == original.config.hidden and original.config.lr == 0.01
    fast.run()
    assert fast.state == State.FINISHED and fast.step == original.step == 40
    assert original.history.batch_loss == before  # the original is untouched
    assert fast.history.batch_loss[:20] == before[:20] and fast.history.batch_loss[20:] != before[20:]
    assert [e.epoch for e in fast.history.epochs] == [1, 2, 3, 4]
    assert fast.history.epochs[:2] == original.history.epochs[:2]
    # same settings: continuing from the snapshot retraces the original run
    same = branch(original, at)
    same.run()
    assert same.history.batch_loss == before


def test_branch_mid_epoch_and_errors(data, trained):
    snap = trained.snapshots[nearest(trained, 12)]  # epoch 2, batch 2
    b = branch(trained, snap, batch_size=64, momentum=0.9)
    assert (b.step, b.epoch, b.batch) == (12, 1, 1)  # 2 batches of 32 = 1 batch of 64
    b.step_batch()
    assert b.step == 13 and b.batch == 2
    with pytest.raises(ValueError, match="cannot change hidden"):
        branch(trained, 0, hidden=(8,))
    with pytest.raises(ValueError, match="unknown setting.*learning_rate"):
        branch(trained, 0, learning_rate=1.0)
    other = TrainingSession(data, TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="does not belong"):
        branch(trained, other.snapshots[0])


def test_snapshot_memory_stays_under_the_cap(data):
    session = TrainingSession(data, TrainConfig(epochs=6, momentum=0.9, snapshot_every=1))
    session.run(max_batches=1)  # the velocity exists from the first step on
    per = snapshot_nbytes(session.snapshots[-1])
    cap = 10 * per + per // 2
    assert set_memory_cap(session, cap) == 10
    seen = []
    session.checks.append(lambda s, e: seen.append(snapshots_nbytes(s)))  # runs after each batch's snapshot
    session.run()
    assert session.step == 60 and len(seen) == 59 and max(seen) <= cap
    steps = snapshot_steps(session)
    assert steps[0] == 0 and steps[-1] == 60 and len(steps) <= 10  # the whole run stays scrubbable
    # a tighter cap thins what is already there
    set_memory_cap(session, 4 * per)
    assert snapshots_nbytes(session) <= 4 * per and snapshot_steps(session)[0] == 0
    with pytest.raises(ValueError, match="fewer than 3 snapshots"):
        set_memory_cap(session, 2 * per)


# ---- the gradient-check view: per-weight heatmap ------------------------------------------------


def test_gradient_check_heatmap_flags_a_broken_gradient():
    net, x, y = default_problem(sizes=(1024, 12, 36), n=4)
    good = weight_errors(net, x, y, layer=0)
    assert good.errors.shape == (1024, 12) and good.passed and good.errors.max() < 1e-4

    # one corrupted entry: the heatmap's hottest pixel is exactly that weight, in its 32x32 tile
    f64 = net.astype(np.float64)
    loss_and_backprop(f64, x, y, "cross_entropy")
    dW = f64.layers[0].dW.copy()
    broken = dW.copy()
    broken[300, 5] += 0.5 * np.abs(dW).max()
    check = weight_errors(net, x, y, layer=0, backprop_grad=broken)
    assert not check.passed
    tile = check.errors[:, 5].reshape(32, 32)
    assert np.unravel_index(tile.argmax(), tile.shape) == np.unravel_index(300, (32, 32))
    assert np.count_nonzero(check.errors > 1e-3) == 1

    # a broken backward pass: the hidden sigmoid's derivative forgotten
    f64.forward(np.asarray(x))
    probs = f64.layers[-1].a
    dz = probs.copy()
    dz[np.arange(len(y)), y] -= 1.0
    da = dz @ f64.layers[1].W.T  # missing: * a * (1 - a)
    wrong = np.asarray(x).T @ da
    check = weight_errors(net, x, y, layer=0, backprop_grad=wrong)
    assert not check.passed and check.tensor_error > 0.5
    right = np.asarray(x).T @ ACTIVATIONS["sigmoid"][1](f64.layers[0].a, da.copy())
    assert weight_errors(net, x, y, layer=0, backprop_grad=right).passed
