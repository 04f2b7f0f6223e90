"""The step-size comparison across layers is for optimizers with one learning rate for every weight."""
from engine.remote.diagnose import diagnose


def records(n=60):
    """Every batch: layer 'a' moves 3x further along its gradient than layer 'b'."""
    return [{"s": i + 1, "e": 0, "b": i, "loss": 2.0 - 0.01 * i,
             "L": {"a": {"written": True, "changed": True, "step_size": 0.003, "update_cos": -1.0},
                   "b": {"written": True, "changed": True, "step_size": 0.001, "update_cos": -1.0}}}
            for i in range(n)]


LAYERS = [{"name": "a", "activation": "tanh", "shape": [8, 4]}, {"name": "b", "activation": "linear", "shape": [4, 2]}]


def steps(optimizer):
    return [f for f in diagnose(records(), LAYERS, {"optimizer": optimizer, "layers": []}) if "further" in f.words]


def test_sgd_layers_stepping_differently_are_named_but_adam_ones_are_not():
    assert steps("SGD") and steps("SGD")[0].layer == "a"
    assert steps("Adam") == [] and steps("RMSprop") == []
