"""ocr, ocr-eval and explain: the commands that read pages and characters with the OCR model."""
from __future__ import annotations

import sys
import time

import numpy as np

from engine.cli.console import emit_json
from engine.debug.explain import explain
from engine.errors import InputError
from engine.ocr import OcrPipeline
from engine.ocr.evaluate import evaluate_dir
from engine.ocr.inputs import load_inputs
from engine.ocr.model import load_classifier


def cmd_ocr(args) -> int:
    start = time.perf_counter()
    pipe = OcrPipeline(args.model)
    pipe.open(args.image)
    result = pipe.run()
    result.seconds = time.perf_counter() - start  # wall time, model loading included
    if args.json:
        emit_json(result.as_json())
    elif result.lines:
        print("\n".join(result.lines))
    else:
        print("(no characters found)", file=sys.stderr)
    return 0


def cmd_ocr_eval(args) -> int:
    result = evaluate_dir(args.dir, model=args.model)
    if args.json:
        emit_json(result.as_json())
    else:
        print("\n".join(result.lines()))
    return 0


def _ascii(img, ramp=" .:-=+*#%@") -> list[str]:
    """An upright 32x32 picture as 32 lines (values in [0, 1], 1 = darkest glyph)."""
    idx = np.clip((np.asarray(img) * (len(ramp) - 1)).round().astype(int), 0, len(ramp) - 1)
    return ["".join(ramp[i] for i in row) for row in idx]


def cmd_explain(args) -> int:
    clf = load_classifier(args.model)  # a CheckpointError is an InputError
    rows, as_is = load_inputs(args.image)
    if rows.shape[1] != clf.net.sizes[0]:
        raise InputError(f"{args.image}: inputs have {rows.shape[1]} values; the model takes {clf.net.sizes[0]}")
    if args.target is not None and args.target not in clf.classes:
        raise InputError(f"--target {args.target!r} is not a class of the model ({''.join(clf.classes)})")
    for k, row in enumerate(rows):
        e = explain(clf.net, clf.classes, row)
        why = explain(clf.net, clf.classes, row, args.target) if args.target is not None else None
        if args.json:
            obj = e.as_json()
            obj["normalized"] = not as_is
            obj["model"] = clf.path
            if why is not None:
                obj["why"] = {"class": args.target, "probability": round(float(why.probs[why.target]), 6),
                              "saliency": why.as_json()["saliency"], "occlusion": why.as_json()["occlusion"]}
            emit_json(obj)
            continue
        shown = why or e
        sal = shown.image(shown.saliency)
        scale = max(float(np.abs(sal).max()), 1e-12)
        print(f"input {k}: " if len(rows) > 1 else "", end="")
        print("top-5: " + "  ".join(f"{c} {p:.3f}" for c, p in e.top(5)))
        print(f"{'input (ink dark)':34s}saliency for {shown.classes[shown.target]} (+ for it, - against)")
        left = _ascii(1.0 - np.clip(e.image(e.row), 0, 1))
        pos = _ascii(np.clip(sal / scale, 0, 1))
        neg = _ascii(np.clip(-sal / scale, 0, 1), " .:-")
        for a, p, n in zip(left, pos, neg):
            print(f"{a}  " + "".join(pc if pc != " " else nc for pc, nc in zip(p, n)))
    return 0
