"""What the OCR produces: character boxes in reading order, and the text they spell.

Boxes are in page pixels (the page as the stages see it: after downscaling a big photo, and after the page
stage cut out the sheet and turned it level), so a GUI draws them straight over any later stage's image;
``OcrResult.source_box`` maps them back to the source image, which is what the JSON output uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Box:
    """One character: pixel box [row0, row1) x [col0, col1) in the work image, and what it reads as."""
    row0: int
    col0: int
    row1: int
    col1: int
    char: str = ""
    confidence: float = 0.0
    top5: list[tuple[str, float]] = field(default_factory=list)  # (class, probability), best first
    line: int = -1                # line index in reading order
    slope: float = 0.0            # its line's slope, degrees (x right, y down): the crop is read with it undone
    space_before: bool = False    # a word gap precedes this character in its line
    members: list[int] = field(default_factory=list, repr=False)  # component labels whose ink it holds
    input: np.ndarray | None = field(default=None, repr=False)    # the 32x32 network input (upright)
    corrected: str = ""           # the label before a user correction ("" = not corrected)
    raw_char: str = ""            # what the network read from this box alone (before the context stage)
    context_top5: list[tuple[str, float]] = field(default_factory=list)  # top5 among the kind context chose
    probs: np.ndarray | None = field(default=None, repr=False)  # the network's full probability vector

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return self.row0, self.col0, self.row1, self.col1

    @property
    def height(self) -> int:
        return self.row1 - self.row0

    @property
    def width(self) -> int:
        return self.col1 - self.col0

    def contains(self, row: float, col: float) -> bool:
        return self.row0 <= row < self.row1 and self.col0 <= col < self.col1

    def scaled(self, scale: float) -> list[int]:
        """[row0, col0, row1, col1] in source-image pixels (work = source * scale)."""
        return [int(round(v / scale)) for v in self.rect]


def assemble(boxes: list[Box]) -> list[str]:
    """Text lines from boxes carrying line numbers and word gaps (boxes already in reading order)."""
    lines: dict[int, list[str]] = {}
    for b in boxes:
        out = lines.setdefault(b.line, [])
        if b.space_before and out:
            out.append(" ")
        out.append(b.char)
    return ["".join(lines[k]) for k in sorted(lines)]


@dataclass
class OcrResult:
    """The recognized page. ``lines`` always equals ``assemble(boxes)``; edits keep them in step."""
    boxes: list[Box]
    lines: list[str]
    scale: float = 1.0                        # work pixels per source pixel
    source_shape: tuple[int, int] = (0, 0)    # rows, cols of the source image
    seconds: float = 0.0
    corrections: list[dict] = field(default_factory=list)  # user edits, in order (engine.ocr.edit)
    # 3x3 page (x, y, 1) -> source (x, y, 1) when the page stage cut out or turned the page; None: ``scale`` only
    transform: np.ndarray | None = field(default=None, repr=False)

    def source_box(self, b: Box) -> list[int]:
        """[row0, col0, row1, col1] in source pixels: the box's corners mapped back through the page stage's
        transform (their bounding box), or simply divided by ``scale``."""
        if self.transform is None:
            return b.scaled(self.scale)
        xy = np.array([[b.col0, b.row0, 1], [b.col1, b.row0, 1], [b.col1, b.row1, 1], [b.col0, b.row1, 1]], float)
        p = xy @ self.transform.T
        x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
        rows, cols = self.source_shape
        return [int(np.clip(round(y.min()), 0, rows)), int(np.clip(round(x.min()), 0, cols)),
                int(np.clip(round(y.max()), 0, rows)), int(np.clip(round(x.max()), 0, cols))]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def raw_lines(self) -> list[str]:
        """The reading of each box alone, before the context stage chose letters or digits per word."""
        return assemble([Box(*b.rect, char=b.raw_char or b.char, line=b.line, space_before=b.space_before)
                         for b in self.boxes])

    def box_at(self, row: float, col: float) -> int | None:
        """Index of the smallest box containing the work-image point, or None (for clicks)."""
        hits = [i for i, b in enumerate(self.boxes) if b.contains(row, col)]
        return min(hits, key=lambda i: self.boxes[i].height * self.boxes[i].width) if hits else None

    def as_json(self) -> dict:
        """The CLI's JSON: lines, boxes [row0, col0, row1, col1, char, confidence] in source pixels, seconds."""
        return {"lines": list(self.lines),
                "boxes": [[*self.source_box(b), b.char, round(float(b.confidence), 4)] for b in self.boxes],
                "seconds": round(self.seconds, 4),
                "raw_lines": self.raw_lines}


__all__ = ["Box", "OcrResult", "assemble"]
