"""The job protocol (engine/training/jobs.py): start / pause / resume / step / stop for every job type, typed pause
reasons, budgets, pace, failure, and the scheduler's time slicing."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import prototype_dataset

from engine.data.dataset import NIST36_CLASSES
from engine.data.pages import render_page
from engine.debug.watch import parse
from engine.nn.gradcheck import default_problem, weight_errors
from engine.nn.network import Network
from engine.ocr import OcrPipeline
from engine.ocr.model import Classifier
from engine.training.autoencoder import AutoencoderConfig, make_session
from engine.training.experiments import Experiment
from engine.training.jobs import (
    ExperimentJob,
    GeneratorJob,
    JobState,
    PauseReason,
    Scheduler,
    SessionJob,
    gradcheck_job,
    ocr_job,
)
from engine.training.session import State, StateEvent, TrainConfig, TrainingSession


@pytest.fixture(scope="module")
def data():
    return prototype_dataset()


def session_job(data, **config):
    return SessionJob(TrainingSession(data, TrainConfig(**{"epochs": 3, **config})))


def ae_job(data):
    return SessionJob(make_session(data, AutoencoderConfig(epochs=1, min_train=0, batch_size=64)), "autoencoder")


def experiment_job(data):
    exp = Experiment({"a": TrainingSession(data, TrainConfig(epochs=2)),
                      "b": TrainingSession(data, TrainConfig(epochs=2, lr=0.01))})
    return ExperimentJob(exp)


def grad_job():
    net, x, y = default_problem((64, 12, 5), n=4)
    return gradcheck_job(net, x, y, 0, "cross_entropy")


def ocr_pipeline_job():
    pipe = OcrPipeline(Classifier(Network.mlp(1024, (8,), 36, "relu", seed=0), NIST36_CLASSES))
    pipe.open(render_page(["AB 12"], seed=1, size=(200, 300), char_height=50)[0])
    return ocr_job(pipe)


MAKERS = {"session": session_job, "autoencoder": ae_job, "experiment": experiment_job,
          "gradcheck": lambda data: grad_job(), "ocr": lambda data: ocr_pipeline_job()}


@pytest.mark.parametrize("kind", MAKERS)
def test_pause_resume_step_for_every_job_type(kind, data):
    job = MAKERS[kind](data)
    sched = Scheduler()
    sched.add(job)
    assert job.state == JobState.IDLE and not job.wants_cpu
    assert sched.run_pass() is None and job.progress().done == 0  # idle: nothing runs

    assert job.step() and job.progress().done == 1  # one unit, not started
    assert job.state == JobState.IDLE

    job.start(budget=2)
    sched.run_pass()
    assert job.state == JobState.PAUSED and job.reason == PauseReason.BUDGET
    assert job.progress().done == 3

    job.start()
    job.pause()  # a pause sent before the scheduler ran anything is kept
    sched.run_pass()
    assert job.state == JobState.PAUSED and job.reason == PauseReason.USER and job.progress().done == 3

    job.step()
    assert job.state == JobState.PAUSED and job.progress().done == 4  # stepping keeps it paused

    job.resume()
    sched.run_until_idle()
    assert job.state == JobState.FINISHED and not job.wants_cpu
    p = job.progress()
    assert p.done == p.total > 4
    assert not job.step()  # nothing after the end


def test_stop_ends_every_job_type(data):
    for make in MAKERS.values():
        job = make(data)
        job.start()
        job.step()
        job.stop()
        assert job.state == JobState.STOPPED and not job.wants_cpu and not job.step()
        job.start()
        assert job.state == JobState.STOPPED


def test_session_job_keeps_the_session_state_in_step(data):
    job = session_job(data)
    states = []
    job.session.subscribe(lambda e: isinstance(e, StateEvent) and states.append((e.state, e.reason)))
    job.start()
    job.step()
    job.pause()
    assert job.session.state == State.PAUSED
    assert states == [(State.RUNNING, None), (State.PAUSED, PauseReason.USER)]
    job.step()  # a single step announces nothing
    assert len(states) == 2 and job.session.state == State.PAUSED


def test_watchpoint_and_divergence_are_typed_reasons(data):
    job = session_job(data)
    job.step()
    job.session.checks.append(parse("loss < 1000", job.session))
    job.start()
    sched = Scheduler()
    sched.add(job)
    sched.run_until_idle()
    assert job.state == JobState.PAUSED and job.reason == PauseReason.WATCHPOINT and job.session.step == 2
    assert "loss" in job.message and job.session.pause_reason == PauseReason.WATCHPOINT

    bad = session_job(data, lr=1e6, activation="relu")
    bad.start()
    sched = Scheduler()
    sched.add(bad)
    sched.run_until_idle()
    assert bad.state == JobState.PAUSED and bad.reason == PauseReason.DIVERGENCE and bad.over
    assert bad.session.state == State.DIVERGED and "diverged" in bad.message
    bad.start()
    assert not bad.wants_cpu  # a diverged session cannot go on


def test_run_epoch_stops_at_the_epoch_boundary(data):
    job = session_job(data)
    job.step()
    job.run_epoch()
    sched = Scheduler()
    sched.add(job)
    sched.run_until_idle()
    assert job.session.epoch == 1 and job.session.batch == 0 and job.reason == PauseReason.BUDGET


def test_autoencoder_reports_psnr_not_accuracy(data):
    job = ae_job(data)
    job.step()
    p = job.progress()
    assert p.accuracy is None and p.psnr_db is not None and np.isfinite(p.psnr_db)
    p = session_job(data)
    p.step()
    assert p.progress().psnr_db is None and 0 <= p.progress().accuracy <= 1


def test_gradcheck_job_gives_the_same_result_as_the_function():
    net, x, y = default_problem((64, 12, 5), n=4)
    job = gradcheck_job(net, x, y, 0, "cross_entropy")
    job.start()
    sched = Scheduler()
    sched.add(job)
    sched.run_until_idle()
    direct = weight_errors(net, x, y, 0, "cross_entropy")
    assert job.result.passed and np.array_equal(job.result.errors, direct.errors)


def test_ocr_job_runs_every_stage_once():
    job = ocr_pipeline_job()
    job.start()
    sched = Scheduler()
    sched.add(job)
    sched.run_until_idle()
    n = len(OcrPipeline().stages)
    assert job.state == JobState.FINISHED and job.progress().done == job.progress().total == n
    assert job.result is not None and hasattr(job.result, "text")


def test_a_failing_job_keeps_its_traceback_and_the_others_go_on(data):
    def broken():
        yield 1, 3
        raise RuntimeError("a bug")

    bad = GeneratorJob(broken(), 3, "broken")
    good = session_job(data, epochs=1)
    failed = []
    sched = Scheduler()
    sched.on_failed = failed.append
    for j in (bad, good):
        sched.add(j)
        j.start()
    sched.run_until_idle()
    assert bad.state == JobState.FAILED and isinstance(bad.error, RuntimeError)
    assert "RuntimeError: a bug" in bad.trace and "broken" in bad.trace and failed == [bad]
    assert good.state == JobState.FINISHED


def test_scheduler_shares_the_cpu_and_honours_interrupts(data):
    a, b = session_job(data), session_job(data)
    sched = Scheduler(slice_s=0.0)  # one unit each per pass
    for j in (a, b):
        sched.add(j)
        j.start()
    sched.run_pass()
    assert a.session.step == 1 and b.session.step == 1
    calls = iter([False, True])
    sched.run_pass(interrupted=lambda: next(calls, True))
    assert a.session.step == 2 and b.session.step == 1  # a command is waiting: return at once


def test_a_job_may_take_a_longer_turn_when_sharing(data):
    """An interactive job (the OCR page after a slider moved) finishes in its turn instead of alternating
    with training every fair-share slice."""
    train = session_job(data)
    page = GeneratorJob(((k, 6) for k in range(1, 7)), 6, "page")
    page.shared_slice_s = 60.0
    sched = Scheduler(slice_s=0.0)  # a fair share is one unit
    for j in (train, page):
        sched.add(j)
        j.start()
    sched.run_pass()
    assert train.session.step == 1 and page.state == JobState.FINISHED and page.done == 6


def test_pace_limits_units_per_second_and_stepping_ignores_it(data):
    job = session_job(data)
    job.pace = 2.0
    sched = Scheduler()
    sched.add(job)
    job.start()
    wait = sched.run_pass()
    assert job.session.step == 1 and 0.4 < wait <= 0.5  # the next batch is due in half a second
    assert sched.run_pass() > 0 and job.session.step == 1
    job.step()
    job.step()
    assert job.session.step == 3
