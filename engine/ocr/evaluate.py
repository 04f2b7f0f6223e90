"""Character accuracy of the OCR on a folder of images with a truth.json (file name -> list of lines)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.ocr.pipeline import OcrPipeline


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions all cost 1."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j - 1] + (ca != cb), prev[j] + 1, cur[j - 1] + 1))
        prev = cur
    return prev[-1]


def char_accuracy(predicted_lines: list[str], truth_lines: list[str]) -> float:
    """1 - edit distance / truth length, lines joined by newlines, spaces kept (can go below 0)."""
    pred, truth = "\n".join(predicted_lines), "\n".join(truth_lines)
    if not truth:
        return 1.0 if not pred else 0.0
    return 1.0 - edit_distance(pred, truth) / len(truth)


@dataclass
class EvalResult:
    files: dict[str, float]                 # file name -> character accuracy
    predictions: dict[str, list[str]] = field(default_factory=dict)
    truth: dict[str, list[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.files.values()))) if self.files else float("nan")

    def as_json(self) -> dict:
        return {"files": {k: round(v, 4) for k, v in self.files.items()}, "mean_char_accuracy": round(self.mean, 4)}

    def lines(self) -> list[str]:
        out = []
        for name, acc in self.files.items():
            got = " | ".join(self.predictions.get(name, []))
            out.append(f"{name}: {acc:.1%}  read: {got!r}")
        out.append(f"mean character accuracy: {self.mean:.1%} over {len(self.files)} file(s)")
        return out


def read_truth(directory) -> dict[str, list[str]]:
    """truth.json of a folder: {file name: [line, ...]}; ValueError with a one-line message if unusable."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: no such folder")
    path = directory / "truth.json"
    if not path.is_file():
        raise InputError(f"{directory}: no truth.json (a JSON object: image file name -> list of text lines)")
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not readable JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(truth, dict) or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in truth.values()):
        raise InputError(f"{path}: must map each image file name to a list of text lines")
    if not truth:
        raise InputError(f"{path}: lists no images")
    inside = directory.resolve()
    outside = [k for k in truth if not k or inside not in (directory / k).resolve().parents]
    if outside:  # "../x.png", "/etc/x.png" or a link out: truth.json names files of its own folder only
        raise InputError(f"{path}: {outside[0]!r} is not a file inside {directory}")
    missing = [k for k in truth if not (directory / k).is_file()]
    if missing:
        raise InputError(f"{path}: image {missing[0]!r} not found in {directory}")
    return truth


def evaluate_dir(directory, model=None, pipeline=None) -> EvalResult:
    """Run the OCR on every image listed in DIR/truth.json; per-file and mean character accuracy."""
    truth = read_truth(directory)
    pipe = pipeline or OcrPipeline(model)
    result = EvalResult({}, truth=truth)
    for name, lines in truth.items():
        pipe.open(Path(directory) / name)
        r = pipe.run()
        result.files[name] = char_accuracy(r.lines, lines)
        result.predictions[name] = r.lines
        result.seconds[name] = r.seconds
    return result


__all__ = ["EvalResult", "char_accuracy", "edit_distance", "evaluate_dir", "read_truth"]
