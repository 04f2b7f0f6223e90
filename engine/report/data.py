"""What a report needs beyond the training history, gathered when a checkpoint is saved.

The report is rendered from a checkpoint alone (no dataset, no live session), so everything it
shows is stored there: first-layer weights at the start, middle and end of the run, the validation
confusion matrix with example images of the most confused pairs, watchpoint hits, and, where
present, an experiment's results and autoencoder reconstructions. ``gather`` produces it (JSON
metadata + arrays, prefixed ``report/``); ``ReportData.from_checkpoint`` reads it back, with None
for whatever an older checkpoint did not store.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from engine.debug.confusion import confused_pairs
from engine.debug.explain import integrated_gradients, private_copy
from engine.training.autoencoder import reconstructions, upright
from engine.training.checkpoint import save_session, weight_frames
from engine.training.experiments import final_acc

PAIRS = 5  # most confused (true, predicted) pairs kept
EXAMPLES = 6  # example images per pair


def _images_u8(rows: np.ndarray) -> np.ndarray:
    """NIST-layout rows -> upright (k, 32, 32) uint8 images (0 black, 255 white)."""
    return np.round(np.clip(upright(np.asarray(rows, np.float32)), 0, 1) * 255).astype(np.uint8)


def _weight_frames(session) -> list[tuple[int, int, np.ndarray]]:
    """(step, epoch, first-layer W) at the start, the middle and the end of the run, from the
    session's snapshots plus frames carried over from the checkpoint it was loaded from."""
    key = f"{session.net.layers[0].name}.W"
    frames = {s.step: (s.step, s.epoch, s.params[key]) for s in session.snapshots}
    frames.update({f[0]: f for f in getattr(session, "report_frames", ())})
    frames[session.step] = (session.step, session.epoch, session.net.params()[key])
    steps = sorted(frames)
    middle = min(steps, key=lambda s: abs(s - session.step / 2))
    return [frames[s] for s in (steps[0], middle, steps[-1])]


def _confused(session) -> tuple[np.ndarray, list[dict], dict[str, np.ndarray]]:
    cm = session.confusion()
    pairs, arrays = [], {}
    for k, (i, j, count) in enumerate(confused_pairs(cm, PAIRS)):  # the Confusion panel's pairs and order
        idx = session.misclassified(i, j)[:EXAMPLES]
        pairs.append({"true": i, "pred": j, "count": count, "examples": idx.tolist()})
        if session.data.n_inputs != 1024:
            continue  # not 32x32 images: counts only
        arrays[f"report/confused/{k}"] = _images_u8(session.data.valid.x[idx])
        # why the first example was read as j (the Inspect view's saliency)
        net, row = private_copy(session.net), session.data.valid.x[idx[0]]
        probs = net.predict(row[None].astype(np.float64))[0]
        pairs[-1]["why"] = {"p_pred": float(probs[j]), "p_true": float(probs[i])}
        arrays[f"report/saliency/{k}"] = integrated_gradients(net, row, j).astype(np.float32)
    return cm, pairs, arrays


def _experiment(exp) -> dict:
    runs = [{"name": r.name, "status": r.status, "lr": r.session.config.lr,
             "hidden": list(r.session.config.hidden), "activation": r.session.config.activation,
             "final_valid_acc": final_acc(r),
             "valid_acc": [e.valid_acc for e in r.session.history.epochs],
             "train_loss": [e.train_loss for e in r.session.history.epochs]} for r in exp.runs]
    return {"title": exp.title, "finding": exp.finding(), "psnr": exp.runs[0].session.reconstruct, "runs": runs}


def gather(session, experiment=None, autoencoder=None) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON-able metadata, arrays) for a checkpoint of ``session``; ``experiment`` and
    ``autoencoder`` (another session) are the window's other runs, when it has them."""
    d = session.data
    meta: dict = {"dataset": {"name": d.name, "sizes": {s: len(getattr(d, s)) for s in ("train", "valid", "test")}},
                  "state": session.state.value, "message": session.message}
    arrays: dict[str, np.ndarray] = {}
    frames = _weight_frames(session)
    key = f"{session.net.layers[0].name}.W"
    meta["weights"] = [{"step": s, "epoch": e, **({"param": key} if s == session.step else {})} for s, e, _ in frames]
    arrays.update({f"report/weights/{k}": np.asarray(W, np.float32) for k, (s, _, W) in enumerate(frames)
                   if s != session.step})  # the current weights are the checkpoint's own parameters
    images = d.n_inputs == 1024
    if not session.reconstruct and len(d.valid):
        cm, meta["confused"], confused = _confused(session)
        arrays["report/confusion"] = cm.astype(np.int64)
        arrays.update(confused)
    meta["watchpoints"] = [{"expr": w.expr, "hits": [asdict(h) for h in w.hits]}
                           for w in session.checks if hasattr(w, "hits") and hasattr(w, "expr")]
    if experiment is not None and experiment.runs:
        meta["experiment"] = _experiment(experiment)
    ae = session if session.reconstruct else autoencoder
    if ae is not None and images and len(ae.data.valid):
        rec = reconstructions(ae, per_class=1)
        epochs = ae.history.epochs
        meta["autoencoder"] = {"labels": rec.labels, "psnr": rec.psnr.tolist(),
                               "valid_psnr": epochs[-1].valid_acc if epochs else None,
                               "epochs": len(epochs), "own": ae is session}
        arrays["report/recon/originals"] = np.round(rec.originals * 255).astype(np.uint8)
        arrays["report/recon/outputs"] = np.round(np.clip(rec.outputs, 0, 1) * 255).astype(np.uint8)
    return meta, arrays


def save_checkpoint(path, session, experiment=None, autoencoder=None, figures=None) -> None:
    """A checkpoint of ``session`` that also holds what its report needs (``experiment`` and
    ``autoencoder``: the window's other runs, kept for the report only) and ``figures``, the window's
    pictures of its batches (engine.debug.figures)."""
    save_session(path, session, report=gather(session, experiment, autoencoder), figures=figures)


@dataclass
class ReportData:
    """Everything a report shows, as stored in one checkpoint (None: not stored there)."""

    path: str
    config: dict
    sizes: list[int]
    activations: list[str]
    classes: list[str]
    position: dict
    epochs: list[dict]  # per epoch: epoch, train/valid loss/acc, seconds, layers {name: stats}
    batch_loss: np.ndarray
    batch_acc: np.ndarray
    dataset: dict | None = None  # name and split sizes
    state: str | None = None
    message: str | None = None
    weights: list[tuple[int, int, np.ndarray]] | None = None  # (step, epoch, W) start/middle/end
    confusion: np.ndarray | None = None
    confused: list[dict] | None = None  # with "images" (k, 32, 32) uint8 when stored
    watchpoints: list[dict] | None = None
    experiment: dict | None = None
    autoencoder: dict | None = None  # with "originals"/"outputs" (k, 32, 32) uint8
    edits: dict | None = None  # the edit list the data was trained with (engine.data.edits.EditList.as_json)
    extra: dict = field(default_factory=dict)

    @property
    def batches_per_epoch(self) -> int:
        """Stored with the position since checkpoints name it; an older one's from its split size (or its
        history: batches over epochs)."""
        bpe = self.position.get("batches_per_epoch")
        train = ((self.dataset or {}).get("sizes") or {}).get("train")
        if not bpe and train and self.config.get("batch_size"):
            bpe = -(-int(train) // int(self.config["batch_size"]))
        if not bpe and self.epochs:
            bpe = round(len(self.batch_loss) / len(self.epochs))
        return max(int(bpe or 1), 1)

    @property
    def psnr(self) -> bool:
        """An autoencoder run: every "acc" holds PSNR in dB."""
        return self.config.get("loss") == "squared_error"

    @classmethod
    def from_checkpoint(cls, path, meta: dict, arrays: dict[str, np.ndarray]) -> "ReportData":
        r = meta.get("report") or {}
        confused = r.get("confused")
        if confused is not None:
            confused = [{**p, "images": arrays.get(f"report/confused/{k}"),
                         "saliency": arrays.get(f"report/saliency/{k}")} for k, p in enumerate(confused)]
        ae = r.get("autoencoder")
        if ae is not None:
            ae = {**ae, **{k: arrays.get(f"report/recon/{k}") for k in ("originals", "outputs")}}
        return cls(str(path), meta["config"], list(meta["sizes"]), list(meta["activations"]), list(meta["classes"]),
                   meta.get("position", {}), meta.get("epochs", []),
                   np.asarray(arrays.get("history/batch_loss", []), np.float64),
                   np.asarray(arrays.get("history/batch_acc", []), np.float64),
                   dataset=r.get("dataset") or ({"name": meta["dataset"]} if "dataset" in meta else None),
                   state=r.get("state"), message=r.get("message"),
                   weights=weight_frames(meta, arrays) or None, confusion=arrays.get("report/confusion"),
                   confused=confused, watchpoints=r.get("watchpoints"), experiment=r.get("experiment"),
                   autoencoder=ae, edits=meta.get("edits") or None)
