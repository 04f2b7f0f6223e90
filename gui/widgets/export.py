"""Every plot exports to PNG and CSV: a right-click on any plot (or heatmap) offers "Export plot as
PNG..." and "Export data as CSV...". ``install(widget)`` adds the two actions to every pyqtgraph view
inside a panel, so panels need no code of their own; a panel may give a plot better columns by setting
``plot.export_columns = lambda: {"name": values, ...}`` (e.g. the raw matrix behind a heatmap).

CSV is written by ``engine.training.runlog.save_csv`` (one column per series, a header row; shorter series end
early), PNG is the plot as drawn on screen.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QFileDialog, QWidget
from pyqtgraph.exporters import ImageExporter

from engine.files import atomic_write
from engine.training.runlog import save_csv

_last_dir = [str(Path.home())]


def _plain(text: str) -> str:
    text = re.sub(r"<[^>]+>", " ", text or "")
    text = re.sub(r"&nbsp;|&[a-z]+;", " ", text)
    return " ".join(text.split())


def plot_title(item) -> str:
    label = getattr(item, "titleLabel", None)
    return _plain(label.text) if label is not None and label.isVisible() else ""


def columns(item) -> dict[str, list]:
    """The data behind a plot: x and y of each curve (as set, before log scaling or decimation), bar
    heights, or an image's rows; or whatever ``item.export_columns()`` returns."""
    custom = getattr(item, "export_columns", None) or getattr(item, "_export_columns", None)
    if callable(custom):
        return custom()
    cols: dict[str, list] = {}

    def put(name: str, values) -> None:
        base, k = name, 2
        while name in cols:
            name = f"{base} ({k})"
            k += 1
        cols[name] = [float(v) if np.issubdtype(type(v), np.floating) or isinstance(v, float) else v
                      for v in np.asarray(values).tolist()]

    if isinstance(item, pg.PlotItem):
        for i, it in enumerate(item.listDataItems()):
            x, y = getattr(it, "xData", None), getattr(it, "yData", None)
            if y is None or not it.isVisible() or len(y) == 0:
                continue
            name = it.name() or f"series {i + 1}"
            put(f"{name} x", x if x is not None else np.arange(len(y)))
            put(f"{name} y", y)
        vb = item.vb
    else:
        vb = item
    for child in vb.addedItems:
        if isinstance(child, pg.BarGraphItem):
            put("bar x", child.opts.get("x", []))
            put("bar height", child.opts.get("height", []))
        elif isinstance(child, pg.ImageItem) and child.image is not None:
            img = np.asarray(child.image)
            if img.ndim == 2:
                for c in range(img.shape[1]):
                    put(f"column {c}", img[:, c])
    return cols


def export_csv(item, path) -> Path:
    cols = columns(item)
    if not cols:
        raise ValueError("this plot has no data yet")
    save_csv(path, cols)
    return Path(path)


def save_png(image, path) -> Path:
    """A QPixmap or QImage as a PNG file, written through engine.files.atomic_write (complete or absent)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if image.isNull() or not image.save(buffer, "PNG"):
        raise OSError(f"could not encode {path} as PNG")
    with atomic_write(path) as f:
        f.write(bytes(data))
    return Path(path)


def export_png(item, path) -> Path:
    """The plot as it is drawn (axes and title included)."""
    if isinstance(item, QWidget):  # a painted view (install_widget)
        return save_png(item.grab(), path)
    scene = item.scene()
    if scene is None or not scene.views():
        raise ValueError("this plot is not on screen")
    view = scene.views()[0]
    rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect().intersected(view.viewport().rect())
    pixmap = view.grab(rect)
    if pixmap.isNull() or pixmap.width() < 2:
        return save_png(ImageExporter(item).export(toBytes=True), path)
    return save_png(pixmap, path)


def _ask(parent: QWidget, title: str, name: str, suffix: str, what: str) -> str:
    start = str(Path(_last_dir[0]) / f"{name}.{suffix}")
    path, _ = QFileDialog.getSaveFileName(parent, title, start, f"{what} (*.{suffix});;All files (*)")
    if path and not path.lower().endswith(f".{suffix}"):
        path += f".{suffix}"
    if path:
        _last_dir[0] = str(Path(path).parent)
    return path


def _safe_name(*parts: str) -> str:
    name = " - ".join(p for p in parts if p)
    return re.sub(r"[^\w .()-]+", "_", name).strip() or "plot"


def install(widget: QWidget, name: str = "", report: Callable[[str], None] | None = None) -> int:
    """Add the export actions to every plot and image view inside ``widget``; returns how many views
    got them (already equipped ones are skipped, so calling it again after adding plots is fine).
    ``report`` receives "wrote PATH" or the error, for the status bar."""
    count = 0
    for gv in widget.findChildren(pg.GraphicsView):
        for vb in [i for i in gv.scene().items() if isinstance(i, pg.ViewBox)]:
            if getattr(vb, "_export_installed", False):
                continue
            target = vb.parentItem() if isinstance(vb.parentItem(), pg.PlotItem) else vb
            if vb.menu is None:  # a plain image view: a menu with only the export actions
                vb.setMenuEnabled(True)
                for action in vb.menu.actions():
                    action.setVisible(False)
            vb.menu.addSeparator()

            def run(kind, target=target):
                title = _safe_name(name, plot_title(target))
                try:
                    if kind == "png":
                        path = _ask(gv, "Export plot as PNG", title, "png", "PNG images")
                        done = export_png(target, path) if path else None
                    else:
                        path = _ask(gv, "Export plot data as CSV", title, "csv", "CSV files")
                        done = export_csv(target, path) if path else None
                    if done and report:
                        report(f"wrote {done}")
                except (OSError, ValueError) as exc:
                    if report:
                        report(f"\u26a0 export failed: {exc}")

            png = vb.menu.addAction("Export plot as PNG\u2026", lambda run=run: run("png"))
            png.setToolTip("Save this plot as it is drawn, as a PNG image")
            csv = vb.menu.addAction("Export data as CSV\u2026", lambda run=run: run("csv"))
            csv.setToolTip("Save the numbers behind this plot as CSV (one column per series)")
            vb._export_installed = True
            vb._export_target = target
            count += 1
    return count


def install_widget(widget: QWidget, name: str, columns_of: Callable[[], dict],
                   report: Callable[[str], None] | None = None) -> None:
    """The same two actions on the right-click menu of a plain (painted) QWidget view, e.g. a matrix;
    ``columns_of()`` gives its CSV columns."""
    widget._export_columns = columns_of
    widget._export_installed = True
    widget.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def run(kind):
        try:
            path = _ask(widget, f"Export {name}", _safe_name(name), kind, "PNG images" if kind == "png" else "CSV files")
            done = (export_png(widget, path) if kind == "png" else export_csv(widget, path)) if path else None
            if done and report:
                report(f"wrote {done}")
        except (OSError, ValueError) as exc:
            if report:
                report(f"\u26a0 export failed: {exc}")

    for text, kind, tip in (("Export plot as PNG\u2026", "png", "Save this view as a PNG image"),
                            ("Export data as CSV\u2026", "csv", "Save the numbers behind this view as CSV")):
        action = QAction(text, widget)
        action.setToolTip(tip)
        action.triggered.connect(lambda _=False, kind=kind: run(kind))
        widget.addAction(action)


def matrix_columns(matrix, labels, prefix: str = "predicted ") -> dict[str, list]:
    """A count matrix as CSV columns, one per column label ("predicted A", ...); row i is label i (numbers
    only, so ``engine.training.runlog.load_csv`` reads it back)."""
    if matrix is None:
        return {}
    m = np.asarray(matrix)
    return {f"{prefix}{label}": [int(v) if float(v).is_integer() else float(v) for v in m[:, j]]
            for j, label in enumerate(labels)}


def targets(widget: QWidget) -> list:
    """The exportable plots inside ``widget`` (after ``install``), in scene order."""
    out = [w for w in widget.findChildren(QWidget) if getattr(w, "_export_installed", False)
           and not isinstance(w, pg.GraphicsView)]
    for gv in widget.findChildren(pg.GraphicsView):
        for vb in [i for i in gv.scene().items() if isinstance(i, pg.ViewBox)]:
            t = getattr(vb, "_export_target", None)
            if t is not None and t not in out:
                out.append(t)
    return out


def menu_texts(target) -> list[str]:
    """The context-menu entries of an exportable plot (for tests)."""
    if isinstance(target, QWidget):
        return [a.text() for a in target.actions()]
    vb = target.vb if isinstance(target, pg.PlotItem) else target
    return [a.text() for a in vb.menu.actions() if a.isVisible()] if vb.menu is not None else []
