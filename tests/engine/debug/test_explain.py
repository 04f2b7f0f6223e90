"""engine.debug.explain: gradients against finite differences, integrated-gradient completeness, occlusion,
faithfulness on real handwritten characters, the hidden-space PCA, top losses, inputs."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import ROOT

from engine.data.dataset import SIDE, from_image, to_image
from engine.debug import explain as E
from engine.errors import InputError
from engine.nn.network import Network
from engine.ocr.inputs import load_inputs
from engine.ocr.model import DEFAULT_MODEL, load_classifier, nist26_path

needs_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="resources/ocr_model.npz not trained yet")


@pytest.fixture(scope="module")
def small():
    net = Network.mlp(SIDE * SIDE, (16, 12), 5, "tanh", seed=3)
    x = np.random.default_rng(0).uniform(0, 1, SIDE * SIDE)
    return net, x


def test_class_gradient_matches_finite_differences(small):
    net, x = small
    work = E.private_copy(net)
    probs, grad = E.class_gradient(work, x, target=2)
    eps, rng = 1e-6, np.random.default_rng(1)
    for i in rng.choice(len(x), 20, replace=False):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        numeric = (work.forward(up[None])[0, 2] - work.forward(down[None])[0, 2]) / (2 * eps)
        assert grad[0, i] == pytest.approx(numeric, rel=1e-5, abs=1e-10)
    assert probs[0].sum() == pytest.approx(1.0)


def test_integrated_gradients_are_complete(small):
    """The attributions add up to the probability the input earned over a blank page."""
    net, x = small
    work = E.private_copy(net)
    for target in range(5):
        ig = E.integrated_gradients(work, x, target, steps=256)
        gain = work.forward(x[None])[0, target] - work.forward(np.full((1, x.size), E.BLANK))[0, target]
        assert ig.sum() == pytest.approx(gain, abs=2e-4 + 1e-3 * abs(gain))


def test_blank_pixels_get_no_saliency_and_explaining_leaves_the_network_alone(small):
    net, x = small
    x = x.copy()
    x[:300] = E.BLANK
    before = {k: v.copy() for k, v in net.params().items()}
    layer = net.layers[0]
    layer.x, layer.a = "cache-x", "cache-a"  # a training step's caches must survive an explanation
    layer.dW[...] = 7.0
    e = E.explain(net, tuple("ABCDE"), x, target="C")
    assert e.target == 2 and np.all(e.saliency[:300] == 0) and np.any(e.saliency[300:] != 0)
    assert (layer.x, layer.a) == ("cache-x", "cache-a") and np.all(layer.dW == 7.0)
    assert all(np.array_equal(before[k], v) for k, v in net.params().items())
    layer.x = layer.a = None
    with pytest.raises(InputError, match="no class 'Q'"):
        E.explain(net, tuple("ABCDE"), x, target="Q")


def test_occlusion_is_the_probability_drop_of_covering_a_patch():
    """A network that reads one input pixel: covering it with paper costs exactly its probability."""
    net = Network([SIDE * SIDE, 2], ["softmax"])
    W = np.zeros((SIDE * SIDE, 2), np.float32)
    img = np.ones((SIDE, SIDE), np.float32)
    img[10, 20] = 0.0  # one ink pixel (upright row 10, column 20)
    pixel = np.flatnonzero(from_image(img) == 0)[0]
    W[pixel, 0] = -4.0  # paper there (a high value) lowers class 0: ink is evidence for it
    net.set_params({"output.W": W, "output.b": np.zeros(2, np.float32)})
    row = from_image(img)
    occ = to_image(E.occlusion(E.private_copy(net), row, 0, patch=4, stride=2))
    p_ink, p_covered = net.predict(np.stack([row, np.ones_like(row)]))[:, 0]
    assert p_ink - p_covered > 0.4 and occ[10, 20] == pytest.approx(p_ink - p_covered, rel=1e-5)
    assert occ[0, 0] == 0 and occ[25, 5] == 0  # patches that never touch the ink change nothing
    sal = to_image(E.explain(net, ("X", "Y"), row).saliency)
    assert np.unravel_index(np.abs(sal).argmax(), sal.shape) == (10, 20)


# ---- faithfulness on real handwriting ----------------------------------------------------------------------


def real_characters(limit_nist: int = 150) -> np.ndarray:
    """Rows of real handwritten characters as the OCR model sees them: every box the OCR reads on the
    sample pages (always in the repo), plus NIST letters from ../shared/data/nist26 when present."""
    from engine.ocr import OcrPipeline

    clf = load_classifier()
    rows = []
    for page in sorted((ROOT / "resources" / "pages").glob("*.png")):
        pipe = OcrPipeline(clf)
        pipe.open(page)
        rows += [from_image(b.input) for b in pipe.run().boxes]
    if nist26_path().is_file():
        from engine.data.loaders import load_mat
        from engine.ocr.normalize import normalize_rows

        rows += list(normalize_rows(load_mat(nist26_path(), 0).valid.x[:limit_nist]))
    return np.array(rows, np.float32)


def deletion_areas(net: Network, rows: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Mean area under the top-class probability as pixels are set to paper, most salient first vs random."""
    work, rng = E.private_copy(net), np.random.default_rng(seed)
    salient, random = [], []
    for x in rows:
        t = int(work.forward(x[None].astype(np.float64))[0].argmax())
        sal = E.integrated_gradients(work, x, t)
        salient.append(E.area_under(E.deletion_curve(work, x, t, np.argsort(-sal, kind="stable"))))
        random.append(np.mean([E.area_under(E.deletion_curve(work, x, t, rng.permutation(len(x))))
                               for _ in range(3)]))
    return float(np.mean(salient)), float(np.mean(random))


@needs_model
def test_saliency_is_faithful_on_real_handwriting():
    """Removing the most salient pixels first kills the top class much faster than removing random ones."""
    rows = real_characters()
    assert len(rows) >= 100
    salient, random = deletion_areas(load_classifier().net, rows)
    print(f"deletion AUC over {len(rows)} real characters: saliency-first {salient:.4f}, random {random:.4f}")
    assert salient < 0.3 * random


def test_a_scrambled_saliency_is_not_faithful(small):
    """The deletion test can fail: ordering pixels by the *least* salient first is no better than random."""
    net, _ = small
    img = np.ones((SIDE, SIDE))
    img[8:24, 14:18] = 0.0
    img[8:12, 8:24] = 0.0
    x = from_image(img)
    work = E.private_copy(net)
    t = int(work.forward(x[None])[0].argmax())
    sal = E.integrated_gradients(work, x, t)
    best = E.area_under(E.deletion_curve(work, x, t, np.argsort(-sal, kind="stable")))
    worst = E.area_under(E.deletion_curve(work, x, t, np.argsort(sal, kind="stable")))
    assert best < worst


# ---- activations, hidden space, top losses ----------------------------------------------------------------


def test_layer_outputs_are_every_layers_activations(small):
    net, x = small
    outs = E.layer_outputs(net, np.stack([x, 1 - x]))
    assert list(outs) == ["layer1", "layer2", "output"]
    assert [v.shape for v in outs.values()] == [(2, 16), (2, 12), (2, 5)]
    np.testing.assert_allclose(outs["output"], net.predict(np.stack([x, 1 - x]).astype(np.float32)), atol=1e-5)
    np.testing.assert_allclose(E.last_hidden(net, x[None]), outs["layer2"][:1])


def test_pca_finds_the_spread_and_keeps_its_orientation():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((500, 2)) * [5.0, 1.0] @ np.array([[0.6, 0.8, 0, 0], [-0.8, 0.6, 0, 0]])
    h += 0.01 * rng.standard_normal((500, 4)) + 3.0
    pts, axes, mean, explained = E.pca_2d(h)
    assert abs(axes[0] @ [0.6, 0.8, 0, 0]) == pytest.approx(1.0, abs=1e-3)
    assert explained[0] > 0.9 and explained.sum() == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(pts, (h - h.mean(0)) @ axes.T)
    flipped = E.pca_2d(h, previous=-axes)[1]
    np.testing.assert_allclose(flipped, -axes)


def test_hidden_map_and_top_losses_find_a_mislabelled_sample():
    from helpers import prototype_dataset

    from engine.training.session import TrainConfig, TrainingSession

    data = prototype_dataset(n_classes=6)
    bad = 7
    data.train.y[bad] = (data.train.y[bad] + 1) % 6  # a wrong label hidden in the training set
    session = TrainingSession(data, TrainConfig(hidden=(16,), lr=0.003, epochs=6, activation="tanh"))
    session.run()
    top = E.top_losses(session.net, data.train.x, data.train.y, k=5)
    assert top.index[0] == bad and top.loss[0] == top.loss.max() and top.pred[0] != data.train.y[bad]
    assert np.all(np.diff(top.loss) <= 0)
    m = E.hidden_map(session.net, data.valid.x, data.valid.y)
    assert m.points.shape == (len(data.valid), 2) and m.wrong.mean() < 0.2
    centres = np.array([m.points[m.y == c].mean(0) for c in range(6)])
    spread = np.mean([m.points[m.y == c].std(0).mean() for c in range(6)])
    assert np.linalg.norm(centres[:, None] - centres[None], axis=2).max() > 2 * spread  # classes separate


# ---- inputs ---------------------------------------------------------------------------------------------


def test_npy_inputs_go_in_as_they_are(tmp_path):
    stack = np.random.default_rng(0).uniform(0, 1, (3, SIDE, SIDE)).astype(np.float32)
    np.save(tmp_path / "one.npy", stack[0])
    np.save(tmp_path / "three.npy", stack)
    rows, as_is = load_inputs(tmp_path / "one.npy")
    assert as_is and np.array_equal(rows, stack[:1].reshape(1, -1))
    assert np.array_equal(load_inputs(tmp_path / "three.npy")[0], stack.reshape(3, -1))
    for bad, message in [(np.zeros((2, 16, 16)), "expected numbers of shape"), (np.zeros((0, 32, 32)), "no inputs"),
                         (np.full((32, 32), np.nan), "NaN")]:
        np.save(tmp_path / "bad.npy", bad)
        with pytest.raises(InputError, match=message):
            load_inputs(tmp_path / "bad.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="not a readable"):
        load_inputs(tmp_path / "junk.npy")


def test_a_character_image_is_normalized_like_an_ocr_crop(tmp_path):
    """A box cut out of a page (with margin) gives the input the OCR computed for that ink on the page."""
    from PIL import Image

    from engine.ocr import OcrPipeline
    from engine.ocr.normalize import normalize_mask

    pipe = OcrPipeline(model=None)
    pipe.open(ROOT / "resources" / "pages" / "page1.png")
    img, mask = pipe.data("page")[0], pipe.data("morphology")  # the page as found (a frame painted out)
    chars = pipe.data("characters")
    for r0, c0, r1, c1 in chars.boxes[:12]:
        m = int(0.15 * max(r1 - r0, c1 - c0))
        sl = (slice(max(r0 - m, 0), r1 + m), slice(max(c0 - m, 0), c1 + m))
        Image.fromarray((img[sl] * 255).round().astype(np.uint8)).save(tmp_path / "c.png")
        rows, as_is = load_inputs(tmp_path / "c.png")
        assert not as_is and rows.shape == (1, SIDE * SIDE)
        assert np.abs(to_image(rows[0]) - normalize_mask(mask[sl])).mean() < 0.03
    Image.fromarray(np.full((40, 30), 255, np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(InputError, match="no ink"):
        load_inputs(tmp_path / "blank.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(InputError, match="not a readable image"):
        load_inputs(tmp_path / "bad.png")


def test_a_npy_is_bounded_by_its_header(tmp_path):
    """A 100-byte .npy whose header promises 2**34 float32 images: refused from the header, never allocated."""
    f = tmp_path / "huge.npy"
    with open(f, "wb") as out:
        np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (2 ** 34, 32, 32)})
    with pytest.raises(InputError, match="too large"):
        load_inputs(f)
