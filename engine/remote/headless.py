"""`debug SCRIPT --headless`: the attached run printed instead of drawn (remote machines, graders).

One line (or one JSON object with ``--json``) per epoch with the figures and what the diagnosis says;
the script's own output goes to stderr under ``--json`` (stdout stays JSON) and to stdout otherwise.
``--break EXPR`` stops the script at the first batch where the watchpoint holds: exit 3, as
``train --break``. Otherwise the exit code is the script's. ``--report OUT.html`` writes the run's HTML
report when the script has ended (engine/report/script.py), however it ended.
"""
from __future__ import annotations

import json
import math
import sys
import time

from engine.debug.watch import parse
from engine.remote.child import start
from engine.remote.host import Host, private_folder
from engine.remote.session import RemoteSession
from engine.report.script import ScriptRun, write_script_report
from engine.training.session import EpochEvent, PauseReason, State

POLL_S = 0.01
STOP_WAIT_S = 10.0
WEIGHTS_S = 0.5  # with --report: the first layer's weights are asked for this often (as the window does)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def epoch_object(e: EpochEvent, session: RemoteSession) -> dict:
    return _clean({"epoch": e.epoch, "step": session.step, "train_loss": e.train_loss, "train_acc": e.train_acc,
                   "valid_loss": e.valid_loss, "valid_acc": e.valid_acc, "seconds": e.seconds,
                   "logs": getattr(e, "logs", {}),
                   "layers": {n: {**s.as_json(), **{k: v for k, v in session.latest.get(n, {}).items()
                                                     if k in ("update_ratio", "update_cos", "step_size")}}
                              for n, s in e.layers.items()},
                   "findings": [f.words for f in session.findings if f.kind != "reduction" or "consistent" not in f.words]})


def epoch_line(e: EpochEvent, session: RemoteSession) -> str:
    parts = [f"epoch {e.epoch:3d}", f"train loss {e.train_loss:.4g}", f"acc {e.train_acc:.4f}"]
    if math.isfinite(e.valid_acc):
        parts.append(f"valid acc {e.valid_acc:.4f}")
    if math.isfinite(e.valid_loss):
        parts.append(f"valid loss {e.valid_loss:.4g}")
    grads = ", ".join(f"{n} |\u2207W| {s.grad_mean_abs:.2e}" for n, s in e.layers.items())
    return "  ".join(parts) + (f"  ({grads})" if grads else "")


def run_headless(script: str, args: list[str], as_json: bool = False, breaks: list[str] | None = None,
                 out=sys.stdout, err=sys.stderr, report: str | None = None) -> int:
    breaks = list(breaks or [])
    for expr in breaks:
        parse(expr)  # the words are checked before the script starts (names once it has attached)
    host = Host(private_folder())
    child = start(script, args, host.env)
    relay = err if as_json else out
    session: RemoteSession | None = None
    said: set[str] = set()
    code = None
    asked = 0.0
    broke = ""
    try:
        while True:
            text = child.read()
            if text:
                relay.write(text)
                relay.flush()
            if session is None:
                attached = host.poll({"watching": bool(breaks), "want": ["weights"] if report else []})
                if attached is not None:
                    session = RemoteSession(attached.conn, attached.hello, watching=bool(breaks))
                    session.checks = [parse(expr, session) for expr in breaks]
                    session.subscribe(lambda ev, s=session: _on_event(ev, s, as_json, out))
            if session is not None:
                session.pump(0.05)
                if report and session.connected and time.perf_counter() - asked > WEIGHTS_S:
                    asked = time.perf_counter()
                    session.want_weights()
                for f in session.findings:
                    if f.words not in said and not as_json:
                        said.add(f.words)
                        print(f"diagnosis: {f.words}", file=out, flush=True)
                if session.state == State.PAUSED and session.pause_reason == PauseReason.WATCHPOINT:
                    print(f"break: {session.message}", file=err if as_json else out, flush=True)
                    broke = session.message
                    session.stop()  # the script ends itself at this boundary (Stopped); interrupted if it hangs
                    child.stop(first_wait_s=STOP_WAIT_S)
                    code = 3
                    break
            if child.returncode is not None and (session is None or not session.connected):
                break
            time.sleep(POLL_S)
        child.proc.wait()
        text = child.read()
        if text:
            relay.write(text)
        if code is None:
            code = child.returncode
            if code:
                print(f"error: {script} {child.summary()}", file=err)
        if report:
            status = f"stopped at the watchpoint {broke} \u00b7 {child.summary()}" if broke else child.summary()
            _write_report(session, script, args, status, report, err if as_json else out, err)
        return code
    finally:
        if child.returncode is None:
            child.stop()
        host.close()


def _write_report(session: RemoteSession | None, script: str, args: list[str], status: str, path: str, say,
                  err) -> None:
    if session is None:
        print(f"error: {script} never attached ({status}): no report written", file=err)
        return
    write_script_report(ScriptRun.of(session, args, status), path)
    print(f"report written to {path}", file=say, flush=True)


def _on_event(event, session: RemoteSession, as_json: bool, out) -> None:
    if isinstance(event, EpochEvent):
        session.refresh_findings()
        if as_json:
            print(json.dumps(epoch_object(event, session), allow_nan=False), file=out, flush=True)
        else:
            print(epoch_line(event, session), file=out, flush=True)
