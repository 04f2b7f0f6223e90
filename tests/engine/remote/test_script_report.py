"""The HTML report of an attached script's run (engine/report/script.py): the user's own figures, read back
from the page -- curves as logged, per-layer figures over every batch, the diagnosis in words, the first layer's
weights as tiles (1024 inputs) or a heatmap (others), the script's gradient check, its name, args and exit."""
from __future__ import annotations

import base64
import re
import struct
from html import unescape

import numpy as np
from attached import QUICK, mutate

from engine.remote.weights import load_params
from engine.report.script import ScriptRun, render
from engine.training.session import State


def pictures(html: str) -> list[tuple[int, int]]:
    """(width, height) of every PNG data URI in the page, from its IHDR."""
    out = []
    for b64 in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        head = base64.b64decode(b64[:40])
        out.append(struct.unpack(">II", head[16:24]))
    return out


def section(html: str, key: str) -> str:
    return re.search(rf'<section id="{key}">(.*?)</section>', html, re.S)[1]


def chart_points(html: str, figure: str) -> dict[str, int]:
    """Points drawn per layer in one of the gradient figures (legend order = series order)."""
    block = re.search(rf'<div data-figure="{figure}">(.*?)</figure></div>', html, re.S)[1]
    names = re.findall(r'<i class="swatch s\d"></i>([^<]+)</span>', block)
    counts = dict.fromkeys(names, 0)
    for k, points in re.findall(r'<polyline class="line s(\d)[^"]*" points="([^"]+)"', block):
        counts[names[int(k)]] += len(points.split())
    return counts


def test_the_report_of_a_run_with_a_wrong_sign_shows_its_figures_diagnosis_and_check(example, drive):
    mutate(example / "run_q3.py", "params[k[len('grad_'):]] -= learning_rate * v",
           "params[k[len('grad_'):]] += learning_rate * v")  # climbs: the diagnosis must name it
    d = drive(example / "run_q3.py", *QUICK)
    s = d.session
    s.want_weights()
    d.wait(lambda: s.first_weights is not None, what="the first weights")
    d.wait(lambda: s.step >= 3)  # (before the climbing updates saturate the softmax)
    s.pause()
    d.wait(lambda: s.state == State.PAUSED)
    s.run_gradcheck()
    d.wait(lambda: s.gradcheck is not None, what="the gradient check")
    s.want_weights()
    d.wait(lambda: s.weights_step == s.step, what="the weights now")
    paused_at = s.step
    s.resume()
    assert d.finish() == 0
    html = render(ScriptRun.of(s, status=d.child.summary()))

    assert "<title>Debugging report: run_q3.py</title>" in html
    outcome = unescape(re.search(r'id="outcome">([^<]+)', html)[1])
    assert outcome.startswith("run_q3.py ran 60 batches (3 epochs)") and outcome.endswith("exited 0.")
    assert "run_q3.py --epochs 3 --rows 640" in unescape(section(html, "run"))  # the args it reported
    rows = re.findall(r'<tr data-epoch="(\d+)">(.*?)</tr>', html)
    assert [int(e) for e, _ in rows] == [1, 2, 3]
    values = re.findall(r'data-value="([^"]+)"', rows[-1][1])
    last = s.history.epochs[-1]
    assert float(values[0]) == last.train_loss and float(values[3]) == last.valid_acc  # the logged figures

    for figure in ("grad_mean_abs", "saturation", "update_ratio"):
        drawn = chart_points(html, figure)
        assert set(drawn) >= {"layer1"} and drawn["layer1"] >= 55, (figure, drawn)  # (nearly) every batch
    assert chart_points(html, "grad_mean_abs")["output"] >= 55

    diagnosis = unescape(section(html, "diagnosis"))
    climbs = next(f for f in s.findings if f.kind == "climbs")
    assert f'<li class="problem">{climbs.words}</li>' in diagnosis and "uphill" in climbs.words

    check = section(html, "gradcheck")
    assert re.findall(r'data-layer="(\w+)" data-passed="(\w+)"', check) == [("layer1", "true"), ("output", "true")]
    assert "PASS  layer1" in unescape(check)  # the wrong sign is in the update, not in backwards

    steps = [int(v) for v in re.findall(r'<figure data-step="(\d+)">', section(html, "weights"))]
    assert steps == [s.first_weights[0], s.weights_step] and s.weights_step >= paused_at
    assert pictures(section(html, "weights")) == [(8 * 33 - 1, 8 * 33 - 1)] * 2  # 64 tiles of 32x32, 8x8


def test_the_last_weights_are_the_ones_the_script_ended_with(example, tmp_path, drive):
    """Sent with the script's goodbye: never the last ones asked for, which lag the end by up to a redraw."""
    saved = tmp_path / "w.pickle"
    d = drive(example / "run_q3.py", *QUICK, "--save", str(saved))
    s = d.session
    s.want_weights()
    d.wait(lambda: s.first_weights is not None, what="the first weights")
    assert d.finish() == 0
    final = load_params(saved)
    assert s.weights_step == s.step == 60
    assert [r.get("rows") for r in s.records] == [32] * 60  # (sent once; every record carries it: the rate shown)
    for key in ("Wlayer1", "blayer1", "Woutput", "boutput"):
        np.testing.assert_array_equal(s.weights[key], final[key].astype(np.float32))


def run_of(W: np.ndarray, **kw) -> ScriptRun:
    """A made-up run (no script): what the renderer needs and nothing else."""
    n = 12
    layer_series = {"grad_mean_abs": np.linspace(1e-3, 1e-2, n), "saturation": np.zeros(n), "update_ratio": np.full(n, 1e-3)}
    return ScriptRun("mine.py", ["--lr", "0.1"], kw.get("status", "exited 1: ValueError: boom"),
                     [{"name": "hidden", "activation": "tanh", "shape": list(W.shape)}], n, 4,
                     [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5, "valid_loss": 1.1 / e, "valid_acc": 0.4,
                       "seconds": 0.1, "logs": {"valid_loss": 1.1 / e, "valid_acc": 0.4, "lr": 0.1}} for e in (1, 2, 3)],
                     np.linspace(2, 1, n), np.full(n, 0.5), np.arange(1, n + 1), {"hidden": layer_series},
                     [], [("first received", 0, W)], None, kw.get("traceback", ""))


def test_inputs_that_are_not_images_are_a_heatmap_one_row_per_unit():
    W = np.random.default_rng(0).normal(size=(20, 16))
    html = render(run_of(W))
    assert pictures(section(html, "weights")) == [(20, 16)]  # inputs across, units down
    assert "20 inputs are not 32\u00d732 images" in unescape(section(html, "weights"))


def test_a_crash_shows_how_it_ended_and_its_traceback_and_extra_logs_get_columns():
    trace = "Traceback (most recent call last):\n  File \"mine.py\", line 3\nValueError: <boom>"
    html = render(run_of(np.zeros((1024, 4)), traceback=trace))
    run = unescape(section(html, "run"))
    assert "exited 1: ValueError: boom" in run and "ValueError: <boom>" in run and "&lt;boom&gt;" in html
    assert "mine.py --lr 0.1" in run
    assert re.findall(r'<th class="num">([^<]+)</th>', section(html, "epochs"))[-1] == "lr"
    assert "No gradient check ran" in section(html, "gradcheck")
    assert pictures(section(html, "weights")) == [(2 * 33 - 1, 2 * 33 - 1)]  # 4 tiles: 2x2
