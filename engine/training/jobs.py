"""The job protocol: one way to start, pause, resume, step, stop and watch any piece of background work.

A *job* does its work in small units (a batch, an experiment round, a column of a gradient check, an
OCR stage). ``step()`` does exactly one unit, whatever the state; ``start``/``resume`` make the job
want the CPU and ``pause``/``stop`` make it stop wanting it. A ``Scheduler`` gives the jobs that want
the CPU slices of time in turn, one unit at a time, so a pause (or any other command) takes effect at
the next unit boundary. Every command is meant to be called in the thread that runs the scheduler
(the GUI's worker thread sends them there as messages), so no job needs a lock.

Why a job paused is typed (``PauseReason``), not a message string: the window reacts differently to a
user pause, a watchpoint and a divergence. A job can also be paced (``pace``: units per second) so a
short run can be watched; stepping ignores the pace.

No Qt here: the GUI's worker (gui/worker.py) runs a Scheduler in its one thread; tests run it directly.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Generator

from engine.nn.gradcheck import iter_weight_errors
from engine.training.session import PauseReason, State, TrainingSession

__all__ = ["Job", "JobState", "PauseReason", "Progress", "Scheduler", "SessionJob", "ExperimentJob",
           "GeneratorJob", "gradcheck_job", "ocr_job"]


class JobState(str, Enum):
    IDLE = "idle"  # built, never started
    RUNNING = "running"  # wants the CPU
    PAUSED = "paused"  # see Job.reason
    FINISHED = "finished"
    FAILED = "failed"  # see Job.error / Job.trace
    STOPPED = "stopped"


OVER = (JobState.FINISHED, JobState.FAILED, JobState.STOPPED)


@dataclass(frozen=True)
class Progress:
    """Where a job is. ``done``/``total`` count its units; a training job also says where in its epochs
    it is and its latest figures, each in its own field (an autoencoder has a PSNR, not an accuracy)."""
    done: int
    total: int
    unit: str = "batch"
    epoch: int = 0  # completed epochs
    batch: int = 0  # next batch within the current epoch
    loss: float | None = None
    accuracy: float | None = None
    psnr_db: float | None = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


class Job:
    """Base class: subclasses implement ``_unit`` (one unit of work; return False when nothing is left)
    and ``progress``."""

    name = "job"
    alone_slice_s: float | None = None  # running alone: the scheduler's slice (None: until a command waits)
    shared_slice_s: float | None = None  # sharing the CPU: its turn (None: the scheduler's fair share); an
    #                                      interactive job (the OCR page after a slider moved) takes a longer one

    def __init__(self, name: str = ""):
        self.name = name or self.name
        self.state = JobState.IDLE
        self.reason: PauseReason | None = None
        self.message = ""  # the words behind a reason (which watchpoint fired, the divergence diagnosis)
        self.error: BaseException | None = None
        self.trace = ""
        self.pace: float | None = None  # units per second; None: full speed
        self.budget: int | None = None  # units left before an automatic pause (None: no limit)
        self._due = 0.0  # a paced job's next unit is not due before this perf_counter time

    # ---- commands ---------------------------------------------------------------------------------

    def start(self, budget: int | None = None) -> None:
        """Want the CPU (for at most ``budget`` units, then pause)."""
        if self.state in OVER or not self._can_run():
            return
        self.state, self.reason, self.message, self.budget = JobState.RUNNING, None, "", budget
        self._due = 0.0

    def resume(self) -> None:
        self.start()

    def pause(self, reason: PauseReason = PauseReason.USER, message: str = "") -> None:
        if self.state in (JobState.RUNNING, JobState.IDLE):
            self.state, self.reason, self.message = JobState.PAUSED, reason, message

    def stop(self) -> None:
        if self.state not in OVER:
            self.state = JobState.STOPPED

    def step(self) -> bool:
        """Exactly one unit, at any pace and in any state but an ended one. False if nothing was done."""
        if self.state in OVER:
            return False
        try:
            more = self._unit()
        except Exception as exc:  # noqa: BLE001 -- kept with its traceback for whoever shows it
            self.state, self.error, self.trace = JobState.FAILED, exc, traceback.format_exc()
            return False
        if not more:
            self._finish()
        elif self.budget is not None and self.state == JobState.RUNNING:
            self.budget -= 1
            if self.budget <= 0:
                self.pause(PauseReason.BUDGET)
        return True

    # ---- for the scheduler ----------------------------------------------------------------------------

    @property
    def wants_cpu(self) -> bool:
        return self.state == JobState.RUNNING

    @property
    def over(self) -> bool:
        return self.state in OVER

    def due_in(self, now: float) -> float:
        """Seconds until a paced job's next unit (0: now)."""
        return max(0.0, self._due - now) if self.pace else 0.0

    def _ran_unit(self, now: float) -> None:
        if self.pace:
            self._due = max(self._due, now) + 1.0 / self.pace

    # ---- for subclasses ----------------------------------------------------------------------------

    def _unit(self) -> bool:
        raise NotImplementedError

    def _can_run(self) -> bool:
        return True

    def _finish(self) -> None:
        self.state = JobState.FINISHED

    def progress(self) -> Progress:
        raise NotImplementedError


class SessionJob(Job):
    """A TrainingSession (the main one, or the autoencoder's) as a job: one unit is one batch.

    The session is stepped batch by batch (``step_batch``), never through ``run()``; its state is kept in
    step with the job's so that its listeners (the window) see running / paused / finished."""

    name = "training"

    def __init__(self, session: TrainingSession, name: str = ""):
        super().__init__(name)
        self.session = session
        if session.done:
            self.state = JobState.FINISHED if session.state == State.FINISHED else JobState.STOPPED
        self._epoch_target: int | None = None

    def start(self, budget: int | None = None) -> None:
        super().start(budget)
        if self.state == JobState.RUNNING:
            self._epoch_target = None
            self.session.set_state(State.RUNNING)

    def run_epoch(self) -> None:
        """Run to the end of the current epoch, then pause (exactly one epoch from an epoch boundary)."""
        self.start()
        self._epoch_target = self.session.epoch + 1

    def pause(self, reason: PauseReason = PauseReason.USER, message: str = "") -> None:
        was = self.state
        super().pause(reason, message)
        if was == JobState.RUNNING and self.state == JobState.PAUSED and not self.session.done:
            self.session.set_state(State.PAUSED, message)

    def stop(self) -> None:
        super().stop()
        if not self.session.done:
            self.session.stop()
            self.session.set_state(State.STOPPED)

    def _can_run(self) -> bool:
        return not self.session.done

    def _unit(self) -> bool:
        s = self.session
        s.step_batch()
        if s.state == State.DIVERGED:
            self.state, self.reason, self.message = JobState.PAUSED, PauseReason.DIVERGENCE, s.message
            return True  # over for good, but as a pause with its diagnosis (the window says why)
        if s.done:
            return False
        if s.state == State.PAUSED and s.message:  # a watchpoint fired (the session announced it)
            self.state, self.reason, self.message = JobState.PAUSED, PauseReason.WATCHPOINT, s.message
        elif self._epoch_target is not None and s.epoch >= self._epoch_target and self.state == JobState.RUNNING:
            self._epoch_target = None
            self.pause(PauseReason.BUDGET)
        elif self.state != JobState.RUNNING and s.state == State.RUNNING:
            s.set_state(State.PAUSED)  # a single step from a pause stays a pause
        return True

    @property
    def over(self) -> bool:
        return super().over or self.session.done

    def _finish(self) -> None:
        super()._finish()  # the session announced FINISHED itself

    def progress(self) -> Progress:
        s, h = self.session, self.session.history
        last = h.batch_acc[-1] if h.batch_acc else None
        return Progress(s.step, s.config.epochs * s.batches_per_epoch, "batch", s.epoch, s.batch,
                        h.batch_loss[-1] if h.batch_loss else None,
                        None if s.reconstruct else last, last if s.reconstruct else None)


class ExperimentJob(Job):
    """Side-by-side runs (engine.training.experiments.Experiment) as a job: one unit is one round (a batch of every
    active run). It finishes when no run is active any more (each done, paused or stopped)."""

    name = "experiment"

    def __init__(self, experiment, name: str = ""):
        super().__init__(name)
        self.experiment = experiment

    def _can_run(self) -> bool:
        return any(r.active for r in self.experiment.runs)

    def start(self, budget: int | None = None) -> None:
        if self.state == JobState.FINISHED and self._can_run():
            self.state = JobState.PAUSED  # a run was resumed or added: the experiment can go on
        super().start(budget)

    def _unit(self) -> bool:
        self.experiment.step()
        return self._can_run()

    def _finish(self) -> None:
        if self.experiment.done:
            super()._finish()
        else:  # every run is paused one by one (or stopped): the experiment waits for them
            self.state, self.reason = JobState.PAUSED, PauseReason.USER

    def progress(self) -> Progress:
        runs = self.experiment.runs  # one round trains one batch of each active run: count the longest
        return Progress(max((r.session.step for r in runs), default=0),
                        max((r.session.config.epochs * r.session.batches_per_epoch for r in runs), default=0), "round")


class GeneratorJob(Job):
    """Any generator as a job: each ``next()`` is one unit; it yields ``(done, total)`` and its return value
    becomes ``result``. The gradient check and the OCR pipeline are built this way."""

    def __init__(self, gen: Generator[tuple[int, int], None, object], total: int, name: str = "", unit: str = "unit"):
        super().__init__(name)
        self._gen, self._unit_name = gen, unit
        self.done, self.total = 0, total
        self.result = None

    def _unit(self) -> bool:
        try:
            self.done, self.total = next(self._gen)
        except StopIteration as end:
            self.result = end.value
            self.done = self.total
            return False
        return True

    def stop(self) -> None:
        super().stop()
        self._gen.close()

    def progress(self) -> Progress:
        return Progress(self.done, self.total, self._unit_name)


def gradcheck_job(net, x, target, layer: int, loss: str, name: str = "gradient check") -> GeneratorJob:
    """Finite differences for every weight of one layer; one unit is one column of W.
    ``result`` is an engine.nn.gradcheck.WeightCheck."""
    return GeneratorJob(iter_weight_errors(net, x, target, layer, loss), net.layers[layer].W.shape[1], name, "unit")


def ocr_job(pipeline, name: str = "OCR") -> GeneratorJob:
    """Every stale stage of an OcrPipeline, one stage per unit; ``result`` is its OcrResult."""
    def stages():
        n = len(pipeline.stages)
        for k, stage in enumerate(pipeline.stages):
            pipeline.output(stage.name)
            yield k + 1, n
        return pipeline.run()
    return GeneratorJob(stages(), len(pipeline.stages), name, "stage")


class Scheduler:
    """Time-slices the jobs that want the CPU, one unit at a time, in one thread.

    ``run_pass`` gives each runnable job a slice: ``slice_s`` when several share the CPU (a fair share; a job's
    own ``shared_slice_s`` if it sets one), the job's own ``alone_slice_s`` when it is alone (None: until
    ``interrupted()`` says a command waits).
    It returns how many seconds until a paced job is due (None: no job wants the CPU), so the caller can
    sleep instead of spinning."""

    def __init__(self, slice_s: float = 0.05):
        self.slice_s = slice_s
        self.jobs: list[Job] = []
        self.on_unit: Callable[[Job], None] | None = None  # called after every unit (the GUI coalesces)
        self.on_failed: Callable[[Job], None] | None = None

    def add(self, job: Job) -> Job:
        if job not in self.jobs:
            self.jobs.append(job)
        return job

    def remove(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)

    def runnable(self) -> list[Job]:
        return [j for j in self.jobs if j.wants_cpu]

    def run_pass(self, interrupted: Callable[[], bool] = lambda: False) -> float | None:
        jobs = self.runnable()
        shared = len(jobs) > 1
        for job in jobs:
            if interrupted():
                return 0.0
            slice_s = (job.shared_slice_s or self.slice_s) if shared else job.alone_slice_s
            deadline = None if slice_s is None else time.perf_counter() + slice_s
            while job.wants_cpu:
                now = time.perf_counter()
                if job.due_in(now) > 0:
                    break
                job.step()
                job._ran_unit(now)
                if self.on_unit is not None:
                    self.on_unit(job)
                if job.state == JobState.FAILED and self.on_failed is not None:
                    self.on_failed(job)
                if interrupted() or (deadline is not None and time.perf_counter() > deadline):
                    break
        waiting = self.runnable()
        if not waiting:
            return None
        now = time.perf_counter()
        return min(j.due_in(now) for j in waiting)

    def run_until_idle(self, timeout_s: float = 60.0) -> None:
        """Run passes (sleeping while paced jobs wait) until no job wants the CPU: for tests and the CLI."""
        end = time.perf_counter() + timeout_s
        while time.perf_counter() < end:
            wait = self.run_pass()
            if wait is None:
                return
            if wait > 0:
                time.sleep(min(wait, end - time.perf_counter()))
