"""Property: any file given as --model is a usable classifier (finite probabilities) or one clean
InputError: generated metadata (any JSON), generated weights (shapes, dtypes, NaN/inf) and random bytes."""
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from engine.nn.network import Network
from engine.ocr.model import load_classifier
from engine.training.checkpoint import FORMAT

JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 2 ** 40) | st.floats() | st.text(max_size=4),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                    max_leaves=12)
FIELDS = ("format", "sizes", "activations", "classes", "config")


@st.composite
def model_file(draw):
    hidden = draw(st.integers(1, 6))
    n_out = draw(st.sampled_from([1, 2, 36]))
    net = Network.mlp(1024, (hidden,), n_out, draw(st.sampled_from(["relu", "sigmoid", "tanh"])))
    meta = {"format": FORMAT, "sizes": net.sizes, "activations": net.activations,
            "classes": [chr(65 + i % 26) for i in range(n_out)]}
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True)):  # break a field or two
        meta[key] = draw(JSON)
    arrays = {f"param/{k}": v for k, v in net.params().items()}
    for key in draw(st.lists(st.sampled_from(sorted(arrays)), max_size=2, unique=True)):
        kind = draw(st.sampled_from(["nan", "inf", "shape", "dtype", "drop", "huge"]))
        a = arrays[key].copy()
        if kind in ("nan", "inf", "huge") and a.size:
            a.flat[draw(st.integers(0, a.size - 1))] = {"nan": np.nan, "inf": np.inf, "huge": 3e38}[kind]
        elif kind == "shape":
            a = np.zeros(draw(st.lists(st.integers(0, 5), max_size=3).map(tuple)), np.float32)
        elif kind == "dtype":
            a = a.astype(draw(st.sampled_from([np.float16, np.float64, np.int8, np.bool_, np.complex64, "U1"])))
        elif kind == "drop":
            del arrays[key]
            continue
        arrays[key] = a
    whole = draw(st.sampled_from(["dict", "list", "text", "number", "broken"]))
    meta_text = {"dict": json.dumps(meta), "list": json.dumps([meta]), "text": json.dumps("model"),
                 "number": "3", "broken": json.dumps(meta)[:-3]}[whole]
    return arrays, meta_text


def _check(path: Path) -> None:
    try:
        clf = load_classifier(path)
    except InputError as exc:
        one_line(exc)
        return
    assert len(clf.classes) == clf.net.sizes[-1] and clf.net.sizes[0] == 1024
    try:  # weights that pass the load-time probe may still overflow on other inputs: a clean error then
        probs = clf.probs(np.random.default_rng(0).random((5, 1024), np.float32))
    except InputError as exc:
        one_line(exc)
        return
    assert probs.shape == (5, len(clf.classes)) and np.isfinite(probs).all()


@given(model_file())
def test_model_files_load_or_are_refused_cleanly(model):
    arrays, meta_text = model
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.npz"
        np.savez(path, meta=np.array(meta_text), **arrays)
        _check(path)


@given(st.binary(max_size=3000))
def test_random_bytes_are_not_a_model(blob):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.npz"
        path.write_bytes(blob)
        with pytest.raises(InputError) as info:
            load_classifier(path)
        one_line(info.value)
