"""OCR timings side by side, on one synthetic 2000x1500 page (no files needed):

- page_ms: this pipeline, image array in -> text out (all stages, classification included);
- reference_page_ms: the reference exercise's segmentation on the same page (denoise_bilateral, Otsu,
  two erosions, a dilation, label, regionprops) -- boxes only, no classification;
- rerun_ms: re-running after a threshold change (threshold -> text; load..background are reused);
- turned_page_ms: the same page photographed as a sheet on a dark desk, turned 20 degrees (the page stage
  then finds the sheet and warps it upright: turned_page_stage_ms is that stage alone);
- photo_ms: that desk photo as a 4000x3000 phone JPEG, read from its file (decoding included: a big photo's
  usual cost), and photo_page_stage_ms its page stage (sheet, orientation, tilt).
Best of ``repeats`` for the fast paths; the reference runs once (it takes seconds).
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skimage.color
import skimage.filters
import skimage.measure
import skimage.morphology
import skimage.restoration
from PIL import Image

from engine.data.pages import on_desk, render_page
from engine.ocr.pipeline import OcrPipeline

PAGE_LINES = ["THE QUICK BROWN FOX", "JUMPS OVER THE LAZY", "DOG 0123456789", "PACK MY BOX WITH", "FIVE DOZEN JUGS"]


@dataclass
class OcrBench:
    page_ms: float
    reference_page_ms: float
    rerun_ms: float
    page_shape: tuple[int, int]
    characters: int
    reference_boxes: int
    stage_ms: dict[str, float]
    turned_page_ms: float = 0.0
    turned_page_stage_ms: float = 0.0
    photo_ms: float = 0.0
    photo_page_stage_ms: float = 0.0

    def as_json(self) -> dict:
        return {"page_ms": round(self.page_ms, 1), "reference_page_ms": round(self.reference_page_ms, 1),
                "rerun_ms": round(self.rerun_ms, 1), "page": f"{self.page_shape[1]}x{self.page_shape[0]}",
                "characters": self.characters, "reference_boxes": self.reference_boxes,
                "stage_ms": {k: round(v, 1) for k, v in self.stage_ms.items()},
                "turned_page_ms": round(self.turned_page_ms, 1),
                "turned_page_stage_ms": round(self.turned_page_stage_ms, 1),
                "photo_ms": round(self.photo_ms, 1), "photo_page_stage_ms": round(self.photo_page_stage_ms, 1)}

    def lines(self) -> list[str]:
        ratio = self.reference_page_ms / max(self.page_ms, 1e-9)
        h, w = self.page_shape
        return [f"OCR page {w}x{h}, {self.characters} characters:",
                f"  this pipeline (all stages + classify): {self.page_ms:8.1f} ms",
                f"  reference pipeline (segmentation only): {self.reference_page_ms:8.1f} ms"
                f"  ({ratio:.1f}x slower than this pipeline)",
                f"  re-run after a threshold change:        {self.rerun_ms:8.1f} ms"
                f"  ({self.rerun_ms / max(self.page_ms, 1e-9):.0%} of a full page)",
                f"  the page as a sheet on a desk, turned 20 deg: {self.turned_page_ms:8.1f} ms"
                f"  (finding and warping the sheet: {self.turned_page_stage_ms:.1f} ms)",
                f"  ... as a 4000x3000 phone JPEG, from its file:  {self.photo_ms:8.1f} ms"
                f"  (page stage: {self.photo_page_stage_ms:.1f} ms)",
                "  stages: " + ", ".join(f"{k} {v:.0f}" for k, v in self.stage_ms.items())]


def reference_pipeline(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The reference exercise's findLetters segmentation, as written there (boxes of big-enough blobs)."""
    img = skimage.img_as_float(image)
    img = skimage.restoration.denoise_bilateral(img, channel_axis=-1 if img.ndim == 3 else None)
    gray = skimage.color.rgb2gray(img) if img.ndim == 3 else img
    bw = gray < skimage.filters.threshold_otsu(gray)
    bw = skimage.morphology.erosion(bw)
    bw = skimage.morphology.erosion(bw)
    bw = skimage.morphology.dilation(bw, skimage.morphology.footprint_rectangle((7, 7)))
    labels = skimage.measure.label(bw, connectivity=2)
    return [r.bbox for r in skimage.measure.regionprops(labels) if r.area >= 200]


def bench_page(size: tuple[int, int] = (1500, 2000), seed: int = 5) -> np.ndarray:
    image, _ = render_page(PAGE_LINES, seed=seed, size=size, rgb=True)
    return image


def desk_photo(image: np.ndarray, angle: float = 20.0, seed: int = 0) -> np.ndarray:
    """``image`` (a page) as a sheet lying turned on a dark wooden desk, in a frame 1.3 x its size."""
    gray = image if image.ndim == 2 else (image @ np.array([0.2125, 0.7154, 0.0721])).astype(np.uint8)
    size = (int(gray.shape[0] * 1.3), int(gray.shape[1] * 1.3))
    return on_desk(gray, size, angle, np.random.default_rng(seed))


def phone_photo(image: np.ndarray, path, size: tuple[int, int] = (3000, 4000)) -> None:
    """``image`` as a sheet on a desk (``desk_photo``) blown up to a phone camera's size, saved as a JPEG."""
    Image.fromarray(desk_photo(image)).resize(size[::-1], Image.Resampling.BILINEAR).save(path, quality=90)


def bench_ocr(repeats: int = 3, model=None, image: np.ndarray | None = None) -> OcrBench:
    """Time this pipeline, the reference pipeline and a threshold re-run on the same page."""
    image = bench_page() if image is None else image
    pipe = OcrPipeline(model)
    pipe.classifier  # load the model outside the timings
    page, stages = [], {}
    for _ in range(max(repeats, 1)):
        pipe.open(image)
        t = time.perf_counter()
        result = pipe.run()
        page.append(time.perf_counter() - t)
        if page[-1] == min(page):
            stages = {k: v * 1000 for k, v in pipe.timings.items()}
    level = pipe.output("threshold").info["level"]
    pipe.set_param("threshold", "method", "manual")
    rerun = []
    for k in range(max(repeats, 1)):
        pipe.set_param("threshold", "level", level * (1.05 if k % 2 == 0 else 0.95))
        t = time.perf_counter()
        pipe.run()
        rerun.append(time.perf_counter() - t)
    pipe.set_param("threshold", "method", "otsu")
    turned, turned_stage = [], []
    desk = desk_photo(image)
    for _ in range(max(repeats, 1)):
        pipe.open(desk)
        t = time.perf_counter()
        pipe.run()
        turned.append(time.perf_counter() - t)
        turned_stage.append(pipe.timings["page"])
    photo, photo_stage = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "phone.jpg"
        phone_photo(image, path)
        for _ in range(max(repeats, 1)):
            pipe.open(path)
            t = time.perf_counter()
            pipe.run()
            photo.append(time.perf_counter() - t)
            photo_stage.append(pipe.timings["page"])
    t = time.perf_counter()
    ref_boxes = reference_pipeline(image)
    ref = time.perf_counter() - t
    return OcrBench(min(page) * 1000, ref * 1000, min(rerun) * 1000, image.shape[:2], len(result.boxes),
                    len(ref_boxes), stages, min(turned) * 1000, min(turned_stage) * 1000, min(photo) * 1000,
                    min(photo_stage) * 1000)


__all__ = ["OcrBench", "bench_ocr", "phone_photo", "reference_pipeline"]
