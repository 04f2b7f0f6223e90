"""`main.py explain`: the JSON "input" is exactly what the model receives, .npy inputs re-score as they are,
bad input is one `error:` line with exit code 2."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import ROOT
from PIL import Image

import main
from engine.data.dataset import NIST36_CLASSES, SIDE
from engine.nn.network import Network
from engine.ocr.model import DEFAULT_MODEL, load_classifier
from engine.training.checkpoint import save_network

needs_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="resources/ocr_model.npz not trained yet")


@pytest.fixture(scope="module")
def crop(tmp_path_factory):
    """The first character box of a sample page, cut out with a margin, as a PNG."""
    from engine.ocr import OcrPipeline

    pipe = OcrPipeline()
    pipe.open(ROOT / "resources" / "pages" / "page2.png")
    img = pipe.data("page")[0]
    r0, c0, r1, c1 = pipe.data("characters").boxes[0]
    path = tmp_path_factory.mktemp("crop") / "char.png"
    Image.fromarray((img[r0 - 6:r1 + 6, c0 - 6:c1 + 6] * 255).round().astype(np.uint8)).save(path)
    return path


def run(capsys, *args):
    code = main.main(["explain", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def json_lines(text):
    return [json.loads(line) for line in text.strip().splitlines()]


@needs_model
def test_json_input_is_the_vector_the_model_receives(capsys, crop, tmp_path):
    code, out, _ = run(capsys, crop, "--json")
    assert code == 0
    [obj] = json_lines(out)
    x = np.array(obj["input"], np.float32)
    assert x.shape == (SIDE, SIDE) and np.array(obj["saliency"]).shape == (SIDE, SIDE)
    probs = load_classifier().probs(x.reshape(1, -1))[0]  # row-by-row flattening, straight into the model
    assert list(obj["probs"]) == list(NIST36_CLASSES)
    np.testing.assert_allclose([obj["probs"][c] for c in NIST36_CLASSES], probs, atol=2e-6)
    top = [c for c, _ in obj["top5"]]
    assert top == [NIST36_CLASSES[i] for i in np.argsort(-probs, kind="stable")[:5]] and obj["target"] == top[0]
    assert x.min() < 0.2 and x.max() > 0.9  # ink on paper, in the training layout
    # re-score: the printed input as a .npy gives the same answer, and a changed input a changed one
    np.save(tmp_path / "same.npy", np.stack([x, np.ones_like(x)]))
    code, out, _ = run(capsys, tmp_path / "same.npy", "--json")
    same, blank = json_lines(out)
    assert code == 0 and same["top5"] == obj["top5"] and same["normalized"] is False and obj["normalized"] is True
    assert blank["input"] == np.ones((SIDE, SIDE)).tolist() and np.abs(np.array(blank["saliency"])).max() == 0


@needs_model
def test_text_output_and_why_not(capsys, crop):
    code, out, _ = run(capsys, crop)
    assert code == 0 and out.startswith("top-5: ") and len(out.splitlines()) == 2 + SIDE
    code, out, _ = run(capsys, crop, "--json", "--target", "I")
    [obj] = json_lines(out)
    assert obj["why"]["class"] == "I" and obj["why"]["probability"] == obj["probs"]["I"]
    assert np.array(obj["why"]["saliency"]).shape == (SIDE, SIDE)


def test_npy_stack_in_order_with_another_model(capsys, tmp_path):
    net = Network.mlp(SIDE * SIDE, (8,), 36, "relu", seed=1)
    save_network(tmp_path / "m.npz", net, NIST36_CLASSES)
    stack = np.random.default_rng(0).uniform(0, 1, (4, SIDE, SIDE)).astype(np.float32)
    np.save(tmp_path / "s.npy", stack)
    code, out, _ = run(capsys, tmp_path / "s.npy", "--model", tmp_path / "m.npz", "--json")
    objs = json_lines(out)
    assert code == 0 and len(objs) == 4
    probs = net.predict(stack.reshape(4, -1))
    for obj, x, p in zip(objs, stack, probs):
        np.testing.assert_allclose(obj["input"], x, atol=1e-6)
        assert obj["top5"][0][0] == NIST36_CLASSES[int(p.argmax())]


@pytest.mark.parametrize("setup, message", [
    (lambda d: d / "missing.png", "no such file"),
    (lambda d: (d / "t.png").write_bytes(b"text") and d / "t.png", "not a readable image"),
    (lambda d: np.save(d / "w.npy", np.zeros((5, 5))) or d / "w.npy", "expected numbers of shape"),
    (lambda d: Image.fromarray(np.full((30, 30), 255, np.uint8)).save(d / "b.png") or d / "b.png", "no ink"),
])
def test_bad_inputs(capsys, tmp_path, setup, message):
    code, out, err = run(capsys, setup(tmp_path), "--model", DEFAULT_MODEL)
    assert code == 2 and out == "" and err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_bad_model_and_target(capsys, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((SIDE, SIDE)))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    code, _, err = run(capsys, tmp_path / "x.npy", "--model", tmp_path / "junk.npz")
    assert code == 2 and err.startswith("error: ") and "junk.npz" in err
    save_network(tmp_path / "m.npz", Network.mlp(SIDE * SIDE, (4,), 36, "relu"), NIST36_CLASSES)
    code, _, err = run(capsys, tmp_path / "x.npy", "--model", tmp_path / "m.npz", "--target", "?")
    assert code == 2 and "--target" in err


def test_train_applies_an_edit_list(capsys, tmp_path):
    from engine.data.edits import EditList
    from engine.data.registry import load_dataset

    x = np.random.default_rng(0).uniform(0, 1, (60, SIDE * SIDE)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(60) % 36, classes=np.array(NIST36_CLASSES))
    data = load_dataset(str(tmp_path / "d.npz"))
    edits = EditList()
    edits.drop(data, "train", 0)
    edits.drop(data, "train", 1)
    edits.save(tmp_path / "e.json")
    assert main.main(["train", "--data", str(tmp_path / "d.npz"), "--edits", str(tmp_path / "e.json"),
                      "--epochs", "1"]) == 0
    assert f"{len(data.train) - 2} train" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("[]")
    assert main.main(["train", "--data", str(tmp_path / "d.npz"), "--edits", str(tmp_path / "bad.json")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
