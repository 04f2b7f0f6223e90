"""A run's full log as JSON (config, per-batch and per-epoch history, per-layer statistics) that
reloads for viewing, and CSV export of any curve.

A reloaded ``RunLog`` has the same ``config`` and ``history`` shapes as a live TrainingSession, so
the curve panels plot either. The JSON is strict (non-finite numbers are written as null).
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Sequence

from engine import jsontext
from engine.debug.stats import LayerStats
from engine.errors import InputError
from engine.files import atomic_write
from engine.training.session import EpochEvent, History, TrainConfig, TrainingSession

FORMAT = "backprop-studio-runlog/1"


class RunLogError(InputError):
    """A run log that cannot be read: one line naming the file."""


@dataclass
class RunLog:
    name: str
    config: TrainConfig
    history: History
    dataset: dict = field(default_factory=dict)  # name, classes, split sizes
    network: dict = field(default_factory=dict)  # sizes, activations
    position: dict = field(default_factory=dict)  # step, epoch, batch
    state: str = ""
    message: str = ""  # why it paused/diverged (a watchpoint, a diagnosis)

    @property
    def reconstruct(self) -> bool:
        """An autoencoder run: the "acc" curves hold PSNR in dB."""
        return self.config.loss == "squared_error"


def run_log(session: TrainingSession, name: str = "") -> RunLog:
    d, h = session.data, session.history
    return RunLog(name or d.name, session.config,
                  History(list(h.batch_loss), list(h.batch_acc), list(h.epochs)),
                  {"name": d.name, "classes": list(d.classes),
                   "sizes": {s: len(getattr(d, s)) for s in ("train", "valid", "test")}},
                  {"sizes": session.net.sizes, "activations": session.net.activations},
                  {"step": session.step, "epoch": session.epoch, "batch": session.batch},
                  session.state.value, session.message)


# ---- JSON ------------------------------------------------------------------------------------------

def _clean(v):
    """Strict JSON: NaN/inf become null (restored as NaN)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def to_json(log: RunLog) -> dict:
    epochs = [{**{f.name: getattr(e, f.name) for f in fields(e) if f.name != "layers"},
               "layers": {n: s.as_json() for n, s in e.layers.items()}} for e in log.history.epochs]
    return _clean({"format": FORMAT, "name": log.name, "config": asdict(log.config), "dataset": log.dataset,
                   "network": log.network, "position": log.position, "state": log.state,
                   "message": log.message, "batch_loss": log.history.batch_loss,
                   "batch_acc": log.history.batch_acc, "epochs": epochs})


def save_json(path, run: TrainingSession | RunLog, name: str = "") -> None:
    """Write the log atomically (a crash never leaves half a file)."""
    log = run if isinstance(run, RunLog) else run_log(run, name)
    text = json.dumps(to_json(log), allow_nan=False, indent=1)
    with atomic_write(path, "w") as f:
        f.write(text)


def from_json(d: dict, where: str = "run log") -> RunLog:
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        found = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise RunLogError(f"{where}: not a backprop-studio run log (format {found!r}, expected {FORMAT!r})")
    try:
        cfg = dict(d["config"])
        cfg["hidden"] = tuple(cfg.get("hidden", ()))
        known = {f.name for f in fields(TrainConfig)}
        config = TrainConfig(**{k: v for k, v in cfg.items() if k in known})
        stat_names = [f.name for f in fields(LayerStats)]
        epochs = [EpochEvent(**{f.name: _num(e[f.name]) if f.name not in ("epoch", "layers") else e[f.name]
                                for f in fields(EpochEvent) if f.name != "layers"},
                             layers={n: LayerStats(*(_num(s[k]) for k in stat_names))
                                     for n, s in e["layers"].items()})
                  for e in d["epochs"]]
        history = History([_num(v) for v in d["batch_loss"]], [_num(v) for v in d["batch_acc"]], epochs)
    except (KeyError, TypeError, ValueError) as exc:
        raise RunLogError(f"{where}: damaged run log ({type(exc).__name__}: {exc})") from None
    return RunLog(d.get("name", ""), config, history, d.get("dataset", {}), d.get("network", {}),
                  d.get("position", {}), d.get("state", ""), d.get("message", ""))


def load_json(path) -> RunLog:
    path = Path(path)
    if not path.is_file():
        raise RunLogError(f"{path}: no such file")
    d = jsontext.read(path, RunLogError)  # bounded in size and depth
    return from_json(d, str(path))


# ---- curves and CSV ----------------------------------------------------------------------------------

def curves(run: TrainingSession | RunLog) -> dict[str, dict[str, list[float]]]:
    """The plotted series by plot: "batch" (step, loss, acc) and "epoch" (epoch, losses, accuracies,
    and every layer's gradient/saturation statistics as "layer1.grad_mean_abs" etc.)."""
    h = run.history
    batch = {"step": list(range(1, len(h.batch_loss) + 1)), "loss": list(h.batch_loss), "acc": list(h.batch_acc)}
    epoch: dict[str, list[float]] = {k: [getattr(e, k) for e in h.epochs]
                                     for k in ("epoch", "train_loss", "train_acc", "valid_loss", "valid_acc")}
    for name in (h.epochs[0].layers if h.epochs else {}):
        for stat in (f.name for f in fields(LayerStats)):
            epoch[f"{name}.{stat}"] = [getattr(e.layers[name], stat) for e in h.epochs]
    return {"batch": batch, "epoch": epoch}


def save_csv(path, columns: dict[str, Sequence[float]]) -> None:
    """Columns side by side under a header row; shorter columns end early (empty cells)."""
    names = list(columns)
    n = max((len(c) for c in columns.values()), default=0)
    rows = [[_cell(columns[k], i) for k in names] for i in range(n)]
    with atomic_write(path, "w") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names)
        w.writerows(rows)


def save_curve_csv(path, run: TrainingSession | RunLog, which: str = "batch") -> None:
    """One plot's data ("batch" or "epoch") as CSV."""
    all_curves = curves(run)
    if which not in all_curves:
        raise ValueError(f"unknown curve {which!r}; choose from {', '.join(all_curves)}")
    save_csv(path, all_curves[which])


def load_csv(path) -> dict[str, list[float]]:
    """A CSV written by save_csv, back as columns (empty cells dropped)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    return {name: [float(r[i]) for r in rows[1:] if i < len(r) and r[i] != ""] for i, name in enumerate(rows[0])}


def _cell(column: Sequence[float], i: int) -> str:
    if i >= len(column):
        return ""
    v = column[i]
    return repr(float(v)) if isinstance(v, float) else str(v)
