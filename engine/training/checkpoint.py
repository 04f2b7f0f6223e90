"""Checkpoints: one .npz holding the arrays plus a JSON metadata string, written atomically.

A checkpoint is also a model file: ``load_network`` reads just the network and class names
(the OCR's default model is such a file). ``load_session`` rebuilds a TrainingSession that
continues bit-identically, because the data order is a function of (seed, epoch) and the
checkpoint keeps parameters, optimizer state, position and history.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from engine import jsontext
from engine.archive import Npz
from engine.checks import Bad, Int, List, Map, Nullable, Num, Obj, Str, array_problem, check
from engine.data.dataset import Dataset
from engine.data.edits import EditList
from engine.debug.figures import PREFIX as FIGURES_PREFIX
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


META_CHARS = 32 * 2 ** 20  # JSON characters of metadata (a 40-epoch run stores 18 K; 10,000 epochs ~5 M)
FIGURE_BYTES = 64 << 20  # one stored panel figure (a gradient history, a histogram) at most
MAX_HISTORY = 10_000_000  # batches of loss/accuracy history (30,000 epochs of NIST36)
REPORT_BYTES = 64 * 2 ** 20  # one report array (pictures, a confusion matrix): ~50 K for a real run


def _open(path) -> tuple[dict, Npz]:
    """(metadata, the archive open for bounded reading): only the ``meta`` member is decompressed here,
    checked from its header before that."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # else numpy guesses a pickle and says so
            raise CheckpointError(f"{path}: not a checkpoint (not an .npz archive)")
    z = Npz(path, CheckpointError, "checkpoint")
    try:
        if "meta" not in z:
            raise CheckpointError(f"{path}: not a checkpoint (it has no metadata)")
        shape, dtype = z.header("meta")
        if dtype.kind != "U" or shape != ():
            raise CheckpointError(f"{path}: not a checkpoint (its metadata is {dtype} {shape}, not a text)")
        meta = jsontext.loads(str(z.read("meta", 4 * META_CHARS)), f"{path}: its metadata", CheckpointError,
                              max_bytes=META_CHARS)
        if not isinstance(meta, dict):
            raise CheckpointError(f"{path}: not a checkpoint (its metadata is a {type(meta).__name__}, not an object)")
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"{path}: unknown checkpoint format {_short(meta.get('format'))}")
    except BaseException:
        z.close()
        raise
    return meta, z


def _damaged(path, exc: Bad) -> CheckpointError:
    return CheckpointError(f"{path}: damaged checkpoint: {exc}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_model(path, meta: dict) -> None:
    """A one-line CheckpointError for metadata a network cannot be built from (wrong types, sizes that
    disagree, class names that do not match the outputs)."""
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


def is_checkpoint(path) -> bool:
    """Whether a file is one of ours (so a dropped .npz can be told apart from a dataset)."""
    try:
        _open(path)[1].close()
        return True
    except (InputError, OSError):
        return False


def load_network(path) -> tuple[Network, tuple[str, ...], dict]:
    """(network, class names, metadata) from a checkpoint or model file: only its metadata and
    parameters are read."""
    meta, z = _open(path)
    with z:
        return (*_network_from(path, meta, z), meta)


def _network_from(path, meta: dict, z: Npz) -> tuple[Network, tuple[str, ...]]:
    """The network, its parameters read only once their names, shapes and dtypes (headers) match the
    metadata's sizes, and checked to be finite after the cast to float32 (1e300 in a float64 file is inf)."""
    check_model(path, meta)
    try:
        net = Network(meta["sizes"], meta["activations"])
    except InputError as exc:  # too large
        raise CheckpointError(f"{path}: inconsistent checkpoint ({exc})") from None
    own = net.params()
    stored = sorted(n[len("param/"):] for n in z.names if n.startswith("param/"))
    if set(stored) != set(own):
        raise CheckpointError(f"{path}: inconsistent checkpoint (parameter names differ: expected {sorted(own)}, "
                              f"got {_short(stored)})")
    for k, a in own.items():
        shape, dtype = z.header(f"param/{k}")
        if dtype.kind not in "fiu" or dtype.itemsize > 8:
            raise CheckpointError(f"{path}: unusable model file: {k} holds {dtype} weights")
        if shape != a.shape:
            raise CheckpointError(f"{path}: inconsistent checkpoint ({k} has shape {shape}, expected {a.shape})")
    for k, a in own.items():
        with np.errstate(over="ignore", invalid="ignore"):
            a[...] = z.read(f"param/{k}", a.size * 8)
        if not np.isfinite(a).all():
            raise CheckpointError(f"{path}: unusable model file: {k} holds NaN or infinite weights (or values "
                                  "beyond float32's ~3.4e38)")
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


def _stats_spec() -> Obj:
    return Obj({f.name: Num() for f in fields(LayerStats)}, exact=True)


def epoch_spec() -> Obj:
    return Obj({"epoch": Int(lo=1), **{k: Num() for k in ("train_loss", "train_acc", "valid_loss", "valid_acc",
                                                          "seconds")},
                "layers": Map(_stats_spec())})


def _config_spec() -> Obj:
    """A stored TrainConfig: every field optional (older files lack the newer ones), each of its type."""
    kinds = {int: Int(), float: Num(), str: Str()}
    spec = {f.name: List(Int(lo=1), max_len=64) if f.name == "hidden" else kinds[type(f.default)]
            for f in fields(TrainConfig)}
    return Obj({}, spec)


FRAME_SPEC = List(Obj({"step": Int(lo=0), "epoch": Int(lo=0)}, {"param": Str()}), max_len=64)
SESSION_SPEC = Obj({"config": _config_spec(),
                    "position": Obj({k: Int(lo=0) for k in ("step", "epoch", "batch")}),
                    "epoch_acc": List(Num(), length=3),
                    "epochs": List(epoch_spec())},
                   {"report": Nullable(Obj({}, {"weights": Nullable(FRAME_SPEC)}))})


def history_arrays(path, z: Npz, required: bool = True) -> dict[str, np.ndarray]:
    """history/batch_loss and batch_acc: 1-D numbers, checked from their headers, then read."""
    out = {}
    for k in ("history/batch_loss", "history/batch_acc"):
        if k not in z and not required:
            continue
        if k not in z:
            raise CheckpointError(f"{path}: damaged checkpoint: {k} is missing")
        problem = array_problem(*z.header(k), "fiu", (None,))
        if problem is None and z.shape(k)[0] > MAX_HISTORY:
            problem = f"holds {z.shape(k)[0]:,} batches, more than {MAX_HISTORY:,}"
        if problem:
            raise CheckpointError(f"{path}: damaged checkpoint: {k} {problem}")
        out[k] = z.read(k, MAX_HISTORY * 8)
    return out


def _optimizer_state(path, z: Npz, net: Network) -> dict[str, np.ndarray]:
    """opt/velocity.<param>: one flat float array per parameter (momentum), in the network's dtype;
    checked from the headers, then read."""
    sizes = {f"velocity.{k}": v.size for k, v in net.params().items()}
    out = {}
    for name in (n for n in z.names if n.startswith("opt/")):
        k = name[len("opt/"):]
        if k not in sizes:
            raise CheckpointError(f"{path}: damaged checkpoint: {name} belongs to no parameter of the network")
        problem = array_problem(*z.header(name), "f", (sizes[k],))
        if problem:
            raise CheckpointError(f"{path}: damaged checkpoint: {name} {problem}")
        with np.errstate(over="ignore", invalid="ignore"):
            v = z.read(name, sizes[k] * 8).astype(net.dtype)
        if not np.isfinite(v).all():
            raise CheckpointError(f"{path}: damaged checkpoint: {name} holds NaN or infinite values")
        out[k] = v
    return out


def report_weights(path, meta: dict, z: Npz, first_W_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The report/weights/<k> frames the metadata lists, checked to be first-layer weights, then read."""
    frames = (meta.get("report") or {}).get("weights") or []
    out = {}
    for k in range(len(frames) if isinstance(frames, list) else 0):
        name = f"report/weights/{k}"
        if name in z:
            problem = array_problem(*z.header(name), "f", first_W_shape)
            if problem:
                raise CheckpointError(f"{path}: damaged checkpoint: {name} {problem}")
            out[name] = z.read(name, math.prod(first_W_shape) * 8)
    return out


def load_session(path, data: Dataset) -> TrainingSession:
    """A session that continues exactly where the saved one stopped (on the same data). Everything used is
    checked first (types of the metadata, names, shapes and dtypes of the arrays): a damaged file is one
    CheckpointError naming the field."""
    meta, z = _open(path)
    with z:
        net, classes = _network_from(path, meta, z)
        if "config" not in meta:
            raise CheckpointError(f"{path}: holds a model only, not a training session")
        data = _edited_like(path, meta, data)
        if tuple(classes) != tuple(data.classes) or net.sizes[0] != data.n_inputs:
            raise CheckpointError(f"{path}: was trained on {len(classes)} classes / {net.sizes[0]} inputs; "
                                  f"the current data has {data.n_classes} / {data.n_inputs}")
        try:
            check(meta, SESSION_SPEC)
        except Bad as exc:
            raise _damaged(path, exc) from None
        known = {f.name for f in fields(TrainConfig)}  # a newer version's extra fields are not this one's
        try:
            config = TrainConfig(**{k: v for k, v in meta["config"].items() if k in known})
        except InputError as exc:  # a value out of its range: TrainConfig's own words
            raise CheckpointError(f"{path}: damaged checkpoint: config: {exc}") from None
        history = history_arrays(path, z)
        opt = _optimizer_state(path, z, net)
        frames = weight_frames(meta, {**report_weights(path, meta, z, net.layers[0].W.shape),
                                      **{f"param/{k}": v for k, v in net.params().items()}})
        figure_arrays = {n: z.read(n, FIGURE_BYTES) for n in z.names if n.startswith(FIGURES_PREFIX)}
    session = TrainingSession(data, config, network=net)
    pos = meta["position"]
    if pos["batch"] >= session.batches_per_epoch:
        raise CheckpointError(f"{path}: damaged checkpoint: position.batch is {pos['batch']}; the data has "
                              f"{session.batches_per_epoch} batches an epoch")
    session.optimizer.load_state(opt)
    session.step, session.epoch, session.batch = pos["step"], pos["epoch"], pos["batch"]
    session._epoch_loss, session._epoch_correct, session._epoch_seen = meta["epoch_acc"]
    session.history.batch_loss = history["history/batch_loss"].tolist()
    session.history.batch_acc = history["history/batch_acc"].tolist()
    session.history.epochs = [EpochEvent(**{**{f.name: e[f.name] for f in fields(EpochEvent) if f.name != "layers"},
                                            "layers": {n: LayerStats(**{f.name: s[f.name] for f in fields(LayerStats)})
                                                       for n, s in e["layers"].items()}})
                              for e in meta["epochs"]]
    session.snapshots.clear()
    session.take_snapshot()
    session.report_frames = frames  # the run's first weights, for the next report
    session.figures = Figures.from_checkpoint(meta.get("figures"), figure_arrays)  # the panels' pictures
    session.state = State.FINISHED if session.epoch >= config.epochs else State.PAUSED
    return session


def weight_frames(meta: dict, arrays: dict) -> list[tuple[int, int, np.ndarray]]:
    """(step, epoch, first-layer W) frames stored in a checkpoint (start, middle, end of the run), so a
    run's true start survives save/load/save."""
    info = (meta.get("report") or {}).get("weights") or []
    found = [(f, arrays.get(f"report/weights/{k}", arrays.get(f"param/{f.get('param')}"))) for k, f in enumerate(info)]
    return [(f["step"], f["epoch"], W) for f, W in found if W is not None]


def read_checkpoint(path, max_bytes: int = 2 ** 30) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, every array) of a checkpoint, each member bounded (for tests and tools: the readers
    above and ``engine.report.stored`` read only what they use)."""
    meta, z = _open(path)
    with z:
        return meta, {n: z.read(n, max_bytes) for n in z.names if n != "meta"}


def open_checkpoint(path) -> tuple[dict, Npz]:
    """(metadata, the archive open for bounded reading) of a checkpoint checked to be one of ours (for
    the report, which reads the members it shows). Close the archive when done."""
    return _open(path)
