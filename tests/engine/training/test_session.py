import threading
import time

import numpy as np
import pytest
from helpers import prototype_dataset

from engine.training.checkpoint import CheckpointError, load_network, load_session, save_session
from engine.training.session import BatchEvent, EpochEvent, State, StateEvent, TrainConfig, TrainingSession, thin


@pytest.fixture(scope="module")
def data():
    return prototype_dataset()


def params_equal(a, b):
    pa, pb = a.net.params(), b.net.params()
    return all(np.array_equal(pa[k], pb[k]) for k in pa)


def test_training_learns_and_reports_events(data):
    session = TrainingSession(data, TrainConfig(epochs=4, lr=0.01))
    events = []
    session.subscribe(events.append)
    assert session.run() == State.FINISHED
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    batches = [e for e in events if isinstance(e, BatchEvent)]
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert len(batches) == 4 * session.batches_per_epoch == 80
    assert epochs[-1].valid_acc > 0.9 > epochs[0].train_acc
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert set(batches[0].layers) == {"layer1", "output"}
    assert batches[0].layers["layer1"].grad_mean_abs > 0
    assert 0 <= batches[0].layers["layer1"].saturation <= 1
    assert isinstance(events[0], StateEvent) and events[0].state == State.RUNNING
    assert session.confusion().sum() == len(data.valid)


def test_step_batch_and_step_epoch_semantics(data):
    session = TrainingSession(data, TrainConfig(epochs=3))
    w0 = session.net.layers[0].W.copy()
    event = session.step_batch()
    assert (session.step, session.batch, session.epoch) == (1, 1, 0) and event.step == 1
    assert not np.array_equal(w0, session.net.layers[0].W)
    session.step_epoch()  # finishes the current epoch
    assert (session.epoch, session.batch, session.step) == (1, 0, session.batches_per_epoch)
    session.step_epoch()  # from a boundary: exactly one more epoch
    assert (session.epoch, session.step) == (2, 2 * session.batches_per_epoch)
    assert session.state == State.PAUSED


def test_pause_resume_and_stop_from_another_thread(data):
    config = TrainConfig(epochs=10_000)
    session = TrainingSession(data, config)
    seen = threading.Event()
    session.subscribe(lambda e: seen.set() if isinstance(e, BatchEvent) and e.step >= 5 else None)
    worker = threading.Thread(target=session.run)
    worker.start()
    assert seen.wait(10)
    session.pause()
    worker.join(10)
    assert not worker.is_alive() and session.state == State.PAUSED
    step = session.step
    time.sleep(0.05)
    assert session.step == step  # paused means no more batches
    session.step_batch()  # step while paused: exactly one batch
    assert session.step == step + 1 and session.state == State.PAUSED
    worker = threading.Thread(target=session.run)  # resume
    worker.start()
    while session.step < step + 20:
        time.sleep(0.001)
    session.stop()
    worker.join(10)
    assert session.state == State.STOPPED
    assert session.run() == State.STOPPED  # a stopped session does not restart


def test_divergence_stops_with_a_diagnosis(data):
    session = TrainingSession(data, TrainConfig(epochs=5, lr=1e4, activation="relu"))
    assert session.run() == State.DIVERGED
    assert "diverged at epoch" in session.message
    assert "lower the learning rate" in session.message
    assert any(name in session.message for name in ("layer1", "output"))
    assert session.step < 5 * session.batches_per_epoch


def test_checkpoint_round_trip_resumes_bit_identically(data, tmp_path):
    config = TrainConfig(epochs=3, momentum=0.9, lr=0.005, lr_decay=0.9, decay_every=1)
    a = TrainingSession(data, config)
    a.run(max_batches=27)  # mid-epoch on purpose
    path = tmp_path / "run.npz"
    save_session(path, a)
    b = load_session(path, data)
    assert (b.step, b.epoch, b.batch) == (a.step, a.epoch, a.batch)
    assert params_equal(a, b)
    a.run()
    b.run()
    assert params_equal(a, b)
    assert a.history.batch_loss == b.history.batch_loss
    assert [e.valid_loss for e in a.history.epochs] == [e.valid_loss for e in b.history.epochs]
    assert [e.train_loss for e in a.history.epochs] == [e.train_loss for e in b.history.epochs]
    net, classes, meta = load_network(path)
    assert net.sizes == [1024, 64, 36] and classes == data.classes


def test_checkpoint_errors(data, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match="bad.npz"):
        load_network(bad)
    with pytest.raises(CheckpointError, match="no such file"):
        load_network(tmp_path / "missing.npz")
    path = tmp_path / "ok.npz"
    save_session(path, TrainingSession(data, TrainConfig(epochs=1)))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="cut.npz"):
        load_network(cut)
    with pytest.raises(CheckpointError, match="classes"):
        load_session(path, prototype_dataset(n_classes=10))


def test_saving_is_atomic(data, tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    session = TrainingSession(data, TrainConfig(epochs=1))
    save_session(path, session)
    before = path.read_bytes()
    import engine.training.checkpoint as ck

    def explode(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(ck.np, "savez", explode)
    with pytest.raises(OSError):
        save_session(path, session)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary left behind


def test_snapshots_are_bounded_and_span_the_run(data):
    session = TrainingSession(data, TrainConfig(epochs=30, snapshot_every=3, max_snapshots=20))
    session.run()
    steps = [s.step for s in session.snapshots]
    assert len(steps) <= 20
    assert steps[0] == 0 and steps[-1] == session.step
    assert steps == sorted(steps)
    assert thin(list(range(10)))[0] == 0 and len(thin(list(range(10)))) < 10


def test_restore_goes_back_to_a_snapshot(data):
    session = TrainingSession(data, TrainConfig(epochs=3))
    session.step_epoch()
    snap = session.snapshots[-1]
    w = snap.params["layer1.W"].copy()
    session.step_epoch()
    session.restore(snap)
    assert session.step == snap.step and np.array_equal(session.net.layers[0].W, w)
    assert len(session.history.batch_loss) == snap.step and len(session.history.epochs) == 1


def test_config_validation():
    for bad in (dict(lr=0), dict(batch_size=0), dict(hidden=(0,)), dict(momentum=1.0)):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_a_pause_sent_before_run_starts_is_not_lost(data):
    session = TrainingSession(data, TrainConfig(epochs=5))
    session.pause()  # e.g. the GUI's Pause arrives before the worker thread enters run()
    assert session.run() == State.PAUSED and session.step == 0
    assert session.run(max_batches=3) == State.PAUSED and session.step == 3  # the request was consumed


def test_stepping_through_the_last_batch_announces_finished(data):
    session = TrainingSession(data, TrainConfig(epochs=1))
    states = []
    session.subscribe(lambda e: states.append(e.state) if isinstance(e, StateEvent) else None)
    for _ in range(session.batches_per_epoch):
        session.step_batch()
    assert session.state == State.FINISHED and states[-1] == State.FINISHED
    assert session.step_batch() is None and session.run() == State.FINISHED


def test_is_checkpoint_tells_checkpoints_from_datasets(data, tmp_path):
    from engine.training.checkpoint import is_checkpoint

    save_session(tmp_path / "c.npz", TrainingSession(data, TrainConfig(epochs=1)))
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 1024)), y=np.zeros(2))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert is_checkpoint(tmp_path / "c.npz")
    assert not is_checkpoint(tmp_path / "d.npz") and not is_checkpoint(tmp_path / "junk.npz")


def test_training_batches_reuse_their_workspace_and_match_a_fresh_pass(data):
    """The hot path writes into arrays kept from the previous batch, yet its gradients are those of an
    ordinary forward/backward pass with fresh arrays on the same rows and weights."""
    session = TrainingSession(data, TrainConfig(epochs=2, batch_size=16))
    session.step_batch()
    net = session.net
    first = [l.a for l in net.layers] + [net.layers[0].x]
    before = {k: v.copy() for k, v in net.params().items()}
    session.step_batch()
    assert all(a is b for a, b in zip(first, [l.a for l in net.layers] + [net.layers[0].x]))
    x, idx = net.layers[0].x.copy(), session._order[16:32]
    assert np.array_equal(x, data.train.x[idx])
    fresh = net.astype(net.dtype)
    fresh.set_params(before)
    from engine.nn.losses import softmax_cross_entropy
    _, _, dz = softmax_cross_entropy(fresh.forward(x, logits=True), data.train.y[idx])
    fresh.backward_preact(dz)
    for k, g in fresh.grads().items():
        assert np.array_equal(g, net.grads()[k]), k
