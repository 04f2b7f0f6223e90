"""The OCR as an ordered list of named stages with typed parameters, re-run from the changed stage only.

    pipe = OcrPipeline()                 # default model, loaded when "classify" first runs
    pipe.open("page.jpg")                # a path or an array
    result = pipe.run()                  # OcrResult: lines, boxes
    pipe.set_param("threshold", "level", 0.5)   # invalidates "threshold" and every later stage ...
    pipe.run()                           # ... so this re-runs only those, reusing load..background

A GUI lists ``pipe.stages`` (name, doc, params with ranges and tooltips), shows ``pipe.output(name).image``
with ``.boxes`` drawn over it, and edits the final result through ``engine.ocr.edit``. The stages themselves
(their parameters, docs and functions) are in ``stages.py``; what a stage is, in ``stage.py``.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from engine.errors import InputError
from engine.ocr.model import Classifier, load_classifier
from engine.ocr.recognize import crop_mask
from engine.ocr.result import Box, OcrResult
from engine.ocr.stage import Param, Stage, StageOutput
from engine.ocr.stages import MAX_MARKS, build_stages


class OcrPipeline:
    """Stages load -> page -> denoise -> grayscale -> background -> threshold -> morphology -> components ->
    characters -> lines -> assemble -> crops -> classify -> context -> text, each cached until its params or an
    earlier stage change."""

    def __init__(self, model=None):
        self._model, self._classifier = model, None  # a path, a Classifier, or None for the default model
        self.source = None
        self.stages: list[Stage] = build_stages()
        self._out: list[StageOutput | None] = [None] * len(self.stages)
        self.result: OcrResult | None = None  # the last full run, edited in place by engine.ocr.edit

    # ---- configuration -----------------------------------------------------------------------------

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise InputError(f"no OCR stage {name!r}; stages: {', '.join(s.name for s in self.stages)}")

    def index(self, name: str) -> int:
        return self.stages.index(self.stage(name))

    def open(self, source) -> None:
        """Use a new image (a path or an array); nothing is computed until ``run``."""
        self.source = source
        self.invalidate(0)

    def set_param(self, stage: str, name: str, value) -> None:
        """Change one parameter; the stage and everything after it re-run on the next ``run``."""
        st = self.stage(stage)
        if name not in st.params:
            raise InputError(f"stage {stage!r} has no parameter {name!r}; it has {', '.join(st.params) or 'none'}")
        p = st.params[name]
        v = p.coerce(value)
        if v != p.value:
            st.params[name] = replace(p, value=v)
            self.invalidate(self.index(stage))

    def params(self) -> dict[str, dict[str, object]]:
        return {s.name: s.values() for s in self.stages if s.params}

    def set_params(self, values: dict[str, dict[str, object]]) -> None:
        for stage, kv in values.items():
            for k, v in kv.items():
                self.set_param(stage, k, v)

    def invalidate(self, index: int) -> None:
        for i in range(index, len(self._out)):
            self._out[i] = None
        self.result = None

    @property
    def classifier(self):
        if self._classifier is None:
            m = self._model
            self._classifier = m if isinstance(m, Classifier) else load_classifier(m)
        return self._classifier

    # ---- running -------------------------------------------------------------------------------------

    def output(self, name: str) -> StageOutput:
        """A stage's output, computing it (and any stale stage before it) if needed."""
        i = self.index(name)
        if self.source is None:
            raise InputError("no image: call open() first")
        for k in range(i + 1):
            if self._out[k] is None:
                st = self.stages[k]
                t = time.perf_counter()
                out = st.run(self, **st.values())
                out.seconds = time.perf_counter() - t
                self._out[k] = out
        return self._out[i]

    def cached(self, name: str) -> StageOutput | None:
        """A stage's output if it is up to date, without computing anything."""
        return self._out[self.index(name)]

    def run(self) -> OcrResult:
        """Run every stale stage; the OcrResult of the last stage (reused if nothing changed)."""
        if self.result is None:
            self.result = self.output("text").data
        return self.result

    @property
    def timings(self) -> dict[str, float]:
        """Seconds each up-to-date stage took when it last ran."""
        return {s.name: o.seconds for s, o in zip(self.stages, self._out) if o is not None}

    def data(self, name: str):
        return self.output(name).data

    def crop(self, box: Box, margin: float = 0.1) -> np.ndarray:
        """The page image around a box, with ``margin`` x its size on each side (for a close-up view)."""
        img = self.data("page")[0]
        m = int(round(margin * max(box.height, box.width)))
        return img[max(box.row0 - m, 0):box.row1 + m, max(box.col0 - m, 0):box.col1 + m]

    def ink(self, box: Box) -> np.ndarray:
        """The binary ink of a box as the crops stage sees it (its own components only)."""
        return crop_mask(self.data("components")[0], self.data("morphology"), box)


__all__ = ["MAX_MARKS", "OcrPipeline", "Param", "Stage", "StageOutput"]
