"""The engine against PyTorch on the CPU, the comparison users ask about, side by side in one run.

The reference network (1024-64-36, sigmoid hidden layer, softmax cross-entropy summed over the batch,
Xavier-uniform weights, zero biases), SGD at lr 3e-3, batch 32, one NIST36-sized epoch: the embedded
glyphs tiled to 10,800 rows. Both start from the same weights and take the batches in the same order,
so they take the same steps (a test checks it); both run on one thread (``torch.set_num_threads(1)``,
and the BLAS thread limit main.py sets before NumPy loads). The engine's epoch is the engine as it
trains (``TrainingSession``: every statistic of every batch, the validation pass at the end); the
PyTorch epoch is the loop a user writes (forward, loss, ``zero_grad``, ``backward``, ``step``, the
loss and the correct count read back each batch, the validation pass at the end). The epochs
alternate, the best of each counts; ``batch_engine_vs_torch`` compares the fastest single batch of
each, timed in alternating blocks, which a busy machine disturbs far less than a whole epoch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from engine.bench.training import BATCH, LR, N_TRAIN
from engine.data.dataset import Dataset, Split
from engine.data.registry import load_dataset
from engine.errors import InputError
from engine.training.session import TrainConfig, TrainingSession

NEEDS_TORCH = 'needs PyTorch: pip install ".[torch]"'


def import_torch(feature: str = "bench --torch"):
    """PyTorch, or the one line that says how to get it."""
    try:
        import torch
    except ImportError:
        raise InputError(f"{feature} {NEEDS_TORCH}") from None
    return torch


@dataclass
class TorchBench:
    engine_ms: float
    torch_ms: float
    batch_engine_vs_torch: float  # fastest engine batch / fastest PyTorch batch
    torch_version: str
    torch_threads: int
    rows: int
    runs: int

    @property
    def ratio(self) -> float:
        return self.engine_ms / self.torch_ms

    def as_json(self) -> dict:
        return {"engine_ms": self.engine_ms, "torch_ms": self.torch_ms, "engine_vs_torch": self.ratio,
                "batch_engine_vs_torch": self.batch_engine_vs_torch, "torch_version": self.torch_version,
                "torch_threads": self.torch_threads, "rows": self.rows, "runs": self.runs}

    def lines(self) -> list[str]:
        return [f"engine epoch   {self.engine_ms:8.1f} ms  (every statistic of every batch)",
                f"PyTorch epoch  {self.torch_ms:8.1f} ms  engine/torch = {self.ratio:.2f}x  (best of {self.runs})",
                f"fastest batch, engine/torch: {self.batch_engine_vs_torch:.2f}x (robust to a busy machine)",
                (f"(1024-64-36 sigmoid, {self.rows} rows, batch {BATCH}, SGD lr {LR:g}, one thread each; "
                 f"PyTorch {self.torch_version} on the CPU)")]


def glyphs_nist_sized() -> Dataset:
    """The embedded glyphs, tiled to a NIST36 training set's size; their validation rows as they are."""
    glyphs = load_dataset("glyphs")
    rows = np.arange(N_TRAIN) % len(glyphs.train)
    return Dataset("glyphs x NIST36 size", glyphs.classes, Split(glyphs.train.x[rows], glyphs.train.y[rows]),
                   glyphs.valid, glyphs.test)


def engine_session(data: Dataset, epochs: int = 1) -> TrainingSession:
    return TrainingSession(data, TrainConfig(epochs=epochs, batch_size=BATCH, lr=LR, snapshot_every=0))


def epoch_order(data: Dataset) -> np.ndarray:
    """The order the engine takes the rows in its first epoch (PyTorch takes them in the same order)."""
    return np.random.default_rng([TrainConfig().seed, 0]).permutation(len(data.train))


class TorchLoop:
    """The reference network in PyTorch, started from an engine network's weights, and its loop."""

    def __init__(self, torch, session: TrainingSession):
        self.torch, self.F = torch, torch.nn.functional
        first, out = session.net.layers
        self.model = torch.nn.Sequential(torch.nn.Linear(*first.W.shape), torch.nn.Sigmoid(),
                                         torch.nn.Linear(*out.W.shape))
        with torch.no_grad():
            for linear, layer in zip(self.model[::2], (first, out)):
                linear.weight.copy_(torch.from_numpy(layer.W.T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.b))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        data = session.data
        self.x, self.y = torch.from_numpy(data.train.x), torch.from_numpy(data.train.y.astype(np.int64))
        self.vx, self.vy = torch.from_numpy(data.valid.x), torch.from_numpy(data.valid.y.astype(np.int64))
        self.order = torch.from_numpy(epoch_order(data))

    def step(self, idx) -> tuple[float, int]:
        xb, yb = self.x[idx], self.y[idx]
        out = self.model(xb)
        loss = self.F.cross_entropy(out, yb, reduction="sum")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item(), int((out.argmax(1) == yb).sum())

    def epoch(self) -> float:
        """One epoch and the validation pass; returns the mean validation loss."""
        total_loss = correct = 0
        for idx in self.order.split(BATCH):
            loss, right = self.step(idx)
            total_loss, correct = total_loss + loss, correct + right
        with self.torch.no_grad():
            return self.F.cross_entropy(self.model(self.vx), self.vy).item()


def time_engine(data: Dataset) -> float:
    session = engine_session(data)
    t = time.perf_counter()
    session.run()
    return time.perf_counter() - t


def time_torch(torch, data: Dataset) -> float:
    loop = TorchLoop(torch, engine_session(data))
    t = time.perf_counter()
    loop.epoch()
    return time.perf_counter() - t


def fastest_batch_ratio(torch, data: Dataset, blocks: int = 10, block: int = 30) -> float:
    session = engine_session(data, epochs=10 ** 6)  # never done, whatever the number of rows
    loop = TorchLoop(torch, session)
    idx = loop.order[:BATCH]
    best = {"engine": np.inf, "torch": np.inf}
    calls = {"engine": session.step_batch, "torch": lambda: loop.step(idx)}
    clock = time.perf_counter
    for _ in range(blocks):
        for name, fn in calls.items():
            for _ in range(block):
                t = clock()
                fn()
                best[name] = min(best[name], clock() - t)
    return best["engine"] / best["torch"]


def bench_torch(repeats: int = 5) -> TorchBench:
    torch = import_torch()
    torch.set_num_threads(1)
    data = glyphs_nist_sized()
    engine_s = torch_s = np.inf
    for _ in range(repeats):
        engine_s = min(engine_s, time_engine(data))
        torch_s = min(torch_s, time_torch(torch, data))
    return TorchBench(1e3 * engine_s, 1e3 * torch_s, fastest_batch_ratio(torch, data), torch.__version__,
                      torch.get_num_threads(), len(data.train), repeats)
