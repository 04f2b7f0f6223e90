"""A PyTorch loop under the debugger: attached with no change, every Linear a layer, the optimizer's step
the boundary; reading only (bit-identical results); rank 0 of a torchrun job holds the others."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


from engine.remote.host import Host, private_folder
from engine.remote.session import RemoteSession
from engine.training.session import PauseReason, State

SCRIPT = textwrap.dedent('''
    import sys
    import torch
    from torch import nn
    torch.manual_seed(0)
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    x = torch.rand(320, 1024)
    y = torch.randint(0, 36, (320,))
    layers = [nn.Linear(1024, 64), nn.Sigmoid()]
    for _ in range(depth - 1):
        layers += [nn.Linear(64, 64), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(64, 36))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    lossf = nn.CrossEntropyLoss()
    for epoch in range(int(sys.argv[1])):
        for xb, yb in loader:
            opt.zero_grad()
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
        print("epoch", epoch, loss.item(), flush=True)
''')


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train_torch.py"
    path.write_text(SCRIPT)
    return path


def test_an_unchanged_torch_script_attaches_under_debug(script, drive):
    d = drive(script, 3)
    s = d.session
    assert s.hello["kind"] == "torch" and s.hello["model"] == "Sequential"
    d.wait(lambda: s.step >= 3)
    assert [l["name"] for l in s.layers] == ["linear0", "linear2"]
    assert s.layers[0]["activation"] == "sigmoid" and s.layers[0]["shape"] == [1024, 64]
    s.pause()
    d.wait(lambda: s.state == State.PAUSED)
    at = s.step
    s.step_batch()
    d.wait(lambda: s.state == State.PAUSED and s.step != at)
    assert s.step == at + 1  # exactly one optimizer step
    s.want_weights()
    d.wait(lambda: s.weights_step == s.step)
    assert s.weights["Wlinear0"].shape == (1024, 64)  # the exercise's layout: inputs x units, 32x32 tiles
    fig = s.latest["linear0"]
    assert fig["update_cos"] == pytest.approx(-1.0, abs=1e-3) and fig["step_size"] == pytest.approx(0.05, rel=1e-3)
    assert 0 <= fig["saturation"] <= 1 and fig["grad_mean_abs"] > 0
    s.resume()
    assert d.finish() == 0
    assert s.step == 30 and len(s.history.epochs) == 3  # epochs from the DataLoader running out
    assert all(e.train_loss > 0 for e in s.history.epochs)  # the loss backward() was called on


def test_a_watchpoint_stops_a_torch_loop_at_its_first_step(script, drive):
    d = drive(script, 2, checks=["loss < 100"])
    s = d.session
    d.wait(lambda: s.state == State.PAUSED, what="the watchpoint")
    assert s.pause_reason == PauseReason.WATCHPOINT and s.step == 1
    s.checks = []
    s.set_watching(False)
    s.resume()
    assert d.finish() == 0


def test_a_deep_sigmoid_stack_is_named_vanishing(script, drive):
    d = drive(script, 3, 6)
    s = d.session
    assert d.finish() == 0
    s.refresh_findings()
    words = [f.words for f in s.findings if f.kind == "vanishing"]
    assert words and "linear0" in words[0], [f.words for f in s.findings]


def run_steps(model, opt, x, y, n):
    lossf = torch.nn.CrossEntropyLoss()
    outs, grads = [], []
    for i in range(n):
        opt.zero_grad()
        out = model(x[i * 8:(i + 1) * 8])
        loss = lossf(out, y[i * 8:(i + 1) * 8])
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
        opt.step()
        outs.append(out.detach().clone())
    return outs, grads


def fresh():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(1024, 64), torch.nn.Sigmoid(), torch.nn.Linear(64, 36))
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def test_outputs_and_gradients_are_bit_identical_and_hooks_go_on_detach(monkeypatch):
    import backprop_studio

    x, y = torch.rand(80, 1024), torch.randint(0, 36, (80,))
    plain = run_steps(*fresh(), x, y, 10)
    host = Host(private_folder())
    monkeypatch.setenv("BACKPROP_STUDIO_ATTACH", str(host.path))
    monkeypatch.setenv("BACKPROP_STUDIO_KEY", host.key.hex())
    sessions = []

    def serve():
        while not sessions:
            a = host.poll()
            if a is not None:
                sessions.append(RemoteSession(a.conn, a.hello))
            time.sleep(0.002)
        while sessions[0].connected:
            sessions[0].pump(0.01)
            time.sleep(0.002)

    threading.Thread(target=serve, daemon=True).start()
    original_backward = torch.Tensor.backward
    model, opt = fresh()
    run = backprop_studio.attach(model, opt)
    try:
        assert run.attached
        attached = run_steps(model, opt, x, y, 10)
        caught = [m for m in model.modules() if "forward" in m.__dict__]  # the activation's output is caught
    finally:
        run.detach()
        host.close()
    for a, b in zip(plain[0] + [g for gs in plain[1] for g in gs], attached[0] + [g for gs in attached[1] for g in gs]):
        assert torch.equal(a, b)
    assert torch.Tensor.backward is original_backward
    assert not opt._optimizer_step_post_hooks
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert [type(m) for m in caught] == [torch.nn.Sigmoid]
    assert all("forward" not in m.__dict__ for m in model.modules())  # its own forward is back


DDP = textwrap.dedent('''
    import os, sys, time
    import torch, torch.distributed as dist
    from torch import nn
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(1024, 64), nn.Sigmoid(), nn.Linear(64, 36)))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.rand(32, 1024), torch.randint(0, 36, (32,))
    progress = os.path.join(sys.argv[1], f"rank{rank}")
    for step in range(int(sys.argv[2])):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        with open(progress, "w") as f:
            f.write(str(step + 1))
    dist.destroy_process_group()
''')


def torchrun():
    exe = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    return exe if os.path.exists(exe) else None


def read_step(folder, rank):
    try:
        return int((folder / f"rank{rank}").read_text() or 0)
    except (OSError, ValueError):
        return 0


@pytest.mark.skipif(torchrun() is None, reason="torchrun is not installed")
def test_pausing_rank_0_holds_a_torchrun_job_and_a_killed_rank_does_not_hang(tmp_path, drive):
    script = tmp_path / "ddp.py"
    script.write_text(DDP)
    d = drive(torchrun(), "--nproc_per_node", "2", "--master_port", str(29500 + os.getpid() % 1000),
              str(script), str(tmp_path), "100000")
    s = d.session
    assert s.hello["rank"] == 0 and s.hello["world_size"] == 2
    d.wait(lambda: s.step >= 5)
    s.pause()
    d.wait(lambda: s.state == State.PAUSED)
    time.sleep(0.5)  # let rank 1 run into the collective it will wait at
    held = read_step(tmp_path, 1)
    for _ in range(100):
        d.pump()
    time.sleep(1.0)
    assert read_step(tmp_path, 1) <= held + 1  # rank 1 waits at the next allreduce
    s.resume()
    d.wait(lambda: read_step(tmp_path, 1) > held + 5, what="rank 1 to run again")
    workers = subprocess.run(["pgrep", "-f", f"{script}"], capture_output=True, text=True, check=False).stdout.split()
    others = [int(p) for p in workers if int(p) != d.child.pid]
    assert others, "no worker processes found"
    os.kill(max(others), signal.SIGKILL)  # one rank dies
    d.wait(lambda: d.child.returncode is not None, timeout=120, what="torchrun to give up")
    d.wait(lambda: not s.connected, timeout=60, what="the session to end")
    assert d.child.returncode != 0
