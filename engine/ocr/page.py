"""Find the page in a photo before reading it: the sheet, and the direction of its text lines.

The ordinary phone photo of a page is a bright sheet on a darker desk, turned and seen at an angle. The
later stages assume paper everywhere and roughly level lines, so this stage

1. looks for the sheet (or whiteboard) at low resolution: the largest bright region, accepted only when
   it is clearly brighter than what surrounds it, bounded by a *sharp* edge (a shadow on a whiteboard is a
   gradual ramp, a sheet edge is a step) and close to a quadrilateral;
2. with all four edges in view (a corner may lie off the frame: the edges are fitted as straight lines),
   maps that quadrilateral to an upright rectangle (perspective undone); with a side hidden by the
   frame, keeps the sheet's region and paints the rest as paper;
3. measures the text skew on what remains (projection profiles of the ink: the profile across the lines
   is sharpest when it runs along them) and turns the lines level when they tilt more than a little.

Everything is one 3x3 matrix from output pixels to work pixels (``geometry.py``), so the page is resampled
once and the boxes found later map back to the photo. A page that fills the frame with level text passes
unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.measure import find_contours
from skimage.morphology import convex_hull_image

from engine.ocr import segment
from engine.ocr.geometry import (
    apply_matrix,
    fit_edges,
    homography,
    max_quad,
    polygon_area,
    polygon_mask,
    rotation,
    warp,
)
from engine.ocr.lines import find_lines
from engine.ocr.orient import TURNS, Blobs, Orientation, find_blobs, letter_sized, margins, orient, sample


@dataclass
class PageFit:
    """What the page stage found and how it maps its output (x = column, y = row) back to the work image."""
    kind: str                  # "sheet": 4 edges seen, perspective undone; "region": sheet cut by the frame;
                               # "frame": no separate sheet (the page fills the photo)
    matrix: np.ndarray         # 3x3, output (x, y, 1) -> work image (x, y, 1) (homogeneous)
    shape: tuple[int, int]     # output rows, cols
    skew: float                # degrees of text tilt undone (positive: lines fall to the right)
    quad: np.ndarray | None = None     # (4, 2) x, y sheet corners in the work image (TL, TR, BR, BL)
    region: np.ndarray | None = None   # bool mask of the sheet at ``region_scale`` x the work size
    region_scale: float = 1.0
    paper: np.ndarray | None = None    # fill color for everything outside the sheet (per channel)
    skew_strength: float = 1.0         # how much sharper the best profile is than a typical one
    turn: int = 0                      # degrees the text was turned clockwise in the photo (undone)
    orientation: Orientation | None = None  # how the turn was chosen ("auto")
    zoom: float = 1.0                  # output px per work px: small writing is enlarged (``enlarge``)

    @property
    def identity(self) -> bool:
        return self.kind == "frame" and self.skew == 0.0 and self.turn == 0 and self.zoom == 1.0

    def corners(self) -> np.ndarray:
        """The output rectangle's corners (TL, TR, BR, BL) in work-image x, y: what the stage keeps."""
        h, w = self.shape
        return apply_matrix(self.matrix, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))


# ---- the sheet ----------------------------------------------------------------------------------------

@dataclass
class Sheet:
    """A bright region found at low resolution (x, y in small-image pixels)."""
    region: np.ndarray   # bool mask, small image
    quad: np.ndarray     # (4, 2) corners
    corners_seen: bool   # all four edges seen: ``quad`` holds their intersections (maybe outside the frame)
    contrast: float      # (paper - surroundings) / paper
    sharpness: float     # step across the region's edge / contrast (1: a clean edge, ~0: a ramp)
    fill: float          # region area / quadrilateral area


def _median(values: np.ndarray) -> float:
    """The median of up to ~20000 evenly spaced samples: as good for a brightness level, and cheap."""
    return float(np.median(values[::max(1, len(values) // 20000)]))


def find_sheet(gray: np.ndarray, min_contrast: float = 0.3, min_area: float = 0.1) -> Sheet | None:
    """The sheet in a small gray image, or None when there is no clearly separate bright quadrilateral
    (the page fills the frame, or the bright part is lighting rather than paper). Otsu's level splits a
    sheet from a dark desk, but with a shadow over part of the sheet it splits lit paper from shaded paper:
    lower levels towards the desk are tried too, and the largest region that still passes wins."""
    level, dark = segment.otsu(gray.ravel()), float(np.percentile(gray, 5))
    best = None
    for k in (1.0, 0.65, 0.4):
        s = _sheet_at(gray, dark + k * (level - dark), min_contrast, min_area)
        if s is not None and (best is None or s.region.sum() > best.region.sum()):
            best = s
    return best


def _box(mask: np.ndarray, r: int) -> np.ndarray:
    """Fraction of each (2r+1)^2 square that is set (edges repeat): erosion and dilation by a square of any
    size for the price of one separable filter."""
    return ndimage.uniform_filter(mask.astype(np.float32), 2 * r + 1, mode="nearest")


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Holes filled: dark parts not connected to the frame's border (one labelling pass, where scipy's
    binary_fill_holes propagates a dilation across the whole image)."""
    lab, n = ndimage.label(~mask)
    edge = np.unique(np.r_[lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    open_ = np.zeros(n + 1, bool)
    open_[edge] = True
    open_[0] = False
    return ~open_[lab]


def _sheet_at(gray: np.ndarray, level: float, min_contrast: float, min_area: float) -> Sheet | None:
    """The largest region brighter than ``level``, if it is a sheet: big enough, brighter than its
    surroundings by ``min_contrast``, bounded by a sharp edge and close to a quadrilateral."""
    h, w = gray.shape
    bright = _fill_holes(gray > level)  # ink on the sheet leaves holes
    r = max(1, int(round(0.006 * max(h, w))))
    bright = _box(_box(bright, r) > 0.999, r) > 0.001  # opening: cut thin bright bridges to other objects
    lab, n = ndimage.label(bright)
    if n == 0:
        return None
    sizes = np.bincount(lab.ravel())[1:]
    region = lab == (int(np.argmax(sizes)) + 1)
    area = float(region.mean())
    if not min_area <= area <= 0.97:
        return None
    paper, around = _median(gray[region]), _median(gray[~region])
    contrast = (paper - around) / max(paper, 1e-6)
    if contrast < min_contrast:
        return None
    # the edge, away from the frame border: a step within a few pixels, or a slow ramp (lighting)?
    e = max(2, int(round(0.008 * max(h, w))))
    border = np.zeros_like(region)
    border[e:-e, e:-e] = True
    near = _box(region, e)
    ring_in = region & (near < 0.999) & border
    ring_out = ~region & (near > 0.001) & border
    if ring_in.sum() < 10 or ring_out.sum() < 10:
        return None
    sharpness = (_median(gray[ring_in]) - _median(gray[ring_out])) / max(paper - around, 1e-6)
    if sharpness < 0.5:
        return None
    ys, xs = np.nonzero(region & ~ndimage.binary_erosion(region))
    edge = np.c_[xs, ys].astype(float) + 0.5
    quad = max_quad(edge)
    fill = area * h * w / max(polygon_area(quad), 1.0)
    if fill < 0.85:
        return None
    sharp = fit_edges(edge, quad, (h, w))
    return Sheet(region, quad if sharp is None else sharp, sharp is not None, contrast, sharpness, fill)


# ---- the text skew --------------------------------------------------------------------------------------

def ink_points(gray: np.ndarray, max_points: int = 20000, min_blobs: int = 3, blobs: Blobs | None = None
               ) -> np.ndarray:
    """(n, 2) x, y of ink pixels in a small gray page, from blobs of about character size: rules, edges
    and shadows (long blobs) and specks do not vote on the direction of the lines. Fewer than
    ``min_blobs`` blobs give no points: a line needs a few characters (the strokes of one V or K alone
    would pass for a tilted line). ``blobs``: the page's blobs when already found."""
    b = find_blobs(gray) if blobs is None else blobs
    if b.chars.sum() < min_blobs:
        return np.zeros((0, 2))
    keep = np.r_[False, b.chars]
    ys, xs = np.nonzero(keep[b.labels])
    step = max(1, len(xs) // max_points)
    return np.c_[xs[::step], ys[::step]].astype(float)


def profile_score(points: np.ndarray, angles_deg: np.ndarray, bin_px: float) -> np.ndarray:
    """For each angle, the sum of squared counts of the ink projected across lines of that direction:
    largest when the projection runs along the text lines (the profile is then peaks and gaps)."""
    t = np.deg2rad(angles_deg)
    across = (points[:, 1:2] * np.cos(t) - points[:, 0:1] * np.sin(t)) / bin_px  # (n, angles)
    bins = (across - across.min(0)).astype(np.int64)  # (n, angles), each column from 0
    width = int(bins.max()) + 1 if bins.size else 1
    counts = np.bincount((bins + width * np.arange(len(t))).ravel(), minlength=width * len(t))
    out = (counts.reshape(len(t), width).astype(float) ** 2).sum(1)  # one bincount for all angles
    return out / max(len(points), 1) ** 2


def estimate_skew(points: np.ndarray, max_angle: float = 30.0, bin_px: float = 2.0, rival: float = 0.85
                  ) -> tuple[float, float]:
    """(angle of the text lines in degrees, x right and y down, strength = best / median profile score).
    A coarse 1-degree search then a 0.1-degree refinement around the best. Level instead when there is no one
    direction: a best angle at the edge of the search is no peak (the profile is still rising: something other
    than lines), and another peak at least ``rival`` x as sharp means lines at different slopes (a level line
    beside one rising 25 degrees), which the lines stage follows one by one -- turning the page to their
    compromise would tilt them all."""
    limit = np.floor(max_angle)
    if len(points) < 50 or limit < 1:
        return 0.0, 1.0
    coarse = np.arange(-limit, limit + 0.5, 1.0)
    s = profile_score(points, coarse, bin_px)
    k = int(np.argmax(s))
    best = float(coarse[k])
    peaks = np.nonzero((s >= np.r_[-np.inf, s[:-1]]) & (s >= np.r_[s[1:], -np.inf]))[0]
    others = peaks[np.abs(coarse[peaks] - best) >= 5]
    if abs(best) >= limit or (len(others) and s[others].max() >= rival * s[k]):
        return 0.0, float(s.max() / max(np.median(s), 1e-12))
    fine = np.arange(best - 1.0, best + 1.05, 0.1)
    sf = profile_score(points, fine, bin_px / 2)
    return float(fine[int(np.argmax(sf))]), float(s.max() / max(np.median(s), 1e-12))


# ---- the whole stage ----------------------------------------------------------------------------------------

def reduce_to(img: np.ndarray, side: int) -> tuple[np.ndarray, int]:
    """Block means so that the long side is at most ``side``: (small image, factor)."""
    f = max(1, int(np.ceil(max(img.shape[:2]) / side)))
    return (img, 1) if f == 1 else (segment.block_mean(img, f), f)


def fit_page(img: np.ndarray, sheet: str = "auto", min_contrast: float = 0.3, min_area: float = 0.1,
             max_skew: float = 30.0, min_skew: float = 2.0, min_strength: float = 1.15, orientation: str = "0",
             classifier=None, min_char: float = 0.0, max_side: int = 2048) -> PageFit:
    """Where the page is in a work image (float gray or RGB) and how to turn it upright: ``orientation`` is
    how the text is turned clockwise in the photo ("0", "90", "180", "270"), or "auto" to let ``classifier``
    read a sample of characters each way (see orient.py; without a classifier the page is taken upright)."""
    h, w = img.shape[:2]
    sg, f = reduce_to(img if img.ndim == 2 else img @ segment.LUMA, 512)  # gray first: a quarter of the work
    small = img[:sg.shape[0] * f:f, :sg.shape[1] * f:f]  # colors for the paper fill only: no need to average
    found = find_sheet(sg, min_contrast, min_area) if sheet == "auto" and min(h, w) >= 32 else None
    if found is not None and not found.corners_seen and found.contrast < 1.5 * min_contrast:
        found = None  # cut by the frame and not very dark around: maybe a shadow's edge across a page
    kind, m, shape, quad, region, paper = "frame", np.eye(3), (h, w), None, None, None
    if found is not None:
        quad = found.quad * f
        paper = np.median(small[found.region], axis=0)
        if found.corners_seen:  # perspective: the quadrilateral becomes an upright rectangle
            kind = "sheet"
            q = quad + 0.01 * (quad.mean(0) - quad)  # a little inside: the sheet's own edge is not ink
            # the nearer (longer) of opposite sides: the far part is stretched, never the near part shrunk
            tw = int(round(max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]))))
            th = int(round(max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]))))
            shape = (th, tw)
            m = homography(np.array([[0, 0], [tw, 0], [tw, th], [0, th]], float), q)
            region = polygon_mask(q / f, sg.shape)  # turning the text may reach past the sheet: paper too
        else:  # cut by the frame: keep the sheet's bounding box, paint the rest as paper
            kind = "region"

            region = ndimage.binary_erosion(convex_hull_image(found.region), iterations=2)
            ys, xs = np.nonzero(region)
            r0, r1, c0, c1 = ys.min() * f, min((ys.max() + 1) * f, h), xs.min() * f, min((xs.max() + 1) * f, w)
            m = np.array([[1, 0, c0], [0, 1, r0], [0, 0, 1]], float)
            shape = (r1 - r0, c1 - c0)
    fit = PageFit(kind, m, shape, 0.0, quad, region, 1.0 / f, paper)
    turn = 0 if orientation == "auto" else int(orientation)
    skews = {t: (0.0, 1.0) for t in TURNS}
    typical = 0.0
    if max_skew > 0 or orientation == "auto" or min_char > 0:
        fill = float(np.median(sg[found.region])) if found is not None else None
        view, flipped = _view(sg, fit, f, fill)
        blobs = find_blobs(view)
        typical = blobs.typical * f
        if max_skew > 0:
            skews = line_skews(ink_points(view, blobs=blobs), max_skew, min_skew, min_strength, blobs)
        if orientation == "auto" and classifier is not None:
            zoom = enlarge(typical, fit.shape, min_char, max_side)
            masks = _sample_masks(img, fit, f, fill, blobs, flipped, zoom=zoom)
            fit.orientation = orient(classifier, masks, skews, aligned=margins(blobs))
            turn = fit.orientation.turn
    angle, fit.skew_strength = skews[turn]
    if turn or angle:
        m_turn, shape = rotation(turn + angle, fit.shape)
        fit.matrix, fit.shape, fit.skew, fit.turn = fit.matrix @ m_turn, shape, angle, turn
    fit.zoom = enlarge(typical, fit.shape, min_char, max_side)
    if fit.zoom != 1.0:
        fit.matrix = fit.matrix @ np.diag([1 / fit.zoom, 1 / fit.zoom, 1.0])
        fit.shape = (int(round(fit.shape[0] * fit.zoom)), int(round(fit.shape[1] * fit.zoom)))
    if fit.paper is None and not fit.identity:
        fit.paper = np.median(small.reshape(-1, *small.shape[2:])[::7], axis=0)
    return fit


AGREE_DEG = 6.0  # a line whose own slope is this close to the page's tilt agrees with it
MIN_AGREE = 0.5  # the share of letters on agreeing lines that the page is turned for


def line_slopes(blobs: Blobs, turned: bool = False, min_len: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(degrees, letters) of each line of ``min_len`` or more letter-sized blobs (the lines stage's rule; the
    view turned 90 degrees anticlockwise when ``turned``, as ``line_skews`` turns its points), each slope a
    plain least-squares fit of the centres."""
    idx = letter_sized(blobs)
    if len(idx) < min_len:
        return np.zeros(0), np.zeros(0)
    b = np.array([[s[0].start, s[1].start, s[0].stop, s[1].stop] for s in (blobs.slices[i] for i in idx)], float)
    if turned:  # (x, y) -> (y, W - x)
        b = np.c_[blobs.labels.shape[1] - b[:, 3], b[:, 0], blobs.labels.shape[1] - b[:, 1], b[:, 2]]
    cx, cy = (b[:, 1] + b[:, 3]) / 2, (b[:, 0] + b[:, 2]) / 2
    found = [ln.members for ln in find_lines(b, blobs.typical) if len(ln.members) >= min_len]
    deg = [np.degrees(np.arctan(np.polyfit(cx[m], cy[m], 1)[0])) for m in found]
    return np.array(deg, float), np.array([len(m) for m in found], float)


def agreement(angle: float, degrees: np.ndarray, letters: np.ndarray) -> float:
    """The share of the letters on lines (``line_slopes``) that slope within ``AGREE_DEG`` of ``angle``: near 1
    on a page turned as a whole, low where lines slope each their own way (a level line, one falling 12
    degrees and one rising 25 across a webcam frame: turning the page for one of them tilts the others
    past what the lines stage follows). 1 with no such lines (nothing to disagree)."""
    if not letters.sum():
        return 1.0
    return float(letters[np.abs(degrees - angle) <= AGREE_DEG].sum() / letters.sum())


ENLARGE_TO = 1.6  # x min_char: the size small writing is enlarged to
ENLARGE_PIXELS = 2_000_000  # an enlarged page has at most this many pixels (a full page reads in well under 1 s)


def enlarge(typical: float, shape: tuple[int, int], min_char: float, max_side: int, most: float = 3.0) -> float:
    """How much to enlarge a page whose characters are ``typical`` px (the longer side of a typical blob)
    when that is under ``min_char``: to ``ENLARGE_TO`` x min_char, at most ``most`` times, never past
    ``max_side`` px or ``ENLARGE_PIXELS``, and not at all for less than 1.2 times. A webcam's 15-20 px
    letters skeletonize into knots and their strokes fill; resampled smoothly to the size the stages are
    measured at, they read about as well as a sharper photo's."""
    if not (0 < typical < min_char):
        return 1.0
    h, w = shape
    k = min(ENLARGE_TO * min_char / typical, most, max_side / max(h, w, 1), np.sqrt(ENLARGE_PIXELS / max(h * w, 1)))
    return round(float(k), 3) if k >= 1.2 else 1.0


def line_skews(points: np.ndarray, max_skew: float, min_skew: float, min_strength: float,
               blobs: Blobs | None = None) -> dict[int, tuple[float, float]]:
    """Per way up (0, 90, 180, 270: text turned clockwise), the (tilt left to undo, strength) of lines running
    along x (0, 180) or along y (90, 270); a tilt under ``min_skew`` or weaker than ``min_strength`` is 0, and
    so is one that under ``MIN_AGREE`` of the letters' own lines agree with (``agreement``, with ``blobs``)."""
    out = {}
    for t, pts in ((0, points), (90, points[:, ::-1] * [1, -1])):  # (y, -x): lines along y run along x
        angle, strength = estimate_skew(pts, max_skew)
        if abs(angle) < min_skew or strength < min_strength:
            angle = 0.0
        if angle and blobs is not None and agreement(angle, *line_slopes(blobs, t == 90)) < MIN_AGREE:
            angle = 0.0
        out[t] = out[t + 180] = (angle, strength)
    return out


def _view(gray: np.ndarray, fit: PageFit, f: int, fill: float | None) -> tuple[np.ndarray, bool]:
    """What the page stage keeps so far (the sheet, its perspective undone), from ``gray`` = the work image
    reduced ``f`` times, with dark ink, and whether it was flipped for that (chalk on a blackboard)."""
    shape = tuple(max(1, int(round(s / f))) for s in fit.shape)
    view = warp(gray, _scaled(fit, 1.0 / f), shape, fill=fill, region=fit.region,
                region_scale=fit.region_scale * f if fit.region is not None else 1.0)
    dark = segment.to_gray(view, polarity="auto")
    return dark, not np.array_equal(dark, view)


def _sample_masks(img: np.ndarray, fit: PageFit, f: int, fill: float | None, blobs: Blobs, flipped: bool,
                  px: float = 24.0, zoom: float = 1.0) -> list[np.ndarray]:
    """Ink masks of the orientation sample, at least ``px`` high where the work image has the pixels: small
    writing on a big photo is a few pixels in the reduced view (thin strokes in pieces), too few to read, so
    the part of the page holding the sample is warped again at a finer scale (one warp of the writing's
    extent, not of the whole page) and its blobs found and sampled there; ``zoom``: how much the page will be
    enlarged (``enlarge``), so that the sample is read at the size the page will be."""
    picks = sample(blobs)
    fine = max(1, min(f, int(f * blobs.typical / px)))  # work pixels per sample pixel
    if zoom > 1:
        fine = min(fine, f / zoom)
    if fine >= f or not (len(picks) or blobs.chars.any()):
        return [blobs.labels[blobs.slices[i]] == i + 1 for i in picks]
    e = int(np.ceil(2 * blobs.typical))
    rows, cols = blobs.labels.shape
    if not len(picks):  # letters too small to pick in the view (a few pixels): look for them finer everywhere
        picks = np.nonzero(blobs.chars)[0]
    r0 = max(min(blobs.slices[i][0].start for i in picks) - e, 0)
    r1 = min(max(blobs.slices[i][0].stop for i in picks) + e, rows)
    c0 = max(min(blobs.slices[i][1].start for i in picks) - e, 0)
    c1 = min(max(blobs.slices[i][1].stop for i in picks) + e, cols)
    z = f / fine  # sample pixels per view pixel
    m = fit.matrix @ np.array([[fine, 0, c0 * f], [0, fine, r0 * f], [0, 0, 1]], float)
    part = warp(img, m, (int(round((r1 - r0) * z)), int(round((c1 - c0) * z))), fill=fill)
    gray = part if part.ndim == 2 else part @ segment.LUMA
    finer = find_blobs(1.0 - gray if flipped else gray)
    return [finer.labels[finer.slices[i]] == i + 1 for i in sample(finer)]


def _scaled(fit: PageFit, s: float) -> np.ndarray:
    """The fit's matrix for images ``s`` x the size on both sides."""
    d = np.diag([s, s, 1.0])
    return d @ fit.matrix @ np.linalg.inv(d)


def rectify(img: np.ndarray, fit: PageFit) -> np.ndarray:
    """The page as the later stages see it: ``img`` itself when nothing was found."""
    if fit.identity:
        return img
    return warp(img, fit.matrix, fit.shape, fit.paper, fit.region, fit.region_scale)


def draw_fit(img: np.ndarray, fit: PageFit) -> np.ndarray:
    """The input, dimmed outside what is read, with the sheet outlined in red, when the text was turned, the
    (turned) rectangle that is read in blue, and the top of the text as read (where the page was upside down
    or sideways: the orientation found) in green with an arrow pointing up the text (display only; drawn with
    Pillow, which is fast at any size)."""
    h, w = img.shape[:2]
    rgb = (np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img) * 255 + 0.5
    photo = Image.fromarray(rgb.astype(np.uint8))
    kept = fit.corners()
    keep = Image.new("L", (w, h), 0)
    ImageDraw.Draw(keep).polygon([tuple(p) for p in kept], fill=255)
    red = []
    if fit.region is not None:
        region = Image.fromarray(fit.region.astype(np.uint8) * 255).resize((w, h), Image.Resampling.NEAREST)
        keep = Image.fromarray(np.minimum(np.asarray(keep), np.asarray(region)))
        if fit.kind == "region":
            s = 1.0 / fit.region_scale
            red = [c[:, ::-1] * s for c in find_contours(np.pad(fit.region, 1).astype(float), 0.5)]
            red = [c - s for c in red]
    if fit.kind == "sheet":
        red = [np.vstack([fit.quad, fit.quad[:1]])]
    blue = [np.vstack([kept, kept[:1]])] if fit.skew or fit.turn or fit.kind == "region" else []
    green = []
    if fit.turn:  # the read page's top edge, and an arrow from its centre up the text
        mid, top = kept.mean(0), (kept[0] + kept[1]) / 2
        tip = mid + 0.6 * (top - mid)
        side = (kept[1] - kept[0]) * 0.08
        green = [kept[:2], np.array([mid, tip]), np.array([tip - side + 0.15 * (mid - tip), tip,
                                                            tip + side + 0.15 * (mid - tip)])]
    out = Image.composite(photo, photo.point(lambda v: int(0.35 * v + 51)), keep)
    draw = ImageDraw.Draw(out)
    width = max(2, int(0.004 * max(h, w)))
    for lines, color in ((red, (230, 25, 25)), (blue, (25, 75, 240)), (green, (20, 170, 60))):
        for c in lines:
            draw.line([tuple(p) for p in c], fill=color, width=width, joint="curve")
    return np.asarray(out, np.float32) * np.float32(1 / 255)


__all__ = ["PageFit", "Sheet", "draw_fit", "estimate_skew", "find_sheet", "fit_page", "ink_points", "rectify"]
