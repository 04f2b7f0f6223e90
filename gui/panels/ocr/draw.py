"""Drawing the OCR tab from the last ``OcrView`` (a mixin of ``OcrPanel``): the stage list with timings,
the boxes of the stage shown (the result's, colored by confidence; or the segmentation stages' own;
or the tiles of the crops mosaic), the legend, the selection, the box close-up, the text and the hover line.
"""
from __future__ import annotations

import html
import math

from PyQt6.QtCore import Qt

from engine.ocr.evaluate import char_accuracy
from engine.words import count
from gui.panels.ocr import files
from gui.panels.ocr.side import SMALL
from gui.panels.ocr.view import HINT, NEUTRAL, SELECTED, confidence_color, legend_html, swatch
from gui.widgets import theme
from gui.widgets.theme import layer_color, span

SEGMENT_STAGES = ("components", "characters", "lines", "assemble")  # boxes of their own, before the network
BEFORE_PAGE = ("load", "page")  # pictures of the photo itself, not of the page the page stage cut out
HINT_GRAY = theme.ROW_CAPTION                            # row captions
DROPPED = theme.DROPPED                                  # blobs the characters stage dropped
PITCH, PER_ROW = 34, 16                                  # the "crops" mosaic: box k is tile k


class OcrDrawing:
    """Redraws parts of an ``OcrPanel``; ``drawn_index[k]`` maps drawn box k to a result box (None: stage boxes)."""

    def _draw_stage_list(self) -> None:
        v = self.view
        if v.ran:  # a view that only switched stages keeps showing what the last computation did
            self.last_ran = (v.ran, v.seconds)
        ran_set, seconds = getattr(self, "last_ran", ([], 0.0))
        for i, s in enumerate(self.stages):
            item = self.tree.topLevelItem(i)
            sec = v.timings.get(s.name)
            item.setText(1, "" if sec is None else f"{1000 * sec:.1f}")
            font = item.font(1)
            font.setBold(s.name in ran_set)
            item.setFont(1, font)
            item.setForeground(1, Qt.GlobalColor.black if s.name in ran_set else Qt.GlobalColor.gray)
        ran = [s.name for s in self.stages if s.name in ran_set]
        total = 1000 * sum(v.timings.values())
        self.rerun_label.setText(
            f"last change re-ran {ran[0]} \u2192 {ran[-1]} ({len(ran)} of {len(self.stages)} stages, bold) in "
            f"{1000 * seconds:.0f} ms; the rest came from the cache" if 0 < len(ran) < len(self.stages) else
            f"all {len(self.stages)} stages ran: {total:.0f} ms")
        shown = {k: val for k, val in v.info.items() if not (v.stage == "context" and k in ("raw", "context"))}
        info = " \u00b7 ".join(f"{k.replace('_', ' ')} <b>{val}</b>" for k, val in shown.items())
        text = f"output: {info}" if info else ""
        if v.stage == "context" and "raw" in v.info:
            text += readings_html(str(v.info["raw"]).split(" | "), str(v.info.get("context", "")).split(" | "))
        self.info_label.setText(text)

    def _box_rects(self):
        """(rects, colors, labels, widths, result index of each drawn box) for the stage shown."""
        v, r, low = self.view, self.result, self.low.value()
        if self.stage in SEGMENT_STAGES:
            rects = [b.rect for b in v.boxes]
            if self.stage == "lines":
                colors = [layer_color(b.line) for b in v.boxes]
            else:
                colors = [NEUTRAL] * len(rects)
            width = 1.0 if self.stage == "components" else 2.0
            dropped = [_at_least(r, 0.12 * float(v.info.get("typical_height") or 0)) for r in v.dropped] \
                if self.stage == "characters" else []
            return (rects + dropped, colors + [DROPPED] * len(dropped), None,
                    [width] * len(rects) + [1.0] * len(dropped), None)
        if self.stage == "crops":
            by_rect = {b.rect: i for i, b in enumerate(r.boxes)} if r else {}
            rects, colors, labels, index = [], [], [], []
            for k, b in enumerate(v.boxes):
                row, col = divmod(k, PER_ROW)
                rects.append((row * PITCH, col * PITCH, row * PITCH + PITCH, col * PITCH + PITCH))
                i = by_rect.get(b.rect)
                index.append(i)
                rb = r.boxes[i] if i is not None else None
                colors.append(confidence_color(rb.confidence, low, corrected=bool(rb.corrected)) if rb else NEUTRAL)
                labels.append(rb.char if rb else "")
            return rects, colors, labels, None, index
        boxes = r.boxes if r else []
        if self.stage in BEFORE_PAGE and r is not None and r.transform is not None:
            boxes = []  # the photo as taken: the boxes are on the page cut out of it (shown from "denoise" on)
        return ([b.rect for b in boxes], [confidence_color(b.confidence, low, corrected=bool(b.corrected))
                                          for b in boxes], [b.char for b in boxes], None, list(range(len(boxes))))

    def _draw_boxes(self) -> None:
        if self.view is None:
            return
        rects, colors, labels, widths, index = self._box_rects()
        self.drawn_index = index  # drawn box k -> result box (None on the segmentation stages)
        self.page.inside_labels = self.stage == "crops"
        self.page.set_legend(self._legend())
        self.page.show_boxes(rects, colors, labels, widths, visible=self.show_boxes.isChecked())
        self._draw_selection()

    def _legend(self) -> str:
        n = len(self.view.boxes) if self.view else 0
        if self.stage == "components":
            return swatch(NEUTRAL, f"{n} connected ink blobs (8-connectivity)") + swatch(SELECTED, "selected character")
        if self.stage == "characters":
            return (swatch(NEUTRAL, f"{n} characters (fragments merged)")
                    + swatch(DROPPED, f"{len(self.view.dropped)} dropped (specks, rules, noise)")
                    + swatch(SELECTED, "selected"))
        if self.stage == "lines":
            lines = len({b.line for b in self.view.boxes}) if self.view else 0
            return "".join(swatch(layer_color(k), f"line {k + 1}") for k in range(min(lines, 6))) \
                + ("\u2026 " if lines > 6 else "") + swatch(SELECTED, "selected")
        return legend_html(self.low.value()) + (span("tile k = box k, in reading order", theme.FAINT)
                                                if self.stage == "crops" else "")

    def _draw_selection(self) -> None:
        if self.drawn_index is None:  # segmentation stages: outline the result's boxes at their places
            marks = [self.result.boxes[i].rect for i in self.selected] if self.result else []
        else:
            marks = [self.page.rects[k] for k, i in enumerate(self.drawn_index) if i in self.selected]
        self.page.select(marks)

    def _draw_detail(self) -> None:
        r = self.result
        one = r is not None and len(self.selected) == 1
        box = r.boxes[self.selected[0]] if one else None
        crop = files.crop(self.view.page, box) if box is not None and self.view is not None else None
        self.detail.show_box(box, crop, len(self.selected), self.selected[0] if one else -1, self.low.value())

    def _draw_text(self) -> None:
        r = self.result
        acc = char_accuracy(r.lines, self.truth) if r is not None and self.truth is not None else None
        self.text.show_result(r, self.low.value(), self.selected, self.truth, acc,
                              note=self.view.error if self.view else "")
        if r is not None:
            low = sum(b.confidence < self.low.value() for b in r.boxes)
            self.text_title.setText(f"<b>Text</b> <span style='{SMALL}'>{count(len(r.boxes), 'character')} in "
                                    f"{count(len(r.lines), 'line')} \u00b7 {low} below the limit"
                                    + (f" \u00b7 {count(len(r.corrections), 'correction')}" if r.corrections else "")
                                    + "</span>")

    def _low_changed(self, value: float) -> None:
        if self.view is not None:
            self._draw_boxes()
            self._draw_detail()
            self._draw_text()

    def _hovered(self, x: float, y: float) -> None:
        self.hover_at = None if math.isnan(x) else (x, y)  # described again when the boxes change under it
        if math.isnan(x) or self.view is None:
            self.page.show_hover(None)
            self.hover_label.setText(HINT)
            return
        parts = []
        if self.drawn_index is None:
            k = self.page.index_at(x, y)
            if k is not None and k >= len(self.view.boxes):
                r0, c0, r1, c1 = self.page.rects[k]
                parts.append(f"dropped: {c1 - c0}\u00d7{r1 - r0} px")
            elif k is not None:
                b = self.view.boxes[k]
                parts.append(f"{self.stage[:-1]} {k + 1}: {b.width}\u00d7{b.height} px"
                             + (f", line {b.line + 1}" if self.stage == "lines" else ""))
        i = self._result_index_at(x, y)
        self.page.show_hover(self.drawn_index.index(i) if i is not None and self.drawn_index is not None
                             and i in self.drawn_index else self.page.index_at(x, y))
        if i is not None:
            b = self.result.boxes[i]
            alts = ", ".join(f"{c} {p:.0%}" for c, p in [(c, p) for c, p in b.top5 if c != b.char][:2])
            parts.append(f"\u201c{b.char}\u201d {b.confidence:.0%}" + (f" (then {alts})" if alts else "")
                         + (f", corrected from {b.corrected}" if b.corrected else ""))
        where = f"({x:.0f}, {y:.0f})" if self.stage != "crops" else ""
        self.hover_label.setText(" \u00b7 ".join([where] + parts) if where or parts else "")


def readings_html(raw: list[str], read: list[str]) -> str:
    """The network's reading over the contextual one, line by line; the characters context changed in bold."""
    rows = []
    for k, (a, b) in enumerate(zip(raw, read)):
        marked = "".join(f"<b style='color:{theme.DIFFERS}'>{html.escape(c)}</b>" if i >= len(a) or a[i] != c
                         else html.escape(c) for i, c in enumerate(b))
        for name, line in (("network", html.escape(a)), ("context", marked)):
            rows.append(f"<tr><td style='color:{HINT_GRAY}'>{name}</td>"
                        f"<td style='font: 12px monospace'>{line}</td></tr>")
        if k + 1 < len(raw):
            rows.append("<tr><td colspan=2 style='font-size:4px'>&nbsp;</td></tr>")
    return f"<table cellspacing=0 cellpadding=1 style='margin-top:4px'>{''.join(rows)}</table>"


def _at_least(rect, side: float) -> tuple:
    """A rect grown about its centre to at least ``side`` px (a dropped speck is a dot, its box must show)."""
    r0, c0, r1, c1 = rect
    dr, dc = max(0.0, side - (r1 - r0)) / 2, max(0.0, side - (c1 - c0)) / 2
    return r0 - dr, c0 - dc, r1 + dr, c1 + dc


__all__ = ["BEFORE_PAGE", "OcrDrawing", "PER_ROW", "PITCH", "SEGMENT_STAGES", "readings_html"]
