"""One wording of a run's position: the epoch being trained and the batches done in it, never 'batch 0'."""
from __future__ import annotations

from engine.training.position import Position, epoch_and_batch, moment, where


def test_epoch_ends_are_that_epoch_with_all_its_batches():
    assert epoch_and_batch(0, 250) == (1, 0)
    assert epoch_and_batch(1, 250) == (1, 1)
    assert epoch_and_batch(250, 250) == (1, 250)
    assert epoch_and_batch(251, 250) == (2, 1)
    assert epoch_and_batch(12_500, 250) == (50, 250)


def test_the_words_and_the_position_agree():
    assert where(4_800, 250, 50) == "epoch 20/50 \u00b7 batch 50/250"
    assert moment(4_800, 250, 50) == "step 4,800 \u00b7 epoch 20/50 \u00b7 batch 50/250"
    assert moment(300, 250) == "step 300 \u00b7 epoch 2 \u00b7 batch 50/250"  # planned epochs unknown
    pos = Position(12_500, 50, 0, 250, 50)  # the engine's counters at the end: 50 epochs done, next batch 0
    assert pos.label() == "epoch 50/50 \u00b7 batch 250/250" and pos.words() == moment(12_500, 250, 50)
    assert pos.fraction == 1.0 and pos.total == 12_500
