"""Where a training run is, in the one wording every view uses: the window's status bar, its progress bar,
the timeline, the quit dialog, watchpoint hits and the report all say "step 4,800 · epoch 20/50 ·
batch 50/250" (or the part after the step), so they can never disagree about a moment.

The session counts ``epoch`` as completed epochs and ``batch`` as the next batch within the epoch (step 500 of
250-batch epochs is epoch 2, batch 0 there); people count the epoch being trained and the batches done in it
(epoch 2, batch 250). ``epoch_and_batch`` is that translation, from the step alone.
"""
from __future__ import annotations

from dataclasses import dataclass


def epoch_and_batch(step: int, batches_per_epoch: int) -> tuple[int, int]:
    """(epoch, batches done in it), both as people count them: step 500 of 250-batch epochs is epoch 2,
    batch 250 (not epoch 2, batch 0); step 0 is epoch 1, batch 0."""
    if step <= 0:
        return 1, 0
    bpe = max(int(batches_per_epoch), 1)
    return (step - 1) // bpe + 1, (step - 1) % bpe + 1


def where(step: int, batches_per_epoch: int, epochs: int | None = None) -> str:
    """'epoch 20/50 · batch 50/250' ('epoch 20 · batch 50/250' when the planned epochs are unknown)."""
    epoch, done = epoch_and_batch(step, batches_per_epoch)
    return (f"epoch {epoch}/{epochs}" if epochs else f"epoch {epoch}") + f" \u00b7 batch {done}/{batches_per_epoch}"


def moment(step: int, batches_per_epoch: int, epochs: int | None = None) -> str:
    """'step 4,800 · epoch 20/50 · batch 50/250': a moment of a run, wherever it is named."""
    return f"step {step:,} \u00b7 {where(step, batches_per_epoch, epochs)}"


@dataclass(frozen=True)
class Position:
    """Where a session is (or, time travelling, which past moment is shown): the one source of truth for
    the window's status bar, progress bar, timeline and quit dialog. ``epoch`` counts completed epochs and
    ``batch`` the next batch within the epoch, as in the engine; the words come from ``step`` alone."""

    step: int
    epoch: int
    batch: int
    batches_per_epoch: int
    epochs: int
    view_step: int | None = None  # time travel: the panels show this past step (``step`` is then that step)

    @classmethod
    def of(cls, session, step: int | None = None, epoch: int | None = None, batch: int | None = None,
           view_step: int | None = None) -> "Position":
        return cls(session.step if step is None else step, session.epoch if epoch is None else epoch,
                   session.batch if batch is None else batch, session.batches_per_epoch, session.config.epochs,
                   view_step)

    @property
    def total(self) -> int:
        return self.epochs * self.batches_per_epoch

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total) if self.total else 0.0

    def label(self) -> str:
        """'epoch 18/50 · batch 250/250': the epoch being trained and the batches done in it; at an
        epoch's end it is that epoch with all its batches, never 'batch 0'."""
        return where(self.step, self.batches_per_epoch, self.epochs)

    def words(self) -> str:
        """'step 4,500 · epoch 18/50 · batch 250/250'."""
        return moment(self.step, self.batches_per_epoch, self.epochs)


__all__ = ["Position", "epoch_and_batch", "moment", "where"]
