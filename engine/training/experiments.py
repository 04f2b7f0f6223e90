"""Side-by-side runs: several TrainingSessions advanced round-robin, one batch each per round, in
one thread, so a slow configuration cannot starve the others and their curves stay aligned step
for step. Each run pauses/stops on its own; a watchpoint that fires pauses only its run.

Presets reproduce the reference exercise's studies and end with a finding computed from the runs:
``preset("learning-rate", data).run(); print(exp.finding())``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from engine.data.dataset import Dataset
from engine.debug.stats import vanishing_gradient_report
from engine.errors import InputError
from engine.nn.activations import LEAKY_SLOPE
from engine.training.session import State, TrainConfig, TrainingSession
from engine.words import count


@dataclass
class Run:
    name: str
    session: TrainingSession
    paused: bool = False  # skipped by the scheduler until resumed (set by a user or a watchpoint)
    stop_requested: bool = False

    @property
    def active(self) -> bool:
        return not (self.paused or self.stop_requested or self.session.done)

    @property
    def status(self) -> str:
        """running / paused / finished / diverged / stopped, for the legend."""
        s = self.session.state
        if s in (State.FINISHED, State.DIVERGED, State.STOPPED):
            return s.value
        return "paused" if self.paused else "running"


@dataclass
class RunEvent:
    """A session event tagged with the run it came from (what experiment listeners receive)."""

    run: str
    event: object


class Experiment:
    def __init__(self, runs: dict[str, TrainingSession], title: str = "",
                 finding: Callable[["Experiment"], str] | None = None):
        if not runs:
            raise InputError("an experiment needs at least one run")
        self.title = title
        self.runs = [Run(name, s) for name, s in runs.items()]
        self._finding = finding
        self._listeners: list[Callable[[RunEvent], None]] = []
        self._interrupt = threading.Event()
        for run in self.runs:
            run.session.subscribe(lambda e, name=run.name: self._emit(RunEvent(name, e)))

    def __getitem__(self, name: str) -> Run:
        for run in self.runs:
            if run.name == name:
                return run
        raise KeyError(f"no run {name!r} (runs: {', '.join(r.name for r in self.runs)})")

    def subscribe(self, listener: Callable[[RunEvent], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, event: RunEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    # ---- scheduling (the worker thread) -----------------------------------------------------------

    @property
    def done(self) -> bool:
        return all(r.session.done for r in self.runs)

    def step(self) -> int:
        """One round: one batch for every active run. Returns how many runs advanced."""
        advanced = 0
        for run in self.runs:
            if run.stop_requested and run.session.state != State.STOPPED and not run.session.done:
                run.session.stop()
                run.session.run(max_batches=0)  # settles the session as STOPPED
            if not run.active:
                continue
            run.session.run(max_batches=1)
            advanced += 1
            if run.session.state == State.PAUSED and run.session.message:
                run.paused = True  # a watchpoint fired: hold this run, keep the others going
        return advanced

    def run(self, max_rounds: int | None = None) -> None:
        """Rounds until every run is done, paused or stopped, or pause()/stop() is called."""
        self._interrupt.clear()
        rounds = 0
        while not self._interrupt.is_set() and (max_rounds is None or rounds < max_rounds):
            if not self.step():
                break
            rounds += 1

    # ---- commands (safe from any thread; they act at the next batch boundary) --------------------

    def pause(self) -> None:
        self._interrupt.set()

    def stop(self) -> None:
        for run in self.runs:
            run.stop_requested = True
        self._interrupt.set()

    def pause_run(self, name: str) -> None:
        self[name].paused = True

    def resume_run(self, name: str) -> None:
        self[name].paused = False

    def stop_run(self, name: str) -> None:
        self[name].stop_requested = True

    # ---- results ---------------------------------------------------------------------------------

    def finding(self) -> str:
        """The preset's written conclusion (or a plain ranking), from the runs as they are now."""
        return (self._finding or _ranking_text)(self)


# ---- measuring runs --------------------------------------------------------------------------------

def final_acc(run: Run) -> float:
    epochs = run.session.history.epochs
    return epochs[-1].valid_acc if epochs else float("nan")


def ranked(exp: Experiment) -> list[Run]:
    """Runs with at least one epoch, best final validation accuracy first (diverged runs last)."""
    scored = [r for r in exp.runs if r.session.history.epochs]
    return sorted(scored, key=lambda r: (r.session.state == State.DIVERGED, -final_acc(r)))


def _ranking_text(exp: Experiment) -> str:
    runs = ranked(exp)
    healthy = [r for r in runs if r.session.state != State.DIVERGED]
    diverged = " ".join(f"{r.name} {r.session.message.split(':')[0]}." for r in runs if r not in healthy)
    if not healthy:
        return diverged or "No run has finished an epoch yet."
    best = healthy[0]
    if best.session.reconstruct:  # autoencoders: "accuracy" is PSNR in dB
        fmt, what, unit, scale = (lambda v: f"{v:.2f} dB"), "validation PSNR", "dB", 1
    else:
        fmt, what, unit, scale = (lambda v: f"{v:.1%}"), "validation accuracy", "points", 100
    text = f"{best.name} won with {fmt(final_acc(best))} {what}"
    if len(healthy) > 1:
        second = healthy[1]
        text += (f", {scale * (final_acc(best) - final_acc(second)):.1f} {unit} ahead of {second.name} "
                 f"({fmt(final_acc(second))})")
    others = [f"{r.name} {fmt(final_acc(r))}" for r in healthy[2:]]
    text += (f"; then {', '.join(others)}" if others else "") + "."
    return text + (" " + diverged if diverged else "")  # e.g. "wild diverged at epoch 2, batch 1."


def gradient_ratios(run: Run, layer: str = "layer1") -> list[float]:
    """Per epoch: how many times smaller ``layer``'s mean |dW| is than the output layer's."""
    return [e.layers["output"].grad_mean_abs / max(e.layers[layer].grad_mean_abs, 1e-30)
            for e in run.session.history.epochs]


def _vanishing_text(exp: Experiment, threshold: float = 10.0) -> str:
    """Which layers' gradients vanished in the first epoch (where it matters: it is what stalls a
    deep sigmoid net at the start) and how long the first layer took to recover."""
    parts = []
    for r in exp.runs:
        if not r.session.history.epochs:
            continue
        acts = {l.name: l.activation for l in r.session.net.layers}
        lines = vanishing_gradient_report(r.session.history.epochs[0].layers, acts, threshold)
        if not lines:
            continue
        ratios = gradient_ratios(r)
        back = next((i for i, v in enumerate(ratios) if v < threshold), None)
        tail = (f"layer1 was within {threshold:g}\u00d7 again by epoch {back + 1}" if back is not None
                else f"still {ratios[-1]:,.0f}\u00d7 at epoch {len(ratios)}") if ratios[0] >= threshold else ""
        parts.append(f"{r.name}, epoch 1: " + "; ".join(lines) + (f" ({tail})" if tail else "") + ".")
    return " ".join(parts) if parts else "No layer's gradients vanished."


def _first_layer_grads(exp: Experiment) -> dict[str, float]:
    return {r.name: r.session.history.epochs[0].layers["layer1"].grad_mean_abs
            for r in exp.runs if r.session.history.epochs}


def _lr_finding(exp: Experiment) -> str:
    text = _ranking_text(exp)
    runs = ranked(exp)
    if len(runs) > 1:
        slow = min(runs, key=lambda r: r.session.config.lr)
        if slow is runs[-1]:
            text += (f" The smallest rate ({slow.name}) learned slowest: {final_acc(slow):.1%} after "
                     f"{count(slow.session.epoch, 'epoch')}.")
        noise = {r.name: _last_epoch_noise(r) for r in runs}
        loud = max(noise, key=noise.get)
        if loud != runs[0].name and noise[runs[0].name] > 0:
            text += (f" {loud}'s batch loss is {noise[loud] / noise[runs[0].name]:.1f}\u00d7 as noisy as "
                     f"{runs[0].name}'s over the last epoch")
            largest = max(runs, key=lambda r: r.session.config.lr)
            text += " (steps too large for the valley)." if loud == largest.name else "."
    return text


def _last_epoch_noise(run: Run) -> float:
    """Standard deviation of the batch loss over the last epoch."""
    n = run.session.batches_per_epoch
    tail = np.asarray(run.session.history.batch_loss[-n:], float)
    return float(np.std(tail)) if len(tail) > 1 and np.isfinite(tail).all() else 0.0


def _gradient_finding(exp: Experiment) -> str:
    text = _ranking_text(exp)
    grads = _first_layer_grads(exp)
    if len(grads) > 1:
        order = sorted(grads, key=grads.get, reverse=True)
        text += (" First-layer gradients in epoch 1 (mean |dW|): "
                 + ", ".join(f"{n} {grads[n]:.1e}" for n in order)
                 + f"; {order[-1]}'s are {grads[order[0]] / max(grads[order[-1]], 1e-30):,.1f}\u00d7 smaller "
                   f"than {order[0]}'s.")
    return text + " " + _vanishing_text(exp)


def _regularization_finding(exp: Experiment) -> str:
    """What each regularizer did, measured: the weight norm L2 shrank, the gap between validation
    and training loss that L2 and dropout narrowed, and the ReLU units that leaky ReLU kept alive."""
    text = _ranking_text(exp)
    runs = [r for r in exp.runs if r.session.history.epochs]
    if not runs:
        return text
    cfg = lambda r: r.session.config  # noqa: E731
    plain = [r for r in runs if not cfg(r).weight_decay and not cfg(r).dropout]
    base = next((r for r in plain if "relu" not in cfg(r).activation), plain[0] if plain else runs[0])
    w_norm = lambda r: float(np.linalg.norm(r.session.net.layers[0].W))  # noqa: E731
    decayed = [r for r in runs if cfg(r).weight_decay and r is not base]
    if decayed:
        text += (f" L2 keeps the weights small: |W| of layer1 is {w_norm(base):.1f} without it ({base.name}), "
                 + ", ".join(f"{w_norm(r):.1f} with {r.name} ({1 - w_norm(r) / w_norm(base):.0%} smaller)"
                             for r in decayed) + ".")
    regularized = [r for r in runs if (cfg(r).weight_decay or cfg(r).dropout) and r is not base]
    if regularized:
        gap = lambda r: r.session.history.epochs[-1].valid_loss - r.session.history.epochs[-1].train_loss  # noqa: E731
        text += (f" Validation minus training loss at epoch {base.session.epoch}: {base.name} {gap(base):+.3f}, "
                 + ", ".join(f"{r.name} {gap(r):+.3f}" for r in regularized)
                 + (" (dropout's training loss is measured with units dropped, so it can lie above the validation"
                    " loss)" if any(cfg(r).dropout for r in regularized) else "") + ".")
    relu = next((r for r in runs if cfg(r).activation == "relu"), None)
    leaky = next((r for r in runs if cfg(r).activation == "leaky_relu"), None)
    if relu and leaky:
        dead = relu.session.history.epochs[-1].layers["layer1"].dead
        silent = leaky.session.history.epochs[-1].layers["layer1"].saturation
        text += (f" {relu.name}: {dead:.0%} of layer1's units are dead (silent on every example, so they never "
                 f"learn again), validation {final_acc(relu):.1%}; {leaky.name} cannot die: {silent:.0%} of its "
                 f"units sit below zero yet still pass {LEAKY_SLOPE:.0%} of their gradient, validation {final_acc(leaky):.1%}.")
    return text


# ---- presets ----------------------------------------------------------------------------------------

@dataclass
class Preset:
    key: str
    title: str
    configs: dict[str, TrainConfig]  # run name -> configuration
    finding: Callable[[Experiment], str] = _ranking_text
    epochs: int = 30


BASE = TrainConfig(hidden=(64,), activation="sigmoid", lr=3e-3, batch_size=32, epochs=30)  # the reference's

PRESETS: dict[str, Preset] = {
    "learning-rate": Preset("learning-rate", "Learning rate: 3e-3, x10, x0.1",
                            {f"lr {lr:g}": replace(BASE, lr=lr) for lr in (3e-3, 3e-2, 3e-4)}, _lr_finding),
    "activation": Preset("activation", "Sigmoid vs tanh vs ReLU (3 hidden layers of 64)",
                         {act: replace(BASE, hidden=(64, 64, 64), activation=act)
                          for act in ("sigmoid", "tanh", "relu")}, _gradient_finding),
    "depth": Preset("depth", "Depth: 1-4 hidden sigmoid layers of 64",
                    {f"{d} hidden": replace(BASE, hidden=(64,) * d) for d in (1, 2, 3, 4)}, _gradient_finding),
    "regularization": Preset("regularization", "Regularization: none vs L2 vs dropout; ReLU vs leaky ReLU",
                             {"none": BASE, "L2 1e-3": replace(BASE, weight_decay=1e-3),
                              "dropout 0.2": replace(BASE, dropout=0.2), "ReLU": replace(BASE, activation="relu"),
                              "leaky ReLU": replace(BASE, activation="leaky_relu")}, _regularization_finding),
}


def preset(key: str, data: Dataset, epochs: int | None = None, **overrides) -> Experiment:
    """An experiment from a preset; ``overrides`` (e.g. seed, batch_size) apply to every run."""
    if key not in PRESETS:
        raise InputError(f"unknown preset {key!r}; choose from {', '.join(PRESETS)}")
    p = PRESETS[key]
    runs = {name: TrainingSession(data, replace(cfg, epochs=epochs or p.epochs, **overrides))
            for name, cfg in p.configs.items()}
    return Experiment(runs, p.title, p.finding)
