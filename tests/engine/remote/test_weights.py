"""The exercise's pickled params are read without running anything from the file."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import one_line

from engine.remote.weights import WeightsError, load_network, load_params, to_network


def exercise_params(rng, sizes=(1024, 64, 36)):
    names = ["layer1"] + [f"layer{i}" for i in range(2, len(sizes) - 1)] + ["output"]
    out = {}
    for name, a, b in zip(names, sizes, sizes[1:]):
        out["W" + name], out["b" + name] = rng.normal(0, 0.1, (a, b)), np.zeros(b)
    return out


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_the_exercises_pickle_is_read_in_every_protocol(tmp_path, protocol):
    params = exercise_params(np.random.default_rng(protocol))
    path = tmp_path / "q3_weights.pickle"
    path.write_bytes(pickle.dumps({**params, "lr": 3e-3, "epochs": 50}, protocol=protocol))
    got = load_params(path)
    assert all(np.array_equal(got[k], v) for k, v in params.items())
    net, classes, names = load_network(path)
    assert net.sizes == [1024, 64, 36] and names == ["layer1", "output"] and classes[0] == "A" and classes[-1] == "9"
    x = np.random.default_rng(1).random((3, 1024))
    want = 1 / (1 + np.exp(-(x @ params["Wlayer1"])))
    logits = want @ params["Woutput"]
    probs = np.exp(logits - logits.max(1, keepdims=True))
    assert np.allclose(net.forward(x.astype(net.dtype)), probs / probs.sum(1, keepdims=True), atol=1e-5)


class Evil:
    def __reduce__(self):
        return (open, ("/tmp/backprop-studio-pwned", "w"))  # code a plain pickle.load would run


@pytest.mark.parametrize("payload", [
    {"Wlayer1": Evil()},
    Evil(),
    {"Wlayer1": np.zeros((4, 3)), "b": __import__("collections").OrderedDict()},
])
def test_a_pickle_holding_anything_else_is_refused_without_running_it(tmp_path, payload):
    marker = tmp_path.parent / "pwned"
    Evil.__reduce__ = lambda self: (open, (str(marker), "w"))
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(WeightsError) as exc:
        load_params(path)
    one_line(exc.value)
    assert str(path) in str(exc.value) and not marker.exists()


@pytest.mark.parametrize("data, words", [
    (b"", "not a readable weights pickle"),
    (b"\x80\x04junk", "not a readable weights pickle"),
    (pickle.dumps([1, 2]), "not a params dict"),
    (pickle.dumps({1: np.zeros(2)}), "not a name"),
    (pickle.dumps({"W": np.array(["a"])}), "not numbers"),
])
def test_damaged_or_foreign_files_are_one_line(tmp_path, data, words):
    path = tmp_path / "w.pickle"
    path.write_bytes(data)
    with pytest.raises(WeightsError) as exc:
        load_params(path)
    one_line(exc.value)
    assert words in str(exc.value)


def test_layers_that_do_not_chain_or_hold_nan_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    for broken, words in ((lambda p: p.update(Woutput=rng.normal(0, 1, (63, 36)))," takes 63"),
                          (lambda p: p["Wlayer1"].__setitem__((0, 0), np.nan), "NaN")):
        params = exercise_params(rng)
        broken(params)
        path = tmp_path / "w.pickle"
        path.write_bytes(pickle.dumps(params))
        with pytest.raises(WeightsError) as exc:
            load_network(path)
        one_line(exc.value)
        assert words in str(exc.value)


def test_an_attached_scripts_layers_give_the_order_and_activations():
    """The window's Inspect tools build the shown script's network from its weights and its layers (their order
    from its forward calls, their activations): names that sort otherwise, and tanh, are kept."""
    rng = np.random.default_rng(0)
    params = {"Wz": rng.normal(size=(6, 4)), "bz": np.zeros(4), "Wa": rng.normal(size=(4, 3)), "ba": np.zeros(3)}
    net, names = to_network(params, "run.py's weights", ["tanh", "softmax"], ["z", "a"])
    assert names == ["z", "a"] and net.sizes == [6, 4, 3] and [l.activation for l in net.layers] == ["tanh", "softmax"]
    assert np.allclose(net.layers[0].W, params["Wz"])
    x = rng.normal(size=(2, 6))
    h = np.tanh(x @ params["Wz"])
    logits = h @ params["Wa"]
    expected = np.exp(logits - logits.max(1, keepdims=True))
    assert np.allclose(net.predict(x), expected / expected.sum(1, keepdims=True), atol=1e-5)
    with pytest.raises(WeightsError, match="run.py's weights: the activations linear, softmax are not the engine's"):
        to_network(params, "run.py's weights", ["linear", "softmax"], ["z", "a"])
    with pytest.raises(WeightsError, match="run.py's weights: no Wq"):
        to_network(params, "run.py's weights", ["sigmoid", "softmax"], ["q", "a"])
