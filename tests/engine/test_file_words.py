"""A file's problem in plain words: one line with its name, no exception class names or library advice,
the same words for the same broken file whichever loader read it; counted words with the right plural."""
from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import prototype_dataset

from engine.data.registry import load_dataset
from engine.errors import InputError
from engine.file_words import CHECKPOINT, DATASET, IMAGE, RUN_LOG, plain_words, reading, sniff
from engine.images import decode
from engine.training.checkpoint import load_network
from engine.training.runlog import load_json
from engine.words import count, plural

OPENERS = ((load_dataset, DATASET), (load_network, CHECKPOINT), (lambda p: decode(p, 1000), IMAGE),
           (load_json, RUN_LOG))
CLASS_NAME = re.compile(r"\b\w+(Error|Exception)\b|allow_pickle|pickle\.load|UnidentifiedImage")


def words_of(path) -> set[str]:
    out = set()
    for load, wants in OPENERS:
        with pytest.raises(InputError) as caught:
            with reading(path, wants):
                load(str(path))
        out.add(str(caught.value))
    return out


@pytest.mark.parametrize("name, content, says", [
    ("random.npz", np.random.default_rng(0).bytes(3000), "in no format backprop-studio reads"),
    ("text.png", b"hello, I am text\n", "holds plain text, not a PNG image"),
    ("notes.npz", b"just some notes\n", "holds plain text, not an .npz (zip) archive"),
    ("empty.mat", b"", "the file is empty"),
    ("zipped.npz", b"PK\x03\x04 not really a zip" * 20, "cannot be read to its end"),
])
def test_a_broken_file_gets_the_same_plain_words_from_every_loader(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    words = words_of(path)
    assert len(words) == 1, words
    text = words.pop()
    assert text.startswith(f"{name}: ") and says in text
    assert not CLASS_NAME.search(text) and "\n" not in text and str(tmp_path) not in text


def test_a_sound_file_of_another_kind_is_named_as_what_it_is(tmp_path):
    data = prototype_dataset(n_train=20, n_valid=5)
    path = tmp_path / "rows.npz"
    np.savez(path, x=data.train.x[:5], y=data.train.y[:5])
    with pytest.raises(InputError, match=r"rows.npz: an .npz \(zip\) archive, not a run log \(.json\)"):
        with reading(path, RUN_LOG):
            load_json(path)
    with pytest.raises(InputError, match=r"rows.npz: an .npz \(zip\) archive, not an image"):
        with reading(path, IMAGE):
            decode(path, 100)


def test_missing_files_and_the_loaders_own_reasons(tmp_path):
    assert plain_words(tmp_path / "gone.mat", OSError("x")) == "gone.mat: no such file or folder (moved, renamed " \
                                                              "or deleted?)"
    path = tmp_path / "x.npz"
    np.savez(path, a=np.zeros(3))  # a sound archive without data keys: the loader's reason, cleaned
    text = plain_words(path, InputError(f"{path}: no x_train/y_train or x/y keys (found: a)"))
    assert text == "x.npz: no x_train/y_train or x/y keys (found: a)"


def test_sniff_tells_formats_by_their_first_bytes(tmp_path):
    for name, content, kind in (("a", b"\x89PNG\r\n\x1a\n....", "png"), ("b", b"\xff\xd8\xff\xe0", "jpeg"),
                                ("c", b'{"format": 1}', "json"), ("d", b"MATLAB 5.0 MAT-file", "mat"),
                                ("e", b"\x80\x04\x95", "pickle"), ("f", bytes(range(256)) * 4, "unknown")):
        (tmp_path / name).write_bytes(content)
        assert sniff(tmp_path / name) == kind, name


def test_counted_words_have_the_right_plural():
    assert [count(n, "edit") for n in (0, 1, 2, 1500)] == ["0 edits", "1 edit", "2 edits", "1,500 edits"]
    assert count(1, "batch", "batches") == "1 batch" and count(3, "batch", "batches") == "3 batches"
    assert plural(1, "snapshot") == "snapshot" and plural(2, "snapshot") == "snapshots"
