"""The classic homework bugs, named from their symptoms in an attached loop's figures.

Each finding says what the figures show and where (a layer), and what that usually means, with a
question mark: the figures are the user's, the cause is theirs to confirm. Fed the per-batch records
of backprop_studio (see its figures.py); needs no arrays.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.debug.stats import LayerStats, vanishing_gradient_report

RECENT = 20  # batches the update figures are judged over
STILL = 1e-7  # ||dW|| / ||W|| per batch below this, for RECENT batches: nothing moves
EXPLODE = 10.0  # the loss grew this many times over the run's first batches


@dataclass(frozen=True)
class Finding:
    kind: str  # never_written, never_changes, climbs, frozen, init, not_finite, exploding, too_small, steps, reduction,
    #            vanishing
    layer: str  # "" for the whole network
    words: str
    step: int  # the batch where it was seen


def _series(records: list[dict], layer: str, key: str) -> list[float]:
    return [r["L"][layer][key] for r in records if key in r.get("L", {}).get(layer, {})]


ADAPTIVE = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta", "SparseAdam", "LBFGS")


def diagnose(records: list[dict], layers: list[dict], hello: dict) -> list[Finding]:
    """Findings from the batches seen so far (``records``: the newest last; ``layers``: name, activation
    and shape in forward order; ``hello``: the attach message, with each W's initial state)."""
    if not records:
        return []
    found: list[Finding] = []
    step = int(records[-1].get("s", 0))
    names = [l["name"] for l in layers]
    for l in hello.get("layers", []):
        if l.get("init"):
            found.append(Finding("init", l["name"], f"layer '{l['name']}': {l['init']} at the start (zero or "
                                 "constant initialization): its units get the same gradient and stay alike", 0))
    recent = records[-RECENT:]
    for name in names:
        written = _series(records, name, "written")
        if written and not any(written):
            found.append(Finding("never_written", name, f"layer '{name}': grad_W{name} is never written (the backward "
                                 "pass skips this layer?)", step))
            continue
        changed = _series(recent, name, "changed")
        if len(changed) >= 5 and not any(changed[1:]):
            found.append(Finding("never_changes", name, f"layer '{name}': grad_W{name} has not changed for "
                                 f"{len(changed) - 1} batches (the same array every batch?)", step))
        cos = [c for c in _series(recent, name, "update_cos") if math.isfinite(c)]
        if len(cos) >= 3 and np.median(cos) > 0.1:
            found.append(Finding("climbs", name, f"layer '{name}': each update moves along +grad_W{name}, uphill "
                                 f"(cos(\u0394W, \u2207W) = {np.median(cos):+.2f}; descent is about \u22121): a wrong "
                                 "sign, e.g. in the momentum or the update line?", step))
        moved = _series(recent, name, "update_ratio")
        grads = _series(recent, name, "grad_mean_abs")
        if len(moved) >= 3 and max(moved) == 0 and grads and max(grads) > 0:
            found.append(Finding("frozen", name, f"layer '{name}': W{name} has not changed for {len(moved)} batches "
                                 "although its gradient is not zero (the update does not reach params"
                                 f"['W{name}']?)", step))
        elif len(moved) >= RECENT and 0 < np.median(moved) < STILL:
            found.append(Finding("too_small", name, f"layer '{name}': each update changes W by "
                                 f"{np.median(moved):.1e} of its size: nothing is learning (learning rate too "
                                 "small?)", step))
    origin = _first_not_finite(records, names)
    if origin:
        return found + [_not_finite(origin, layers)] + _loss_findings(records, step)  # the rest is NaN's echo
    found += _loss_findings(records, step)
    if str(hello.get("optimizer", "")) not in ADAPTIVE:  # their steps are per weight: no learning rate to compare
        found += _step_findings(recent, names, step)
    found += _reduction_findings(records, step)
    stats = {n: LayerStats(*(float(np.mean(v)) if v else 0.0 for v in
                             (_series(recent, n, "grad_mean_abs"), _series(recent, n, "grad_to_weight"),
                              _series(recent, n, "saturation"), _series(recent, n, "dead"))))
             for n in names if _series(recent, n, "grad_mean_abs")}
    acts = {l["name"]: l.get("activation", "") for l in layers}
    found += [Finding("vanishing", "", w, step) for w in vanishing_gradient_report(stats, acts)]
    return found


def _first_not_finite(records: list[dict], names: list[str]) -> tuple[str, int] | None:
    """Where NaN/inf began: the first batch with a non-finite layer, and its first such layer in forward
    order (later batches show it everywhere, carried by the updates)."""
    for r in records:
        bad = [n for n in names if r.get("L", {}).get(n, {}).get("finite") is False]
        if bad:
            return bad[0], int(r.get("s", 0))
    return None


def _not_finite(origin: tuple[str, int], layers: list[dict]) -> Finding:
    name, step = origin
    act = next((l.get("activation", "") for l in layers if l["name"] == name), "")
    hint = " (a softmax that overflows? subtract each row's max before exp)" if act == "softmax" else ""
    return Finding("not_finite", name, f"layer '{name}': its {act or 'layer'} outputs hold NaN or inf since batch "
                   f"{step}{hint}", step)


def _loss_findings(records: list[dict], step: int) -> list[Finding]:
    losses = [r["loss"] for r in records if "loss" in r]
    if not losses:
        return []
    if not math.isfinite(losses[-1]):
        first_bad = next(r["s"] for r in records if "loss" in r and not math.isfinite(r["loss"]))
        return [Finding("exploding", "", f"the loss is {losses[-1]} since batch {first_bad} (exploded: learning "
                        "rate too large, or a softmax/log of 0?)", step)]
    start = [v for v in losses[:5] if math.isfinite(v)]
    if start and len(losses) >= 10 and losses[-1] > EXPLODE * max(np.median(start), 1e-12):
        return [Finding("exploding", "", f"the loss grew from {np.median(start):.3g} to {losses[-1]:.3g} "
                        f"(\u00d7{losses[-1] / np.median(start):.0f}) since the start: learning rate too large?", step)]
    return []


def _step_findings(recent: list[dict], names: list[str], step: int) -> list[Finding]:
    """The step each layer took along its gradient, against each other and against a logged lr."""
    sizes = {n: float(np.median(v)) for n in names if (v := [s for s in _series(recent, n, "step_size")
                                                            if math.isfinite(s)])}
    out = []
    lrs = [r["lr"] for r in recent if "lr" in r]
    if lrs and sizes and lrs[-1] > 0:
        for n, s in sizes.items():
            k = s / lrs[-1]
            if k > 1.5 and abs(k - round(k)) < 0.05:
                out.append(Finding("steps", n, f"layer '{n}': each update moves {k:.0f}\u00d7 the logged learning rate "
                                   f"along the gradient (the update applied {k:.0f} times?)", step))
    positive = {n: s for n, s in sizes.items() if s > 0}
    if len(positive) >= 2:
        lo, hi = min(positive.values()), max(positive.values())
        if hi / lo > 1.5 and not out:
            fast, slow = max(positive, key=positive.get), min(positive, key=positive.get)
            out.append(Finding("steps", fast, f"layer '{fast}' moves {hi / lo:.1f}\u00d7 further along its gradient "
                               f"than layer '{slow}' for the same learning rate (one layer updated more than once?)",
                               step))
    return out


def _reduction_findings(records: list[dict], step: int) -> list[Finding]:
    reduction = next((r["reduction"] for r in records if r.get("reduction")), "")
    rule = next((r["delta_rule"] for r in reversed(records) if "delta_rule" in r), None)
    if not reduction or rule is None:
        return []
    summed = rule == "probs - y"
    if rule == "":
        return [Finding("reduction", "", "the delta given to the output layer's backwards is neither probs \u2212 y nor "
                        "its batch mean", step)]
    if (reduction == "sum") == summed:
        how = "summed over the batch" if summed else "averaged over the batch"
        return [Finding("reduction", "", f"loss and gradients are both {how}: consistent", step)]
    rows = next((r["rows"] for r in reversed(records) if "rows" in r), 0)
    if summed:
        return [Finding("reduction", "", f"the loss is averaged over the batch but the gradients are summed "
                        f"(delta = probs \u2212 y): each step is {rows}\u00d7 what the loss implies", step)]
    return [Finding("reduction", "", "the loss is summed over the batch but the gradients are averaged "
                    f"(delta = (probs \u2212 y) / n): each step is 1/{rows} of what the loss implies", step)]
