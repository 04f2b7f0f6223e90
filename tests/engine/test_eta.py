"""Time left from progress so far: silent while a guess would be noise, then a straight line."""
from engine.eta import Eta, duration


def test_the_time_left_is_the_elapsed_time_scaled_by_what_is_left():
    now = [100.0]
    eta = Eta(clock=lambda: now[0])
    now[0] = 100.2
    assert eta.left(0.5) is None and eta.words(0.5) == "50 %"  # too early to say
    now[0] = 110.0
    assert eta.left(0.01) is None  # too little done to say
    assert eta.left(0.25) == 30.0 and eta.words(0.25) == "25 % \u00b7 about 0:30 left"
    assert duration(3723) == "1:02:03" and duration(None) == "" and duration(65.4) == "1:05"


def test_a_resumed_job_is_timed_from_where_it_resumed():
    now = [0.0]
    eta = Eta(start_fraction=0.5, clock=lambda: now[0])  # half done before a pause
    now[0] = 10.0
    assert eta.left(0.75) == 10.0  # 25 % in 10 s: the last 25 % takes 10 s more (not 3.3 s)
