"""The PyTorch worked examples run on their own (no window: as without the debugger), on the glyphs
or a NIST36 folder, on one process or two under torchrun; without PyTorch they say how to get it."""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
from helpers import ROOT

from engine.remote import CLIENT_DIR

EXAMPLES = ROOT / "resources" / "examples"
ENV = {**os.environ, "BACKPROP_STUDIO_DETACH": "1", "OMP_NUM_THREADS": "1",
       "PYTHONPATH": os.pathsep.join((str(CLIENT_DIR), str(ROOT)))}  # this checkout's engine and client
LINE = re.compile(r"itr: (\d+) \t loss: ([0-9.]+) \t acc : ([0-9.]+) \t valid acc : ([0-9.]+)")


def run(*cmd, env=ENV):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, timeout=600)


def epochs(output: str) -> list[tuple[float, float, float]]:
    return [tuple(map(float, m.groups()[1:])) for m in LINE.finditer(output)]


@pytest.mark.torch
def test_the_fully_connected_example_learns_the_glyphs():
    proc = run(sys.executable, EXAMPLES / "torch_fc.py", "--epochs", "3", "--timing")
    assert proc.returncode == 0, proc.stderr
    (loss0, _, _), (loss2, acc2, valid2) = epochs(proc.stdout)  # itr 0 and 2 are printed
    assert loss2 < 0.8 * loss0 and acc2 > 0.3 and valid2 > 0.3  # 36 classes: chance is 0.03
    assert float(re.search(r"loop seconds: ([0-9.]+)", proc.stdout).group(1)) > 0


@pytest.mark.torch
def test_the_cnn_example_learns_the_glyphs(tmp_path):
    proc = run(sys.executable, EXAMPLES / "torch_cnn.py", "--epochs", "2",
               "--save", tmp_path / "cnn.pt")
    assert proc.returncode == 0, proc.stderr
    first, second = epochs(proc.stdout)
    assert second[0] < first[0] and second[2] > 0.3
    assert (tmp_path / "cnn.pt").stat().st_size > 0


@pytest.mark.torch
def test_the_examples_read_a_nist36_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 96), ("valid", 40)):
        scipy.io.savemat(tmp_path / f"nist36_{split}.mat", {f"{split}_data": rng.random((n, 1024)),
                                                           f"{split}_labels": np.eye(36, dtype=np.uint8)[rng.integers(0, 36, n)]})
    for script in ("torch_fc.py", "torch_cnn.py"):
        proc = run(sys.executable, EXAMPLES / script, "--data", tmp_path, "--epochs", "1")
        assert proc.returncode == 0, proc.stderr
        assert len(epochs(proc.stdout)) == 1


@pytest.mark.torch
def test_the_ddp_example_keeps_both_ranks_in_step_under_torchrun():
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    assert torchrun, "PyTorch is installed but its torchrun is not on PATH"
    proc = run(torchrun, "--standalone", "--nproc_per_node", "2", EXAMPLES / "torch_ddp.py",
               "--epochs", "2", "--rows", "640")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # torchrun's ranks write unbuffered to one stdout: a line's end may come after the other rank's line
    done = dict(re.findall(r"rank (\d)/2 done: weights checksum ([-+.0-9e]+\d)", proc.stdout))
    assert set(done) == {"0", "1"} and done["0"] == done["1"]  # DDP: the same weights on both ranks


@pytest.mark.torch
def test_the_ddp_example_outside_torchrun_says_how_to_run_it():
    proc = run(sys.executable, EXAMPLES / "torch_ddp.py")
    assert proc.returncode == 1 and "torchrun --standalone --nproc_per_node 2" in proc.stderr


@pytest.mark.parametrize("script", ["torch_fc.py", "torch_cnn.py", "torch_ddp.py"])
def test_without_pytorch_an_example_says_how_to_get_it(script, tmp_path):
    (tmp_path / "torch").mkdir()  # a torch that fails to import, as an absent one does
    (tmp_path / "torch" / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\")\n")
    env = {**ENV, "PYTHONPATH": os.pathsep.join((str(tmp_path), ENV["PYTHONPATH"]))}
    proc = run(sys.executable, EXAMPLES / script, "--epochs", "1", env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip() == f'{script} needs PyTorch: pip install ".[torch]" (in the backprop-studio folder)'
