"""The engine-vs-PyTorch bench compares like with like: the same rows, the same start, the same steps."""
import numpy as np
from helpers import prototype_dataset

from engine.bench import torch as bench


def test_the_data_is_the_glyphs_tiled_to_a_nist36_epoch(monkeypatch):
    monkeypatch.setattr(bench, "N_TRAIN", 8000 + 123)  # past the glyphs' 8000 rows: they start over
    data = bench.glyphs_nist_sized()
    assert len(data.train) == 8123 and data.train.x.shape[1] == 1024 and data.n_classes == 36
    np.testing.assert_array_equal(data.train.x[8000:], data.train.x[:123])
    np.testing.assert_array_equal(data.train.y[8000:], data.train.y[:123])
    assert not np.array_equal(data.train.x[:123], data.train.x[123:246])


def test_pytorch_takes_the_engines_steps(torch):
    """Started from the engine's weights and taking its batch order, PyTorch's epoch ends at the
    engine's weights: the two sides of engine_vs_torch do the same work."""
    data = prototype_dataset(n_train=320, n_valid=64)
    loop = bench.TorchLoop(torch, bench.engine_session(data))
    first = loop.model[0].weight.detach().numpy().T.copy()
    engine = bench.engine_session(data)
    np.testing.assert_array_equal(engine.net.layers[0].W, first)
    engine.run()
    loop.epoch()
    for linear, layer in zip(loop.model[::2], engine.net.layers):
        assert not np.allclose(layer.W, first if layer is engine.net.layers[0] else 0, atol=1e-4)  # it moved
        np.testing.assert_allclose(linear.weight.detach().numpy().T, layer.W, atol=2e-5)
        np.testing.assert_allclose(linear.bias.detach().numpy(), layer.b, atol=2e-5)
