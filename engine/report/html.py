"""One self-contained HTML file that tells the story of a training session, from its checkpoint.

Everything shown comes from the checkpoint (``engine.report.data``): no dataset is loaded, and the
numbers are the stored ones (every table cell carries the exact value in ``data-value``). Pictures
are inline SVG or PNG data URIs, so the file opens offline in any browser and prints to PDF.
The diagnosis is the debugger's own words (``engine.debug.stats.vanishing_gradient_report``).
"""
from __future__ import annotations

import math
import time
from html import escape
from pathlib import Path

import numpy as np

from engine.data.edits import EditList
from engine.debug.stats import LayerStats, vanishing_gradient_report
from engine.debug.tiles import tile_grid
from engine.errors import InputError
from engine.files import atomic_write, check_distinct
from engine.report import stored
from engine.report.data import ReportData
from engine.report.style import CSS, SERIES
from engine.report.svg import data_uri, diverging_index, diverging_palette, evidence_palette, line_chart, strip
from engine.training.autoencoder import upright
from engine.training.position import moment
from engine.words import count

DASH = "\u2013"
CURVES = ("batch", "train", "valid")  # the window's colours for the per-batch, train and valid curves
SECTIONS = {"config": "Configuration and data", "curves": "Loss and accuracy", "gradients": "Gradients and saturation",
            "weights": "First-layer weights", "confusion": "Validation confusion", "watchpoints": "Watchpoints",
            "experiments": "Experiments", "autoencoder": "Autoencoder", "epochs": "Every epoch"}


def load(path) -> ReportData:
    """The report's data from a checkpoint; InputError when the file is not a training session."""
    meta, arrays = stored.read(path)  # every field used is checked there, and only what is shown is read
    return ReportData.from_checkpoint(path, meta, arrays)


def write_report(checkpoint, out, source: str | None = None) -> Path:
    """Render ``checkpoint`` to ``out`` (atomically); returns the path written. ``source`` names where
    the session came from when the checkpoint is a temporary one (an unsaved run)."""
    check_distinct([("checkpoint", checkpoint)], [("the report", out)])
    data = load(checkpoint)
    if source:
        data.path = source
    text = render(data)
    with atomic_write(out, "w") as f:
        f.write(text)
    return Path(out)


# ---- formatting ------------------------------------------------------------------------------------

def _num(v, kind: str = "") -> str:
    """A cell whose text is readable and whose data-value is the stored number, exactly."""
    if v is None:
        return '<td class="num">\u2013</td>'
    v = float(v)
    if not math.isfinite(v):
        text = str(v)
    elif kind == "pct":
        text = f"{100 * v:.2f} %"
    elif kind == "db":
        text = f"{v:.2f} dB"
    elif kind == "sci":
        text = f"{v:.2e}"
    else:
        text = f"{v:.4f}" if abs(v) < 1e4 else f"{v:,.0f}"
    return f'<td class="num" data-value="{v!r}">{text}</td>'


def _acc_kind(d: ReportData) -> str:
    return "db" if d.psnr else "pct"


def _acc_name(d: ReportData) -> str:
    return "PSNR" if d.psnr else "accuracy"


def _section(key: str, body: str) -> str:
    return f'<section id="{key}"><h2>{SECTIONS[key]}</h2>\n{body}\n</section>'


def _missing(what: str) -> str:
    return f'<p class="missing">{escape(what)}</p>'


def _older(what: str) -> str:
    return _missing(f"This checkpoint does not store {what} (it was saved by an older version); "
                    "save the session again to include it.")


# ---- header ------------------------------------------------------------------------------------------

def outcome(d: ReportData) -> str:
    """The run in one sentence."""
    planned, e = d.config.get("epochs"), d.epochs
    state = d.state or ("finished" if e and planned is not None and len(e) >= planned else "")
    fmt = (lambda v: f"{v:.2f} dB") if d.psnr else (lambda v: f"{100 * v:.1f} %")
    if not e:
        head = "No epoch was completed"
    else:
        last = e[-1]
        head = (f"After {len(e)} of {count(planned, 'epoch')}, validation {_acc_name(d)} is {fmt(last['valid_acc'])} "
                f"(train {fmt(last['train_acc'])}), validation loss {last['valid_loss']:.4g}")
    tail = {"diverged": "; training diverged", "finished": "; training finished",
            "stopped": "; training was stopped", "paused": "; training is paused"}.get(state, "")
    if d.message and state != "diverged":
        tail += f" ({d.message})"
    return head + tail + "."


def _diverged(d: ReportData) -> str:
    """The session's own divergence diagnosis, where it cannot be missed."""
    if d.state != "diverged" or not d.message:
        return ""
    return f'<p class="callout"><b>Diverged:</b> {escape(d.message)}</p>'


def _title(d: ReportData) -> str:
    net = "\u2013".join(map(str, d.sizes))
    act = d.config.get("activation", "")
    name = (d.dataset or {}).get("name", "")
    kind = "Autoencoder" if d.psnr else "Training"
    return f"{kind} report: {net} {act} network" + (f" on {name}" if name else "")


# ---- sections --------------------------------------------------------------------------------------

def _config(d: ReportData) -> str:
    c = d.config
    rows = [("network", f"{DASH.join(map(str, d.sizes))} ({', '.join(d.activations)})")]
    rows += [(k.replace("_", " "), ", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in c.items()]
    rows.append(("position", moment(int(d.position.get("step", 0)), d.batches_per_epoch, c.get("epochs"))))
    rows.append(("checkpoint", Path(d.path).name))
    ds = d.dataset or {}
    data_rows = [("name", ds.get("name", "\u2013")), ("classes", f"{len(d.classes)}: {' '.join(d.classes)}")]
    if "sizes" in ds:
        data_rows += [(f"{k} examples", f"{v:,}") for k, v in ds["sizes"].items()]
    else:
        data_rows.append(("split sizes", "not stored in this (older) checkpoint"))
    if d.edits:
        data_rows.append(("edits", _edit_words(d.edits)))
    table = lambda rs: '<table class="kv">' + "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                                                     for k, v in rs) + "</table>"
    return (f'<div class="cols"><div><h3>Training</h3>{table(rows)}</div>'
            f'<div><h3>Dataset</h3>{table(data_rows)}</div></div>')


def _edit_words(doc: dict, shown: int = 12) -> str:
    """'2 edits (1 relabelled, 1 dropped), the data file unchanged: train #12 A → H, train #40 dropped'."""
    try:
        edits = EditList.from_json(doc, "the checkpoint's edit list")
    except InputError:
        return "stored, but not readable (the data file itself is unchanged)"
    each = [f"{e.split} #{e.index} {e.was} \u2192 {e.label}" if e.op == "relabel" else f"{e.split} #{e.index} "
            f"({e.was}) dropped" for e in edits.edits[:shown]]
    more = f", and {len(edits.edits) - shown:,} more" if len(edits.edits) > shown else ""
    return f"{edits.summary()}, the data file unchanged: {', '.join(each)}{more}"


def _final_table(d: ReportData) -> str:
    if not d.epochs:
        return _missing("No epoch was completed, so there are no final numbers.")
    last, k = d.epochs[-1], _acc_kind(d)
    rows = [("train", "train_loss", "train_acc"), ("valid", "valid_loss", "valid_acc")]
    body = "".join(f'<tr data-split="{s}"><th>{s}</th>'
                   + _num(last[lk]).replace("<td", f'<td data-key="{lk}"', 1)
                   + _num(last[ak], k).replace("<td", f'<td data-key="{ak}"', 1) + "</tr>" for s, lk, ak in rows)
    return (f'<table id="final" data-epoch="{last["epoch"]}"><tr><th>epoch {last["epoch"]}</th>'
            f'<th class="num">loss</th><th class="num">{_acc_name(d)}</th></tr>{body}</table>')


def _curves(d: ReportData) -> str:
    if not d.epochs:
        return _missing("No epoch was completed yet.")
    ep = np.array([e["epoch"] for e in d.epochs], float)
    col = lambda k: np.array([e[k] for e in d.epochs], float)
    steps_per_epoch = len(d.batch_loss) / len(d.epochs) if len(d.epochs) else 1
    batch_x = np.arange(1, len(d.batch_loss) + 1) / max(steps_per_epoch, 1)
    loss = line_chart([("batch (train)", batch_x, d.batch_loss), ("train", ep, col("train_loss")),
                       ("valid", ep, col("valid_loss"))], "epoch", "loss", title="loss", faint=(0,), colors=CURVES)
    scale = 1 if d.psnr else 100
    unit = "PSNR (dB)" if d.psnr else "accuracy (%)"
    acc = line_chart([("batch (train)", batch_x, d.batch_acc * scale), ("train", ep, col("train_acc") * scale),
                      ("valid", ep, col("valid_acc") * scale)], "epoch", unit, title=unit, faint=(0,),
                     colors=CURVES)
    return f'{_final_table(d)}<div class="cols"><div>{loss}</div><div>{acc}</div></div>'


def _gradients(d: ReportData) -> str:
    if not d.epochs or not d.epochs[0].get("layers"):
        return _missing("No per-layer statistics were recorded (no epoch completed).")
    names = list(d.epochs[0]["layers"])
    ep = np.array([e["epoch"] for e in d.epochs], float)
    stat = lambda n, k: np.array([e["layers"][n][k] for e in d.epochs], float)
    grads = line_chart([(n, ep, stat(n, "grad_mean_abs")) for n in names], "epoch", "mean |\u2207W| (log)",
                       log_y=True, title="gradient magnitude")
    sat = line_chart([(n, ep, 100 * stat(n, "saturation")) for n in names], "epoch",
                     "saturated or dead units (%)", title="saturation")
    acts = dict(zip(names, d.activations))

    def words(e) -> list[str]:
        return vanishing_gradient_report({n: LayerStats(**s) for n, s in e["layers"].items()}, acts)

    first, last = words(d.epochs[0]), words(d.epochs[-1])
    items = [f"<li><b>Epoch 1:</b> {escape(w)}.</li>" for w in first]
    if len(d.epochs) > 1:
        items += [f"<li><b>Epoch {d.epochs[-1]['epoch']}:</b> {escape(w)}.</li>" for w in last]
    diag = (f'<ul class="findings">{"".join(items)}</ul>' if items else
            "<p>No vanishing or exploding gradients: every layer's mean |\u2207W| is within 10\u00d7 of the output "
            "layer's in the first and the last epoch, and no layer is mostly saturated or dead.</p>")
    return (f'<h3>Diagnosis</h3>{diag}<div class="cols"><div>{grads}</div><div>{sat}</div></div>'
            '<p class="muted">Per-epoch means over the epoch\u2019s batches. Saturation: sigmoid outputs outside '
            '[0.05, 0.95], |tanh| above 0.95, or ReLU units silent on a whole batch.</p>')


def _weights(d: ReportData) -> str:
    if not d.weights:
        return _older("first-layer weights at the start, middle and end")
    if d.weights[0][2].shape[0] != 1024:
        return _missing("The inputs are not 32\u00d732 images, so the weights are not drawn as tiles.")
    figs = []
    for label, (step, epoch, W) in zip(("start", "middle", "end"), d.weights):
        grid = tile_grid(W, dtype=np.float64)
        limit = float(np.nanmax(np.abs(grid)))
        uri = data_uri(diverging_index(grid, limit), diverging_palette())
        figs.append(f'<figure><img class="pix" src="{uri}" alt="first-layer weights at {label}">'
                    f'<figcaption><b>{label}</b>: step {step:,} (after {epoch} epoch{"" if epoch == 1 else "s"}); '
                    f'\u00b1{limit:.3g}</figcaption>'
                    '</figure>')
    return ('<p class="muted">Each tile is one hidden unit\u2019s 1024 incoming weights as a 32\u00d732 image: '
            'red positive, blue negative, white zero (each picture scaled to its own largest |w|).</p>'
            f'<div class="tiles">{"".join(figs)}</div>')


def _confusion(d: ReportData) -> str:
    if d.psnr:
        return _missing("An autoencoder has no classes, so there is no confusion matrix.")
    if d.confusion is None:
        return _older("the validation confusion matrix")
    cm, cls = d.confusion, d.classes
    totals = cm.sum(axis=1)
    head = "<tr><th title='true \u2193 / predicted \u2192'>t\\p</th>" + "".join(f"<th>{escape(c)}</th>" for c in cls)
    rows = []
    for i, c in enumerate(cls):
        cells = []
        for j in range(len(cls)):
            n = int(cm[i, j])
            frac = n / totals[i] if totals[i] else 0.0
            color = "var(--heat)" if i == j else "var(--err)"
            style = f' style="background:rgba({color},{min(1.0, 0.12 + frac):.2f})"' if n else ""
            cls_ = "zero" if not n else "hot" if frac > 0.5 else ""
            cells.append(f'<td class="{cls_}"{style} title="true {escape(c)}, predicted '
                         f'{escape(cls[j])}: {n}">{n}</td>')
        rows.append(f"<tr><th>{escape(c)}</th>{''.join(cells)}</tr>")
    acc = np.trace(cm) / max(cm.sum(), 1)
    table = (f'<div class="scroll"><table class="confusion" data-total="{int(cm.sum())}">{head}</tr>'
             f'{"".join(rows)}</table></div><p class="muted">Rows: true class; columns: predicted. '
             f'{int(cm.sum()):,} validation examples, {100 * acc:.2f} % on the diagonal. '
             'Shading: share of the row.</p>')
    pairs = d.confused or []
    if not pairs:
        return table + "<p>No validation example was misclassified.</p>"
    items = []
    for p in pairs:
        t, q = cls[p["true"]], cls[p["pred"]]
        share = p["count"] / totals[p["true"]] if totals[p["true"]] else 0.0
        img = ""
        if p.get("images") is not None and len(p["images"]):
            img = (f'<img class="pix" src="{data_uri(strip(p["images"]))}" '
                   f'alt="{escape(t)} read as {escape(q)}">')
        items.append(f'<div class="pair"><div class="what"><b>{escape(t)} \u2192 {escape(q)}</b>: {p["count"]} '
                     f'times ({100 * share:.1f} % of {escape(t)})</div>{img}{_why(p, t, q)}</div>')
    return (table + '<h3>Most confused pairs</h3><p class="muted">Up to six validation examples of each; beside them, '
            "what made the network choose the wrong class for the first one: red pixels raised its probability, "
            "blue lowered it (integrated gradients from a blank page, engine/debug/explain.py).</p>" + "".join(items))


def _why(p: dict, true: str, pred: str) -> str:
    """The first example's saliency for the wrong class (integrated gradients from a blank page)."""
    sal, why = p.get("saliency"), p.get("why")
    if sal is None or why is None:
        return ""
    img = upright(sal[None])[0]
    limit = float(np.abs(img).max()) or 1.0
    uri = data_uri(diverging_index(img, limit), evidence_palette())
    return (f'<figure class="why"><img class="pix" src="{uri}" '
            f'alt="why {escape(pred)}"><figcaption>why {escape(pred)}: p({escape(pred)}) '
            f'{100 * why["p_pred"]:.1f} %, p({escape(true)}) {100 * why["p_true"]:.1f} %</figcaption></figure>')


def _watchpoints(d: ReportData) -> str:
    if d.watchpoints is None:
        return _older("watchpoints")
    if not d.watchpoints:
        return _missing("No watchpoint was set for this run.")
    rows = []
    for w in d.watchpoints:
        hits = w["hits"] or [None]
        for h in hits:
            where = moment(int(h["step"]), d.batches_per_epoch, d.config.get("epochs")) if h else "never hit"
            rows.append(f"<tr><td><code>{escape(w['expr'])}</code></td><td>{where}</td>"
                        + (_num(h["value"], "sci" if abs(h["value"]) < 1e-2 else "") if h else "<td></td>")
                        + "</tr>")
    return ('<table><tr><th>watchpoint</th><th>hit at</th><th class="num">value</th></tr>'
            + "".join(rows) + "</table>")


def _experiments(d: ReportData) -> str:
    x = d.experiment
    if x is None:
        return _missing("No side-by-side experiment was saved with this session.")
    kind = "db" if x.get("psnr") else "pct"
    rows = "".join(f"<tr><td>{escape(r['name'])}</td><td>{escape(r['activation'])} "
                   f"{DASH.join(map(str, r['hidden']))}</td><td class='num'>{r['lr']:g}</td>"
                   f"<td>{escape(r['status'])}</td>{_num(r['final_valid_acc'], kind)}</tr>" for r in x["runs"])
    chart = line_chart([(r["name"], np.arange(1, len(r["valid_acc"]) + 1), np.array(r["valid_acc"], float)
                         * (1 if x.get("psnr") else 100)) for r in x["runs"]], "epoch",
                       "valid PSNR (dB)" if x.get("psnr") else "valid accuracy (%)", title="experiment",
                       colors=tuple(f"r{k % SERIES}" for k in range(len(x["runs"]))))
    return (f"<h3>{escape(x.get('title') or 'Experiment')}</h3><p>{escape(x.get('finding', ''))}</p>"
            '<div class="cols"><div><table><tr><th>run</th><th>network</th><th class="num">lr</th><th>status</th>'
            f'<th class="num">final valid</th></tr>{rows}</table></div><div>{chart}</div></div>')


def _autoencoder(d: ReportData) -> str:
    a = d.autoencoder
    if a is None:
        return _missing("No autoencoder was trained in this session.")
    if a.get("originals") is None:
        return _older("the autoencoder's reconstructions")
    o, r = a["originals"], a["outputs"]
    per_row = 12
    rows = []
    for s in range(0, len(o), per_row):
        rows += [strip(o[s:s + per_row]), np.full((2, 1), 255, np.uint8), strip(r[s:s + per_row]),
                 np.full((10, 1), 255, np.uint8)]
    width = max(x.shape[1] for x in rows)
    pic = np.vstack([np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=255) for x in rows])
    psnr = np.asarray(a["psnr"], float)
    head = (f"Validation PSNR {a['valid_psnr']:.2f} dB after {count(a['epochs'], 'epoch')}" if a.get("valid_psnr") is not None
            else "No epoch completed")
    return (f'<p>{head}; the examples below (one per class, original above its reconstruction) average '
            f'{psnr.mean():.2f} dB, from {psnr.min():.2f} ({escape(a["labels"][int(psnr.argmin())])}) to '
            f'{psnr.max():.2f} dB ({escape(a["labels"][int(psnr.argmax())])}).</p>'
            f'<figure class="recon"><img class="pix" src="{data_uri(pic)}" '
            'alt="originals and reconstructions"></figure>')


def _epochs(d: ReportData) -> str:
    if not d.epochs:
        return _missing("No epoch was completed.")
    k = _acc_kind(d)
    head = (f'<tr><th class="num">epoch</th><th class="num">train loss</th><th class="num">train {_acc_name(d)}</th>'
            f'<th class="num">valid loss</th><th class="num">valid {_acc_name(d)}</th>'
            '<th class="num">seconds</th></tr>')
    rows = "".join(f'<tr data-epoch="{e["epoch"]}"><td class="num">{e["epoch"]}</td>{_num(e["train_loss"])}'
                   f'{_num(e["train_acc"], k)}{_num(e["valid_loss"])}{_num(e["valid_acc"], k)}{_num(e["seconds"])}</tr>'
                   for e in d.epochs)
    return f'<div class="scroll"><table id="epoch-table">{head}{rows}</table></div>'


# ---- the page ----------------------------------------------------------------------------------------

def render(d: ReportData) -> str:
    start = time.perf_counter()
    parts = {"config": _config, "curves": _curves, "gradients": _gradients, "weights": _weights,
             "confusion": _confusion, "watchpoints": _watchpoints, "experiments": _experiments,
             "autoencoder": _autoencoder, "epochs": _epochs}
    body = "\n".join(_section(k, f(d)) for k, f in parts.items())
    nav = " ".join(f'<a href="#{k}">{v}</a>' for k, v in SECTIONS.items())
    title = _title(d)
    made = time.strftime("%Y-%m-%d %H:%M")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="backprop-studio report ({time.perf_counter() - start:.2f} s)">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
            f'<header><h1>{escape(title)}</h1><p class="outcome" id="outcome">{escape(outcome(d))}</p>'
            f"{_diverged(d)}"
            f'<p class="meta">From {escape(Path(d.path).name)}, rendered {made} by backprop-studio.</p>'
            f"<nav>{nav}</nav></header>\n{body}\n</main></body></html>\n")
