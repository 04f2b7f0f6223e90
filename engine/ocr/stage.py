"""What a pipeline stage is: its typed parameters (``Param``), its product (``StageOutput``) and the stage
itself (``Stage``: a name, a doc, parameters, and the function that runs it). The GUI builds its forms from
these."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.errors import InputError
from engine.ocr.result import Box


@dataclass
class Param:
    """One tunable: a number in [min, max] by ``step`` (int when step is an int), or one of ``choices``."""
    name: str
    value: float | int | str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    tooltip: str = ""
    choices: tuple[str, ...] = ()

    def coerce(self, v):
        """``v`` checked and clipped to this parameter's range; ValueError if it cannot be."""
        if self.choices:
            if v not in self.choices:
                raise InputError(f"{self.name} must be one of {', '.join(self.choices)}, got {v!r}")
            return v
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise InputError(f"{self.name} must be a number, got {v!r}") from None
        if not np.isfinite(x):
            raise InputError(f"{self.name} must be finite, got {v!r}")
        x = min(max(x, self.min), self.max)
        return int(round(x)) if isinstance(self.step, int) else x


@dataclass
class StageOutput:
    """A stage's product: ``data`` for later stages, plus what to show (image rendered on first access)."""
    data: object
    boxes: list[Box] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)
    render: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    seconds: float = 0.0
    _image: np.ndarray | None = field(default=None, repr=False)

    @property
    def image(self) -> np.ndarray | None:
        """float32 in [0, 1], gray (H, W) or RGB (H, W, 3), in work-image pixels (except "crops": a mosaic)."""
        if self._image is None and self.render is not None:
            self._image = self.render()
        return self._image


@dataclass
class Stage:
    name: str
    doc: str
    params: dict[str, Param]
    run: Callable[..., StageOutput] = field(repr=False)

    def values(self) -> dict[str, object]:
        return {k: p.value for k, p in self.params.items()}


__all__ = ["Param", "Stage", "StageOutput"]
