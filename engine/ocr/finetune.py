"""Closing the correction loop: fine-tune the OCR model on the user's correction rows, re-read the page.

Corrections (OCR relabels, drawn characters, top-loss relabels) are few, so on their own they would
drag the network towards them and it would forget the rest ("catastrophic forgetting"). So each
correction is repeated as slightly distorted copies (the same affine jitter and normalization the
OCR training set uses) and mixed with a sample of the model's own base set; the validation curve is
the base set's, so forgetting shows up live, and the test split is the corrections themselves.

The fine-tune is an ordinary TrainingSession (the worker runs it like any job, with live curves);
``reread`` then reads the page again with the new model and says which boxes changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.data.dataset import Dataset, Split, from_image, to_image
from engine.errors import InputError
from engine.nn.network import Network
from engine.ocr.model import Classifier, affine_jitter
from engine.ocr.normalize import normalize_glyph
from engine.ocr.pipeline import OcrPipeline
from engine.training.session import TrainConfig, TrainingSession
from engine.words import count


@dataclass
class FinetuneConfig:
    epochs: int = 4
    lr: float = 2e-5          # where the OCR model's own run ended (1.5e-4 halved 3 times; summed loss, batch 128)
    momentum: float = 0.9
    batch_size: int = 128
    copies: int = 32          # each correction row: itself plus copies-1 jittered versions
    base_rows: int = 2000     # rows of the base set mixed in so the model does not forget
    valid_rows: int = 2000    # base validation rows watched for forgetting
    seed: int = 0


def jittered_copies(x: np.ndarray, copies: int, rng: np.random.Generator) -> np.ndarray:
    """Each NIST-layout row followed by copies-1 randomly distorted, re-normalized versions of it."""
    out = []
    for row in np.asarray(x, np.float32):
        out.append(row)
        img = to_image(row)
        out += [from_image(normalize_glyph(affine_jitter(img, rng))) for _ in range(copies - 1)]
    return np.array(out, np.float32).reshape(-1, x.shape[1] if len(x) else 1024)


def finetune_data(x: np.ndarray, y: np.ndarray, base: Dataset, cfg: FinetuneConfig = FinetuneConfig()) -> Dataset:
    """train: corrections (with jittered copies) + a sample of base.train; valid: base.valid (forgetting);
    test: the corrections as given (did it learn them)."""
    if len(y) == 0:
        raise InputError("no correction rows to fine-tune on: correct a box, draw a character or relabel a sample")
    rng = np.random.default_rng(cfg.seed)
    cx = jittered_copies(x, cfg.copies, rng)
    cy = np.repeat(np.asarray(y, np.int64), cfg.copies)
    take = rng.choice(len(base.train), min(cfg.base_rows, len(base.train)), replace=False)
    vtake = rng.choice(len(base.valid), min(cfg.valid_rows, len(base.valid)), replace=False)
    train = Split(np.concatenate([cx, base.train.x[take]]), np.concatenate([cy, base.train.y[take]]))
    return Dataset(f"{base.name} + {len(y)} corrections", base.classes, train,
                   Split(base.valid.x[vtake], base.valid.y[vtake]), Split(np.asarray(x, np.float32), np.asarray(y)))


def finetune_session(classifier: Classifier, x: np.ndarray, y: np.ndarray, base: Dataset,
                     cfg: FinetuneConfig = FinetuneConfig()) -> TrainingSession:
    """A session that continues a copy of the classifier's network on the mixed data (not started)."""
    if tuple(base.classes) != tuple(classifier.classes):
        raise InputError(f"the base set's classes ({''.join(base.classes)}) are not the model's "
                         f"({''.join(classifier.classes)})")
    net: Network = classifier.net.astype(classifier.net.dtype)
    config = TrainConfig(hidden=tuple(net.sizes[1:-1]), activation=net.activations[0], lr=cfg.lr,
                         batch_size=cfg.batch_size, epochs=cfg.epochs, seed=cfg.seed, momentum=cfg.momentum)
    return TrainingSession(finetune_data(x, y, base, cfg), config, network=net)


def classifier_of(session: TrainingSession, path: str = "") -> Classifier:
    """The fine-tuned model as a Classifier (a copy: the session may go on training)."""
    return Classifier(session.net.astype(session.net.dtype), tuple(session.data.classes), path)


# ---- re-reading the page ---------------------------------------------------------------------------------


@dataclass
class BoxChange:
    rect: tuple[int, int, int, int]  # work-image pixels of the new box (the old one's if it is gone)
    before: str          # the old model's reading ("" if the box is new)
    after: str           # the new model's reading ("" if the box is gone)
    wanted: str = ""     # the user's correction of this box, if any
    truth: str = ""      # the page's known text at this box (truth.json beside the image), if known

    @property
    def fixed(self) -> bool:
        return bool(self.wanted) and self.after == self.wanted

    @property
    def right(self) -> str:
        """What the box should read: the user's correction, else the known truth ("" if neither)."""
        return self.wanted or self.truth

    @property
    def worse(self) -> bool:
        """It read right before and does not now (a fine-tune can make a reading worse)."""
        return bool(self.right) and self.before == self.right and self.after != self.right

    def verdict(self) -> str:
        """'✓ as corrected', 'still not as corrected (H)', 'was read correctly before', 'now reads correctly',
        or, with nothing to judge by, 'you had not corrected it: check it'."""
        if self.wanted:
            return "\u2713 as corrected" if self.fixed else f"still not as corrected ({self.wanted})"
        if self.truth:
            if self.worse:
                return "\u2717 was read correctly before"
            return "\u2713 now reads correctly" if self.after == self.truth else "wrong before and after"
        return "you had not corrected it: check it (it may have read correctly before)"


@dataclass
class Reread:
    result: object                       # the new OcrResult
    changes: list[BoxChange] = field(default_factory=list)
    unchanged: int = 0
    corrected: int = 0                   # boxes the user had corrected

    def summary(self) -> str:
        """'1 of the 2 corrected boxes now read as corrected; 1 box that read correctly before does not now;
        3 boxes read differently, 30 the same'."""
        fixed = sum(c.fixed for c in self.changes)
        worse = sum(c.worse and not c.wanted for c in self.changes)
        if self.corrected == 1:
            parts = ["the corrected box now reads as corrected" if fixed else
                     "the corrected box still does not read as corrected"]
        elif self.corrected:
            parts = [f"{fixed} of the {self.corrected:,} corrected boxes now read as corrected"]
        else:
            parts = []
        if worse:
            parts.append(f"{count(worse, 'box', 'boxes')} that read correctly before "
                         f"{'does' if worse == 1 else 'do'} not now")
        parts.append(f"{count(len(self.changes), 'box', 'boxes')} read differently, {self.unchanged:,} the same")
        return "; ".join(parts)


def _iou(a, b) -> float:
    r0, c0, r1, c1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(r1 - r0, 0) * max(c1 - c0, 0)
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    return inter / max(area(a) + area(b) - inter, 1)


def reread(pipe, classifier: Classifier, truth: list[str] | None = None) -> Reread:
    """Read ``pipe``'s page again with ``classifier`` (same image and parameters, a new pipeline: the
    user's edited result is left alone) and compare with the old model's reading box by box."""
    return reread_page(pipe.source, pipe.params(), pipe.run(), classifier, truth)


def truth_at(result, truth: list[str] | None) -> dict[tuple, str]:
    """The known text at each box (rect -> character), for the lines whose box count matches their truth
    line's characters (so a missed or split character never shifts the rest of a line onto wrong truth)."""
    if not truth:
        return {}
    out = {}
    for line, text in enumerate(truth):
        boxes = [b for b in result.boxes if b.line == line]
        chars = [c for c in text if not c.isspace()]
        if len(boxes) == len(chars):
            out.update({b.rect: c for b, c in zip(boxes, chars)})
    return out


def reread_page(source, params: dict, old, classifier: Classifier, truth: list[str] | None = None) -> Reread:
    """``reread`` from a page's parts: its image (path or array), its stage parameters, the old (possibly
    corrected) OcrResult and, if known, the page's text (each change then says whether it got better or
    worse)."""
    new_pipe = OcrPipeline(classifier)
    new_pipe.set_params(params)
    new_pipe.open(source)
    new = new_pipe.run()
    out, matched = Reread(new, corrected=sum(bool(b.corrected) for b in old.boxes)), set()
    known = truth_at(old, truth)
    for b in old.boxes:
        model_read, wanted = (b.corrected, b.char) if b.corrected else (b.char, "")
        best = max(range(len(new.boxes)), key=lambda k: _iou(b.rect, new.boxes[k].rect), default=None)
        if best is None or _iou(b.rect, new.boxes[best].rect) < 0.5:
            out.changes.append(BoxChange(b.rect, model_read, "", wanted, known.get(b.rect, "")))
            continue
        matched.add(best)
        nb = new.boxes[best]
        if nb.char != model_read:
            out.changes.append(BoxChange(nb.rect, model_read, nb.char, wanted, known.get(b.rect, "")))
        else:
            out.unchanged += 1
    out.changes += [BoxChange(nb.rect, "", nb.char) for k, nb in enumerate(new.boxes) if k not in matched]
    return out


# ---- as a job: small units, so the worker can time-slice it, pause it and draw its curves -------------------


class Finetune:
    """The whole loop as a generator of units (engine.training.jobs.GeneratorJob runs it): build the mixed set and
    the session, then one training batch per unit, then re-read the page. ``session`` is there from the
    first unit on (for live curves); ``result`` at the end."""

    def __init__(self, classifier: Classifier, x: np.ndarray, y: np.ndarray, base_loader,
                 cfg: FinetuneConfig = FinetuneConfig(), page: tuple | None = None):
        self.classifier, self.x, self.y, self.base_loader, self.cfg = classifier, x, y, base_loader, cfg
        self.page = page  # (source, params, old OcrResult[, truth lines]) to re-read at the end, or None
        self.session: TrainingSession | None = None
        self.new: Classifier | None = None
        self.reread: Reread | None = None

    @property
    def total(self) -> int:
        if self.session is None:
            return 2 + self.cfg.epochs
        return 2 + self.cfg.epochs * self.session.batches_per_epoch

    def steps(self):
        self.session = s = finetune_session(self.classifier, self.x, self.y, self.base_loader(), self.cfg)
        yield 1, self.total
        while not s.done:
            s.step_batch()
            yield 1 + s.step, self.total
        self.new = classifier_of(s, path="(fine-tuned)")
        if self.page is not None:
            source, params, old, *truth = self.page
            self.reread = reread_page(source, params, old, self.new, *truth)
        return self


__all__ = ["BoxChange", "Finetune", "FinetuneConfig", "Reread", "classifier_of", "finetune_data", "finetune_session",
           "jittered_copies", "reread", "reread_page"]
