"""Character accuracy of the OCR on a folder of images with a truth.json (file name -> list of lines)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import jsontext
from engine.errors import InputError
from engine.ocr.pipeline import OcrPipeline


# A page's truth: the OCR reads at most MAX_MARKS (5000) marks of a page, so a truth longer than this is
# not of one page (and would only make the comparison slow).
MAX_TRUTH_CHARS = 100_000


def _edit_distance_small(a: str, b: str) -> int:
    """Levenshtein distance by the textbook table, one row at a time (the reference for the fast one)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j - 1] + (ca != cb), prev[j] + 1, cur[j - 1] + 1))
        prev = cur
    return prev[-1]


def _masks(text: str, chars) -> dict[str, int]:
    """For each character, the positions where ``text`` holds it, as the bits of one integer."""
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    return {c: int.from_bytes(np.packbits(codes == ord(c), bitorder="little").tobytes(), "little") for c in chars}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions all cost 1.

    Bit-parallel (Myers 1999, in Hyyrö's form for the whole-string distance): a column of the table is two
    bit vectors (where it steps +1 and -1 down), as long as the longer string and held as Python integers,
    so memory is linear and each character of the shorter string costs a few big-integer operations
    (len(a) * len(b) / 30 digit operations in all, against len(a) * len(b) Python steps for the table)."""
    if len(a) < len(b):
        a, b = b, a
    m = len(a)
    if not b:
        return m
    full, top = (1 << m) - 1, 1 << (m - 1)
    peq = _masks(a, set(b))
    pv, mv, score = full, 0, m
    for c in b:
        eq = peq[c]
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (full & ~(xh | pv))
        mh = pv & xh
        score += 1 if ph & top else -1 if mh & top else 0
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = mh | (full & ~(xv | ph))
        mv = ph & xv
    return score


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
    truth = jsontext.read(path)  # bounded in size and depth: a deep nest is not a RecursionError
    if not isinstance(truth, dict) or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in truth.values()):
        raise InputError(f"{path}: must map each image file name to a list of text lines")
    long = next((k for k, v in truth.items() if sum(map(len, v)) + len(v) > MAX_TRUTH_CHARS), None)
    if long is not None:
        raise InputError(f"{path}: the truth of {long!r} holds {sum(map(len, truth[long])):,} characters; a page "
                         f"holds at most {MAX_TRUTH_CHARS:,}")
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


__all__ = ["MAX_TRUTH_CHARS", "EvalResult", "char_accuracy", "edit_distance", "evaluate_dir", "read_truth"]
