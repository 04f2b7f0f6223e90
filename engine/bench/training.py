"""Timings measured side by side in one run, so a noisy shared machine affects all alike.

Only ratios are meaningful across machines. Each contender runs ``repeats`` times, interleaved,
and the best time counts (the least-disturbed run). On a machine shared with other busy processes
every whole epoch gets interrupted, so the engine is also timed batch by batch against the floor's
batch, in alternating blocks, and the fastest batch of each counts (``batch_vs_floor``).

The floor multiplies one cached batch; a training step must first copy its 32 random rows out of the
44 MB training set, which comes from main memory, not the cache. ``gather_ms`` times exactly that
copy for an epoch, so ``engine_vs_floor_and_gather`` is the engine's overhead over what no step can
avoid: the products and reading the batch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.data.dataset import NIST36_CLASSES, Dataset, Split
from engine.training.session import TrainConfig, TrainingSession

N_TRAIN, N_IN, N_HIDDEN, N_OUT, BATCH, LR = 10_800, 1024, 64, 36, 32, 3e-3


@dataclass
class EngineBench:
    engine_ms: float
    seed_style_ms: float
    floor_ms: float
    batch_vs_floor: float = float("nan")  # fastest instrumented batch / fastest floor batch
    gather_ms: float = float("nan")  # copying every batch's rows out of the training set, one epoch

    def as_json(self) -> dict:
        return {"engine_ms": self.engine_ms, "seed_style_ms": self.seed_style_ms, "floor_ms": self.floor_ms,
                "engine_vs_floor": self.engine_ms / self.floor_ms, "engine_vs_seed": self.engine_ms / self.seed_style_ms,
                "batch_vs_floor": self.batch_vs_floor, "gather_ms": self.gather_ms,
                "engine_vs_floor_and_gather": self.engine_ms / (self.floor_ms + self.gather_ms)}

    def lines(self) -> list[str]:
        floor_gather = self.floor_ms + self.gather_ms
        return [f"engine epoch      {self.engine_ms:8.1f} ms  (instrumentation on)",
                f"seed-style epoch  {self.seed_style_ms:8.1f} ms  engine/seed  = {self.engine_ms / self.seed_style_ms:.2f}x",
                f"GEMM floor epoch  {self.floor_ms:8.1f} ms  engine/floor = {self.engine_ms / self.floor_ms:.2f}x",
                f"+ batch gather    {floor_gather:8.1f} ms  engine/(floor + gather) = {self.engine_ms / floor_gather:.2f}x",
                f"fastest batch vs fastest floor batch: {self.batch_vs_floor:.2f}x (robust to a busy machine)"]


def random_nist_sized(seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.random((N_TRAIN, N_IN), dtype=np.float32)
    y = rng.integers(0, N_OUT, N_TRAIN)
    small = Split(x[:BATCH].copy(), y[:BATCH].copy())
    return Dataset("random", NIST36_CLASSES, Split(x, y), small, small)


def time_engine_epoch(data: Dataset) -> float:
    session = TrainingSession(data, TrainConfig(epochs=1, snapshot_every=0))
    t = time.perf_counter()
    session.run()
    return time.perf_counter() - t


def time_seed_style_epoch(data: Dataset) -> float:
    """The reference exercise's loop: float64, params in a dict, forward/backward helpers."""
    x, y = data.train.x.astype(np.float64), np.eye(N_OUT)[data.train.y]
    rng = np.random.default_rng(0)
    params = {}

    def init(n_in, n_out, name):
        bound = np.sqrt(6 / (n_in + n_out))
        params["W" + name] = rng.uniform(-bound, bound, (n_in, n_out))
        params["b" + name] = np.zeros(n_out)

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    def softmax(v):
        e = np.exp(v - v.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def forward(X, name, act):
        pre = X @ params["W" + name] + params["b" + name]
        post = act(pre)
        params["cache_" + name] = (X, pre, post)
        return post

    def backwards(delta, name, deriv):
        X, pre, post = params["cache_" + name]
        grad_a = delta * deriv(post)
        params["grad_W" + name] = X.T @ grad_a
        params["grad_b" + name] = grad_a.sum(axis=0)
        return grad_a @ params["W" + name].T

    init(N_IN, N_HIDDEN, "layer1")
    init(N_HIDDEN, N_OUT, "output")
    t = time.perf_counter()
    order = rng.permutation(len(x))
    for i in range(0, len(x), BATCH):
        idx = order[i:i + BATCH]
        xb, yb = x[idx], y[idx]
        h1 = forward(xb, "layer1", sigmoid)
        probs = forward(h1, "output", softmax)
        loss = -np.sum(yb * np.log(probs))
        acc = np.mean(probs.argmax(1) == yb.argmax(1))
        delta = probs - yb
        delta = backwards(delta, "output", lambda p: 1.0)
        backwards(delta, "layer1", lambda p: p * (1 - p))
        for k in [k for k in params if k.startswith("grad_")]:
            params[k[5:]] -= LR * params[k]
    del loss, acc
    return time.perf_counter() - t


def gemm_floor_batch(data: Dataset) -> Callable[[], None]:
    """Only the five matrix products of one batch, preallocated: nothing can be faster."""
    rng = np.random.default_rng(0)
    f = np.float32
    W1, W2 = rng.random((N_IN, N_HIDDEN), f), rng.random((N_HIDDEN, N_OUT), f)
    xb = data.train.x[:BATCH].copy()
    h, o = np.empty((BATCH, N_HIDDEN), f), np.empty((BATCH, N_OUT), f)
    dz2, dh = rng.random((BATCH, N_OUT), f), np.empty((BATCH, N_HIDDEN), f)
    dW1, dW2 = np.empty_like(W1), np.empty_like(W2)

    def batch() -> None:
        np.dot(xb, W1, out=h)
        np.dot(h, W2, out=o)
        np.dot(h.T, dz2, out=dW2)
        np.dot(dz2, W2.T, out=dh)
        np.dot(xb.T, dh, out=dW1)
    return batch


def time_gemm_floor(data: Dataset) -> float:
    batch = gemm_floor_batch(data)
    t = time.perf_counter()
    for _ in range(0, len(data.train), BATCH):
        batch()
    return time.perf_counter() - t


def time_gather(data: Dataset) -> float:
    """An epoch's batch copies alone: the rows of a random permutation, 32 at a time, into one buffer."""
    x, order = data.train.x, np.random.default_rng(1).permutation(len(data.train))
    buf = np.empty((BATCH, x.shape[1]), x.dtype)
    t = time.perf_counter()
    for i in range(0, len(order) - BATCH + 1, BATCH):
        np.take(x, order[i:i + BATCH], axis=0, out=buf, mode="clip")
    return time.perf_counter() - t


def fastest_batch_ratio(data: Dataset, blocks: int = 10, block: int = 100) -> float:
    """Fastest instrumented ``step_batch`` over the fastest floor batch, timed in alternating
    blocks: a batch rarely gets interrupted even when every whole epoch does."""
    session = TrainingSession(data, TrainConfig(epochs=10 ** 6, snapshot_every=0))
    floor = gemm_floor_batch(data)
    best = {session.step_batch: np.inf, floor: np.inf}
    clock = time.perf_counter
    for _ in range(blocks):
        for fn in best:
            for _ in range(block):
                t = clock()
                fn()
                best[fn] = min(best[fn], clock() - t)
    return best[session.step_batch] / best[floor]


def bench_engine(repeats: int = 5) -> EngineBench:
    data = random_nist_sized()
    timers = {"engine": time_engine_epoch, "seed": time_seed_style_epoch, "floor": time_gemm_floor, "gather": time_gather}
    best = dict.fromkeys(timers, np.inf)
    for _ in range(repeats):
        for name, timer in timers.items():
            best[name] = min(best[name], timer(data))
    return EngineBench(1e3 * best["engine"], 1e3 * best["seed"], 1e3 * best["floor"], fastest_batch_ratio(data),
                       1e3 * best["gather"])
