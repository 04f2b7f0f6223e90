"""Pictures for the HTML report without a plotting library: inline SVG line charts and PNG data
URIs (a ten-line PNG encoder, so the report needs nothing beyond NumPy). Colours are CSS classes
and variables, so the page's light and dark themes restyle the charts too.
"""
from __future__ import annotations

import base64
import math
import struct
import zlib
from html import escape

import numpy as np

from engine.report import palette
from engine.report.style import SERIES

W, H = 560, 260  # chart size in SVG units (it scales with the page)
PAD_L, PAD_R, PAD_T, PAD_B = 64, 14, 12, 40
MAX_POINTS = 600  # longer series are drawn as per-bucket mean (the band shows min..max)


# ---- PNG ----------------------------------------------------------------------------------------

def png_bytes(pixels: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """An (h, w, 3) RGB or (h, w) gray uint8 array as a PNG file; with a (n, 3) palette the (h, w)
    array holds palette indices (a third of the RGB size for the weight tiles)."""
    a = np.asarray(pixels, np.uint8)
    color = 2 if a.ndim == 3 else 3 if palette is not None else 0
    h, w = a.shape[:2]
    raw = b"".join(b"\x00" + a[r].tobytes() for r in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    plte = chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes()) if color == 3 else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)) + plte
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def data_uri(pixels: np.ndarray, palette: np.ndarray | None = None) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels, palette)).decode("ascii")


LEVELS = 255  # palette entries for values; index 255 is NaN (the gaps between tiles)


def diverging_palette(stops: tuple[str, ...] = palette.WEIGHT_STOPS) -> np.ndarray:
    """(256, 3): ``stops`` (negative .. zero .. positive, evenly spaced) interpolated, then mid grey for NaN.
    The default is the window's weight colormap (engine/report/palette.py)."""
    rgb = np.array([palette.rgb(c) for c in stops], float)
    at, t = np.linspace(0, 1, len(stops)), np.linspace(0, 1, LEVELS)
    table = np.stack([np.interp(t, at, rgb[:, k]) for k in range(3)], axis=1)
    return np.round(np.vstack([table, [[128, 128, 128]]])).astype(np.uint8)


def evidence_palette() -> np.ndarray:
    """``diverging_palette`` for a saliency map: against the class, white, for it (the window's Explain colours)."""
    return diverging_palette((palette.EVIDENCE_AGAINST, "#ffffff", palette.EVIDENCE_FOR))


def diverging_index(values: np.ndarray, limit: float) -> np.ndarray:
    """Palette indices of ``diverging_palette`` for values in [-limit, limit] (NaN -> 255)."""
    t = np.clip(np.nan_to_num(values / max(limit, 1e-12)), -1, 1)
    idx = np.round((t + 1) / 2 * (LEVELS - 1)).astype(np.uint8)
    idx[np.isnan(values)] = LEVELS
    return idx


def strip(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """(k, h, w) uint8 images side by side on a white background."""
    k, h, w = images.shape
    out = np.full((h, k * (w + gap) - gap), 255, np.uint8)
    for i, img in enumerate(images):
        out[:, i * (w + gap):i * (w + gap) + w] = img
    return out


# ---- line charts --------------------------------------------------------------------------------

def _nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    if not hi > lo:
        return [lo]
    raw = max((hi - lo) / n, 1.0) if integer else (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    if v and (abs(v) < 1e-2 or abs(v) >= 1e4):
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:.3g}"


def _buckets(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Downsample to MAX_POINTS bucket means with min/max (None when short enough)."""
    if len(y) <= MAX_POINTS:
        return x, y, None, None
    edges = np.linspace(0, len(y), MAX_POINTS + 1).astype(int)
    parts = [(x[a:b].mean(), y[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    xs = np.array([p[0] for p in parts])
    with np.errstate(all="ignore"):
        return (xs, np.array([np.nanmean(p[1]) if np.isfinite(p[1]).any() else np.nan for p in parts]),
                np.array([np.nanmin(p[1]) if np.isfinite(p[1]).any() else np.nan for p in parts]),
                np.array([np.nanmax(p[1]) if np.isfinite(p[1]).any() else np.nan for p in parts]))


def line_chart(series: list[tuple[str, np.ndarray, np.ndarray]], x_label: str, y_label: str,
               log_y: bool = False, title: str = "", faint: tuple[int, ...] = (),
               colors: tuple[str, ...] | None = None) -> str:
    """An inline SVG of (name, x, y) series; series k is drawn in CSS class ``colors[k]`` (a colour of
    engine/report/style.py: "train", "valid", "batch", "r3" ...; default ``s{k % SERIES}``, layer k's), thin
    and translucent if k is in ``faint`` (a noisy per-batch curve under the per-epoch ones)."""
    colors = colors or tuple(f"s{k % SERIES}" for k in range(len(series)))
    clean = []
    for name, x, y in series:
        x, y = np.asarray(x, float), np.asarray(y, float)
        if log_y:
            y = np.where(y > 0, y, np.nan)
            y = np.log10(y)
        clean.append((name, x, y))
    finite = [v for _, _, y in clean for v in y[np.isfinite(y)]]
    xs = [v for _, x, _ in clean for v in x]
    if not finite or not xs:
        return f'<p class="missing">No finite values to plot for {escape(title or y_label)}.</p>'
    y0, y1 = min(finite), max(finite)
    if log_y:
        y0, y1 = math.floor(y0), max(math.ceil(y1), math.floor(y0) + 1)
    elif y1 - y0 < 1e-12:
        y0, y1 = y0 - 0.5, y1 + 0.5
    else:
        margin = 0.04 * (y1 - y0)
        y0, y1 = y0 - margin, y1 + margin
    x0, x1 = min(xs), max(xs)
    x1 = x1 if x1 > x0 else x0 + 1
    sx = lambda v: PAD_L + (v - x0) / (x1 - x0) * (W - PAD_L - PAD_R)
    sy = lambda v: H - PAD_B - (v - y0) / (y1 - y0) * (H - PAD_T - PAD_B)
    out = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title or y_label)}">']
    if log_y:  # decades, plus 2 and 5 when there are few of them
        subs = (1, 2, 5) if y1 - y0 <= 2 else (1,)
        yticks = [d + math.log10(m) for d in range(int(y0), int(y1) + 1) for m in subs if d + math.log10(m) <= y1]
    else:
        yticks = _nice_ticks(y0, y1)
    for t in yticks:
        label = _fmt(10 ** t) if log_y else _fmt(t)
        out.append(f'<line class="grid" x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(t):.1f}" y2="{sy(t):.1f}"/>'
                   f'<text class="tick" x="{PAD_L - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{label}</text>')
    for t in _nice_ticks(x0, x1, 6, integer=all(float(v).is_integer() for v in xs)):
        out.append(f'<text class="tick" x="{sx(t):.1f}" y="{H - PAD_B + 17}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<line class="axis" x1="{PAD_L}" x2="{W - PAD_R}" y1="{H - PAD_B}" y2="{H - PAD_B}"/>'
               f'<line class="axis" x1="{PAD_L}" x2="{PAD_L}" y1="{PAD_T}" y2="{H - PAD_B}"/>'
               f'<text class="label" x="{(W + PAD_L) / 2}" y="{H - 4}" text-anchor="middle">{escape(x_label)}</text>'
               f'<text class="label" transform="translate(14 {(H - PAD_B + PAD_T) / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    for k, (name, x, y) in enumerate(clean):
        x, y, lo, hi = _buckets(x, y)
        if lo is not None:
            ok = np.isfinite(lo) & np.isfinite(hi)
            band = [f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x[ok], hi[ok])]
            band += [f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x[ok][::-1], lo[ok][::-1])]
            out.append(f'<polygon class="band {colors[k]}" points="{" ".join(band)}"/>')
        for run in _finite_runs(y):
            pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x[run], y[run]))
            style = colors[k] + (" faint" if k in faint else "")
            out.append(f'<polyline class="line {style}" points="{pts}"/>' if len(run) > 1 else
                       f'<circle class="dot {style}" cx="{sx(x[run[0]]):.1f}" cy="{sy(y[run[0]]):.1f}" r="3"/>')
    out.append("</svg>")
    legend = "".join(f'<span class="key"><i class="swatch {colors[k]}"></i>{escape(n)}</span>'
                     for k, (n, _, _) in enumerate(clean))
    return f'<figure class="plot">{"".join(out)}<figcaption>{legend}</figcaption></figure>'


def _finite_runs(y: np.ndarray) -> list[np.ndarray]:
    """Index runs of consecutive finite values (a NaN breaks the line instead of bridging it)."""
    idx = np.flatnonzero(np.isfinite(y))
    if not len(idx):
        return []
    return np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
