"""Checkpoints: one .npz holding the arrays plus a JSON metadata string, written atomically.

A checkpoint is also a model file: ``load_network`` reads just the network and class names
(the OCR's default model is such a file). ``load_session`` rebuilds a TrainingSession that
continues bit-identically, because the data order is a function of (seed, epoch) and the
checkpoint keeps parameters, optimizer state, position and history.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from engine.data.dataset import Dataset
from engine.data.edits import EditList
from engine.debug.figures import Figures
from engine.debug.stats import LayerStats
from engine.errors import InputError
from engine.files import atomic_write
from engine.nn.activations import ACTIVATIONS
from engine.nn.network import Network
from engine.training.session import EpochEvent, State, TrainConfig, TrainingSession

FORMAT = "backprop-studio-checkpoint/1"


class CheckpointError(InputError):
    """A checkpoint or model file that cannot be used."""


def _savez(path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_write(path) as f:  # readers see the old file or the new one, never half of one
        np.savez(f, **arrays)


def _network_arrays(net: Network, classes, extra: dict) -> dict[str, np.ndarray]:
    meta = {"format": FORMAT, "sizes": net.sizes, "activations": net.activations, "classes": list(classes), **extra}
    arrays = {f"param/{k}": v for k, v in net.params().items()}
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def save_network(path, net: Network, classes, extra: dict | None = None) -> None:
    _savez(path, _network_arrays(net, classes, extra or {}))


def save_session(path, session: TrainingSession, report: tuple[dict, dict] | None = None,
                 figures: Figures | None = None) -> None:
    """``report``: (metadata, arrays) that a report of this checkpoint will need beyond the history
    (``engine.report.data.gather`` makes them; ``save_checkpoint`` there saves with them). Training
    never depends on the report: it only stores what it is given. ``figures``: what the window's panels
    drew from the batches (engine.debug.figures), shown again when the checkpoint is loaded. An edited
    dataset's edit list is kept too: loading continues on the same edited data."""
    h = session.history
    report_meta, report_arrays = report if report is not None else ({}, {})
    figures_meta, figures_arrays = figures.to_checkpoint() if figures is not None else (None, {})
    extra = {
        "config": asdict(session.config),
        "dataset": session.data.name,
        "position": {"step": session.step, "epoch": session.epoch, "batch": session.batch,
                     "batches_per_epoch": session.batches_per_epoch},
        "epoch_acc": [session._epoch_loss, session._epoch_correct, session._epoch_seen],
        "epochs": [{**{k: v for k, v in asdict(e).items() if k != "layers"},
                    "layers": {n: asdict(s) for n, s in e.layers.items()}} for e in h.epochs],
        "report": report_meta,
        "figures": figures_meta,
        "edits": session.data.edited.edits.as_json() if session.data.edited is not None else None,
    }
    arrays = _network_arrays(session.net, session.data.classes, extra)
    arrays.update({f"opt/{k}": v for k, v in session.optimizer.state().items()})
    arrays["history/batch_loss"] = np.asarray(h.batch_loss, np.float64)
    arrays["history/batch_acc"] = np.asarray(h.batch_acc, np.float64)
    arrays.update(report_arrays)
    arrays.update(figures_arrays)
    _savez(path, arrays)


def _read(path) -> tuple[dict, dict[str, np.ndarray]]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # else numpy guesses a pickle and says so
            raise CheckpointError(f"{path}: not a checkpoint (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(str(arrays.pop("meta")))
    except Exception as exc:  # zip, npy and JSON errors all mean the same thing to the user
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: not a checkpoint (its metadata is a {type(meta).__name__}, not an object)")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: unknown checkpoint format {_short(meta.get('format'))}")
    return meta, arrays


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_model(path, meta: dict, arrays: dict) -> None:
    """A one-line CheckpointError for metadata or weights a network cannot be built from (wrong
    types, sizes that disagree, NaN/inf weights, class names that do not match the outputs)."""
    def bad(why: str):
        raise CheckpointError(f"{path}: unusable model file: {why}")

    sizes, acts, classes = meta.get("sizes"), meta.get("activations"), meta.get("classes")
    if not (isinstance(sizes, list) and len(sizes) >= 2 and all(type(n) is int and n >= 1 for n in sizes)):
        bad(f"'sizes' must be a list of at least 2 positive integers, got {_short(sizes)}")
    if not (isinstance(acts, list) and len(acts) == len(sizes) - 1
            and all(isinstance(a, str) and a in ACTIVATIONS for a in acts)):
        bad(f"'activations' must list {len(sizes) - 1} of {', '.join(ACTIVATIONS)}, got {_short(acts)}")
    if not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        bad(f"'classes' must be a list of names, got {_short(classes)}")
    reconstructs = isinstance(meta.get("config"), dict) and meta["config"].get("loss") == "squared_error"
    if not reconstructs and len(classes) != sizes[-1]:
        bad(f"{len(classes)} class names for {sizes[-1]} outputs")
    for k, v in arrays.items():
        if k.startswith("param/") and (v.dtype.kind not in "fiu" or not np.isfinite(v).all()):
            bad(f"{k[len('param/'):]} holds {'NaN or infinite values' if v.dtype.kind in 'fc' else v.dtype} weights")


def is_checkpoint(path) -> bool:
    """Whether a file is one of ours (so a dropped .npz can be told apart from a dataset)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return "meta" in f.files and json.loads(str(f["meta"])).get("format") == FORMAT
    except Exception:
        return False


def load_network(path) -> tuple[Network, tuple[str, ...], dict]:
    """(network, class names, metadata) from a checkpoint or model file."""
    meta, arrays = _read(path)
    return (*_network_from(path, meta, arrays), meta)


def _network_from(path, meta: dict, arrays: dict) -> tuple[Network, tuple[str, ...]]:
    _check_model(path, meta, arrays)
    try:
        net = Network(meta["sizes"], meta["activations"])
        net.set_params({k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")})
    except InputError as exc:  # too large, parameter names or shapes that disagree with the sizes
        raise CheckpointError(f"{path}: inconsistent checkpoint ({exc})") from None
    return net, tuple(meta["classes"])


def _edited_like(path, meta: dict, data: Dataset) -> Dataset:
    """The data the saved session trained on: ``data`` as loaded, with the checkpoint's edit list applied
    (the edit list checks that it fits: a list made for other data is refused, never applied to it)."""
    base, doc = data.base, meta.get("edits")
    if not doc:
        return base
    edits = EditList.from_json(doc, f"{path}: its edit list")
    if data.edited is not None and data.edited.edits.as_json()["edits"] == edits.as_json()["edits"]:
        return data
    try:
        return edits.apply(base)
    except InputError as exc:
        raise CheckpointError(f"{path}: was trained on {edits.dataset or 'its data'} with edits that do not fit "
                              f"the current data ({exc})") from None


def load_session(path, data: Dataset) -> TrainingSession:
    """A session that continues exactly where the saved one stopped (on the same data: ``data`` as loaded,
    with the checkpoint's edits applied if it has any)."""
    meta, arrays = _read(path)
    net, classes = _network_from(path, meta, arrays)
    if "config" not in meta:
        raise CheckpointError(f"{path}: holds a model only, not a training session")
    data = _edited_like(path, meta, data)
    if tuple(classes) != tuple(data.classes) or net.sizes[0] != data.n_inputs:
        raise CheckpointError(f"{path}: was trained on {len(classes)} classes / {net.sizes[0]} inputs; "
                              f"the current data has {data.n_classes} / {data.n_inputs}")
    try:  # everything below is read from the file: wrong keys or types are a damaged file, not a bug
        config = TrainConfig(**meta["config"])
        session = TrainingSession(data, config, network=net)
        session.optimizer.load_state({k[len("opt/"):]: v for k, v in arrays.items() if k.startswith("opt/")})
        pos = meta["position"]
        session.step, session.epoch, session.batch = (int(pos[k]) for k in ("step", "epoch", "batch"))
        session._epoch_loss, session._epoch_correct, session._epoch_seen = meta["epoch_acc"]
        session.history.batch_loss = arrays["history/batch_loss"].tolist()
        session.history.batch_acc = arrays["history/batch_acc"].tolist()
        session.history.epochs = [EpochEvent(**{**e, "layers": {n: LayerStats(**s) for n, s in e["layers"].items()}})
                                  for e in meta["epochs"]]
    except (KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: damaged training session ({type(exc).__name__}: {exc})") from None
    session.snapshots.clear()
    session.take_snapshot()
    session.report_frames = weight_frames(meta, arrays)  # the run's first weights, for the next report
    session.figures = Figures.from_checkpoint(meta.get("figures"), arrays)  # the panels' pictures of its batches
    session.state = State.FINISHED if session.epoch >= config.epochs else State.PAUSED
    return session


def weight_frames(meta: dict, arrays: dict) -> list[tuple[int, int, np.ndarray]]:
    """(step, epoch, first-layer W) frames stored in a checkpoint (start, middle, end of the run), so a
    run's true start survives save/load/save."""
    info = meta.get("report", {}).get("weights", [])
    found = [(f, arrays.get(f"report/weights/{k}", arrays.get(f"param/{f.get('param')}"))) for k, f in enumerate(info)]
    return [(f["step"], f["epoch"], W) for f, W in found if W is not None]


def read_checkpoint(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, arrays) of a checkpoint, checked to be one of ours (for the report)."""
    return _read(path)
