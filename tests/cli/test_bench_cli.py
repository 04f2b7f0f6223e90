"""bench --torch and bench --attach [--torch]: their JSON, their ratios, and the line without PyTorch."""
import json
import sys

import pytest

import main

NO_TORCH = 'error: bench --torch needs PyTorch: pip install ".[torch]"'


def test_bench_torch_json_gives_the_ratio_of_its_times(torch, monkeypatch, capsys):
    import engine.bench.torch as bench

    monkeypatch.setattr(bench, "N_TRAIN", 640)  # the keys and the arithmetic, not the timing
    assert main.main(["bench", "--torch", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"engine_ms", "torch_ms", "engine_vs_torch", "batch_engine_vs_torch", "torch_version"} <= set(out)
    assert out["engine_ms"] > 0 and out["torch_ms"] > 0 and out["batch_engine_vs_torch"] > 0
    assert out["engine_vs_torch"] == pytest.approx(out["engine_ms"] / out["torch_ms"])
    assert out["torch_version"] == torch.__version__ and out["torch_threads"] == 1 and out["rows"] == 640


def test_bench_torch_prints_both_times_and_their_ratio(torch, monkeypatch, capsys):
    import engine.bench.torch as bench

    monkeypatch.setattr(bench, "N_TRAIN", 320)
    assert main.main(["bench", "--torch"]) == 0
    text = capsys.readouterr().out
    engine_ms = float(text.split("engine epoch")[1].split("ms")[0])
    torch_ms = float(text.split("PyTorch epoch")[1].split("ms")[0])
    ratio = float(text.split("engine/torch = ")[1].split("x")[0])
    assert ratio == pytest.approx(engine_ms / torch_ms, abs=0.01 + 0.01 * ratio)


@pytest.mark.parametrize("args", [["bench", "--torch", "--json"], ["bench", "--attach", "--torch", "--json"]])
def test_without_pytorch_the_torch_bench_says_how_to_get_it(args, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError, as when it is absent
    assert main.main(args) == 2
    out, err = capsys.readouterr()
    expected = NO_TORCH.replace("bench --torch", "bench --attach --torch") if "--attach" in args else NO_TORCH
    assert out == "" and err.strip() == expected


def test_torch_goes_alone_or_with_attach(capsys):
    assert main.main(["bench", "--torch", "--ocr"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --torch") and len(err.strip().splitlines()) == 1


def test_bench_attach_json_times_the_worked_example_plain_and_attached(monkeypatch, capsys):
    import engine.bench.attach as bench

    monkeypatch.setattr(bench, "EPOCHS", 1)
    monkeypatch.setattr(bench, "REPEATS", 2)
    monkeypatch.setattr(bench, "ROWS", 320)
    assert main.main(["bench", "--attach", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["example"] == "run_q3.py" and out["runs"] == 2 and out["epochs"] == 1
    assert out["batches_attached"] == 320 // 32  # the window's side saw every batch of the attached run
    assert out["plain_s"] > 0 and out["attached_s"] > 0
    assert out["attached_vs_plain"] == pytest.approx(out["plain_s"] / out["attached_s"])
