"""gui.widgets.theme: one place for the window's colours, the same as the report's for the same things."""
from __future__ import annotations

import re

from helpers import ROOT

from engine.report.style import CSS
from engine.training.session import State
from gui.widgets import theme


def _report_colors() -> dict[str, str]:
    light = CSS[CSS.index(":root"):CSS.index("}")]  # the light theme's variables
    return {k: v.lower() for k, v in re.findall(r"--([a-z0-9]+): (#[0-9a-fA-F]{3,6});", light)}


def test_the_report_draws_train_valid_layers_and_runs_in_the_windows_colours():
    report = _report_colors()
    assert report["train"] == theme.TRAIN_COLOR.lower() and report["valid"] == theme.VALID_COLOR.lower()
    assert report["batch"] == theme.BATCH_COLOR.lower()
    assert [report[f"s{k}"] for k in range(8)] == [theme.layer_color(k).lower() for k in range(8)]
    assert [report[f"r{k}"] for k in range(8)] == [theme.run_color(k).lower() for k in range(8)]
    assert theme.TRAIN_COLOR != theme.VALID_COLOR


def test_no_module_of_the_window_but_the_theme_writes_a_colour():
    hex_color = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "gui").rglob("*.py")
                 if p.name != "theme.py" and hex_color.search(p.read_text())]
    assert offenders == []


def test_every_state_has_a_badge():
    for state in State:
        assert "font-weight: bold" in theme.state_badge(state)
