"""Properties of the text the user types or a file holds: watch expressions, JSON, error lines and the
character comparison. Any text ends in a value or one clean InputError; the fast edit distance is the
textbook one."""
import json

from helpers import one_line
from hypothesis import given
from hypothesis import strategies as st

from engine import jsontext
from engine.debug.watch import parse
from engine.errors import InputError
from engine.errors import one_line as fold
from engine.ocr.evaluate import _edit_distance_small, edit_distance

WATCH_PARTS = st.sampled_from(["grad", "saturation", "loss", "valid_acc", "class_acc", "(", ")", "layer1", " ", ">",
                               "<=", "drop", "is", "nan", "%", "0.5", "1e-3", "\u00b2", "\u0663", "\uff11", "1_0",
                               "inf", "-", "+", ".", "e", "\u017f", "\n"])


@given(st.lists(WATCH_PARTS, max_size=8).map("".join) | st.text(max_size=30))
def test_any_watch_text_is_a_watchpoint_or_one_clean_error(text):
    try:
        w = parse(text)
    except InputError as exc:
        one_line(exc)
        return
    assert w.threshold == w.threshold or w.op == "is"  # a number, unless it tests for NaN/inf


@given(st.text(alphabet="[]{}\",:\\ a1", max_size=60))
def test_json_depth_is_the_nesting_json_would_meet(text):
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return

    def nesting(v):
        inner = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        return 0 if inner is None else 1 + max(map(nesting, inner), default=0)

    assert jsontext.depth(text) == nesting(value)


@given(st.text(max_size=40), st.integers(1, 6))
def test_any_json_text_is_a_value_or_one_clean_error(text, max_depth):
    try:
        jsontext.loads(text, "x.json", max_depth=max_depth)
    except InputError as exc:
        one_line(exc)


@given(st.text())
def test_a_folded_message_is_one_printable_line(text):
    out = fold(text)
    assert "\n" not in out and out.isprintable() and out == out.strip()


@given(st.text(alphabet="ab c\n\u00e9", max_size=30), st.text(alphabet="ab c\n\u00e9", max_size=30))
def test_the_bit_parallel_edit_distance_is_the_textbook_one(a, b):
    assert edit_distance(a, b) == _edit_distance_small(a, b) == edit_distance(b, a)
