"""The HTML report of an attached script's run (issue 19): the user's own loop, not the built-in engine.

Everything comes from the window's (or ``debug --headless``'s) ``engine.remote.session.RemoteSession``:
the loss and accuracy the script computed and logged, each layer's mean |grad W|, saturation and update
ratio ||dW||/||W|| over every batch, the diagnosis in words (engine/remote/diagnose.py), the first layer's
weights as the window last received them (32x32 tiles for 1024 inputs, a heatmap otherwise), the
script's own gradient check when one ran, and the script's name, arguments and how it ended.
``ScriptRun.of`` takes what is shown from the session (call it in the thread that pumps it); ``render``
needs nothing else, so the page is the same whichever side wrote it. Same stylesheet and pictures as the
built-in report (engine/report/html.py).
"""
from __future__ import annotations

import math
import shlex
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np

from engine.debug.tiles import tile_grid
from engine.files import atomic_write
from engine.report.style import CSS
from engine.report.svg import data_uri, diverging_index, diverging_palette, line_chart
from engine.words import count

SECTIONS = {"run": "Your script", "curves": "Loss and accuracy", "diagnosis": "Diagnosis",
            "gradients": "Gradients, saturation and updates", "weights": "First-layer weights",
            "gradcheck": "Gradient check of your backward pass", "epochs": "Every epoch"}
FIGURES = (("grad_mean_abs", "mean |\u2207W| (log)", True, 1.0),
           ("saturation", "saturated or dead units (%)", False, 100.0),
           ("update_ratio", "\u2016\u0394W\u2016 / \u2016W\u2016 per batch (log)", True, 1.0))
EXTRA_CSS = ("pre { font-size: .85em; } .cols.half > * { flex: 0 1 calc(50% - 18px); min-width: 300px; } "
             "li.ok { color: var(--good); }")
HEATMAP_PX = 360  # a heatmap's drawn width (its pixels are scaled up, never smoothed)


@dataclass
class ScriptRun:
    """What the report shows of one attached script, copied out of its session."""

    script: str
    args: list[str]
    status: str  # how it ended ("exited 0", "exited 1: ValueError: ..."), or where it is ("paused at step 40")
    layers: list[dict]  # name, activation, shape: in forward order
    step: int
    batches_per_epoch: int
    epochs: list[dict]  # epoch, train_loss, train_acc, valid_loss, valid_acc, seconds, logs
    batch_loss: np.ndarray
    batch_acc: np.ndarray
    steps: np.ndarray  # the batches that ``series`` holds figures of
    series: dict[str, dict[str, np.ndarray]]  # layer -> figure (engine.remote.session.SERIES) -> per batch
    findings: list[tuple[str, bool]]  # (words, a problem?)
    weights: list[tuple[str, int, np.ndarray]]  # (when, step, first-layer W): first and last received
    gradcheck: dict | None = None  # step, rows, passed, lines, layers
    traceback: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, session, args: list[str] | None = None, status: str = "") -> "ScriptRun":
        """From a RemoteSession (``args``: the script's arguments if known, else those it reported;
        ``status``: how it ended, e.g. the child's exit summary; else its state)."""
        s = session
        s.refresh_findings()
        h = s.history
        epochs = [{"epoch": e.epoch, "train_loss": e.train_loss, "train_acc": e.train_acc, "valid_loss": e.valid_loss,
                   "valid_acc": e.valid_acc, "seconds": e.seconds, "logs": dict(getattr(e, "logs", {}) or {})}
                  for e in h.epochs]
        argv = s.hello.get("argv")
        if args is None:
            args = [str(a) for a in argv[1:]] if isinstance(argv, list) else []
        first = s.layers[0]["name"] if s.layers else ""
        weights = []
        if s.first_weights is not None and "W" + first in s.first_weights[1]:
            weights.append(("first received", s.first_weights[0], np.asarray(s.first_weights[1]["W" + first])))
        if "W" + first in s.weights and s.weights_step != (weights[0][1] if weights else None):
            weights.append(("last received", s.weights_step, np.asarray(s.weights["W" + first])))
        check = None
        if s.gradcheck is not None:
            g = s.gradcheck
            check = {"step": g.step, "rows": g.rows, "passed": g.passed, "lines": g.lines(), "problem": g.problem,
                     "layers": [{"name": l.get("name", ""), "passed": bool(l.get("passed"))} for l in g.layers]}
        return cls(s.script, list(args), status or _state_words(s), [dict(l) for l in s.layers], s.step,
                   max(1, s.batches_per_epoch or s.batch), epochs, np.asarray(h.batch_loss, np.float64),
                   np.asarray(h.batch_acc, np.float64), np.asarray(s.series_steps, np.int64),
                   {n: {k: np.asarray(v, np.float64) for k, v in per.items()} for n, per in s.series.items()},
                   [(f.words, not f.words.endswith(": consistent")) for f in s.findings], weights, check,
                   s.crash.traceback if s.crash is not None else "")


def _state_words(s) -> str:
    state = getattr(s.state, "value", str(s.state))
    if state == "paused":
        return f"paused at step {s.step:,} (still attached)"
    if state == "running":
        return f"running, at step {s.step:,}"
    return s.message or state


def write_script_report(run: ScriptRun, out) -> Path:
    """Render ``run`` to ``out`` (atomically); returns the path written."""
    text = render(run)
    with atomic_write(out, "w") as f:
        f.write(text)
    return Path(out)


# ---- formatting ------------------------------------------------------------------------------------

def _cell(v, pct: bool = False) -> str:
    """A number cell: readable text, and the exact value in data-value."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '<td class="num">\u2013</td>'
    v = float(v)
    text = (f"{100 * v:.2f} %" if pct else f"{v:.4g}") if math.isfinite(v) else str(v)
    return f'<td class="num" data-value="{v!r}">{text}</td>'


def _fraction(values) -> bool:
    """Accuracies logged as fractions (0..1) are shown in %; anything else as the script logged it."""
    a = np.asarray([v for v in values if v is not None], float)
    a = a[np.isfinite(a)]
    return len(a) > 0 and a.min() >= 0 and a.max() <= 1


def _missing(what: str) -> str:
    return f'<p class="missing">{escape(what)}</p>'


def command(run: ScriptRun) -> str:
    return shlex.join([run.script, *run.args])


def outcome(run: ScriptRun) -> str:
    """The run in one sentence."""
    head = f"{run.script} ran {count(run.step, 'batch', 'batches')}"
    if run.epochs:
        last = run.epochs[-1]
        pct = _fraction([e["train_acc"] for e in run.epochs] + [e["valid_acc"] for e in run.epochs])
        fmt = (lambda v: f"{100 * v:.1f} %") if pct else (lambda v: f"{v:.4g}")
        head += f" ({count(len(run.epochs), 'epoch')})"
        parts = [f"validation accuracy {fmt(last['valid_acc'])}" if math.isfinite(last["valid_acc"]) else "",
                 f"train accuracy {fmt(last['train_acc'])}" if math.isfinite(last["train_acc"]) else "",
                 f"validation loss {last['valid_loss']:.4g}" if math.isfinite(last["valid_loss"]) else ""]
        parts = [p for p in parts if p]
        if parts:
            head += f"; after epoch {last['epoch']}: " + ", ".join(parts)
    else:
        head += ", and no epoch was completed"
    return f"{head}; {run.status}."


# ---- sections --------------------------------------------------------------------------------------

def _run(run: ScriptRun) -> str:
    net = " \u2192 ".join([str((run.layers[0].get("shape") or ["?"])[0])]
                          + [f"{(l.get('shape') or ['?'])[-1]} {l.get('activation') or ''}".strip()
                             for l in run.layers]) if run.layers else "not known (no layer seen)"
    rows = [("command", command(run)), ("how it ended" if run.traceback or "exit" in run.status else "status",
                                        run.status),
            ("layers", ", ".join(l["name"] for l in run.layers) or "\u2013"), ("network", net),
            ("batches", f"{run.step:,} ({run.batches_per_epoch:,} an epoch)")]
    table = '<table class="kv">' + "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                                           for k, v in rows) + "</table>"
    tb = (f'<h3>Traceback</h3><pre class="scroll" id="traceback">{escape(run.traceback)}</pre>'
          if run.traceback else "")
    return table + tb


def _curves(run: ScriptRun) -> str:
    if not len(run.batch_loss):
        return _missing("The script reported no batch.")
    x = np.arange(1, len(run.batch_loss) + 1) / run.batches_per_epoch
    ep = np.array([e["epoch"] for e in run.epochs], float)
    col = lambda k: np.array([e[k] for e in run.epochs], float)  # noqa: E731
    loss = line_chart([("batch (train)", x, run.batch_loss), ("train", ep, col("train_loss")),
                       ("valid", ep, col("valid_loss"))], "epoch", "loss (as your script computes it)",
                      title="loss", faint=(0,), colors=("batch", "train", "valid"))
    accs = [*run.batch_acc, *col("train_acc"), *col("valid_acc")]
    scale, unit = (100, "accuracy (%)") if _fraction(accs) else (1, "accuracy (as logged)")
    acc = line_chart([("batch (train)", x, run.batch_acc * scale), ("train", ep, col("train_acc") * scale),
                      ("valid", ep, col("valid_acc") * scale)], "epoch", unit, title="accuracy", faint=(0,),
                     colors=("batch", "train", "valid"))
    return (f'<div class="cols"><div>{loss}</div><div>{acc}</div></div><p class="muted">Per batch (faint) as the '
            'script computed them; train per epoch as the mean of its batches; valid as the script logged it '
            '(<code>run.log(valid_loss=\u2026, valid_acc=\u2026)</code>).</p>')


def _diagnosis(run: ScriptRun) -> str:
    if not run.step:
        return _missing("No batch was seen, so there is nothing to diagnose.")
    if not run.findings:
        return ("<p>Nothing to report: every layer's gradient is written and changes, each update moves "
                "downhill, no NaN or inf, the loss neither explodes nor stands still, and no layer's gradient "
                "vanishes or explodes against the output layer's.</p>")
    items = "".join(f'<li class="{"problem" if bad else "ok"}">{escape(w)}</li>' for w, bad in run.findings)
    return ('<ul class="findings" id="findings">' + items + '</ul><p class="muted">Named from the figures of your '
            "loop (engine/remote/diagnose.py): what they show, and with a question mark what that usually "
            "means.</p>")


def _gradients(run: ScriptRun) -> str:
    names = [l["name"] for l in run.layers if l["name"] in run.series] or list(run.series)
    if not names or not len(run.steps):
        return _missing("No per-layer figures arrived.")
    x = run.steps / run.batches_per_epoch
    charts = []
    for key, label, log, scale in FIGURES:
        chart = line_chart([(n, x, run.series[n][key] * scale) for n in names], "epoch", label, log_y=log,
                           title=key)
        charts.append(f'<div data-figure="{key}">{chart}</div>')
    return (f'<div class="cols half">{"".join(charts)}</div><p class="muted">Every batch the script ran (long runs are '
            "drawn as bucket means with their min\u2013max band). Saturation: sigmoid outputs outside [0.05, 0.95], "
            "|tanh| above 0.95, ReLU units silent on a whole batch, from the cached post-activations. "
            "\u2016\u0394W\u2016/\u2016W\u2016: how far each update moved the layer, for its size.</p>")


def _picture(W: np.ndarray) -> tuple[str, float, str]:
    """(data URI, the colour scale's limit, the img's extra style) of a first-layer W."""
    if W.shape[0] == 1024:
        grid = tile_grid(W, dtype=np.float64)
        style = ""
    else:
        grid = np.asarray(W, np.float64).T  # one row per unit, as the window's Weights panel draws it
        style = f' style="width:{HEATMAP_PX}px;max-width:100%;height:auto"'
    limit = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    return data_uri(diverging_index(grid, limit), diverging_palette()), limit, style


def _weights(run: ScriptRun) -> str:
    if not run.weights:
        return _missing("The script's weights never arrived (the window asks for them while it draws them; the "
                        "script ended before it answered).")
    W0 = run.weights[0][2]
    tiles = W0.shape[0] == 1024
    figs = []
    for when, step, W in run.weights:
        uri, limit, style = _picture(W)
        figs.append(f'<figure data-step="{step}"><img class="pix" src="{uri}"{style} alt="first-layer weights, {when}">'
                    f'<figcaption><b>{when}</b>: step {step:,} of {run.step:,}; \u00b1{limit:.3g}</figcaption></figure>')
    how = ("Each tile is one hidden unit\u2019s 1024 incoming weights as a 32\u00d732 image" if tiles else
           f"One row per unit of layer \u2018{run.layers[0]['name'] if run.layers else ''}\u2019, one column per "
           f"input ({W0.shape[0]} inputs are not 32\u00d732 images)")
    return (f'<p class="muted">{how}: red positive, blue negative, white zero (each picture scaled to its own '
            'largest |w|). The weights are the script\u2019s as the window last received them, not necessarily '
            f'those of its very last batch.</p><div class="tiles" id="weight-tiles">{"".join(figs)}</div>')


def _gradcheck(run: ScriptRun) -> str:
    g = run.gradcheck
    if g is None:
        return _missing("No gradient check ran (pause the script and press Ctrl+G in the window: it checks your "
                        "backwards against central differences through your own forward and loss).")
    if g["problem"]:
        return f'<p class="callout">{escape(g["lines"][0])}</p>'
    verdict = "every layer PASSES" if g["passed"] else "some layers FAIL"
    items = "".join(f'<li data-layer="{escape(l["name"])}" data-passed="{str(l["passed"]).lower()}">{escape(t)}</li>'
                    for l, t in zip(g["layers"], g["lines"]))
    return (f"<p>At step {g['step']:,}, on {count(g['rows'], 'example')}: {verdict}.</p>"
            f'<ul class="findings" id="gradcheck-layers">{items}</ul>')


def _epochs(run: ScriptRun) -> str:
    if not run.epochs:
        return _missing("No epoch was completed.")
    pct = _fraction([e["train_acc"] for e in run.epochs] + [e["valid_acc"] for e in run.epochs])
    std = {"valid_loss", "val_loss", "valid_acc", "val_acc", "valid_accuracy", "train_loss", "train_acc", "acc"}
    extra = sorted({k for e in run.epochs for k in e["logs"] if k not in std})
    head = ("<tr>" + "".join(f'<th class="num">{escape(h)}</th>' for h in
                             ("epoch", "train loss", "train acc", "valid loss", "valid acc", "seconds", *extra))
            + "</tr>")
    rows = "".join(f'<tr data-epoch="{e["epoch"]}"><td class="num">{e["epoch"]}</td>{_cell(e["train_loss"])}'
                   f'{_cell(e["train_acc"], pct)}{_cell(e["valid_loss"])}{_cell(e["valid_acc"], pct)}'
                   f'{_cell(e["seconds"])}' + "".join(_cell(e["logs"].get(k)) for k in extra) + "</tr>"
                   for e in run.epochs)
    return f'<div class="scroll"><table id="epoch-table">{head}{rows}</table></div>'


# ---- the page ----------------------------------------------------------------------------------------

def render(run: ScriptRun) -> str:
    parts = {"run": _run, "curves": _curves, "diagnosis": _diagnosis, "gradients": _gradients, "weights": _weights,
             "gradcheck": _gradcheck, "epochs": _epochs}
    body = "\n".join(f'<section id="{k}"><h2>{SECTIONS[k]}</h2>\n{f(run)}\n</section>' for k, f in parts.items())
    nav = " ".join(f'<a href="#{k}">{v}</a>' for k, v in SECTIONS.items())
    title = f"Debugging report: {run.script}"
    problems = sum(bad for _, bad in run.findings)
    callout = (f'<p class="callout"><b>{count(problems, "finding")} to look at</b> in the diagnosis below.</p>'
               if problems else "")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="backprop-studio report of an attached script">'
            f"<title>{escape(title)}</title><style>{CSS}{EXTRA_CSS}</style></head><body><main>"
            f'<header><h1>{escape(title)}</h1><p class="outcome" id="outcome">{escape(outcome(run))}</p>{callout}'
            f'<p class="meta">Your own training loop, attached to backprop-studio; <code>{escape(command(run))}</code>; '
            f'rendered {time.strftime("%Y-%m-%d %H:%M")}.</p><nav>{nav}</nav></header>\n{body}\n</main></body></html>\n')


__all__ = ["ScriptRun", "outcome", "render", "write_script_report"]
