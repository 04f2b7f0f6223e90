"""Find the page in a photo before reading it: the sheet, and the direction of its text lines.

The ordinary phone photo of a page is a bright sheet on a darker desk, turned and seen at an angle. The
later stages assume paper everywhere and roughly level lines, so this stage

1. looks for the sheet (or whiteboard) at low resolution: the largest bright region, accepted only when
   it is clearly brighter than what surrounds it, bounded by a *sharp* edge (a shadow on a whiteboard is a
   gradual ramp, a sheet edge is a step) and close to a quadrilateral;
2. with all four corners inside the frame, maps that quadrilateral to an upright rectangle (perspective
   undone); with the sheet cut by the frame, keeps its region and paints the rest as paper;
3. measures the text skew on what remains (projection profiles of the ink: the profile across the lines
   is sharpest when it runs along them) and turns the lines level when they tilt more than a little.

Everything is one 3x3 matrix from output pixels to work pixels, so the page is resampled once and the
boxes found later map back to the photo. A page that fills the frame with level text passes unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from engine.ocr import segment


@dataclass
class PageFit:
    """What the page stage found and how it maps its output (x = column, y = row) back to the work image."""
    kind: str                  # "sheet": 4 corners seen, perspective undone; "region": sheet cut by the frame;
                               # "frame": no separate sheet (the page fills the photo)
    matrix: np.ndarray         # 3x3, output (x, y, 1) -> work image (x, y, 1) (homogeneous)
    shape: tuple[int, int]     # output rows, cols
    skew: float                # degrees of text tilt undone (positive: lines fall to the right)
    quad: np.ndarray | None = None     # (4, 2) x, y sheet corners in the work image (TL, TR, BR, BL)
    region: np.ndarray | None = None   # bool mask of the sheet at ``region_scale`` x the work size
    region_scale: float = 1.0
    paper: np.ndarray | None = None    # fill color for everything outside the sheet (per channel)
    skew_strength: float = 1.0         # how much sharper the best profile is than a typical one

    @property
    def identity(self) -> bool:
        return self.kind == "frame" and self.skew == 0.0

    def corners(self) -> np.ndarray:
        """The output rectangle's corners (TL, TR, BR, BL) in work-image x, y: what the stage keeps."""
        h, w = self.shape
        return apply_matrix(self.matrix, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))


# ---- geometry ---------------------------------------------------------------------------------------

def apply_matrix(m: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(n, 2) points through a 3x3 homogeneous matrix."""
    p = np.c_[xy, np.ones(len(xy))] @ m.T
    return p[:, :2] / p[:, 2:3]


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 matrix taking the 4 points ``src`` to ``dst`` (direct linear transform)."""
    rows = []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    h = np.linalg.svd(np.asarray(rows, float))[2][-1]
    return (h / h[-1]).reshape(3, 3)


def rotation(theta_deg: float, size: tuple[float, float]) -> tuple[np.ndarray, tuple[int, int]]:
    """(3x3 output -> input matrix, output rows, cols) turning a rows x cols picture so that a line at
    ``theta_deg`` (x right, y down) becomes level; the canvas grows to keep every corner."""
    h, w = size
    t = np.deg2rad(theta_deg)
    c, s = np.cos(t), np.sin(t)
    oh, ow = abs(w * s) + abs(h * c), abs(w * c) + abs(h * s)
    shift_out = np.array([[1, 0, -ow / 2], [0, 1, -oh / 2], [0, 0, 1]])
    turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    shift_in = np.array([[1, 0, w / 2], [0, 1, h / 2], [0, 0, 1]])
    return shift_in @ turn @ shift_out, (int(round(oh)), int(round(ow)))


def order_corners(q: np.ndarray) -> np.ndarray:
    """4 points (x, y) as top-left, top-right, bottom-right, bottom-left (by angle about their centre,
    starting from the corner nearest the top-left direction)."""
    c = q.mean(0)
    q = q[np.argsort(np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0]))]  # clockwise on screen (y down)
    start = int(np.argmin(q[:, 0] + q[:, 1] - (c[0] + c[1])))
    return np.roll(q, -start, axis=0)


def max_quad(points: np.ndarray) -> np.ndarray:
    """The largest-area quadrilateral with corners among the convex hull of ``points`` (x, y)."""
    from scipy.spatial import ConvexHull

    hull = points[ConvexHull(points).vertices]
    if len(hull) > 80:  # plenty for a sheet's outline; O(n^3) below
        hull = hull[np.linspace(0, len(hull), 80, endpoint=False).astype(int)]
    n = len(hull)
    if n < 4:
        return order_corners(np.vstack([hull, hull[:4 - n]]))
    x, y = hull[:, 0], hull[:, 1]
    # twice the area of triangle (i, j, k) for all triples
    tri = np.abs((x[None, :, None] - x[:, None, None]) * (y[None, None, :] - y[:, None, None])
                 - (x[None, None, :] - x[:, None, None]) * (y[None, :, None] - y[:, None, None]))
    i, j, k = np.ogrid[:n, :n, :n]
    inside = (i < j) & (j < k)
    outside = (i < k) & ((j > k) | (j < i))
    left = np.where(inside, tri, -1).max(1)
    right = np.where(outside, tri, -1).max(1)
    total = np.where((left >= 0) & (right >= 0), left + right, -1)
    a, c = np.unravel_index(int(np.argmax(total)), total.shape)
    b = int(np.argmax(np.where(inside[a, :, c], tri[a, :, c], -1)))
    d = int(np.argmax(np.where(outside[a, :, c], tri[a, :, c], -1)))
    return order_corners(hull[[a, b, c, d]].astype(float))


def fit_edges(edge: np.ndarray, quad: np.ndarray, shape: tuple[int, int], support: float = 0.4) -> np.ndarray | None:
    """Sharper corners: a straight line fitted (total least squares) to the edge points (x, y) along the
    middle of each side of the rough ``quad``, intersected with its neighbours. Edge points on the frame's
    border do not count; None when some side is seen along less than ``support`` of its length (the
    frame hides it). Corners may lie outside the frame: four edges are enough to undo the perspective."""
    h, w = shape
    x, y = edge[:, 0], edge[:, 1]
    pts = edge[(x > 1.5) & (y > 1.5) & (x < w - 1.5) & (y < h - 1.5)]
    lines = []
    for a, b in zip(quad, np.roll(quad, -1, 0)):
        length = float(np.linalg.norm(b - a))
        u = (b - a) / max(length, 1e-9)
        rel = pts - a
        along, off = rel @ u, rel @ np.array([-u[1], u[0]])
        p = pts[(along > 0.1 * length) & (along < 0.9 * length) & (np.abs(off) < max(2.0, 0.03 * length))]
        if len(p) < support * 0.8 * length:
            return None
        for _ in range(3):  # trimmed refits: a bump (a reflection, a shadow) on the edge does not pull the line
            c = p.mean(0)
            d = np.linalg.svd(p - c, full_matrices=False)[2][0]
            res = np.abs((p - c) @ np.array([-d[1], d[0]]))
            p = p[res <= max(1.0, 3 * np.median(res))]
        lines.append((c, d))
    corners = []
    for (c1, d1), (c2, d2) in zip(lines[-1:] + lines[:-1], lines):
        m = np.array([d1, -d2]).T
        if abs(np.linalg.det(m)) < 1e-6:
            return None
        t = np.linalg.solve(m, c2 - c1)[0]
        corners.append(c1 + t * d1)
    corners = np.array(corners, float)
    size = np.sqrt(polygon_area(quad))
    return corners if np.abs(corners - quad).max() < 0.15 * size else None


def polygon_area(q: np.ndarray) -> float:
    x, y = q[:, 0], q[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


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
    paper, around = float(np.median(gray[region])), float(np.median(gray[~region]))
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
    sharpness = (float(np.median(gray[ring_in])) - float(np.median(gray[ring_out]))) / max(paper - around, 1e-6)
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

def ink_points(gray: np.ndarray, max_points: int = 20000) -> np.ndarray:
    """(n, 2) x, y of ink pixels in a small gray page, from blobs of about character size: rules, edges
    and shadows (long blobs) and specks do not vote on the direction of the lines."""
    dark = segment.darkness(gray, segment.background(gray))
    mask, _ = segment.threshold(dark)
    lab, n = ndimage.label(mask, np.ones((3, 3), bool))
    if n == 0:
        return np.zeros((0, 2))
    sl = ndimage.find_objects(lab)
    size = np.array([max(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in sl])
    area = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    ok = (size < 0.2 * max(gray.shape)) & (area >= 4)
    keep = np.r_[False, ok]
    ys, xs = np.nonzero(keep[lab])
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


def estimate_skew(points: np.ndarray, max_angle: float = 30.0, bin_px: float = 2.0) -> tuple[float, float]:
    """(angle of the text lines in degrees, x right and y down, strength = best / median profile score).
    A coarse 1-degree search then a 0.1-degree refinement around the best."""
    if len(points) < 50 or max_angle <= 0:
        return 0.0, 1.0
    coarse = np.arange(-np.floor(max_angle), np.floor(max_angle) + 0.5, 1.0)
    s = profile_score(points, coarse, bin_px)
    best = float(coarse[int(np.argmax(s))])
    fine = np.arange(best - 1.0, best + 1.05, 0.1)
    sf = profile_score(points, fine, bin_px / 2)
    return float(fine[int(np.argmax(sf))]), float(s.max() / max(np.median(s), 1e-12))


# ---- the whole stage ----------------------------------------------------------------------------------------

def reduce_to(img: np.ndarray, side: int) -> tuple[np.ndarray, int]:
    """Block means so that the long side is at most ``side``: (small image, factor)."""
    f = max(1, int(np.ceil(max(img.shape[:2]) / side)))
    return (img, 1) if f == 1 else (segment.block_mean(img, f), f)


def _polygon_mask(xy: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    from PIL import Image, ImageDraw

    im = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(im).polygon([tuple(p) for p in xy], fill=1)
    return np.asarray(im, bool)


def fit_page(img: np.ndarray, sheet: str = "auto", min_contrast: float = 0.3, min_area: float = 0.1,
             max_skew: float = 30.0, min_skew: float = 2.0, min_strength: float = 1.15) -> PageFit:
    """Where the page is in a work image (float gray or RGB) and how to turn it upright."""
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
            region = _polygon_mask(q / f, sg.shape)  # turning the text may reach past the sheet: paper too
        else:  # cut by the frame: keep the sheet's bounding box, paint the rest as paper
            kind = "region"
            from skimage.morphology import convex_hull_image  # a sheet is convex: ink at the frame stays in

            region = ndimage.binary_erosion(convex_hull_image(found.region), iterations=2)
            ys, xs = np.nonzero(region)
            r0, r1, c0, c1 = ys.min() * f, min((ys.max() + 1) * f, h), xs.min() * f, min((xs.max() + 1) * f, w)
            m = np.array([[1, 0, c0], [0, 1, r0], [0, 0, 1]], float)
            shape = (r1 - r0, c1 - c0)
    fit = PageFit(kind, m, shape, 0.0, quad, region, 1.0 / f, paper)
    if max_skew > 0:
        view = warp(sg, _scaled(fit, 1.0 / f), tuple(max(1, int(round(s / f))) for s in shape),
                    fill=float(np.median(sg[found.region])) if found is not None else None,
                    region=region)
        angle, strength = estimate_skew(ink_points(view), max_skew)
        fit.skew_strength = strength
        if abs(angle) >= min_skew and strength >= min_strength:
            turn, shape = rotation(angle, fit.shape)
            fit.matrix, fit.shape, fit.skew = fit.matrix @ turn, shape, angle
    if fit.paper is None and not fit.identity:
        fit.paper = np.median(small.reshape(-1, *small.shape[2:])[::7], axis=0)
    return fit


def _scaled(fit: PageFit, s: float) -> np.ndarray:
    """The fit's matrix for images ``s`` x the size on both sides."""
    d = np.diag([s, s, 1.0])
    return d @ fit.matrix @ np.linalg.inv(d)


def _transform(a: np.ndarray, m: np.ndarray, shape: tuple[int, int], fill, nearest: bool = False) -> np.ndarray:
    """A uint8 gray or RGB image through Pillow's resampler (several times faster than scipy's
    map_coordinates, and RGB in one pass); Pillow too puts pixel centres at +0.5, as ``m`` does."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(a))
    how = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    if np.allclose(m[2], [0, 0, 1]):
        kind, coeffs = Image.Transform.AFFINE, tuple(m[:2].ravel())
    else:
        kind, coeffs = Image.Transform.PERSPECTIVE, tuple((m / m[2, 2]).ravel()[:8])
    return np.asarray(im.transform((shape[1], shape[0]), kind, coeffs, how, fillcolor=fill))


def warp(img: np.ndarray, m: np.ndarray, shape: tuple[int, int], fill=None, region: np.ndarray | None = None,
         region_scale: float = 1.0) -> np.ndarray:
    """Resample ``img`` (float gray or RGB in [0, 1]) on the output grid of ``m`` (output x, y -> input
    x, y), bilinear, at 8 bits (photos have no more; the noise is larger than 1/255); pixels from outside
    the image, or outside ``region`` (a mask at ``region_scale`` x the image's size), get ``fill``
    (default: the image's median color)."""
    if fill is None:
        fill = np.median(img[::7, ::7].reshape(-1, *img.shape[2:]), 0)
    if img.ndim == 2:
        fill = float(np.mean(fill))
    fill8 = np.round(np.clip(np.zeros(img.shape[2:]) + np.asarray(fill, float), 0, 1) * 255).astype(np.uint8)
    fill_pil = int(fill8) if img.ndim == 2 else tuple(int(v) for v in fill8)
    out = _transform((img * 255 + 0.5).astype(np.uint8), m, shape, fill_pil)  # img is in [0, 1]: rounds
    if region is not None:
        to_region = np.diag([region_scale, region_scale, 1.0]) @ m
        outside = _transform(region.astype(np.uint8), to_region, shape, 0, nearest=True) == 0
        out = out.copy()
        out[outside] = fill8
    return out.astype(np.float32) * np.float32(1 / 255)


def rectify(img: np.ndarray, fit: PageFit) -> np.ndarray:
    """The page as the later stages see it: ``img`` itself when nothing was found."""
    if fit.identity:
        return img
    return warp(img, fit.matrix, fit.shape, fit.paper, fit.region, fit.region_scale)


def draw_fit(img: np.ndarray, fit: PageFit) -> np.ndarray:
    """The input, dimmed outside what is read, with the sheet outlined in red and, when the text was turned,
    the (turned) rectangle that is read in blue (display only; drawn with Pillow, which is fast at any size)."""
    from PIL import Image, ImageDraw
    from skimage.measure import find_contours

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
    blue = [np.vstack([kept, kept[:1]])] if fit.skew or fit.kind == "region" else []
    out = Image.composite(photo, photo.point(lambda v: int(0.35 * v + 51)), keep)
    draw = ImageDraw.Draw(out)
    width = max(2, int(0.004 * max(h, w)))
    for lines, color in ((red, (230, 25, 25)), (blue, (25, 75, 240))):
        for c in lines:
            draw.line([tuple(p) for p in c], fill=color, width=width, joint="curve")
    return np.asarray(out, np.float32) * np.float32(1 / 255)


__all__ = ["PageFit", "Sheet", "apply_matrix", "draw_fit", "estimate_skew", "find_sheet", "fit_page", "rectify",
           "rotation", "warp"]
