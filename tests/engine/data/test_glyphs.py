"""The embedded glyph set: determinism, NIST layout and polarity, orientation, balance, cache."""
import numpy as np
import pytest

from engine.data import glyphs
from engine.data.dataset import NIST36_CLASSES, to_image


@pytest.fixture(scope="module")
def sample():
    return glyphs.generate(360, seed=1)


def test_deterministic_per_seed(sample):
    x, y = glyphs.generate(360, seed=1)
    assert np.array_equal(x, sample[0]) and np.array_equal(y, sample[1])
    x2, _ = glyphs.generate(360, seed=2)
    assert not np.array_equal(x, x2)


def test_shapes_range_polarity_balance(sample):
    x, y = sample
    assert x.shape == (360, 1024) and x.dtype == np.float32
    assert y.shape == (360,) and y.dtype == np.int64
    assert np.array_equal(np.bincount(y, minlength=36), np.full(36, 10))
    assert -0.3 < x.min() and x.max() < 1.3 and np.isfinite(x).all()
    imgs = x.reshape(-1, 32, 32)
    border = np.concatenate([imgs[:, 0], imgs[:, -1], imgs[:, :, 0], imgs[:, :, -1]], 1)
    assert border.mean() > 0.9  # white background reaches the edges
    assert x.mean() > 0.6 and (x.min(1) < 0.2).all()  # light background, every glyph has dark strokes
    ink = (x < 0.5).mean(1)
    assert (ink > 0.03).all() and (ink < 0.5).all()


def test_orientation_of_L():
    """An upright 'L' has ink bottom-left and none top-right; a transposed (row-major) layout swaps them."""
    x, y = glyphs.generate(36 * 20, seed=3, fonts=("futural",), weights=(1.0,))
    ratios = []
    for row in x[y == NIST36_CLASSES.index("L")]:
        ink = 1 - np.clip(to_image(row), 0, 1)
        ratios.append(ink[16:, :16].sum() / max(ink[:16, 16:].sum(), 1e-3))
    assert np.quantile(ratios, 0.1) > 1 and np.median(ratios) > 5  # a rare broken or bent L may lean the other way


def test_render_char_upright_I_is_tall():
    upright = glyphs.Style(rotation_deg=0, slant_mean=0, slant_sd=0)
    img = glyphs.render_char("I", "futural", seed=0, style=upright)
    ink = img < 0.5
    rows, cols = np.nonzero(ink)
    assert np.ptp(rows) > 2 * np.ptp(cols)


def test_every_font_has_every_class():
    table = glyphs.stroke_table()
    n_var = max(len(v) for v in glyphs.HAND.values())
    assert table.points.shape[0] == n_var * len(glyphs.FONTS) * 36 and table.valid.sum(1).min() > 10
    assert all(glyphs.has_glyph("futural", c) for c in NIST36_CLASSES)


def test_hand_variants_are_all_drawn_and_distinct():
    """A class with several hand forms (G with a spur or a tail, ...) gets each of them, sharing the hand weight."""
    g = NIST36_CLASSES.index("G")
    y = np.full(6000, g)
    slots = glyphs.sample_fonts(y, np.random.default_rng(0))
    fonts, variants = slots % len(glyphs.FONTS), slots // len(glyphs.FONTS)
    hand = glyphs.FONTS.index("hand")
    share = np.bincount(variants[fonts == hand], minlength=2) / len(y)
    total = sum(w for f, w in zip(glyphs.FONTS, glyphs.FONT_WEIGHTS) if glyphs.has_glyph(f, "G"))
    assert len(share) == glyphs.n_variants("hand", "G") == 2
    assert np.allclose(share, glyphs.FONT_WEIGHTS[hand] / total / 2, atol=0.02)
    assert (variants[fonts != hand] == 0).all()  # fonts with one form only ever use it
    upright = glyphs.Style(rotation_deg=0, slant_mean=0, slant_sd=0, aspect_sd=0, wobble=0, jitter=0, warp=0)
    a, b = (glyphs.render_char("G", "hand", style=upright, variant=v) for v in (0, 1))
    assert np.abs(a - b).mean() > 0.02
    # a variant a class lacks repeats its first form
    assert np.array_equal(glyphs.render_char("B", "hand", variant=1), glyphs.render_char("B", "hand", variant=0))


def test_every_hand_variant_is_inside_the_box():
    for ch, forms in glyphs.HAND.items():
        for adv, polys in forms:
            pts = np.concatenate([np.asarray(p, float) for p in polys])
            assert pts[:, 0].min() >= -0.5 and pts[:, 0].max() <= adv + 0.5, ch
            assert pts[:, 1].min() >= -13 and pts[:, 1].max() <= 14, ch


def test_cache_round_trip_and_corrupt_file(tmp_path, monkeypatch):
    ds = glyphs.load_glyphs(200, seed=4, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and f"v{glyphs.GENERATOR_VERSION}" in files[0].name
    assert ds.name == "glyphs" and ds.classes == NIST36_CLASSES
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (160, 20, 20)
    again = glyphs.load_glyphs(200, seed=4, cache_dir=tmp_path)
    assert np.array_equal(again.train.x, ds.train.x) and np.array_equal(again.test.y, ds.test.y)
    files[0].write_bytes(b"not a zip file")
    fixed = glyphs.load_glyphs(200, seed=4, cache_dir=tmp_path)
    assert np.array_equal(fixed.train.x, ds.train.x)
    monkeypatch.setenv("BACKPROP_STUDIO_CACHE", str(tmp_path / "env"))
    glyphs.load_glyphs(36, seed=0)
    assert len(list((tmp_path / "env").glob("*.npz"))) == 1


def test_real_hand_variation_is_off_by_default():
    """Style() neither drops points nor draws from the stream, so pages and render_char keep their look."""
    table = glyphs.stroke_table()
    gid = np.arange(0, 36 * 3, 3)
    rng = np.random.default_rng(0)
    assert glyphs.keep_mask(table, gid, rng, glyphs.Style()).all()
    assert rng.random() == np.random.default_rng(0).random()


def test_breaks_and_trimmed_ends_drop_centre_line_points():
    table = glyphs.stroke_table()
    gid = np.arange(len(table.points))
    valid = table.valid[gid]
    broken = glyphs.keep_mask(table, gid, np.random.default_rng(1), glyphs.Style(gaps=1.0)) & valid
    lost = 1 - broken.sum(1) / valid.sum(1)
    assert (lost > 0).all() and (lost < 0.5).all()  # every glyph broken, none erased
    trimmed = glyphs.keep_mask(table, gid, np.random.default_rng(1), glyphs.Style(trim=0.2)) & valid
    kept = trimmed.sum(1) / valid.sum(1)
    assert kept.min() >= 0.35 and np.median(kept) < 0.95
    # an O (one closed stroke) trimmed hard is drawn open: its ends are far apart
    o = table.glyph_id(0, NIST36_CLASSES.index("O"))
    keep = glyphs.keep_mask(table, np.array([o]), np.random.default_rng(2), glyphs.Style(trim=0.3))[0] & table.valid[o]
    ends = table.points[o][keep][[0, -1]]
    assert np.linalg.norm(ends[0] - ends[1]) > 0.1


def test_pen_width_range_sets_stroke_thickness():
    table = glyphs.stroke_table()
    gid = table.glyph_id(np.zeros(36, int), np.arange(36))
    thin = glyphs.render_batch(table, gid, np.random.default_rng(0), glyphs.Style(pen=(0.8, 0.8)))
    thick = glyphs.render_batch(table, gid, np.random.default_rng(0), glyphs.Style(pen=(2.8, 2.8)))
    assert (thick < 0.5).mean() > 2 * (thin < 0.5).mean()


def test_digits_have_several_hand_forms():
    """Digits are mistaken for their letter twins (0/O, 2/Z, 5/S, 6/G, 8/X, 9/5): give them forms as varied."""
    for d in "02589":
        assert glyphs.n_variants("hand", d) >= 1
    assert glyphs.n_variants("hand", "8") >= 2 and glyphs.n_variants("hand", "0") >= 2
    upright = glyphs.Style(rotation_deg=0, slant_mean=0, slant_sd=0, aspect_sd=0, wobble=0, jitter=0, warp=0)
    a, b = (glyphs.render_char("8", "hand", style=upright, variant=v) for v in (0, 1))
    assert np.abs(a - b).mean() > 0.02
