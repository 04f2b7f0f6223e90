"""Side-by-side experiments in the worker thread: an ``engine.training.experiments.Experiment`` (a preset or runs
added one by one) as an engine.training.jobs.ExperimentJob in the worker's scheduler, sharing the CPU with the
main session, plus run logs opened for viewing next to them. Updates are coalesced to
``BACKGROUND_HZ``. Every command, per-run ones included, is a message to the worker thread.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from engine.errors import InputError
from engine.file_words import RUN_LOG, reading
from engine.training.experiments import PRESETS, Experiment, preset
from engine.training.jobs import ExperimentJob, JobState
from engine.training.runlog import load_json, save_json
from engine.training.session import BatchEvent, EpochEvent, State, StateEvent, TrainConfig, TrainingSession
from gui.worker.messages import ExperimentInfo, ExperimentUpdate, RunDelta, RunInfo

BACKGROUND_HZ = 5


class _Deltas:
    def __init__(self):
        self.steps, self.losses, self.accs, self.epochs = [], [], [], []


def _unique(name: str, taken) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name} ({k})" in taken:
        k += 1
    return f"{name} ({k})"


def describe(config: TrainConfig) -> str:
    """A short run name from its settings: 'relu 64-64 lr 0.003'."""
    return f"{config.activation} {'-'.join(map(str, config.hidden))} lr {config.lr:g}"


class ExperimentRunner(QObject):
    changed = pyqtSignal(object)  # ExperimentInfo: redraw every run
    updated = pyqtSignal(object)  # ExperimentUpdate: new batches/epochs/statuses
    log_opened = pyqtSignal(str)  # name of a run log added for viewing
    alone_slice_s = 0.2

    def __init__(self, worker):
        super().__init__(worker)
        self.worker = worker
        self.exp: Experiment | None = None
        self.job: ExperimentJob | None = None
        self.finding_fn = None
        self.logs: list = []  # (name, RunLog) opened for viewing
        self.colors: dict[str, int] = {}
        self.generation = 0
        self.finding = ""
        self._deltas: dict[str, _Deltas] = {}
        self._dirty = False
        self._was_running = False
        self._last_emit = 0.0

    # ---- commands (GUI thread: messages) ----------------------------------------------------------

    def start_preset(self, key: str, epochs: int | None = None, **overrides) -> None:
        """Replace the experiment's runs with a preset's (on the main session's data) and run it."""
        self.worker.send(lambda: self._start_preset(key, epochs, overrides))

    def add_run(self, config: TrainConfig, name: str = "") -> None:
        self.worker.send(lambda: self._add_run(config, name))

    def run(self, resume_all: bool = False) -> None:
        """Give the experiment CPU time again (``resume_all``: also resume runs paused one by one)."""
        def go():
            if resume_all and self.exp is not None:
                for r in self.exp.runs:
                    self.exp.resume_run(r.name)
            self._set_running(True)
        self.worker.send(go)

    def pause(self) -> None:
        self.worker.send(lambda: self._set_running(False))

    def step(self) -> None:
        """One round (a batch of every active run), running or not."""
        self.worker.send(lambda: self.job is not None and (self.job.step(), self._settle()))

    def stop(self) -> None:
        self.worker.send(lambda: self.exp is not None and (self.exp.stop(), self._settle()))

    def pause_run(self, name: str) -> None:
        self._on_run(lambda exp: exp.pause_run(name))

    def resume_run(self, name: str) -> None:
        self._on_run(lambda exp: exp.resume_run(name))

    def stop_run(self, name: str) -> None:
        self._on_run(lambda exp: exp.stop_run(name))

    def clear(self) -> None:
        self.worker.send(self._clear)

    def open_log(self, path: str) -> None:
        self.worker.send(lambda: self._open_log(path))

    def export_run(self, name: str, path: str) -> None:
        self.worker.send(lambda: self._export_run(name, path))

    def _on_run(self, action) -> None:
        def apply():
            if self.exp is not None:
                action(self.exp)
                self._settle()
        self.worker.send(apply)

    # ---- worker thread ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.wants_cpu

    def _after_unit(self, job) -> None:
        self._settle(emit_now=False)

    def _data(self):
        if self.worker.session is None:
            raise InputError("open a dataset first: experiments train on the current data")
        return self.worker.session.data

    def _start_preset(self, key: str, epochs: int | None, overrides: dict) -> None:
        self.worker.busy.emit(f"building the {key} experiment \u2026")
        exp = preset(key, self._data(), epochs, **overrides)
        self.finding_fn = PRESETS[key].finding
        self.colors = {name: i for i, (name, _) in enumerate(self.logs)}
        self._install(exp)
        self.job.start()
        self.publish()

    def _add_run(self, config: TrainConfig, name: str) -> None:
        taken = {r.name for r in self.exp.runs} if self.exp else set()
        taken |= {n for n, _ in self.logs}
        name = _unique(name or describe(config), taken)
        session = TrainingSession(self._data(), config)
        runs = {r.name: r.session for r in self.exp.runs} if self.exp else {}
        runs[name] = session
        old = {r.name: r for r in self.exp.runs} if self.exp else {}
        title = self.exp.title if self.exp else "Custom runs"
        exp = Experiment(runs, title, self.finding_fn)
        for r in exp.runs:  # keep each run's pause/stop flags
            if r.name in old:
                r.paused, r.stop_requested = old[r.name].paused, old[r.name].stop_requested
        self._install(exp)
        self.publish()

    def _install(self, exp: Experiment) -> None:
        running = self.running
        if self.job is not None:
            self.worker.remove_job(self.job)
        self.exp, self.finding = exp, ""
        self.job = ExperimentJob(exp, "experiment")
        self.job.alone_slice_s = 0.2
        self.worker.add_job(self.job, self._after_unit)
        if running:
            self.job.start()
        self.generation += 1
        self._deltas = {r.name: _Deltas() for r in exp.runs}
        for r in exp.runs:
            self.colors.setdefault(r.name, len(self.colors))
        exp.subscribe(lambda e, exp=exp: self._on_event(exp, e))

    def _set_running(self, on: bool) -> None:
        if self.job is not None:
            self.job.start() if on else self.job.pause()
        self._settle()

    def _settle(self, emit_now: bool = True) -> None:
        """Apply pending stop requests, notice the end, and send an update."""
        exp = self.exp
        if exp is None:
            return
        if any(r.stop_requested and r.session.state != State.STOPPED and not r.session.done for r in exp.runs) \
                and not any(r.active for r in exp.runs):
            exp.step()  # settles stopped runs (none is active: no batch is trained)
        if exp.done and not self.finding:
            self.finding = exp.finding()
            self._dirty = True
        if self.job is not None and self.job.state in (JobState.FINISHED, JobState.PAUSED) and self._was_running:
            self._dirty = True  # every run paused, stopped or done
        self._was_running = self.running
        now = time.perf_counter()
        if emit_now or self._dirty or now - self._last_emit >= 1.0 / BACKGROUND_HZ:
            self._emit()

    def _on_event(self, exp: Experiment, e) -> None:
        if exp is not self.exp:
            return  # an experiment replaced by a larger one (a run was added)
        d = self._deltas[e.run]
        event = e.event
        if isinstance(event, BatchEvent):
            d.steps.append(event.step)
            d.losses.append(event.loss)
            d.accs.append(event.acc)
        elif isinstance(event, EpochEvent):
            d.epochs.append(event)
        elif isinstance(event, StateEvent) and (event.message or event.state not in (State.RUNNING, State.PAUSED)):
            self._dirty = True  # finished, diverged, stopped, or a watchpoint

    def _emit(self) -> None:
        exp = self.exp
        runs = {}
        for r in exp.runs:
            d = self._deltas[r.name]
            s = r.session
            runs[r.name] = RunDelta(np.asarray(d.steps, np.int64), np.asarray(d.losses), np.asarray(d.accs),
                                    d.epochs, r.status, s.step, s.epoch, s.message)
            self._deltas[r.name] = _Deltas()
        self._dirty = False
        self._last_emit = time.perf_counter()
        self.updated.emit(ExperimentUpdate(self.generation, runs, self.running, exp.done, self.finding))

    def _clear(self) -> None:
        if self.exp is not None:
            self.exp.stop()
        if self.job is not None:
            self.job.stop()
            self.worker.remove_job(self.job)
        self.exp, self.job, self.logs, self.colors, self.finding = None, None, [], {}, ""
        self.generation += 1
        self.publish()

    def _open_log(self, path: str) -> None:
        with reading(path, RUN_LOG):  # a file's problem in plain words, the same wherever it is opened
            log = load_json(path)
        taken = {n for n, _ in self.logs} | ({r.name for r in self.exp.runs} if self.exp else set())
        name = _unique(f"{log.name or Path(path).stem} (log)", taken)
        self.logs.append((name, log))
        self.colors.setdefault(name, len(self.colors))
        self.generation += 1
        self.publish()
        self.log_opened.emit(name)

    def _export_run(self, name: str, path: str) -> None:
        log = next((log for n, log in self.logs if n == name), None)
        if log is not None:
            save_json(path, log)
        elif self.exp is not None:
            save_json(path, self.exp[name].session, name)  # KeyError for an unknown run is a bug
        else:
            raise InputError(f"no run {name!r}")
        self.worker.exported.emit(f"run log of {name} written to {path}")

    def publish(self) -> None:
        """Every run from scratch (after the set of runs changed)."""
        infos = []
        for r in (self.exp.runs if self.exp else []):
            s, h = r.session, r.session.history
            self._deltas[r.name] = _Deltas()
            infos.append(RunInfo(r.name, self.colors[r.name], s.config, True, r.status, s.step,
                                 s.config.epochs * s.batches_per_epoch, s.epoch, s.batches_per_epoch,
                                 np.asarray(h.batch_loss), np.asarray(h.batch_acc), list(h.epochs), s.reconstruct,
                                 s.message))
        for name, log in self.logs:
            n = max(int(log.dataset.get("sizes", {}).get("train", 0)), 1)
            bpe = max(-(-n // log.config.batch_size), 1)
            step = len(log.history.batch_loss)
            infos.append(RunInfo(name, self.colors[name], log.config, False, "log", step, step,
                                 len(log.history.epochs), bpe, np.asarray(log.history.batch_loss, float),
                                 np.asarray(log.history.batch_acc, float), list(log.history.epochs),
                                 log.reconstruct, log.message))
        title = self.exp.title if self.exp else ("Run logs" if self.logs else "")
        self._last_emit = time.perf_counter()
        self.changed.emit(ExperimentInfo(self.generation, title, infos, self.running, self.finding))
