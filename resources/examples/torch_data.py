"""The PyTorch examples' data, as run_q3.py loads it: a folder with the exercise's nist36_train.mat and
nist36_valid.mat (--data), else the app's embedded glyphs (the same 36 classes, in NIST36's layout).
Rows are 1024 pixels (a 32x32 image); labels become class indices, as torch's cross-entropy takes them."""
import numpy as np
import scipy.io
import torch


def load(folder=None, rows=None):
    """(train_x, train_y, valid_x, valid_y): float32 rows and int64 labels; the first ROWS training rows."""
    if folder:
        train = scipy.io.loadmat(f"{folder}/nist36_train.mat")
        valid = scipy.io.loadmat(f"{folder}/nist36_valid.mat")
        arrays = (train["train_data"], train["train_labels"].argmax(1),
                  valid["valid_data"], valid["valid_labels"].argmax(1))
    else:
        from engine.data.registry import load_dataset  # the project's generated set, in NIST36's layout
        d = load_dataset("glyphs")
        arrays = d.train.x, d.train.y, d.valid.x, d.valid.y
    train_x, train_y, valid_x, valid_y = (torch.from_numpy(np.asarray(a, dtype))
                                          for a, dtype in zip(arrays, (np.float32, np.int64) * 2))
    return train_x[:rows], train_y[:rows], valid_x, valid_y


def batches(x, y, batch_size):
    """Random batches, made once (as the exercise's get_random_batches): a list of (x, y) pairs."""
    return [(x[i], y[i]) for i in torch.randperm(len(x)).split(batch_size)]
