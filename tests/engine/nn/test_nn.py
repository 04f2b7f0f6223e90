import numpy as np
import pytest

from engine.nn.activations import ACTIVATIONS
from engine.nn.gradcheck import check, default_problem, loss_and_backprop, weight_errors
from engine.nn.losses import cross_entropy, one_hot, squared_error
from engine.nn.network import Network
from engine.nn.optim import SGD, LRSchedule, Momentum


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_backprop_matches_finite_differences(activation, loss):
    net, x, target = default_problem(sizes=(30, 12, 9, 7), activation=activation, loss=loss, n=6)
    result = check(net, x, target, loss, entries=60)
    assert set(result.max_rel_error) == {"layer1.W", "layer1.b", "layer2.W", "layer2.b", "output.W", "output.b"}
    assert result.passed, result.max_rel_error


def test_gradient_check_catches_a_wrong_derivative(monkeypatch):
    fwd, _ = ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(ACTIVATIONS, "sigmoid", (fwd, lambda a, g: g * a))  # forgot the (1 - a)
    net, x, target = default_problem(sizes=(20, 8, 5), n=4)
    result = check(net, x, target, entries=40)
    assert not result.passed
    assert result.max_rel_error["layer1.W"] > 1e-2


def test_input_gradient_matches_finite_differences():
    net, x, target = default_problem(sizes=(10, 6, 4), activation="tanh", loss="squared_error", n=3)
    out = net.forward(x)
    dx = net.backward(squared_error(out, target)[1])
    eps, i, j = 1e-6, 1, 4
    xp, xm = x.copy(), x.copy()
    xp[i, j] += eps
    xm[i, j] -= eps
    numeric = (squared_error(net.forward(xp), target)[0] - squared_error(net.forward(xm), target)[0]) / (2 * eps)
    assert abs(numeric - dx[i, j]) < 1e-6 * max(1.0, abs(numeric))


def test_per_weight_check_flags_a_single_broken_entry():
    net, x, target = default_problem(sizes=(64, 16, 10), n=5)
    n64 = net.astype(np.float64)
    loss_and_backprop(n64, x, target, "cross_entropy")
    healthy = weight_errors(net, x, target, layer=0)
    assert healthy.passed and healthy.errors.shape == (64, 16)
    broken = n64.layers[0].dW.copy()
    broken[7, 3] *= 1.5
    result = weight_errors(net, x, target, layer=0, backprop_grad=broken)
    assert not result.passed
    assert np.unravel_index(result.errors.argmax(), result.errors.shape) == (7, 3)
    assert result.worst == (7, 3) and result.over() >= 1 and healthy.over(1.0) == 0  # what the check view shows


def test_softmax_is_shift_invariant_and_stable():
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0], [-1000.0, -999.0, -998.0]], np.float32)
    p = ACTIVATIONS["softmax"][0](z.copy())
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p[0], p[1], rtol=1e-6)
    np.testing.assert_allclose(p[0], p[2], rtol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


def test_sigmoid_never_overflows():
    with np.errstate(all="raise"):
        a = ACTIVATIONS["sigmoid"][0](np.array([-1e4, 0.0, 1e4], np.float32))
    np.testing.assert_allclose(a, [0.0, 0.5, 1.0], atol=1e-7)


def test_cross_entropy_value_and_fused_gradient():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    loss, correct, dz = cross_entropy(probs, np.array([0, 1]))
    assert loss == pytest.approx(-np.log(0.7) - np.log(0.1))
    assert correct == 1
    np.testing.assert_allclose(dz, probs - one_hot(np.array([0, 1]), 3, np.float64))


def test_xavier_uniform_bounds_and_zero_biases():
    net = Network([1024, 64, 36], ["sigmoid", "softmax"], seed=3)
    for layer in net.layers:
        n_in, n_out = layer.W.shape
        bound = np.sqrt(6 / (n_in + n_out))
        assert np.abs(layer.W).max() <= bound
        assert np.abs(layer.W).max() > 0.95 * bound  # actually uniform over the whole range
        assert abs(layer.W.std() - bound / np.sqrt(3)) < 0.05 * bound
        assert not layer.b.any()
    assert net.dtype == np.float32
    same = Network([1024, 64, 36], ["sigmoid", "softmax"], seed=3)
    assert np.array_equal(same.layers[0].W, net.layers[0].W)


def test_sgd_and_momentum_arithmetic():
    p, g = np.array([1.0, 2.0], np.float32), np.array([0.5, -1.0], np.float32)
    SGD().step([("p", p, g)], lr=0.1)
    np.testing.assert_allclose(p, [0.95, 2.1])
    p, opt = np.array([1.0], np.float32), Momentum(0.9)
    g = np.array([1.0], np.float32)
    opt.step([("p", p, g)], lr=0.1)  # v = -0.1, p = 0.9
    opt.step([("p", p, g)], lr=0.1)  # v = 0.9 * -0.1 - 0.1 = -0.19, p = 0.71
    np.testing.assert_allclose(p, [0.71], rtol=1e-6)
    np.testing.assert_allclose(opt.velocity["p"], [-0.19], rtol=1e-6)


def test_learning_rate_decay_schedule():
    s = LRSchedule(0.1, decay=0.9, every=3)
    assert [round(s.at(e), 6) for e in range(7)] == [0.1, 0.1, 0.1, 0.09, 0.09, 0.09, 0.081]
    assert LRSchedule(0.1).at(100) == 0.1


def test_network_spec_errors():
    with pytest.raises(ValueError, match="activation"):
        Network([4, 3, 2], ["sigmoid", "softplus"])
    with pytest.raises(ValueError, match="activations"):
        Network([4, 3, 2], ["sigmoid"])


def test_a_copy_is_packed_like_the_original():
    """astype copies (timeline branches train them) keep one flat parameter array: SGD is one call."""
    net = Network.mlp(20, [8], 5, seed=3)
    other = net.astype(np.float64)
    (_, params, grads), = other.packed_pairs()
    assert params.dtype == np.float64 and params.size == sum(p.size for p in net.params().values())
    assert all(np.shares_memory(v, params) for v in other.params().values())
    assert all(np.array_equal(v, net.params()[k]) for k, v in other.params().items())
