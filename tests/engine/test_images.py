"""engine.images: the one decoder every image goes through (OCR pages, dataset folders, explain inputs)."""
import numpy as np
import pytest
from PIL import Image

from engine.data.loaders import DataError, load_image_folder
from engine.images import ImageError, decode
from engine.ocr.inputs import character_input
from engine.ocr.pipeline import OcrPipeline

ORIENTATION = 0x0112  # the EXIF tag


def upright_L(size=96) -> np.ndarray:
    """An 'L' of dark ink on white: a stem on the left, a foot at the bottom (no turn maps it to itself)."""
    a = np.full((size, size), 255, np.uint8)
    a[size // 8:size - size // 8, size // 4:size // 4 + size // 8] = 0
    a[size - size // 4:size - size // 8, size // 4:size - size // 4] = 0
    return a


def save_turned(path, upright: np.ndarray, tag: int = 6) -> None:
    """What a phone writes: the pixels as the sensor saw them, plus the tag that says how to turn them.
    Tag 6 means 'turn 90 degrees clockwise to view'; the stored pixels are the upright ones turned back."""
    stored = np.rot90(upright, 1)  # counter-clockwise: clockwise of it is upright
    exif = Image.Exif()
    exif[ORIENTATION] = tag
    Image.fromarray(stored).save(path, exif=exif, quality=95)


def ink_centre(a: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(np.asarray(a) < 0.5 * np.asarray(a).max())
    return rows.mean() / a.shape[0], cols.mean() / a.shape[1]


def test_a_tagged_photo_loads_upright_everywhere(tmp_path):
    truth = upright_L()
    r0, c0 = ink_centre(truth)  # ink low and to the left
    (tmp_path / "A").mkdir()
    save_turned(tmp_path / "A" / "photo.jpg", truth)
    save_turned(tmp_path / "B.jpg", truth)  # a second class for the folder loader
    (tmp_path / "B").mkdir()
    Image.fromarray(truth).save(tmp_path / "B" / "plain.png")
    # the decoder itself
    pixels, shape = decode(tmp_path / "A" / "photo.jpg", 2048)
    assert shape == truth.shape and np.allclose(ink_centre(pixels), (r0, c0), atol=0.03)
    # an OCR page
    pipe = OcrPipeline()
    pipe.open(tmp_path / "A" / "photo.jpg")
    assert np.allclose(ink_centre(pipe.data("grayscale")), (r0, c0), atol=0.03)
    # an image-folder dataset: the tagged photo's row is the same picture as the untagged upright PNG
    data = load_image_folder(tmp_path)
    rows = np.concatenate([data.train.x, data.valid.x, data.test.x])
    labels = np.concatenate([data.train.y, data.valid.y, data.test.y])
    tagged, plain = rows[labels == 0][0], rows[labels == 1][0]
    assert np.abs(tagged - plain).mean() < 0.05, "the tagged photo loaded turned"
    # an explain input (a character crop, normalized like an OCR crop)
    crop = character_input(tmp_path / "A" / "photo.jpg")
    assert np.allclose(ink_centre(1 - crop), ink_centre(1 - character_input(tmp_path / "B" / "plain.png")), atol=0.05)


def test_only_the_first_frame_of_an_animation_is_read(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    first = upright_L(48)
    others = [np.full_like(first, v) for v in (0, 128, 60)]
    frames = [Image.fromarray(f) for f in [first, *others]]
    frames[0].save(tmp_path / "A" / "anim.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(first).save(tmp_path / "B" / "still.png")
    pixels, _ = decode(tmp_path / "A" / "anim.gif", 2048)
    assert pixels.ndim in (2, 3) and pixels.shape[:2] == first.shape
    data = load_image_folder(tmp_path)
    rows = np.concatenate([data.train.x, data.valid.x, data.test.x])
    labels = np.concatenate([data.train.y, data.valid.y, data.test.y])
    assert np.abs(rows[labels == 0][0] - rows[labels == 1][0]).mean() < 0.02


def truncated_png(path, cut_rows: bool) -> None:
    """A PNG cut short: either the file itself (a partial download) or, subtler, complete chunks whose
    compressed pixel data holds only half the rows (Pillow fills the rest with black and says nothing)."""
    import struct
    import zlib

    a = upright_L(64)
    Image.fromarray(a).save(path)
    data = path.read_bytes()
    if not cut_rows:
        path.write_bytes(data[: len(data) // 2])
        return
    start, end = data.index(b"IDAT") + 4, data.index(b"IEND") - 8
    raw = zlib.decompress(data[start:end])
    short = zlib.compress(raw[: len(raw) // 2])

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    path.write_bytes(data[:33] + chunk(b"IDAT", short) + chunk(b"IEND", b""))


@pytest.mark.parametrize("cut_rows", [False, True])
def test_a_truncated_png_is_refused_not_read_as_black_rows(tmp_path, cut_rows):
    f = tmp_path / "A" / "cut.png"
    f.parent.mkdir()
    truncated_png(f, cut_rows)
    with pytest.raises(ImageError, match="cut.png") as info:
        decode(f, 2048)
    assert "\n" not in str(info.value)
    pipe = OcrPipeline()
    pipe.open(f)  # opening is lazy: the first stage reads the file
    with pytest.raises(ImageError):
        pipe.data("load")
    with pytest.raises(DataError, match="cut.png"):
        load_image_folder(tmp_path)


def test_every_png_colour_type_and_interlace_still_reads(tmp_path):
    rng = np.random.default_rng(0)
    base = Image.fromarray((rng.random((37, 53)) * 255).astype(np.uint8))
    images = {"L": base, "RGB": base.convert("RGB"), "RGBA": base.convert("RGBA"), "1": base.convert("1"),
              "P": base.convert("P"), "LA": base.convert("LA"),
              "I16": Image.fromarray(np.asarray(base).astype(np.uint16) * 200)}
    for name, im in images.items():
        for interlace in (0, 1):
            f = tmp_path / f"{name}{interlace}.png"
            im.save(f, interlace=interlace)
            assert decode(f, 2048)[0].shape[:2] == (37, 53), (name, interlace)
