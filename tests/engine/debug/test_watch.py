"""Watchpoints fire at the first batch where their condition holds, and not before.

Training is bit-identical for a seed, so each test first records the watched series in a plain
run, then reruns with the watchpoint and checks it paused exactly where the series says."""
from dataclasses import replace

import numpy as np
import pytest
from helpers import prototype_dataset

from engine.data.dataset import Split
from engine.debug.stats import per_class_accuracy
from engine.debug.watch import parse
from engine.training.session import BatchEvent, EpochEvent, State, TrainConfig, TrainingSession


@pytest.fixture(scope="module")
def data():
    return prototype_dataset(n_train=320, n_valid=128)  # 10 batches per epoch


def record(data, config):
    """A plain run's batch and epoch events (and per-class validation accuracy per epoch)."""
    session, batches, epochs, class_acc = TrainingSession(data, config), [], [], []

    def on(e):
        if isinstance(e, BatchEvent):
            batches.append(e)
        elif isinstance(e, EpochEvent):
            epochs.append(e)
            class_acc.append(per_class_accuracy(session.confusion()))

    session.subscribe(on)
    session.run()
    return session, batches, epochs, class_acc


def break_on(data, config, expr):
    session = TrainingSession(data, config)
    watch = parse(expr, session)
    session.checks.append(watch)
    session.run()
    return session, watch


def first(values, pred, start=0):
    return next(i for i in range(start, len(values)) if pred(values[i]))


def test_saturation_fires_at_first_batch_and_rearms(data):
    config = TrainConfig(epochs=2, lr=0.1)  # a large step drives the sigmoid units to 0/1
    _, batches, _, _ = record(data, config)
    series = [b.layers["layer1"].saturation for b in batches]
    k = first(series, lambda v: v > 0.9)
    assert k > 0 and max(series[:k]) <= 0.9

    session, watch = break_on(data, config, "saturation(layer1) > 90%")
    assert session.state == State.PAUSED and session.step == k + 1
    assert session.message == watch.hits[0].message
    assert f"saturation(layer1) = {series[k]:.4g}" in session.message
    assert f"at step {k + 1} \u00b7 epoch 1/{session.config.epochs} \u00b7 batch {k + 1}/" in session.message
    # resuming does not stop again while it still holds: only after it went false and true again
    j = next(i for i in range(k + 1, len(series)) if series[i] > 0.9 >= series[i - 1])
    session.run()
    assert session.step == j + 1 and [h.step for h in watch.hits] == [k + 1, j + 1]


def test_grad_fires_at_first_batch(data):
    config = TrainConfig(epochs=2, hidden=(32,) * 6, lr=3e-3)  # deep sigmoid: tiny first-layer gradients
    _, batches, _, _ = record(data, config)
    series = [b.layers["layer1"].grad_mean_abs for b in batches]
    assert max(series) < 1e-3 * max(b.layers["output"].grad_mean_abs for b in batches)
    k = next(i for i in range(1, len(series)) if series[i] < min(series[:i]))  # the first new low
    threshold = (series[k] + min(series[:k])) / 2  # midway: BLAS asum may differ in the last bit between runs
    session, watch = break_on(data, config, f"grad(layer1) < {threshold!r}")
    assert session.step == k + 1 and watch.hits[0].value == pytest.approx(series[k])
    assert session.message.startswith(f"watchpoint 'grad(layer1) < {threshold!r}' hit: grad(layer1) = ")
    # the same layer by position
    session2, _ = break_on(data, config, f"grad(1) < {threshold!r}")
    assert session2.step == k + 1


def test_loss_not_finite(data):
    config = TrainConfig(epochs=2, lr=1.0, activation="relu")  # explodes within a few batches
    _, batches, _, _ = record(data, config)
    assert all(np.isfinite(b.loss) for b in batches)
    session, watch = break_on(data, config, "loss is not finite")
    # the first non-finite batch: the session diverges, and the watchpoint reports first
    assert session.state == State.DIVERGED and session.step == len(batches)
    assert [h.step for h in watch.hits] == [len(batches) + 1]
    assert session.message.startswith("watchpoint 'loss is not finite' hit: loss = ")
    assert f"batch {len(batches) + 1}" in session.message and "diverged at" in session.message
    # the check itself, given such a batch, fires and names it
    nan_event = replace(batches[-1], loss=float("nan"))
    for expr, event, fires in [("loss is nan", nan_event, True), ("loss is nan", batches[-1], False),
                               ("loss is inf", replace(nan_event, loss=float("inf")), True),
                               ("loss is inf", nan_event, False), ("loss is not finite", nan_event, True)]:
        message = parse(expr, session)(session, event)
        assert bool(message) == fires, expr
    assert "loss = nan at step 1 \u00b7 epoch 1" in parse("loss is nan")(session, nan_event)


def test_valid_acc_drop_fires_at_the_epoch_end(data):
    # learn for 3 epochs, then the learning rate jumps x10 and accuracy collapses
    config = TrainConfig(epochs=6, lr=0.01, lr_decay=10, decay_every=3)
    _, _, epochs, _ = record(data, config)
    acc = [e.valid_acc for e in epochs]
    drops = [max(acc[:i]) - acc[i] if i else 0.0 for i in range(len(acc))]
    k = first(drops, lambda v: v > 0.05)
    assert k >= 2 and acc[k - 1] == max(acc[:k])
    session, watch = break_on(data, config, "valid_acc drop > 0.05")
    bpe = session.batches_per_epoch
    assert session.state == State.PAUSED and session.step == (k + 1) * bpe and session.epoch == k + 1
    assert watch.hits[0].value == pytest.approx(drops[k])
    assert f"from its best {acc[k - 1]:.4g} at epoch {k} to {acc[k]:.4g}" in session.message
    assert f"at the end of epoch {k + 1}" in session.message


def test_class_acc_fires_at_epoch_ends_only(data):
    config = TrainConfig(epochs=5, lr=0.01)
    _, _, _, class_acc = record(data, config)
    acc = np.array(class_acc)  # (epochs, classes)
    common = np.flatnonzero(np.bincount(data.valid.y, minlength=36) >= 4)
    q = common[np.argmin(acc[0, common])]
    # low at first: fires at the end of epoch 1, not at any batch inside it
    assert acc[0, q] < 0.5
    session, watch = break_on(data, config, f"class_acc({data.classes[q]}) < 0.5")
    assert session.step == session.batches_per_epoch and watch.hits[0].value == pytest.approx(acc[0, q])
    # rising: fires at the first epoch where the recorded accuracy reaches its best
    reach = {c: first(acc[:, c], lambda v: v >= acc[:, c].max()) for c in common}
    a = max(reach, key=reach.get)
    level, k = float(acc[:, a].max()), reach[a]
    assert k > 0
    session, _ = break_on(data, config, f"class_acc({data.classes[a]}) >= {level!r}")
    assert session.epoch == k + 1 and session.step == (k + 1) * session.batches_per_epoch


def test_percent_and_aliases():
    assert parse("saturation(layer1) > 90%").threshold == pytest.approx(0.9)
    assert parse("valid_acc drop > 5 %").threshold == pytest.approx(0.05)
    assert parse("VALID_PSNR < 15").metric == "valid_acc"
    assert parse("  grad( layer1 )   <   1e-6 ").threshold == 1e-6


@pytest.mark.parametrize("expr, words", [
    ("", "empty watchpoint"),
    ("speed > 3", "unknown metric 'speed'"),
    ("grad < 1e-6", "grad needs a layer"),
    ("loss(2) > 1", "takes no argument"),
    ("saturation(layer1)", "missing a condition"),
    ("loss is big", "after 'is' write nan, inf"),
    ("loss > lots", "'lots' is not a number"),
    ("loss => 3", "expected an operator"),
    ("loss drop > 0.1", "per-epoch metrics"),
    ("valid_acc drop < 0.1", "write 'drop > margin'"),
    ("loss > inf", "must be finite"),
    ("loss > 1e999", "must be finite"),
    ("loss > \u0661\u0662", "is not a number"),  # Arabic-Indic 12: float() reads it
    ("loss > 1_0", "is not a number"),
    ("loss > \u00b2", "is not a number"),
])
def test_bad_expressions_say_why(expr, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse(expr)


def test_unknown_layer_or_class_is_reported(data):
    session = TrainingSession(data, TrainConfig(epochs=1))
    with pytest.raises(ValueError, match=r"no layer 'layer7' \(layers: layer1, output\)"):
        parse("grad(layer7) < 1e-6", session)
    with pytest.raises(ValueError, match="no class 'qq'"):
        parse("class_acc(qq) < 0.5", session)
    for digit in ("\u00b2", "\u0663", "\uff11"):  # superscript 2, Arabic-Indic 3, fullwidth 1: isdigit() says yes
        with pytest.raises(ValueError, match=f"no layer '{digit}'"):
            parse(f"grad({digit}) > 0", session)
        with pytest.raises(ValueError, match=f"no class '{digit}'"):
            parse(f"class_acc({digit}) > 0.5", session)
    keep = data.valid.y != 25  # no validation Z
    no_z = replace(data, valid=Split(data.valid.x[keep], data.valid.y[keep]))
    with pytest.raises(ValueError, match="has no validation examples"):
        parse("class_acc(Z) < 0.5", TrainingSession(no_z, TrainConfig(epochs=1)))
    # without a session the check resolves names at the first batch
    session.checks.append(parse("dead(layer9) > 0.5"))
    with pytest.raises(ValueError, match="no layer 'layer9'"):
        session.step_batch()


def test_psnr_watchpoint_on_an_autoencoder(data):
    config = TrainConfig(epochs=2, hidden=(16,), activation="relu", loss="squared_error", lr=1e-4)
    session = TrainingSession(data, config)
    with pytest.raises(ValueError, match="autoencoder has no classes"):
        parse("class_acc(A) < 0.5", session)
    session.checks.append(parse("valid_psnr > 1"))
    session.run()
    assert session.state == State.PAUSED and session.step == session.batches_per_epoch
    assert "valid_psnr = " in session.message


def test_rearms_after_time_travel(data):
    session, watch = break_on(data, TrainConfig(epochs=2, lr=0.1, snapshot_every=1), "saturation(layer1) > 0.9")
    hit = watch.hits[0].step
    session.restore(session.snapshots[hit - 1])  # back to just before the trigger
    session.run()
    assert [h.step for h in watch.hits] == [hit, hit]
