"""What a report reads from a checkpoint, checked before it is used.

The report shows a file it did not write in this process: every field it uses is checked here (types,
class indices, the figures every epoch must have, array dtypes and shapes from their headers), and only
the archive members it shows are decompressed, each bounded. A damaged file is one InputError naming
the file and the field, e.g. ``ck.npz: damaged checkpoint: report.confused[0].true is 99, outside 0..35``.
"""
from __future__ import annotations

import numpy as np

from engine.checks import ANY, Bad, Bool, Int, List, Map, Nullable, Num, Obj, Str, array_problem, check
from engine.errors import InputError
from engine.training.checkpoint import (REPORT_BYTES, check_model, epoch_spec, history_arrays, open_checkpoint,
                                        report_weights)

MAX_ITEMS = 10_000  # pairs, watchpoint hits, experiment runs, reconstructions: a real report has a few dozen


def _layer_names(sizes: list[int]) -> list[str]:
    n = len(sizes) - 1
    return [f"layer{i + 1}" for i in range(n - 1)] + ["output"]


def _spec(k: int, first_w: str) -> Obj:
    cls = Int(0, k - 1)
    pair = Obj({"true": cls, "pred": cls, "count": Int(lo=0)},
               {"examples": List(Int(lo=0), max_len=MAX_ITEMS), "why": Obj({"p_pred": Num(), "p_true": Num()})})
    hit = Obj({"epoch": Int(lo=0), "batch": Int(lo=0), "step": Int(lo=0), "value": Num()})
    run = Obj({"name": Str(), "status": Str(), "lr": Num(), "hidden": List(Int(), max_len=64), "activation": Str(),
               "final_valid_acc": Nullable(Num()), "valid_acc": List(Num(), max_len=MAX_ITEMS)})
    frames = List(Obj({"step": Int(lo=0), "epoch": Int(lo=0)}, {"param": Str([first_w])}), max_len=64)
    report = Obj({}, {  # null where an older version stored nothing
        "dataset": Nullable(Obj({}, {"name": Str(), "sizes": Map(Int(lo=0), max_len=8)})),
        "state": Nullable(Str()), "message": Nullable(Str()),
        "weights": Nullable(frames),
        "confused": Nullable(List(pair, max_len=MAX_ITEMS)),
        "watchpoints": Nullable(List(Obj({"expr": Str(), "hits": List(hit, max_len=MAX_ITEMS)}), max_len=MAX_ITEMS)),
        "experiment": Nullable(Obj({"runs": List(run, max_len=MAX_ITEMS)},
                                   {"title": Nullable(Str()), "finding": Str(), "psnr": ANY})),
        "autoencoder": Nullable(Obj({"labels": List(Str(), max_len=MAX_ITEMS), "psnr": List(Num(), max_len=MAX_ITEMS),
                                     "epochs": Int(lo=0)}, {"valid_psnr": Nullable(Num()), "own": Bool()})),
    })
    return Obj({"config": Map(ANY), "epochs": List(epoch_spec())},
               {"position": Map(ANY), "report": Nullable(report), "dataset": Str()})


def _epochs_agree(meta: dict, names: list[str]) -> None:
    """Every epoch has the statistics of the same layers, all of them layers of the network."""
    epochs = meta["epochs"]
    first = list(epochs[0]["layers"]) if epochs else []
    unknown = [n for n in first if n not in names]
    if unknown:
        raise Bad(f"epochs[0].layers.{unknown[0]}", f"is not a layer of the network ({', '.join(names)})")
    for i, e in enumerate(epochs):
        if list(e["layers"]) != first:
            raise Bad(f"epochs[{i}].layers", f"names {', '.join(e['layers']) or 'no layer'}, not "
                                             f"{', '.join(first) or 'no layer'} as epoch 1")


def _array(path, z, name: str, kinds: str, shape, max_bytes: int = REPORT_BYTES) -> np.ndarray:
    problem = array_problem(*z.header(name), kinds, shape)
    if problem:
        raise InputError(f"{path}: damaged checkpoint: {name} {problem}")
    return z.read(name, max_bytes)


def read(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, the arrays a report shows) of a checkpoint, every field the report uses checked."""
    meta, z = open_checkpoint(path)
    with z:
        if "config" not in meta:
            raise InputError(f"{path}: holds a model only, not a training session (nothing to report)")
        check_model(path, meta)
        sizes, k = meta["sizes"], len(meta["classes"])
        names = _layer_names(sizes)
        first_w, w_shape = f"{names[0]}.W", (sizes[0], sizes[1])
        try:
            check(meta, _spec(k, first_w))
            _epochs_agree(meta, names)
        except Bad as exc:
            raise InputError(f"{path}: damaged checkpoint: {exc}") from None
        r = meta.get("report") or {}
        if f"param/{first_w}" not in z:
            raise InputError(f"{path}: damaged checkpoint: param/{first_w} is missing")
        arrays = {f"param/{first_w}": _array(path, z, f"param/{first_w}", "fiu", w_shape, sizes[0] * sizes[1] * 8)}
        history = history_arrays(path, z, required=False)
        if len(history) == 1 or len({len(a) for a in history.values()}) > 1:
            counts = ", ".join(f"{k} {len(history[k]) if k in history else 'missing'}"
                               for k in ("history/batch_loss", "history/batch_acc"))
            raise InputError(f"{path}: damaged checkpoint: the batch history disagrees ({counts})")
        arrays.update(history)
        arrays.update(report_weights(path, meta, z, w_shape))
        if "report/confusion" in z and meta["config"].get("loss") != "squared_error":
            cm = _array(path, z, "report/confusion", "iu", (k, k))
            if (cm < 0).any():
                raise InputError(f"{path}: damaged checkpoint: report/confusion holds a negative count")
            arrays["report/confusion"] = cm
        for i in range(len(r.get("confused") or [])):
            if f"report/confused/{i}" in z:
                arrays[f"report/confused/{i}"] = _array(path, z, f"report/confused/{i}", "u", (None, 32, 32))
            if f"report/saliency/{i}" in z:
                arrays[f"report/saliency/{i}"] = _array(path, z, f"report/saliency/{i}", "f", (1024,))
        ae = r.get("autoencoder")
        stored = [f"report/recon/{n}" for n in ("originals", "outputs") if f"report/recon/{n}" in z]
        if ae is not None and stored:
            n = len(ae["labels"])
            if len(stored) < 2 or not n or len(ae["psnr"]) != n:
                raise InputError(f"{path}: damaged checkpoint: report.autoencoder: {len(ae['psnr'])} PSNR values "
                                 f"and {n} labels for {len(stored)} of the 2 picture arrays")
            for name in stored:
                arrays[name] = _array(path, z, name, "u", (n, 32, 32))
    for name, a in arrays.items():
        if name.startswith(("report/confused/", "report/recon/")) and a.dtype != np.uint8:
            raise InputError(f"{path}: damaged checkpoint: {name} holds {a.dtype} pixels, not uint8")
    return meta, arrays


__all__ = ["read"]
