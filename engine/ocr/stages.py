"""The OCR's stages in order, each with its parameters and its function ``(pipeline, **params) -> StageOutput``.

Every function reads earlier stages through ``p.data(name)`` (``p`` is the running ``OcrPipeline``) and returns
its product with what to show: an image rendered on demand, boxes, and a few numbers (``info``).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from engine.errors import InputError
from engine.ocr import layout, page, paper, segment
from engine.ocr.assemble import assemble_pieces, colour_groups
from engine.ocr.context import apply_context, changes_on_page
from engine.ocr.lines import group_lines, reading_slope
from engine.ocr.normalize import normalize_masks
from engine.ocr.recognize import crop_mask, recognize
from engine.ocr.result import Box, OcrResult, assemble
from engine.ocr.stage import Param, Stage, StageOutput
from engine.training.checkpoint import CheckpointError

MAX_MARKS = 5000  # default cap on components per page: later stages never see more (see the components stage)


def _p(name, value, lo=None, hi=None, step=None, tip="", choices=()):
    return name, Param(name, value, lo, hi, step, tip, tuple(choices))


def build_stages() -> list[Stage]:
    """A fresh list of every stage with its default parameters (each pipeline edits its own)."""
    return _image_stages() + _ink_stages() + _layout_stages() + _reading_stages()


def _image_stages() -> list[Stage]:
    """The photo to a grey page: read, find the sheet and its text's way up and tilt, smooth, one channel."""
    S = Stage
    return [
        S("load", "Read the image; big photos are reduced to at most max_side pixels for speed.",
          dict([_p("max_side", 2048, 256, 4096, 64, "Longest side of the working image, px (4096 keeps a "
                   "page under about 2 GB of memory)")]), _load),
        S("page", "Find the page: a sheet or whiteboard that does not fill the photo is cut out (its perspective "
          "undone when its four corners show; the rest painted as paper), then tilted text lines are turned level.",
          dict([_p("sheet", "auto", tip="auto: look for a bright sheet with a sharp edge on a darker background; "
                   "off: the whole photo is the page", choices=("auto", "off")),
                _p("min_contrast", 0.3, 0.05, 0.9, 0.05, "The sheet must be at least this much brighter than its "
                   "surroundings (fraction of the sheet's brightness; 1.5 x this for a sheet cut by the frame, "
                   "whose edge could be a shadow's)"),
                _p("max_skew", 30.0, 0.0, 45.0, 1.0, "Look for text lines tilted up to this many degrees either "
                   "way (0: never turn the page)"),
                _p("min_skew", 2.0, 0.0, 10.0, 0.5, "Leave smaller tilts alone (the lines stage follows "
                   "them), degrees"),
                _p("min_char", 28.0, 0.0, 80.0, 1.0, "Writing whose characters are smaller than this (px) is "
                   "enlarged to 1.4 x this before it is read (webcam shots: 0 never)"),
                _p("orientation", "auto", tip="How the text is turned clockwise in the photo (a scan fed "
                   "sideways, a phone photo without its orientation tag): auto reads a sample of characters "
                   "each way up and keeps the clearly most confident", choices=("auto", "0", "90", "180", "270"))]),
          _page),
        S("denoise", "Gaussian smoothing: removes sensor noise and JPEG blocks before thresholding.",
          dict([_p("sigma", 1.0, 0.0, 5.0, 0.1, "Blur radius (standard deviation), px")]), _denoise),
        S("grayscale", "One channel with dark ink; a page whose ink is lighter than its background (chalk "
          "on a blackboard) is flipped.",
          dict([_p("mode", "luminance", tip="luminance, or the darkest channel for colored ink",
                   choices=("luminance", "darkest")),
                _p("polarity", "auto", tip="auto: the minority (ink) side of the histogram decides",
                   choices=("auto", "dark-on-light", "light-on-dark"))]), _gray),
    ]


def _ink_stages() -> list[Stage]:
    """The grey page to blobs of ink: relative to the paper, thresholded, cleaned, labelled."""
    S = Stage
    return [
        S("background", "Divide out uneven lighting and shadows: darkness relative to the local paper "
          "brightness, found per tile and, where a shadow's edge makes a tile too bright for its dark part, "
          "from the page's brightness a few stroke widths around (ink is thin, a shadow is not). Marks "
          "lighter than the paper (erased writing) vanish here. Picture: the estimated paper.",
          dict([_p("tile", 0.05, 0.01, 0.5, 0.01, "Tile size for the paper estimate, fraction of the short side"),
                _p("percentile", 80.0, 50.0, 99.0, 1.0, "Paper brightness = this percentile of each tile"),
                _p("strokes", 5.0, 0.0, 10.0, 0.5, "... or the brightest within this many stroke widths where "
                   "that is darker (a shadow; 0: tiles only; too small hollows thick strokes)")]),
          _background),
        S("threshold", "Ink = darkness above a level: Otsu's on the non-paper pixels, or a manual level.",
          dict([_p("method", "otsu", tip="otsu: automatic level; manual: use 'level'", choices=("otsu", "manual")),
                _p("level", 0.4, 0.0, 1.0, 0.01, "Manual darkness level (used when method is manual)"),
                _p("min_contrast", 0.15, 0.0, 1.0, 0.01, "Never call anything ink that is less than this much "
                   "darker than the paper (keeps blank pages blank)"),
                _p("hysteresis", 0.75, 0.3, 1.0, 0.05, "Below 1: also keep pixels above hysteresis x level that "
                   "touch ink (fills the faint stretches of strokes: all of them on strokes under 3.5 px "
                   "wide, on thicker ones only those reaching beyond the stroke's rim, like the light bars "
                   "of an I; used only where ink is sparse)")]), _threshold),
        S("morphology", "Opening removes specks; closing bridges small breaks in strokes.",
          dict([_p("open_radius", 0, 0, 6, 1, "Opening disk radius, px (0: off; 1 already erases the 2 px "
                   "strokes of small or distant writing -- specks are dropped by size later anyway)"),
                _p("close_radius", 1, 0, 6, 1, "Closing disk radius, px (0: off)")]), _morphology),
        S("components", "Connected ink blobs (8-connectivity). A photo of noise or texture (a carpet, a badly "
          "exposed page) has tens of thousands: more than max_marks is not read as text.",
          dict([_p("max_marks", MAX_MARKS, 100, 20000, 100, "At most this many blobs are passed on; more means "
                   "the image is noise or texture, not text (a full handwritten page has a few thousand)")]),
          _components),
    ]


def _layout_stages() -> list[Stage]:
    """Blobs to characters in lines: fragments joined, lines chained, broken characters re-assembled."""
    S = Stage
    return [
        S("characters", "Blobs -> characters: drop specks, merge fragments of one character, drop non-characters. "
          "Sizes are relative to the typical (ink-weighted median) blob.",
          dict([_p("speck", 0.02, 0.0, 0.5, 0.005, "Drop blobs with less ink than this x a typical character's"),
                _p("merge_overlap", 0.6, 0.1, 1.0, 0.05,
                   "Merge blobs whose columns overlap this much of the narrower"),
                _p("max_merge_height", 1.4, 1.0, 3.0, 0.05,
                   "... unless the merged box is taller than this x typical"),
                _p("partial", 0.7, 0.0, 1.0, 0.05, "Blobs shorter than this x typical height are fragments ..."),
                _p("near", 0.2, 0.0, 1.0, 0.02,
                   "... merged into their nearest neighbour within this x typical height"),
                _p("min_size", 0.3, 0.0, 1.0, 0.05, "Drop boxes whose longer side is under this x typical height"),
                _p("max_height", 3.0, 1.0, 10.0, 0.1, "Drop boxes taller than this x typical height (and single "
                   "strokes longer than 2.5 x it at any angle: rules, the edge of a card)")]),
          _characters),
        S("lines", "Chain characters into lines, each with its own slope and letter size: every character "
          "links to its nearest neighbour on the right (and that one back), and chains lying on one "
          "another's straight continuation join; order them, find word gaps. Picture: each line's centre "
          "line.",
          dict([_p("line_overlap", 0.4, 0.05, 1.0, 0.05, "A chain joins a line when its nearest character's "
                   "middle lies within 1 - this x the line's height of the line (the share of height the two "
                   "would overlap)"),
                _p("max_gap", 4.0, 0.5, 20.0, 0.5, "... and is at most this many typical heights away"),
                _p("max_slope", 35.0, 0.0, 60.0, 1.0, "Neighbours in a line rise or fall at most this steeply, "
                   "degrees (the page stage has already turned the page's own tilt level)"),
                _p("space", 0.3, 0.0, 3.0, 0.05, "A gap wider than the typical letter gap by this x the line's "
                   "height is a space")]), _lines),
        S("assemble", "Re-assemble broken characters: in each line, pieces that overlap horizontally or nearly "
          "(a gap well under the writer's letter spacing) are one character unless that would be far wider "
          "than the line's typical character; small round marks (the dot of \"1.\", specks) are left out. "
          "Picture: pieces coloured by the character they joined, marks grey.",
          dict([_p("join_gap", 0.35, 0.0, 2.0, 0.05, "Join a narrow piece closer than this x the line's median "
                   "letter gap (pieces overlapping by half the narrower always qualify)"),
                _p("narrow", 0.5, 0.0, 2.0, 0.05, "... a narrow piece (a stem, a bar) is narrower than this x the "
                   "line's typical character width; wider pieces that merely touch are two letters"),
                _p("max_width", 1.6, 0.5, 3.0, 0.05, "... unless the joined box is wider than this x the line's "
                   "typical character width"),
                _p("mark", 0.3, 0.0, 1.0, 0.05, "Round pieces smaller than this x the line's height are marks, "
                   "not characters")]), _assemble),
    ]


def _reading_stages() -> list[Stage]:
    """Characters to text: network inputs, readings, context, the result."""
    S = Stage
    return [
        S("crops", "Each character -> 32x32 network input: skeleton turned level with its line's slope, "
          "redrawn at one pen width, centred, aspect kept, dark on white (the same function built the "
          "training set).", {}, _crops),
        S("classify", "The network reads each crop alone; touching pieces that read better merged are merged, "
          "wide boxes that read better cut into 2-4 characters are cut. Sizes are each line's own.",
          dict([_p("merge_gap", 0.08, 0.0, 0.5, 0.01, "Try merging neighbours closer than this x the line's "
                   "height"),
                _p("narrow_gap", 0.3, 0.0, 1.0, 0.01, "... or, when both are narrow (half a letter: the stems "
                   "of an H whose bar broke), closer than this"),
                _p("split_width", 1.15, 0.5, 5.0, 0.05, "Try cutting boxes wider than this x the line's height"),
                _p("wide", 1.0, 0.0, 5.0, 0.1, "How much a box much wider than the line's letters (1.6 x) "
                   "counts against reading it as one character: letters run into one blob are cut even when "
                   "the blob reads surely as some wide letter (0: only cut what reads poorly whole)")]),
          _classify),
        S("context", "Read each word among digits or among letters, chosen along the line from the boxes' "
          "probability mass (look-alikes O/0, I/1, Z/2, S/5, G/6, B/8 count little) and the lines above and "
          "below; list markers (\"1.\" \"2.\") are judged down the page. A sure reading, or one whose best "
          "class is already of the kind chosen, is never changed. Output: the raw and the contextual reading; "
          "picture: boxes the context changed in red, with their raw reading small in the corner.",
          dict([_p("switch_space", 0.7, 0.0, 10.0, 0.1, "Cost (nats) of a word changing kind from the word before "
                   "it: higher, the line counts more"),
                _p("switch_word", 4.0, 0.0, 20.0, 0.5, "Cost (nats) of a change of kind inside a word (a missed "
                   "word gap): higher, words are read more strictly all-letters or all-digits"),
                _p("sure", 0.95, 0.5, 1.0, 0.01, "A box read at least this surely keeps its own reading "
                   "(1: never)"),
                _p("twin_weight", 0.6, 0.0, 1.0, 0.05, "How much look-alike classes count for their own kind: "
                   "their shape does not tell letters from digits"),
                _p("block", 1.0, 0.0, 5.0, 0.1, "How much lines of digits just above and below count (x the "
                   "log-odds of their digit share, per line): a row of look-alikes under a row of digits is "
                   "read as digits (0: every line alone)"),
                _p("numbers", 1.5, 0.0, 10.0, 0.1, "Cost (nats) of reading as letters a word of 3+ look-alike "
                   "shapes and digits with a clear digit among them (Z I 2 5 O is 21250; 0: no such rule)")]),
          _context),
        S("text", "Lines of text with per-character confidence.", {}, _text),
    ]


# ---- stage functions: (pipeline, **params) -> StageOutput ------------------------------------------------

def _load(p, max_side):
    img, scale, shape = segment.load(p.source, max_side)
    return StageOutput((img, scale, shape), info={"source": f"{shape[1]}x{shape[0]}",
                                                 "work": f"{img.shape[1]}x{img.shape[0]}", "scale": round(scale, 4)},
                       render=lambda: img)


def _page(p, sheet, min_contrast, max_skew, min_skew, min_char, orientation):
    img = p.data("load")[0]
    reader = None
    if orientation == "auto":
        try:
            reader = p.classifier
        except CheckpointError:  # no usable model: the page is read upright, and the classify stage says why
            pass
    fit = page.fit_page(img, sheet, min_contrast, max_skew=max_skew, min_skew=min_skew, orientation=orientation,
                        classifier=reader, min_char=min_char, max_side=p.stage("load").values()["max_side"])
    out = page.rectify(img, fit)
    h, w = fit.shape
    info = {"found": fit.kind, "orientation": fit.turn, "skew_deg": round(fit.skew, 2), "zoom": fit.zoom,
            "page": f"{w}x{h}",
            "corners": [[round(float(v), 1) for v in xy] for xy in (fit.quad if fit.quad is not None else [])]}
    if fit.orientation is not None:
        info["orientation_scores"] = {t: round(v, 3) for t, v in fit.orientation.scores.items()}
    return StageOutput((out, fit), info=info, render=lambda: page.draw_fit(img, fit))


def _denoise(p, sigma):
    img = segment.denoise(p.data("page")[0], sigma)
    return StageOutput(img, render=lambda: img)


def _gray(p, mode, polarity):
    g = segment.to_gray(p.data("denoise"), mode, polarity)
    return StageOutput(g, render=lambda: g)


def _background(p, tile, percentile, strokes):
    gray = p.data("grayscale")
    tiles = segment.background(gray, tile, percentile)
    first, _ = segment.threshold(segment.darkness(gray, tiles))
    bg = paper.under_shadows(gray, tiles, first, strokes)
    d = segment.darkness(gray, bg)
    shaded = float((bg < tiles - 0.05).mean())
    return StageOutput(d, info={"tile_px": max(4, int(round(tile * min(gray.shape)))),
                                "shaded_fraction": round(shaded, 4)}, render=lambda: np.clip(bg, 0, 1))


def _threshold(p, method, level, min_contrast, hysteresis):
    mask, used = segment.threshold(p.data("background"), method, level, min_contrast, hysteresis)
    return StageOutput(mask, info={"level": round(used, 4), "ink_fraction": round(float(mask.mean()), 5)},
                       render=lambda: (~mask).astype(np.float32))


def _morphology(p, open_radius, close_radius):
    mask = segment.morphology(p.data("threshold"), open_radius, close_radius)
    return StageOutput(mask, render=lambda: (~mask).astype(np.float32))


def _components(p, max_marks):
    labels, comps = segment.components(p.data("morphology"))
    if len(comps) > max_marks:  # bounds all later work: no stage after this one sees more than max_marks blobs
        where = f"{p.source}: " if isinstance(p.source, (str, Path)) else ""
        raise InputError(f"{where}too many marks to be text ({len(comps):,} blobs of ink, at most {max_marks:,} are "
                         "read): the image looks like noise or texture")
    return StageOutput((labels, comps), _comp_boxes(comps), {"components": len(comps)}, lambda: _colorize(labels))


def _characters(p, **params):
    mask = p.data("morphology")
    stroke = segment.stroke_width(mask)
    chars = layout.find_chars(p.data("components")[1], **params, stroke=stroke)
    boxes = [Box(*map(int, b), members=list(m)) for b, m in zip(chars.boxes, chars.members)]
    return StageOutput(chars, boxes, {"characters": len(chars), "typical_height": round(chars.height, 1),
                                      "stroke_px": round(stroke, 1), "dropped": len(chars.dropped)},
                       lambda: (~mask).astype(np.float32))


def _lines(p, line_overlap, max_gap, space, max_slope):
    chars: layout.Chars = p.data("characters")
    lay = group_lines(chars.boxes, chars.height, line_overlap, max_gap, space, max_slope)
    boxes = []
    for li, (idx, spaces, slope) in enumerate(zip(lay.lines, lay.space_before, lay.slopes)):
        for i, sp in zip(idx, spaces):
            boxes.append(Box(*map(int, chars.boxes[i]), line=li, slope=reading_slope(slope), space_before=sp,
                             members=list(chars.members[i])))
    mask = p.data("morphology")
    info = {"lines": len(lay.lines), "letter_gap": round(lay.letter_gap, 1),
            "slopes_deg": [round(v, 1) for v in lay.slopes], "heights": [round(v, 1) for v in lay.heights]}
    return StageOutput(boxes, boxes, info, lambda: _draw_lines(mask, boxes))


def _draw_lines(mask: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """The ink (grey) with each line's centre line through its first and last character (display only)."""
    out = Image.fromarray(np.where(mask, 150, 255).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(out)
    ends: dict[int, list[Box]] = {}
    for b in boxes:
        ends.setdefault(b.line, []).append(b)
    width = max(1, int(0.003 * max(mask.shape)))
    for line, bs in ends.items():
        a, z = bs[0], bs[-1]
        t = np.tan(np.deg2rad(a.slope))
        x0, x1 = a.col0, z.col1
        ymid = np.mean([(b.row0 + b.row1) / 2 - t * ((b.col0 + b.col1) / 2 - x0) for b in bs])
        draw.line([(x0, ymid), (x1, ymid + t * (x1 - x0))], fill=(230, 40, 40) if line % 2 else (30, 90, 230),
                  width=width)
    return np.asarray(out, np.float32) * np.float32(1 / 255)


def _assemble(p, join_gap, narrow, max_width, mark):
    labels, comps = p.data("components")
    pieces = p.data("lines")
    area = np.array([comps[np.asarray(b.members, int) - 1, 4].sum() for b in pieces], float)
    got = assemble_pieces(pieces, area, join_gap, max_width, mark, narrow, p.params()["lines"]["space"],
                          p.data("characters").height)
    return StageOutput(got.boxes, got.boxes, {"characters": len(got.boxes), "joined": got.joined,
                                              "marks": len(got.marks)},
                       lambda: colour_groups(labels, pieces, got.group))


def _crops(p):
    labels, _ = p.data("components")
    mask = p.data("morphology")
    boxes = [replace(b) for b in p.data("assemble")]
    for b, im in zip(boxes, normalize_masks([crop_mask(labels, mask, b) for b in boxes], [b.slope for b in boxes])):
        b.input = im
    inputs = [b.input for b in boxes]
    # the image is NOT page-shaped: box k's input is tile k (34 px pitch, 16 per row), in reading order
    return StageOutput(boxes, boxes, {"crops": len(boxes), "mosaic_columns": 16, "mosaic_pitch": 34},
                       lambda: _mosaic(inputs))


def _classify(p, merge_gap, narrow_gap, split_width, wide):
    labels, _ = p.data("components")
    boxes = recognize(p.classifier, p.data("crops"), labels, p.data("morphology"), 1.0, merge_gap, split_width,
                      narrow_gap, wide)
    img = p.data("denoise")
    conf = [b.confidence for b in boxes]
    return StageOutput(boxes, boxes, {"mean_confidence": round(float(np.mean(conf)), 4) if conf else None},
                       lambda: img)


def _context(p, switch_space, switch_word, sure, twin_weight, block, numbers):
    boxes = apply_context([replace(b) for b in p.data("classify")], p.classifier.classes, switch_space, switch_word,
                          sure, twin_weight, block, numbers)
    raw, read = assemble([replace(b, char=b.raw_char or b.char) for b in boxes]), assemble(boxes)
    changed = sum(b.char != (b.raw_char or b.char) for b in boxes)
    page = p.data("denoise")
    return StageOutput(boxes, boxes, {"raw": " | ".join(raw), "context": " | ".join(read), "changed": changed},
                       lambda: changes_on_page(page, boxes))


def _text(p):
    boxes = [replace(b) for b in p.data("context")]
    _, scale, shape = p.data("load")
    fit: page.PageFit = p.data("page")[1]
    to_source = None if fit.identity else np.diag([1 / scale, 1 / scale, 1.0]) @ fit.matrix
    total = sum(p.timings.values())  # every stage before this one
    result = OcrResult(boxes, assemble(boxes), scale, tuple(shape), total, transform=to_source)
    img = p.data("denoise")
    return StageOutput(result, boxes, {"lines": len(result.lines), "characters": len(boxes)}, lambda: img)


def _comp_boxes(comps: np.ndarray) -> list[Box]:
    return [Box(int(r0), int(c0), int(r1), int(c1)) for r0, c0, r1, c1, _ in comps]


def _colorize(labels: np.ndarray) -> np.ndarray:
    """Each component in its own pseudo-random color on white (display only)."""
    rng = np.random.default_rng(7)
    palette = np.vstack([[1.0, 1.0, 1.0], rng.uniform(0.1, 0.8, (int(labels.max()) + 1, 3))]).astype(np.float32)
    return palette[np.where(labels > 0, labels + 1, 0)]


def _mosaic(inputs: list[np.ndarray], cols: int = 16) -> np.ndarray:
    """The 32x32 network inputs side by side in reading order (display only)."""
    if not inputs:
        return np.ones((34, 34), np.float32)
    rows = -(-len(inputs) // cols)
    out = np.full((rows * 34, min(cols, len(inputs)) * 34), 0.6, np.float32)
    for k, im in enumerate(inputs):
        r, c = divmod(k, cols)
        out[r * 34 + 1:r * 34 + 33, c * 34 + 1:c * 34 + 33] = np.clip(im, 0, 1)
    return out


__all__ = ["MAX_MARKS", "build_stages"]
