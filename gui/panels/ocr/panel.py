"""The OCR tab: step through the pipeline of ``engine.ocr`` stage by stage, tune each stage live, and
inspect and correct every character box.

Left: the stages (Prev/Next, PageUp/PageDown) with their timings, the current stage's parameters.
Middle: the stage's image with the boxes (colored by confidence), and the recognized text under it.
Right: the selected box up close (crop, 32x32 network input, top-5) with correct / delete / merge.
Keys on the tab: PageUp/PageDown stages, Delete, M merge, D draw a box, F2 correct, B boxes, F fit, Esc.

The pipeline runs as a job on the worker's scheduler (gui/worker/runners/ocr.py; the window's worker, or
a worker of the tab's own when it stands alone); a parameter change re-runs that stage and the later ones
only, and replaces the result, so manual corrections are offered for export first. Parts (this folder): layout.py
(widgets, keys), draw.py (drawing), view.py (page view), side.py (parameters, box close-up, text),
files.py (open, samples, exports); the job is gui/worker/runners/ocr.py, the correction loop correction.py.
"""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QSettings, Qt, pyqtSignal

from engine.errors import InputError
from engine.file_words import IMAGE, reading
from engine.images import check as check_image
from engine.ocr import OcrPipeline, OcrResult, edit
from engine.words import count
from gui.panels.ocr import files
from gui.panels.ocr.draw import BEFORE_PAGE, OcrDrawing
from gui.panels.ocr.layout import OcrLayout
from gui.widgets.panel import Panel
from gui.worker.runners.ocr import OcrRunner, OcrView
from gui.worker.standalone import own_worker


class OcrPanel(OcrLayout, OcrDrawing, Panel):
    """OCR: step through the stages of reading a page, tune them live, inspect and correct each character."""

    title = "OCR"
    box_selected = pyqtSignal(object, object)  # (upright 32x32 network input, Classifier) of one selected box
    autoload = True  # the first sample page opens when the tab is first shown and nothing else was opened

    def __init__(self, parent=None, model=None, settings: QSettings | None = None):
        super().__init__(parent)
        self.settings = settings
        self.model = model
        self.stages = OcrPipeline().stages  # names, docs, parameter ranges (nothing runs here)
        self.defaults = {s.name: s.values() for s in self.stages}
        self.runner: OcrRunner | None = None
        self.own_worker = None  # a worker of its own when the tab stands alone (tests)
        self.view: OcrView | None = None
        self.result: OcrResult | None = None
        self.stage_index = 0
        self.selected: list[int] = []
        self.truth: list[str] | None = None
        self.source = ""
        self.requested = False
        self.busy = False
        self.submitted = 0  # serial of the last job given to the thread
        self.last_error = ""
        self.error_box = None
        self.drawn_index: list | None = None
        self.hover_at: tuple[float, float] | None = None  # the mouse over the page, in image pixels
        self.setAcceptDrops(True)
        self._build()
        self._shortcuts()
        self.go_stage(len(self.stages) - 1)  # the answer first; step back through how it was reached

    # ---- the job on the worker ------------------------------------------------------------------

    def _runner(self) -> OcrRunner:
        if self.runner is None:
            worker = self.worker
            if worker is None:
                worker = self.own_worker = own_worker(self, "ocr")
            self.runner = r = OcrRunner(worker, self.model, self.stages[self.stage_index].name)
            r.view.connect(self._on_view)
            r.failed.connect(self._on_failed)
            r.busy.connect(self._on_busy)
            r.progress.connect(self._on_progress)
        return self.runner

    def submit(self, fn, key: str | None = None) -> None:
        self.submitted = self._runner().submit(fn, key)

    def pause_reading(self) -> None:
        """Pause the page's job where it is (Resume goes on from there)."""
        if self.runner is not None:
            self.runner.pause()
            self.status.setText("paused — Resume reads on")

    def resume_reading(self) -> None:
        if self.runner is not None:
            self.runner.resume()

    def stop_reading(self) -> None:
        """Stop the page's job: the stages it reached are shown, the rest stay stale until the next change."""
        if self.runner is not None:
            self.runner.stop()

    @property
    def idle(self) -> bool:
        """Everything asked of the worker is shown (for tests and the screenshot command)."""
        return self.runner is None or (self.view is not None and self.view.serial >= self.submitted
                                       and not self.busy)

    def attach(self, worker) -> None:
        """In the main window: its settings (its File menu's "Open image..." opens here: gui/actions.py)."""
        super().attach(worker)
        window = self.window()
        if self.settings is None and isinstance(getattr(window, "settings", None), QSettings):
            self.settings = window.settings

    def shutdown(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        if self.own_worker is not None:
            self.own_worker.shutdown()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.autoload and not self.requested:
            sample = files.first_sample()
            if sample is not None:
                self.open_path(str(sample), remember=False)

    # ---- opening -------------------------------------------------------------------------------

    def open_path(self, path: str, remember: bool = True) -> None:
        """Open an image file: it is checked first, so no correction is given up for a file that cannot be read."""
        try:
            with reading(path, IMAGE):
                check_image(path)
        except InputError as exc:
            self.last_error = str(exc)
            files.show_error(self, str(exc) + (" \u2014 the page shown is kept" if self.view else ""))
            return
        if not self.confirm_discard("open another image"):
            return
        self.requested = True
        if remember:
            files.remember_dir(self, path)
        self.status.setText(f"opening {files.short(path)} \u2026")
        self.submit(lambda t, p=path: t.open_page(p, p), key="open")

    def open_array(self, array, name: str = "image") -> None:
        if not self.confirm_discard("open another image"):
            return
        self.requested = True
        self.submit(lambda t, a=array: t.open_page(a, name), key="open")

    def ask_open(self) -> None:
        path = files.ask_image(self)
        if path:
            self.open_path(path)

    def dragEnterEvent(self, event) -> None:
        if files.dropped_image(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        path = files.dropped_image(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)
        else:
            event.ignore()

    # ---- stages and parameters -----------------------------------------------------------------

    def go_stage(self, index: int) -> None:
        index = max(0, min(index, len(self.stages) - 1))
        changed = index != self.stage_index or not self.doc.text()
        self.stage_index = index
        stage = self.stages[index]
        self.tree.blockSignals(True)
        self.tree.setCurrentItem(self.tree.topLevelItem(index))
        self.tree.blockSignals(False)
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(self.stages) - 1)
        if changed:
            self.doc.setText(f"<b>{index + 1}. {stage.name}</b> \u2014 {stage.doc}")
            values = self.view.params.get(stage.name, {}) if self.view else {}
            self.params.build(stage, {**self.defaults[stage.name], **values})
        if self.runner is not None and changed:
            self.submit(lambda t, n=stage.name: setattr(t, "stage", n), key="show")

    @property
    def stage(self) -> str:
        return self.stages[self.stage_index].name

    def set_param(self, stage: str, name: str, value) -> None:
        if not self.confirm_discard(f"re-run from \u201c{stage}\u201d"):
            self.params.set_values((self.view.params if self.view else self.defaults).get(stage, {}))
            return
        self.submit(lambda t: t.set_param(stage, name, value), key=f"param:{stage}:{name}")

    def reset_stage(self, stage: str) -> None:
        if not self.confirm_discard(f"reset \u201c{stage}\u201d"):
            return
        values = self.defaults[stage]
        self.params.set_values(values)
        self.submit(lambda t: [t.set_param(stage, k, v) for k, v in values.items()], key=f"reset:{stage}")

    def confirm_discard(self, what: str) -> bool:
        """Before a re-run or a new page: corrections would be lost, so offer to export them."""
        if self.result is None or not self.result.corrections:
            return True
        answer = files.ask_discard(self, what, len(self.result.corrections))
        if answer == "export" and not files.export_json(self):
            return False
        if answer == "cancel":
            return False
        self.result.corrections = []  # asked once; the re-run brings a fresh result
        return True

    # ---- what the thread reports ----------------------------------------------------------------

    def _on_busy(self, busy: bool) -> None:
        self.busy = busy
        self.stop_button.setEnabled(busy)
        if busy:
            self.status.setText("running \u2026")

    def _on_progress(self, done: int, total: int) -> None:
        if self.busy and done < total:
            self.status.setText(f"running … stage {done + 1}/{total}")

    def _on_failed(self, kind: str, message: str) -> None:
        self.last_error = message
        if kind == "open":
            files.show_error(self, message + (" \u2014 the page shown is kept" if self.view else ""))
        else:
            files.show_error(self, message)

    def _on_view(self, v: OcrView) -> None:
        new_page = self.view is None or v.generation != self.view.generation
        old_params = self.view.params if self.view else None
        # the selection follows its boxes through edits and re-runs (by place), never onto another page
        chosen = [] if new_page else self._rects()
        self.view, self.result = v, v.result
        if new_page:
            self.selected = []
            self.hover_at = None  # the mouse was over the previous page
            self.source = v.source
            self.source_label.setText(files.describe(v))
            self.source_label.setToolTip(v.source)
            self.truth = files.truth_for(v.source)
        if v.stage == self.stage and v.params != old_params:
            self.params.set_values(v.params.get(self.stage, {}))
        if self.result is None:
            self.selected = []
        else:
            place = {b.rect: i for i, b in reversed(list(enumerate(self.result.boxes)))}
            chosen = [v.focus] if v.focus is not None else chosen
            self.selected = [place[r] for r in chosen if r in place]
        if new_page:
            self.page.new_page()
        self.page.set_image(v.image, (v.generation, v.token))
        if new_page and self.result is not None and self.result.boxes and self.stage not in ("crops",):
            self.zoom_to_text()
        self._draw_stage_list()
        self._draw_boxes()
        self._draw_detail()
        self._draw_text()
        self._hovered(*(self.hover_at or (float("nan"), float("nan"))))  # what is under the mouse now (a merge)
        ms = 1000 * sum(v.timings.values())
        self.status.setText(f"{count(len(v.ran), 'stage')} ran in {1000 * v.seconds:.0f} ms"
                            f" \u00b7 page {ms:.0f} ms" if v.ran else f"page {ms:.0f} ms")
        if v.error:
            self.status.setText(f"\u26a0 {v.error}")

    def zoom_to_text(self) -> None:
        """Zoom to the written part of the page (Fit, or F, shows all of it)."""
        boxes = self.result.boxes
        m = 0.6 * max(float(np.median([b.height for b in boxes])), 1.0)
        h, w = self.view.page.shape[:2]
        self.page.fit_rect(max(min(b.row0 for b in boxes) - m, 0), max(min(b.col0 for b in boxes) - m, 0),
                           min(max(b.row1 for b in boxes) + m, h), min(max(b.col1 for b in boxes) + m, w))

    # ---- mouse and selection -------------------------------------------------------------------

    def _result_index_at(self, x: float, y: float) -> int | None:
        if self.view is None or self.result is None:
            return None
        if self.drawn_index is None:
            return self.result.box_at(y, x)
        k = self.page.index_at(x, y)
        return None if k is None else self.drawn_index[k]

    def _clicked(self, x: float, y: float, modifiers) -> None:
        add = bool(modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        i = self._result_index_at(x, y)
        self.select([] if i is None else [i], add=add)
        self.page.graphics.setFocus()

    def select(self, indices: list[int], add: bool = False, center: bool = False) -> None:
        if add:
            chosen = list(self.selected)
            for i in indices:
                chosen.remove(i) if i in chosen else chosen.append(i)
        else:
            chosen = list(indices)
        n = len(self.result.boxes) if self.result else 0
        self.selected = [i for i in chosen if 0 <= i < n]
        if len(self.selected) == 1 and self.result.boxes[self.selected[0]].input is not None and self.runner:
            self.box_selected.emit(self.result.boxes[self.selected[0]].input, self.runner.model)
        if self.view is None:
            return
        self._draw_selection()
        self._draw_detail()
        self._draw_text()
        if center and len(self.selected) == 1 and self.drawn_index is not None and self.selected[0] in self.drawn_index:
            self.page.center_on(self.drawn_index.index(self.selected[0]))

    def use_model(self, classifier) -> None:
        """Read the page again with another model (a fine-tuned one); later pages use it too."""
        self.model = classifier

        def swap(t, c=classifier):
            t.model = c
            if t.pipe is not None:
                t.open_page(t.pipe.source, t.source)
        self.submit(swap, key="open")

    def escape(self) -> None:
        if self.draw_button.isChecked():
            self.draw_button.setChecked(False)
        else:
            self.select([])

    def focus_correction(self) -> None:
        if len(self.selected) == 1:
            self.detail.edit.setFocus()
            self.detail.edit.selectAll()

    # ---- edits (applied by the thread, on its copy) ----------------------------------------------

    def _rects(self) -> list[tuple]:
        return [self.result.boxes[i].rect for i in self.selected] if self.result else []

    def relabel(self, char: str) -> None:
        if self.result is None or len(self.selected) != 1:
            return
        i, rect = self.selected[0], self.result.boxes[self.selected[0]].rect
        self.submit(lambda t: edit.relabel(t.pipe, t.index_of(rect), char))
        if i + 1 < len(self.result.boxes):  # on to the next box: correcting a page is a run of Enters
            self.select([i + 1], center=True)

    def delete_selected(self) -> None:
        rects = self._rects()
        if rects:
            self.selected = []
            self.submit(lambda t: [edit.delete(t.pipe, t.index_of(r)) for r in rects])

    def merge_selected(self) -> None:
        rects = self._rects()
        if len(rects) >= 2:
            self.submit(lambda t: t.focus_on(edit.merge(t.pipe, [t.index_of(r) for r in rects])))

    def _drawn(self, r0: float, c0: float, r1: float, c1: float) -> None:
        if self.result is None or self.stage == "crops":
            self.status.setText("draw boxes on a page-shaped stage (not on the crops mosaic)")
            return
        if self.stage in BEFORE_PAGE and self.result.transform is not None:
            self.status.setText("draw boxes on the page the page stage cut out (from the denoise stage on)")
            return
        box = tuple(int(round(v)) for v in (r0, c0, r1, c1))
        self.submit(lambda t: t.focus_on(edit.add_box(t.pipe, *box)))
        self.draw_button.setChecked(False)
