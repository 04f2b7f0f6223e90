"""Side-by-side runs: fair round-robin scheduling, per-run pause/stop, presets and their findings."""
import re
import threading
import time

import numpy as np
import pytest
from helpers import prototype_dataset

from engine.data.dataset import NIST36_CLASSES, Dataset, split_deterministic
from engine.data.glyphs import generate
from engine.debug.watch import parse
from engine.training.experiments import PRESETS, Experiment, final_acc, gradient_ratios, preset, ranked
from engine.training.session import State, TrainConfig, TrainingSession


@pytest.fixture(scope="module")
def glyphs():
    x, y = generate(1440, seed=5)
    return Dataset("small glyphs", NIST36_CLASSES, *split_deterministic(x, y, (0.8, 0.1, 0.1), 0))


@pytest.fixture(scope="module")
def data():
    return prototype_dataset(n_train=320, n_valid=128)


def test_round_robin_keeps_a_slow_run_from_starving_others(data):
    exp = Experiment({"small": TrainingSession(data, TrainConfig(epochs=3, hidden=(8,))),
                      "slow": TrainingSession(data, TrainConfig(epochs=3, hidden=(256, 256, 256))),
                      "big batches": TrainingSession(data, TrainConfig(epochs=3, batch_size=64))})
    exp.run(max_rounds=7)
    assert [r.session.step for r in exp.runs] == [7, 7, 7]
    exp.run()
    assert exp.done and [r.status for r in exp.runs] == ["finished"] * 3
    assert [r.session.step for r in exp.runs] == [30, 30, 15]  # each to its own end


def test_pause_resume_and_stop_one_run(data):
    exp = Experiment({name: TrainingSession(data, TrainConfig(epochs=2)) for name in "abc"})
    exp.run(max_rounds=3)
    exp.pause_run("a")
    exp.stop_run("b")
    exp.run(max_rounds=4)
    assert [r.session.step for r in exp.runs] == [3, 3, 7]
    assert exp["a"].status == "paused" and exp["b"].status == "stopped"
    assert exp["b"].session.state == State.STOPPED
    exp.resume_run("a")
    exp.run()
    assert exp["a"].status == exp["c"].status == "finished" and exp["b"].session.step == 3
    with pytest.raises(KeyError, match="no run 'z'"):
        exp.pause_run("z")


def test_watchpoint_pauses_only_its_run(data):
    watched = TrainingSession(data, TrainConfig(epochs=2, lr=0.1))
    watched.checks.append(parse("saturation(layer1) > 0.9"))
    exp = Experiment({"watched": watched, "other": TrainingSession(data, TrainConfig(epochs=2))})
    exp.run()
    assert exp["watched"].status == "paused" and "saturation(layer1)" in watched.message
    assert exp["other"].status == "finished" and watched.step < exp["other"].session.step


def test_pause_and_stop_from_another_thread(data):
    exp = Experiment({name: TrainingSession(data, TrainConfig(epochs=200)) for name in "ab"})
    events = []
    exp.subscribe(events.append)
    worker = threading.Thread(target=exp.run)
    worker.start()
    time.sleep(0.05)
    exp.pause()
    worker.join(5)
    assert not worker.is_alive() and not exp.done
    steps = [r.session.step for r in exp.runs]
    assert steps[0] > 0 and abs(steps[0] - steps[1]) <= 1
    assert {e.run for e in events} == {"a", "b"}
    exp.stop()
    exp.run()
    assert [r.status for r in exp.runs] == ["stopped", "stopped"]


def test_activation_preset_sigmoid_gradients_vanish(glyphs):
    exp = preset("activation", glyphs, epochs=3)
    exp.run()
    first = {r.name: r.session.history.epochs[0].layers["layer1"].grad_mean_abs for r in exp.runs}
    assert first["relu"] > 3 * first["sigmoid"] and first["tanh"] > 3 * first["sigmoid"]
    ratio = {r.name: gradient_ratios(r)[0] for r in exp.runs}
    assert ratio["sigmoid"] > 10 > max(ratio["relu"], ratio["tanh"])
    text = exp.finding()
    best = ranked(exp)[0]
    assert text.startswith(f"{best.name} won with {final_acc(best):.1%} validation accuracy")
    assert "sigmoid, epoch 1: layer1 gradients are" in text and "sigmoid's are" in text


def test_depth_preset_vanishing_grows_with_depth(glyphs):
    exp = preset("depth", glyphs, epochs=2)
    exp.run()
    ratios = [gradient_ratios(r)[0] for r in exp.runs]  # output / layer1 gradient, epoch 1
    assert [r.name for r in exp.runs] == ["1 hidden", "2 hidden", "3 hidden", "4 hidden"]
    assert all(a < b for a, b in zip(ratios, ratios[1:])) and ratios[-1] > 50 * ratios[0]
    text = exp.finding()
    assert "4 hidden, epoch 1: layer1 gradients are" in text and "1 hidden, epoch 1" not in text


def test_learning_rate_preset_finding(glyphs):
    exp = preset("learning-rate", glyphs, epochs=3)
    assert [r.session.config.lr for r in exp.runs] == [3e-3, 3e-2, 3e-4]
    exp.run()
    runs = ranked(exp)
    accs = [final_acc(r) for r in runs]
    assert accs == sorted(accs, reverse=True)
    text = exp.finding()
    assert text.startswith(f"{runs[0].name} won with {accs[0]:.1%} validation accuracy, "
                           f"{100 * (accs[0] - accs[1]):.1f} points ahead of {runs[1].name}")
    assert ("The smallest rate (lr 0.0003) learned slowest" in text) == (runs[-1].name == "lr 0.0003")


def test_regularization_preset_finding(glyphs):
    exp = preset("regularization", glyphs, epochs=3)
    assert [r.name for r in exp.runs] == ["none", "L2 1e-3", "dropout 0.2", "ReLU", "leaky ReLU"]
    assert exp["L2 1e-3"].session.config.weight_decay == 1e-3 and exp["dropout 0.2"].session.config.dropout == 0.2
    exp.run()
    norm = {r.name: np.linalg.norm(r.session.net.layers[0].W) for r in exp.runs}
    assert norm["L2 1e-3"] < norm["none"]
    last = {r.name: r.session.history.epochs[-1] for r in exp.runs}
    assert last["leaky ReLU"].layers["layer1"].dead == 0 < last["ReLU"].layers["layer1"].dead
    text = exp.finding()
    shrink = 1 - norm["L2 1e-3"] / norm["none"]
    assert f"with L2 1e-3 ({shrink:.0%} smaller)" in text
    assert "Validation minus training loss at epoch 3: none " in text and "dropout 0.2 " in text
    assert f"ReLU: {last['ReLU'].layers['layer1'].dead:.0%} of layer1's units are dead" in text
    assert "leaky ReLU cannot die" in text


def test_preset_errors_and_overrides(data):
    with pytest.raises(ValueError, match="unknown preset 'speed'; choose from learning-rate, activation, depth, "
                                         "regularization"):
        preset("speed", data)
    exp = preset("depth", data, epochs=1, seed=3, batch_size=16)
    assert all(r.session.config.seed == 3 and r.session.config.batch_size == 16 for r in exp.runs)
    assert set(PRESETS) == {"learning-rate", "activation", "depth", "regularization"}
    assert Experiment({"x": TrainingSession(data, TrainConfig(epochs=1))}).finding() == \
        "No run has finished an epoch yet."
    with pytest.raises(ValueError):
        Experiment({})


def test_diverged_run_is_ranked_last_and_named(data):
    exp = Experiment({"calm": TrainingSession(data, TrainConfig(epochs=2, lr=0.01)),
                      "wild": TrainingSession(data, TrainConfig(epochs=2, lr=0.01, lr_decay=1e4, decay_every=1,
                                                                activation="relu"))})
    exp.run()
    assert exp["wild"].status == "diverged"
    text = exp.finding()
    assert ranked(exp)[0].name == "calm" and re.fullmatch(
        r"calm won with \d+\.\d% validation accuracy\. wild diverged at epoch 2, batch \d+\.", text), text
    assert np.isfinite(final_acc(exp["calm"]))
