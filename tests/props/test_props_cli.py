"""Property: `train` and `gradcheck` with any generated flag values end in a result (strict JSON lines),
a diagnosed divergence (exit 1), or one `error:` line with exit 2 -- never a traceback, never NaN."""
import io
import json
import math
import re
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import main

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 1e-3, 0.5, 1e300]))


def mostly(good, anything):
    """A sensible value half of the time, so generated runs also train (not only fail at the door)."""
    return st.one_of(st.just(good), anything)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    y = np.arange(60) % 4
    x = (rng.random((4, 1024))[y] + 0.1 * rng.random((60, 1024))).astype(np.float32)
    path = tmp_path_factory.mktemp("data") / "d.npz"
    np.savez(path, x=x, y=y)
    return path


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main.main(argv)
    except SystemExit as exc:  # argparse refusing a value it cannot parse: its usage line, exit 2
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def check(code, out, err, as_json):
    assert code in (0, 1, 2), (code, err)
    if code == 2:
        assert "error:" in err and "Traceback" not in err
        return
    if code == 1:  # (NumPy may warn about the overflow first: a warning, not a traceback)
        assert err.strip().splitlines()[-1].startswith("error: ") and "diverged" in err and "Traceback" not in err
    if as_json:
        for line in out.splitlines():
            row = json.loads(line)  # strict: json.dumps(allow_nan=False) wrote it
            assert all(math.isfinite(row[k]) for k in ("train_loss", "train_acc", "valid_loss", "valid_acc"))
    else:
        assert not re.search(r"\b(nan|inf)\b", out.lower()), out


@given(epochs=mostly(1, st.integers(-2, 2)), batch=mostly(16, st.integers(-1, 80)), lr=mostly(0.01, NUMBERS),
       momentum=mostly(0.0, NUMBERS), decay=mostly(1.0, NUMBERS), every=mostly(0, st.integers(-3, 3)),
       seed=mostly(0, st.integers(-2, 2 ** 64)), hidden=mostly("8", st.text("0123456789,- x", max_size=8)),
       save=st.sampled_from(["none", "file", "empty", "folder", "under-a-file"]), as_json=st.booleans())
def test_train_flags(data_file, epochs, batch, lr, momentum, decay, every, seed, hidden, save, as_json):
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["train", "--data", str(data_file), "--epochs", str(epochs), "--batch-size", str(batch),
                "--lr", repr(lr), "--momentum", repr(momentum), "--lr-decay", repr(decay),
                "--decay-every", str(every), "--seed", str(seed), f"--hidden={hidden}"]
        (Path(tmp) / "file").write_text("x")
        target = {"file": str(Path(tmp) / "m.npz"), "empty": "", "folder": tmp,
                  "under-a-file": str(Path(tmp) / "file" / "m.npz")}.get(save)
        argv += ["--save", target] if target is not None else []
        argv += ["--json"] if as_json else []
        code, out, err = run(argv)
        check(code, out, err, as_json)
        if code == 0 and target is not None:
            assert Path(target).is_file() and not list(Path(target).parent.glob("*.partial"))


@given(entries=st.integers(-3, 2), as_json=st.booleans())
def test_gradcheck_entries(entries, as_json):
    code, out, err = run(["gradcheck", "--entries", str(entries)] + (["--json"] if as_json else []))
    if entries < 1:
        assert code == 2 and err.startswith("error: ") and "--entries" in err
    else:
        assert code == 0 and ("PASS" in out or json.loads(out)["passed"])
