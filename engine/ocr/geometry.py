"""Plane geometry and resampling for the page stage: homographies, turns, the largest quadrilateral on a
region's outline, straight edges fitted to it, and one fast bilinear warp (Pillow) of a float image.

Points are (x, y) = (column, row) with pixel centres at +0.5; a 3x3 matrix maps output pixels to input
pixels, as Pillow's transform expects.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy.spatial import ConvexHull


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


def polygon_mask(xy: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    im = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(im).polygon([tuple(p) for p in xy], fill=1)
    return np.asarray(im, bool)


def _transform(a: np.ndarray, m: np.ndarray, shape: tuple[int, int], fill, nearest: bool = False) -> np.ndarray:
    """A uint8 gray or RGB image through Pillow's resampler (several times faster than scipy's
    map_coordinates, and RGB in one pass); Pillow too puts pixel centres at +0.5, as ``m`` does."""
    im = Image.fromarray(np.ascontiguousarray(a))
    how = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    if np.allclose(m[2], [0, 0, 1]):
        kind, coeffs = Image.Transform.AFFINE, tuple(m[:2].ravel())
    else:
        kind, coeffs = Image.Transform.PERSPECTIVE, tuple((m / m[2, 2]).ravel()[:8])
    return np.asarray(im.transform((shape[1], shape[0]), kind, coeffs, how, fillcolor=fill))


def right_angle(m: np.ndarray, shape: tuple[int, int], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, cols) of the input pixel under each output pixel when ``m`` only turns by right angles or flips
    and shifts by whole pixels, all within an input of ``size`` (rows, cols); else None."""
    a = m[:2, :2]
    if not (np.allclose(m[2], [0, 0, 1]) and np.allclose(np.abs(a).sum(0), 1) and np.allclose(np.abs(a).sum(1), 1)
            and np.allclose(a, np.round(a))):
        return None
    h, w = shape
    corners = apply_matrix(m, np.array([[0.5, 0.5], [w - 0.5, 0.5], [0.5, h - 0.5]])) - 0.5  # pixel centres
    if not np.allclose(corners, np.round(corners), atol=1e-6):
        return None
    (x0, y0), (xa, ya), (xb, yb) = np.round(corners).astype(int)
    if min(x0, xa, xb) < 0 or min(y0, ya, yb) < 0 or max(x0, xa, xb) >= size[1] or max(y0, ya, yb) >= size[0]:
        return None
    col, row = np.arange(w), np.arange(h)[:, None]
    dx = (np.sign(xa - x0), np.sign(xb - x0))
    dy = (np.sign(ya - y0), np.sign(yb - y0))
    return y0 + dy[0] * col + dy[1] * row, x0 + dx[0] * col + dx[1] * row


def warp(img: np.ndarray, m: np.ndarray, shape: tuple[int, int], fill=None, region: np.ndarray | None = None,
         region_scale: float = 1.0) -> np.ndarray:
    """Resample ``img`` (float gray or RGB in [0, 1]) on the output grid of ``m`` (output x, y -> input
    x, y), bilinear, at 8 bits (photos have no more; the noise is larger than 1/255); pixels from outside
    the image, or outside ``region`` (a mask at ``region_scale`` x the image's size), get ``fill``
    (default: the image's median color). A page only turned by right angles is moved pixel for pixel
    (``right_angle``): it then reads exactly as it does upright."""
    exact = right_angle(m, shape, img.shape[:2]) if region is None else None
    if exact is not None:
        return np.ascontiguousarray(img[exact[0], exact[1]])
    if fill is None:
        fill = np.median(img[::7, ::7].reshape(-1, *img.shape[2:]), 0)
    if img.ndim == 2:
        fill = float(np.mean(fill))
    fill8 = np.round(np.clip(np.zeros(img.shape[2:]) + np.asarray(fill, float), 0, 1) * 255).astype(np.uint8)
    fill_pil = int(fill8) if img.ndim == 2 else tuple(int(v) for v in fill8)
    h, w = shape  # only the part of the input the output sees is converted to 8 bits
    xy = apply_matrix(m, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))
    x0, y0 = (int(np.clip(np.floor(v) - 2, 0, n)) for v, n in zip(xy.min(0), img.shape[1::-1]))
    x1, y1 = (int(np.clip(np.ceil(v) + 2, 0, n)) for v, n in zip(xy.max(0), img.shape[1::-1]))
    if x1 - x0 < 1 or y1 - y0 < 1:
        x0, y0, x1, y1 = 0, 0, 1, 1
    part = img[y0:y1, x0:x1]
    moved = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float) @ m
    out = _transform((part * 255 + 0.5).astype(np.uint8), moved, shape, fill_pil)  # img is in [0, 1]: rounds
    if region is not None:
        to_region = np.diag([region_scale, region_scale, 1.0]) @ m
        outside = _transform(region.astype(np.uint8), to_region, shape, 0, nearest=True) == 0
        out = out.copy()
        out[outside] = fill8
    return out.astype(np.float32) * np.float32(1 / 255)


__all__ = ["apply_matrix", "fit_edges", "homography", "max_quad", "order_corners", "polygon_area", "polygon_mask",
           "right_angle", "rotation", "warp"]
