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
