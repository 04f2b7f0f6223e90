"""Frames from the socket are untrusted: any bytes decode to a frame or a WireError, nothing else."""
from __future__ import annotations

import json
import struct

import numpy as np
from backprop_studio import wire
from hypothesis import given
from hypothesis import strategies as st

arrays = st.dictionaries(
    st.text(max_size=8),
    st.tuples(st.sampled_from(["<f4", "<f8", "<i8", "|u1", "|b1"]),
              st.lists(st.integers(0, 5), max_size=3)).map(lambda t: np.zeros(t[1], t[0])),
    max_size=3)
headers = st.dictionaries(st.text(max_size=8), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3), max_leaves=10),
    max_size=4).filter(lambda h: "arrays" not in h)


@given(headers, arrays)
def test_a_frame_decodes_to_what_was_encoded(header, arrs):
    got, back = wire.decode(wire.encode(header, arrs))
    assert got == header
    assert back.keys() == arrs.keys()
    for k, a in arrs.items():
        assert back[k].dtype == a.dtype and back[k].shape == a.shape


@given(st.binary(max_size=200))
def test_random_bytes_are_a_wire_error(data):
    try:
        wire.decode(data)
    except wire.WireError:
        pass
    else:
        assert data.startswith(wire.MAGIC)


@given(headers, arrays, st.integers(0, 400), st.binary(min_size=1, max_size=4))
def test_a_damaged_frame_is_a_wire_error_or_a_frame(header, arrs, at, junk):
    frame = bytearray(wire.encode(header, arrs))
    at %= len(frame)
    frame[at:at + len(junk)] = junk
    try:
        h, a = wire.decode(bytes(frame))
    except wire.WireError:
        return
    assert isinstance(h, dict) and all(isinstance(v, np.ndarray) for v in a.values())


@given(st.lists(st.integers(-2, 2**62), min_size=1, max_size=6), st.sampled_from(["<f8", "|O", "<U4", "object", "V8"]))
def test_hostile_array_descriptions_are_refused(shape, dtype):
    body = json.dumps({"arrays": [{"key": "W", "dtype": dtype, "shape": shape}]}).encode()
    frame = wire.MAGIC + struct.pack("<I", len(body)) + body + b"\0" * 16
    try:
        _, a = wire.decode(frame)
    except wire.WireError:
        return
    assert a["W"].nbytes == 16  # only a description that matches the bytes received is read


def test_a_header_nested_past_the_limit_is_refused():
    deep = {}
    for _ in range(wire.MAX_DEPTH + 5):
        deep = {"x": deep}
    body = json.dumps(deep).encode()
    try:
        wire.decode(wire.MAGIC + struct.pack("<I", len(body)) + body)
    except wire.WireError as exc:
        assert "flat" in str(exc)
    else:
        raise AssertionError("a header nested past MAX_DEPTH was accepted")


def _session_fed(header: dict, arrays: dict):
    from multiprocessing import Pipe

    from engine.remote.session import RemoteSession
    ours, theirs = Pipe()
    s = RemoteSession(ours, {"script": "x.py", "layers": []})
    theirs.send_bytes(wire.encode(header, arrays))
    s.pump(1.0)
    return s


tables = st.integers(0, 6).flatmap(lambda k: st.tuples(
    st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=8, max_size=8),
             min_size=k, max_size=k),
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=k, max_size=k)))


@given(tables, st.lists(st.tuples(st.integers(-2, 8), st.dictionaries(st.sampled_from(["rows", "n", "w"]),
                                                                      st.integers(0, 40), max_size=2)), max_size=3),
       st.booleans())
def test_a_batches_frame_is_its_rows_or_nothing(table, extras, broken):
    """Whatever numbers a "batches" table holds, the window takes each row as one batch (its step, epoch, loss
    and accuracy where it has them) or, if the table does not add up, no batch at all: never a crash."""
    rows, has = table
    t = np.array(rows, np.float64).reshape(-1, 8)
    h = np.array(has, bool).reshape(-1, 2)
    if broken:
        h = h[1:] if len(h) else np.zeros((1, 2), bool)
    header = {"type": "batches", "columns": ["s", "e", "b", "t", "loss", "acc", "chunk", "row"],
              "extras": [list(e) for e in extras], "figures": {}}
    s = _session_fed(header, {"table": t, "has": h})
    sane = not broken and (np.abs(t[:, [0, 1, 2, 6, 7]]) < 2.0 ** 53).all()
    assert len(s.history.batch_loss) == (len(t) if sane else 0)
    if sane and len(t):
        assert s.step == int(t[-1, 0])
        loss = [v if ok else float("nan") for v, (ok, _) in zip(t[:, 4], h)]
        np.testing.assert_array_equal(np.asarray(s.history.batch_loss, float), np.asarray(loss, float))
