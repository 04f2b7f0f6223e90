"""The homework's classic bugs, injected into copies of the worked example, found from their symptoms.

Each test breaks one line of the example the way students do (the write-up this project grew from
lists them) and checks the debugger says what is wrong, in words, at the right layer.
"""
from __future__ import annotations

import pytest
from attached import QUICK, mutate

from engine.training.session import State

THREE_LAYERS = [  # a second hidden layer, 64 -> 64, as in the exercise's deeper variants
    ("    initialize_weights(hidden_size, train_y.shape[1], params, 'output')",
     ("    initialize_weights(hidden_size, hidden_size, params, 'layer2')\n"
      "    initialize_weights(hidden_size, train_y.shape[1], params, 'output')")),
    ("            probs = forward(h1, params, 'output', softmax)",
     "            h2 = forward(h1, params, 'layer2')\n            probs = forward(h2, params, 'output', softmax)"),
    ("            backwards(delta2, params, 'layer1', sigmoid_deriv)",
     ("            delta3 = backwards(delta2, params, 'layer2', sigmoid_deriv)\n"
      "            backwards(delta3, params, 'layer1', sigmoid_deriv)")),
    ("forward(forward(valid_x, params, 'layer1'), params,", "forward(forward(forward(valid_x, params, 'layer1'), params, 'layer2'), params,"),
]


def three_layers(example):
    for old, new in THREE_LAYERS:
        mutate(example / "run_q3.py", old, new)


def paused_check(d):
    s = d.session
    d.wait(lambda: s.step >= 3)
    s.pause()
    d.wait(lambda: s.state == State.PAUSED)
    s.run_gradcheck()
    d.wait(lambda: s.gradcheck is not None, what="the gradient check")
    return {l["name"]: l["passed"] for l in s.gradcheck.layers}


def test_the_correct_three_layer_network_passes_the_gradient_check(example, drive):
    three_layers(example)
    d = drive(example / "run_q3.py", *QUICK)
    assert [l["name"] for l in d.session.layers] == ["layer1", "layer2", "output"]
    assert paused_check(d) == {"layer1": True, "layer2": True, "output": True}, d.session.gradcheck.lines()


def test_a_backward_pass_that_skips_a_layer_fails_the_check_on_that_layer_only(example, drive):
    """The write-up's bug: the same delta pushed into layer1 as into layer2 (layer2's backwards skipped)."""
    three_layers(example)
    mutate(example / "run_q3.py", "backwards(delta3, params, 'layer1'", "backwards(delta2, params, 'layer1'")
    d = drive(example / "run_q3.py", *QUICK)
    verdict = paused_check(d)
    assert verdict == {"layer1": False, "layer2": True, "output": True}, d.session.gradcheck.lines()
    line = next(t for t in d.session.gradcheck.lines() if "layer1" in t)
    assert line.startswith("FAIL") and "relative error" in line
    assert d.session.gradcheck.errors["layer1"].shape == (1024, 64)  # per weight, for the heatmap


def findings(d, kind: str, steps: int = 40):
    s = d.session
    d.wait(lambda: s.step >= steps or s.done, what=f"{steps} batches")
    s.refresh_findings()
    return [f for f in s.findings if f.kind == kind]


BUGS = {  # kind: (old, new, layer the finding must name, words it must contain)
    "never_written": ("            backwards(delta2, params, 'layer1', sigmoid_deriv)\n", "", "layer1",
                      "grad_Wlayer1 is never written"),
    "climbs": ("params[k[len('grad_'):]] -= learning_rate * v", "params[k[len('grad_'):]] += learning_rate * v",
               "layer1", "uphill"),
    "frozen": ("                if k.startswith('grad_'):", "                if k.startswith('grad_') and 'layer1' not in k:",
               "layer1", "has not changed"),
    "init": ("    run = studio.attach(params)", "    params['Wlayer1'][:] = 0.0\n    run = studio.attach(params)",
             "layer1", "initialization"),
}


@pytest.mark.parametrize("kind", sorted(BUGS))
def test_each_bug_is_diagnosed_in_words_at_its_layer(example, drive, kind):
    old, new, layer, words = BUGS[kind]
    mutate(example / "run_q3.py", old, new)
    d = drive(example / "run_q3.py", *QUICK)
    found = findings(d, kind)
    assert found and found[0].layer == layer and words in found[0].words, [f.words for f in d.session.findings]


def test_an_update_written_three_times_is_seen_as_three_steps(example, drive):
    mutate(example / "run_q3.py", "                    params[k[len('grad_'):]] -= learning_rate * v\n",
           "                    params[k[len('grad_'):]] -= learning_rate * v\n" * 3)
    mutate(example / "run_q3.py", "for xb, yb in run.batches(batches):  # debugger: marks each batch (pause and step stop here)",
           "for xb, yb in run.batches(batches):  # debugger: marks each batch (pause and step stop here)\n"
           "            run.log(lr=learning_rate)")
    d = drive(example / "run_q3.py", *QUICK)
    found = findings(d, "steps")
    assert found and "3\u00d7 the logged learning rate" in found[0].words, [f.words for f in d.session.findings]


def test_a_naive_softmax_that_overflows_is_named(example, drive):
    mutate(example / "nn.py", "    c = np.max(x, axis=1, keepdims=True)", "    c = 0.0")
    mutate(example / "run_q3.py", "    run = studio.attach(params)",  # output pre-activations in the thousands
           "    params['Woutput'] *= 3000.0\n    run = studio.attach(params)")
    d = drive(example / "run_q3.py", *QUICK)
    found = findings(d, "not_finite", 5)
    assert found and found[0].layer == "output" and "subtract each row's max" in found[0].words, \
        [f.words for f in d.session.findings]


def test_a_learning_rate_too_large_explodes_and_too_small_moves_nothing(example, drive):
    big, small = example.parent / "big", example.parent / "small"
    for folder, lr in ((big, "30.0"), (small, "3e-12")):
        folder.mkdir()
        for name in ("nn.py", "run_q3.py"):
            (folder / name).write_text((example / name).read_text())
        mutate(folder / "run_q3.py", "32, 3e-3, 64", f"32, {lr}, 64")
    d = drive(big / "run_q3.py", *QUICK)
    assert findings(d, "exploding"), [f.words for f in d.session.findings]
    d.close()
    d = drive(small / "run_q3.py", *QUICK)
    found = findings(d, "too_small", 59)
    assert found and "learning rate too small" in found[0].words, [f.words for f in d.session.findings]


@pytest.mark.parametrize("loss, delta, words", [
    ("-np.sum(y * np.log(probs))", "probs - yb", "both summed over the batch: consistent"),
    ("-np.mean(np.sum(y * np.log(probs), axis=1))", "probs - yb", "averaged over the batch but the gradients are summed"),
    ("-np.sum(y * np.log(probs))", "(probs - yb) / len(xb)", "summed over the batch but the gradients are averaged"),
])
def test_the_reduction_of_loss_and_gradient_is_reported_as_seen(example, drive, loss, delta, words):
    mutate(example / "nn.py", "-np.sum(y * np.log(probs))", loss)
    mutate(example / "run_q3.py", "delta1 = probs - yb", f"delta1 = {delta}")
    d = drive(example / "run_q3.py", *QUICK)
    found = findings(d, "reduction", 5)
    assert found and words in found[0].words, [f.words for f in d.session.findings]
