"""`check NN_PY` and `debug SCRIPT --headless`: the exercise's code checked and run with no window."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from attached import EXAMPLES, QUICK, mutate
from helpers import ROOT


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600, check=False)


@pytest.fixture
def nn(tmp_path):
    path = tmp_path / "nn.py"
    shutil.copy(EXAMPLES / "nn.py", path)
    return path


def test_the_worked_examples_functions_all_pass(nn):
    r = run_cli("check", nn, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] and len(report["functions"]) == 12
    assert "summed" in " ".join(report["functions"]["end to end (forward, backwards, softmax, loss)"]["notes"])


BUGS = [  # (old, new, the function that must fail, words its problem must contain)
    ("params['grad_b' + name] = np.sum(delta_pre, axis=0)", "params['grad_b' + name] = np.mean(delta_pre, axis=0)",
     "backwards", "grad_b of layer 'output' is 1/5 of the finite difference: averaged where the rest is summed?"),
    ("return delta_pre @ W.T", "return delta @ W.T", "backwards", "the returned grad_X differs"),
    ("    c = np.max(x, axis=1, keepdims=True)  # subtract the row max: exp never overflows\n    e = np.exp(x - c)",
     "    e = np.exp(x)", "softmax", "subtract each row's max before exp"),
    ("delta_pre = activation_deriv(post_act) * delta", "delta_pre = delta", "backwards", "grad_W of layer 'output'"),
    ("idx = np.random.permutation(len(x))", "idx = np.arange(len(x))", "get_random_batches", "same order"),
    ("np.random.uniform(-lim, lim, (in_size, out_size))", "np.random.randn(in_size, out_size) * lim",
     "initialize_weights", "uniform"),
]


@pytest.mark.parametrize("old, new, function, words", BUGS)
def test_each_broken_function_fails_with_words(nn, old, new, function, words):
    mutate(nn, old, new)
    r = run_cli("check", nn, "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    report = json.loads(r.stdout)["functions"]
    failed = [name for name, v in report.items() if not v["passed"]]
    assert function in failed, failed
    assert any(words in p for p in report[function]["problems"]), report[function]["problems"]


def test_a_loss_averaged_over_the_batch_is_accepted_and_reported(nn):
    mutate(nn, "loss = -np.sum(y * np.log(probs))", "loss = -np.sum(y * np.log(probs)) / len(y)")
    r = run_cli("check", nn)
    assert r.returncode == 0, r.stdout
    assert "mean" in r.stdout or "averaged" in r.stdout


@pytest.mark.parametrize("content, name", [("x = 1\n", "empty.py"), ("raise SystemExit(4)\n", "exits.py"),
                                           ("def forward(:\n", "syntax.py"), ("", "notes.txt")])
def test_a_file_that_is_not_such_a_module_is_exit_2(tmp_path, content, name):
    path = tmp_path / name
    path.write_text(content)
    r = run_cli("check", path)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr


@pytest.fixture
def example(tmp_path):
    for name in ("nn.py", "run_q3.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path


def test_headless_json_is_one_object_per_epoch_on_stdout(example):
    r = run_cli("debug", "--headless", "--json", example / "run_q3.py", *QUICK)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2, 3] and rows[-1]["step"] == 60
    assert set(rows[0]["layers"]) == {"layer1", "output"} and "update_ratio" in rows[0]["layers"]["layer1"]
    assert rows[-1]["valid_acc"] > rows[0]["valid_acc"] - 0.05
    assert "itr: 00" in r.stderr  # the script's own prints go to stderr, stdout stays JSON


def test_headless_break_stops_at_the_first_batch_where_it_holds(example):
    r = run_cli("debug", "--headless", "--break", "grad(output) > 0", example / "run_q3.py", *QUICK)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "break: watchpoint 'grad(output) > 0' hit" in r.stdout and "at step 1 \u00b7" in r.stdout
    assert "epoch   1" not in r.stdout and "Traceback" not in r.stderr  # it ended at that batch, cleanly
    assert "stopped by backprop-studio at step 1" in r.stdout  # the script's own words, relayed


def test_headless_says_what_a_script_died_of(example):
    mutate(example / "run_q3.py", "            loss, acc = compute_loss_and_acc(yb, probs)",
           "            loss, acc = compute_loss_and_acc(yb, probs)\n            assert itr < 1, 'boom'")
    r = run_cli("debug", "--headless", example / "run_q3.py", *QUICK)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("error: ") and "AssertionError: boom" in r.stderr


def test_headless_names_a_bug(example):
    mutate(example / "run_q3.py", "params[k[len('grad_'):]] -= learning_rate * v",
           "params[k[len('grad_'):]] += learning_rate * v")
    r = run_cli("debug", "--headless", example / "run_q3.py", *QUICK)
    assert "diagnosis: layer 'layer1': each update moves along +grad_Wlayer1, uphill" in r.stdout, r.stdout


def test_debug_of_a_missing_script_is_one_error_line(tmp_path):
    r = run_cli("debug", "--headless", tmp_path / "nope.py")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr


def test_headless_report_is_the_scripts_run_however_it_ended(example, tmp_path):
    """`debug --headless --report OUT.html`: the attached run's HTML report, written when the script has ended
    (here it crashes in the first batch of its second epoch: the report says so, with the traceback)."""
    mutate(example / "run_q3.py", "            loss, acc = compute_loss_and_acc(yb, probs)",
           "            loss, acc = compute_loss_and_acc(yb, probs)\n            assert itr < 1, 'boom'")
    out = tmp_path / "out" / "run.html"
    r = run_cli("debug", "--headless", "--report", out, example / "run_q3.py", *QUICK)
    assert r.returncode == 1 and f"report written to {out}" in r.stdout, r.stdout + r.stderr
    html = out.read_text(encoding="utf-8")
    outcome = re.search(r'id="outcome">([^<]+)', html)[1]
    assert outcome.startswith("run_q3.py ran 20 batches (1 epoch)") and "AssertionError: boom" in outcome
    assert re.findall(r'<tr data-epoch="(\d+)">', html) == ["1"] and 'id="traceback"' in html
    assert '<figure data-step="0">' in html  # the weights as the script started (asked for at once)


def test_headless_report_needs_headless_and_a_writable_path(example, tmp_path):
    r = run_cli("debug", "--report", tmp_path / "r.html", example / "run_q3.py")
    assert r.returncode == 2 and "--report goes with --headless" in r.stderr and r.stderr.count("\n") == 1
    r = run_cli("debug", "--headless", "--report", tmp_path, example / "run_q3.py")
    assert r.returncode == 2 and "is a folder" in r.stderr and r.stderr.count("\n") == 1
