"""backprop-studio's client: put your own training loop under the debugger's window.

    import backprop_studio as studio

    run = studio.attach(params)              # your params dict (W<name>, b<name>, grad_W<name>, ...)
    for itr in range(max_iters):
        for xb, yb in run.batches(batches):  # each batch: pause and step stop here
            ...                              # your loop body, unchanged
        run.log(valid_acc=valid_acc)         # any figure, by name

With no window open (and outside `python main.py debug`), ``attach`` returns a run that does nothing:
``run.batches(b)`` is ``b`` itself, ``log`` returns at once, nothing is wrapped, nothing connects. The
script runs exactly as it would without this import.

This package needs only the standard library and NumPy, and imports nothing of the app (so it never
shadows or is shadowed by a user's own modules: its one name is ``backprop_studio``).
"""
from __future__ import annotations

import sys

from backprop_studio import link, wire
from backprop_studio.run import Run, Stopped, script_name

__all__ = ["Run", "Stopped", "attach", "current"]
__version__ = "1"

_current: Run | None = None


class Detached:
    """What ``attach`` returns without a window: every call is free and changes nothing."""

    attached = False

    def batches(self, iterable):
        return iterable

    def begin_batch(self, item=None) -> None:
        pass

    def end_epoch(self) -> None:
        pass

    def log(self, **figures) -> None:
        pass

    def detach(self) -> None:
        pass


DETACHED = Detached()


def current() -> Run | None:
    """The attached run of this process, if any."""
    return _current if _current is not None and _current.attached else None


def attach(target, optimizer=None, *, forward=None, backwards=None, loss=None, quiet: bool = False):
    """Attach ``target`` to the open window: a params dict (the exercise's conventions) or a PyTorch
    ``nn.Module`` with its ``optimizer``. ``forward``/``backwards``/``loss``: your functions, when they
    are not called forward, backwards and compute_loss_and_acc in the calling script. Returns a run; a
    second attach in the same process returns the first run."""
    global _current
    if _current is not None and _current.attached:
        return _current
    torch_model = _is_torch_module(target)
    if torch_model:
        from backprop_studio.torch_run import rank

        if rank() != 0:
            return DETACHED  # torchrun's other ranks run undisturbed; pausing rank 0 holds them at a collective
    where = link.target()
    if where is None:
        return DETACHED
    try:
        conn = link.connect(*where)
    except link.LinkError as exc:
        if not quiet and _asked_for():
            print(f"backprop-studio: not attached ({exc}); running without the debugger", file=sys.stderr)
        return DETACHED
    caller = sys._getframe(1).f_globals
    if torch_model:
        from backprop_studio.torch_run import TorchRun  # only a PyTorch script pays for importing torch

        run = TorchRun(conn, script_name(), target, optimizer)
    else:
        from backprop_studio.numpy_run import NumpyRun
        from backprop_studio.program import find_functions

        if not isinstance(target, dict):
            conn.close()
            raise TypeError(f"attach() takes your params dict or a torch.nn.Module, not {type(target).__name__}")
        fns = find_functions(caller, {"forward": forward, "backwards": backwards, "loss": loss})
        run = NumpyRun(conn, script_name(), target, fns, [caller])
    answer = _greet(run)
    if answer.get("type") != "welcome":
        run._drop()
        if not quiet:
            print(f"backprop-studio: {answer.get('why', 'the window refused this script')}; "
                  "running without the debugger", file=sys.stderr)
        return DETACHED
    run.watching = bool(answer.get("watching"))
    run.paused = bool(answer.get("paused"))
    pace = answer.get("pace")
    run.pace = float(pace) if isinstance(pace, (int, float)) and pace > 0 else None
    _current = run
    run._take_snapshot(None)  # step 0: the initial weights, for time travel
    run._send_snapshot_list()
    want = answer.get("want")
    if isinstance(want, list) and want:  # e.g. the first weights, at step 0 (a short script may not wait to be asked)
        run._want.update(map(str, want))
        run._answer_wants()
    return run


def _greet(run: Run) -> dict:
    import os

    hello = {"type": "hello", "pid": os.getpid(), "script": run.script, "argv": list(sys.argv)[:50],
             "python": sys.version.split()[0], **run.hello()}
    run._send(hello)
    try:
        if not run.conn.poll(link.HANDSHAKE_S):
            return {"why": "the window did not answer"}
        return run._recv()
    except (EOFError, OSError, wire.WireError):
        return {"why": "the window closed the connection"}


def _asked_for() -> bool:
    """Whether this process was started to be debugged (then failing to attach is worth a line)."""
    import os

    return bool(os.environ.get("BACKPROP_STUDIO_ATTACH"))


def _is_torch_module(target) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(target, torch.nn.Module)
