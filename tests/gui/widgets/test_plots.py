"""gui.widgets.plots: the shared plot helpers."""
from __future__ import annotations


def test_log_axis_labels_never_pile_up():
    import math

    from gui.widgets.plots import LogAxis
    axis = LogAxis("left")
    axis.setLogMode(False, True)
    for lo, hi, px in ((-0.3, -0.05, 120), (-1.3, -0.1, 120), (-8, 0, 150), (-8, 0, 60), (-30, 2, 200)):
        levels = axis.tickValues(lo, hi, px)
        values = [v for _, vs in levels for v in vs]
        assert values and len(values) <= max(2, px // LogAxis.PX_PER_LABEL)
        labels = axis.tickStrings(values, 1, 1)
        assert len(set(labels)) == len(labels)
        assert all(lo - 1e-9 <= v <= hi + 1e-9 for v in values)
        assert all(math.isfinite(float(t.replace("e", "e"))) for t in labels)
    # the gradient plot's usual view, about one decade on a short axis, gets more than its one decade label
    values = [v for _, vs in axis.tickValues(math.log10(0.05), math.log10(0.6), 95) for v in vs]
    assert len(values) >= 2
