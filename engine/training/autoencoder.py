"""The reference exercise's autoencoder: 1024 -> 32 -> 32 -> 32 -> 1024, ReLU, sigmoid output,
squared error, momentum 0.9, learning rate x0.9 every K epochs, on the same nn.py/session pieces
(a TrainingSession with ``loss="squared_error"``, whose "acc" fields hold PSNR in dB).

Two choices beyond the reference, both measured (see ``AutoencoderConfig``):
- initialisation: the inputs are non-negative and mostly white, so with plain Xavier weights every
  hidden unit sees a large common-mode input and a fifth of the ReLUs start dead; zero-mean weight
  columns remove it, and an output bias at the logit of the mean training image starts the network
  at "the average glyph" instead of flat grey;
- small training sets (real NIST26 has 1040 images) are padded with copies shifted by up to
  ``shift`` pixels, so 65k weights cannot just memorise them. Validation data is never augmented.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.dataset import SIDE, Dataset, Split
from engine.errors import InputError
from engine.nn.network import Network
from engine.training.session import TrainConfig, TrainingSession, row_psnr

__all__ = ["AutoencoderConfig", "Reconstructions", "augment_shifts", "init_network", "make_session",
           "mean_psnr", "pick_per_class", "psnr", "reconstructions", "row_psnr", "upright"]

HIDDEN = (32, 32, 32)
TARGET_PSNR = 15.58  # dB, the reference write-up's validation PSNR on NIST36


@dataclass
class AutoencoderConfig:
    """Defaults measured on the embedded glyphs (17.4 dB validation PSNR) and on real NIST26
    handwriting (16.2 dB), against the reference's 15.58 dB; about 40 s on one core."""

    lr: float = 3e-5  # per summed-over-batch squared error; 1e-4 and up kills the ReLUs
    epochs: int = 60
    batch_size: int = 16
    momentum: float = 0.9
    lr_decay: float = 0.9
    decay_every: int = 4  # epochs
    min_train: int = 40_000  # smaller training splits are padded with shifted copies ...
    shift: int = 2  # ... moved by up to this many pixels (0: no augmentation)
    seed: int = 0

    def train_config(self) -> TrainConfig:
        return TrainConfig(hidden=HIDDEN, activation="relu", output="sigmoid", loss="squared_error",
                           lr=self.lr, batch_size=self.batch_size, epochs=self.epochs, seed=self.seed,
                           momentum=self.momentum, lr_decay=self.lr_decay, decay_every=self.decay_every)


# ---- metrics ----------------------------------------------------------------------------------

def psnr(original: np.ndarray, reconstruction: np.ndarray, peak: float = 1.0) -> float:
    """PSNR in dB of one image (any shape), as ``row_psnr`` measures it (a perfect copy is 100 dB, not inf)."""
    a, b = np.asarray(original, np.float64).reshape(1, -1), np.asarray(reconstruction, np.float64).reshape(1, -1)
    return float(row_psnr(a, b, peak)[0])


def mean_psnr(x: np.ndarray, recon: np.ndarray) -> float:
    """Mean per-image PSNR over rows: the number the reference reports (and the session's valid_acc)."""
    return float(row_psnr(x, recon).mean())


# ---- data and network ---------------------------------------------------------------------------

def augment_shifts(split: Split, min_rows: int, shift: int, seed: int = 0) -> Split:
    """The split plus randomly shifted copies (edge pixels repeated) until it has >= min_rows rows."""
    n = len(split)
    if shift <= 0 or n == 0 or n >= min_rows:
        return split
    rng = np.random.default_rng([seed, 7])
    src = rng.integers(0, n, min_rows - n)
    moves = rng.integers(-shift, shift + 1, (len(src), 2))
    imgs = np.pad(split.x.reshape(n, SIDE, SIDE), ((0, 0), (shift, shift), (shift, shift)), mode="edge")
    out = np.empty((len(src), SIDE * SIDE), np.float32)
    for k, (dy, dx) in enumerate({(int(a), int(b)) for a, b in moves}):  # one gather per distinct shift
        rows = np.flatnonzero((moves[:, 0] == dy) & (moves[:, 1] == dx))
        window = imgs[src[rows], shift + dy:shift + dy + SIDE, shift + dx:shift + dx + SIDE]
        out[rows] = window.reshape(len(rows), -1)
    return Split(np.concatenate([split.x, out]), np.concatenate([split.y, split.y[src]]))


def init_network(x_train: np.ndarray, seed: int = 0) -> Network:
    """1024-32-32-32-1024 with zero-mean hidden weight columns and the output at the mean image."""
    net = Network.mlp(x_train.shape[1], HIDDEN, x_train.shape[1], "relu", "sigmoid", seed=seed)
    for layer in net.layers[:-1]:
        layer.W -= layer.W.mean(axis=0)
    mean = np.clip(x_train.mean(axis=0), 0.02, 0.98)
    net.layers[-1].b[:] = np.log(mean / (1.0 - mean))
    return net


def make_session(data: Dataset, config: AutoencoderConfig | None = None) -> TrainingSession:
    """A ready-to-run autoencoder session (its dataset's train split possibly augmented)."""
    config = config or AutoencoderConfig()
    train = augment_shifts(data.train, config.min_train, config.shift, config.seed)
    if len(train) == 0:
        raise InputError(f"{data.name}: the training split is empty")
    data = Dataset(data.name, data.classes, train, data.valid, data.test)
    return TrainingSession(data, config.train_config(), init_network(train.x, config.seed))


# ---- what the GUI shows ---------------------------------------------------------------------------

@dataclass
class Reconstructions:
    """A few examples per class, upright 32x32, originals next to their reconstructions."""

    indices: np.ndarray  # rows of the split
    labels: list[str]
    originals: np.ndarray  # (k, 32, 32), clipped to [0, 1] for display
    outputs: np.ndarray  # (k, 32, 32)
    psnr: np.ndarray  # (k,) dB, of the unclipped original


def pick_per_class(y: np.ndarray, per_class: int) -> np.ndarray:
    """The first ``per_class`` rows of every class, in class order (stable, so live views don't jump)."""
    picks = [np.flatnonzero(y == c)[:per_class] for c in np.unique(y)]
    return np.concatenate(picks).astype(np.int64) if picks else np.zeros(0, np.int64)


def upright(rows: np.ndarray) -> np.ndarray:
    """(k, 1024) NIST-layout rows -> (k, 32, 32) upright images."""
    return rows.reshape(-1, SIDE, SIDE).transpose(0, 2, 1)


def reconstructions(session: TrainingSession, per_class: int = 2, split: str = "valid",
                    params: dict[str, np.ndarray] | None = None) -> Reconstructions:
    """Originals and reconstructions now (or with a snapshot's params, for the timeline)."""
    part: Split = getattr(session.data, split)
    idx = pick_per_class(part.y, per_class)
    net = session.net
    if params is not None:
        net = net.astype(net.dtype)
        net.set_params(params)
    x = part.x[idx]
    out = net.predict(x)
    return Reconstructions(idx, [session.data.classes[c] for c in part.y[idx]],
                           np.clip(upright(x), 0.0, 1.0), upright(out), row_psnr(x, out))
