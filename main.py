"""backprop-studio command line. No subcommand opens the desktop app.

Thin by design: parse, call engine/ or gui/, print. Only the project's own input errors
(``engine.errors.InputError``) and the OS errors of opening a user's file become ``error: ...`` on
stderr with exit code 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Single-threaded BLAS: the network's GEMMs (32x1024x64) are too small for threads to pay off
# (measured ~20 % faster on one thread), and it leaves the second core to the GUI's event loop.
# Set before NumPy is first imported, hence the imports below it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from engine.bench.attach import TORCH_EXAMPLE, bench_attach  # noqa: E402
from engine.bench.ocr import bench_ocr  # noqa: E402
from engine.bench.torch import bench_torch  # noqa: E402
from engine.bench.training import bench_engine  # noqa: E402
from engine.cli.console import emit_json  # noqa: E402
from engine.cli.ocr import cmd_explain, cmd_ocr, cmd_ocr_eval  # noqa: E402
from engine.cli.training import cmd_autoencoder, cmd_gradcheck, cmd_report, cmd_train  # noqa: E402
from engine.errors import InputError, one_line  # noqa: E402
from engine.data.registry import spec_paths  # noqa: E402
from engine.files import check_distinct, check_writable  # noqa: E402
from engine.nn.activations import HIDDEN_ACTIVATIONS  # noqa: E402
from engine.remote.check import check_module  # noqa: E402
from engine.remote.child import check_script  # noqa: E402
from engine.remote.headless import run_headless  # noqa: E402
from engine.training.session import TrainConfig  # noqa: E402

# The OS errors of opening a user's file or folder; any other OSError (a full disk, ...) keeps its trace.
USER_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)

# gui/ (Qt) is imported only by the commands that open a window: `train`, `ocr` and the other engine
# commands run on machines without Qt's system libraries, and start without loading it.


# ---- argument types -------------------------------------------------------------------------


def _hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden needs positive sizes, got {text!r}")
    return sizes


def _report_path(text: str) -> str:
    """--report is checked before training starts, not after an hour of it."""
    try:
        check_writable(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


# ---- train / gradcheck / bench (engine) -----------------------------------------------------


def cmd_bench(args) -> int:
    if args.torch and (args.gui or args.ocr):
        raise InputError("--torch goes alone (the engine against PyTorch) or with --attach (the PyTorch example)")
    if args.gui:
        from gui.offscreen.bench import bench_gui as run  # Qt: only for this command
    elif args.attach:
        run = (lambda: bench_attach(TORCH_EXAMPLE)) if args.torch else bench_attach
    else:
        run = bench_torch if args.torch else bench_ocr if args.ocr else bench_engine
    result = run()
    if args.json:
        emit_json(result.as_json())
    else:
        print("\n".join(result.lines()))
    return 0


def add_engine_commands(sub) -> None:
    t = sub.add_parser("train", help="train a network from the command line")
    t.add_argument("--data", default="glyphs", help="'glyphs' (embedded), a NIST36 folder, .mat, .npz or image folder")
    t.add_argument("--epochs", type=int, default=50)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--hidden", type=_hidden_sizes, default=(64,), help="hidden sizes, comma-separated (e.g. 64,64)")
    t.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="sigmoid")
    t.add_argument("--momentum", type=float, default=0.0)
    t.add_argument("--weight-decay", type=float, default=0.0, metavar="F",
                   help="L2 weight decay per example (>= 0; e.g. 1e-3)")
    t.add_argument("--dropout", type=float, default=0.0, metavar="P",
                   help="drop each hidden unit with probability P in training (0 <= P < 1)")
    t.add_argument("--lr-decay", type=float, default=1.0, help="multiply the learning rate by this ...")
    t.add_argument("--decay-every", type=int, default=0, help="... every this many epochs")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--edits", metavar="JSON", help="apply an edit list (relabel/drop samples; saved by Top losses)")
    t.add_argument("--save", help="write a checkpoint (.npz) at the end")
    t.add_argument("--save-model", metavar="PATH",
                   help="write the trained network alone (.npz: weights and class names, no optimizer state, "
                        "history or report frames): a model file such as the OCR's")
    t.add_argument("--report", metavar="PATH", type=_report_path,
                   help="write a self-contained HTML report at the end")
    t.add_argument("--break", dest="break_on", action="append", metavar="EXPR",
                   help="watchpoint, e.g. 'saturation(layer1) > 0.9'; stops at the first batch where it holds")
    t.add_argument("--json", action="store_true", help="one JSON object per epoch")
    t.set_defaults(func=cmd_train)

    g = sub.add_parser("gradcheck", help="finite differences vs backprop; exit 1 if any error >= 1e-5")
    g.add_argument("--entries", type=int, default=200, help="entries checked per parameter tensor")
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=cmd_gradcheck)

    b = sub.add_parser("bench", help="timings measured side by side (engine by default)")
    which = b.add_mutually_exclusive_group()
    which.add_argument("--gui", action="store_true", help="training throughput with the window open vs headless")
    which.add_argument("--ocr", action="store_true", help="OCR page time vs the reference pipeline")
    which.add_argument("--attach", action="store_true",
                       help="the worked example's loop attached to the debugger vs on its own (attached_vs_plain)")
    b.add_argument("--torch", action="store_true", help='the engine vs PyTorch on the CPU (engine_vs_torch); with '
                                                       '--attach, the PyTorch example (needs pip install ".[torch]")')
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench)


# ---- ocr / ocr-eval (OCR) -------------------------------------------------------------------


def add_ocr_commands(sub) -> None:
    model_help = "model file (default resources/ocr_model.npz)"
    o = sub.add_parser("ocr", help="read handwritten capitals and digits from an image")
    o.add_argument("image", help="an image file (PNG, JPEG, TIFF, ...; any bit depth, gray, RGB or RGBA)")
    o.add_argument("--model", help=model_help)
    o.add_argument("--json", action="store_true",
                   help='{"lines": [...], "boxes": [[row0, col0, row1, col1, char, confidence], ...], "seconds": s}')
    o.set_defaults(func=cmd_ocr)

    e = sub.add_parser("ocr-eval", help="character accuracy on a folder of images with truth.json")
    e.add_argument("dir", help="folder with images and truth.json ({file name: [line, ...]})")
    e.add_argument("--model", help=model_help)
    e.add_argument("--json", action="store_true", help='{"files": {name: accuracy}, "mean_char_accuracy": a}')
    e.set_defaults(func=cmd_ocr_eval)


# ---- autoencoder ----------------------------------------------------------------------------


def add_autoencoder_commands(sub) -> None:
    # defaults live in engine.training.autoencoder.AutoencoderConfig (not imported here: keeps start-up light)
    a = sub.add_parser("autoencoder", help="train the 1024-32-32-32-1024 autoencoder; report PSNR per epoch")
    a.add_argument("--data", default="glyphs", help="'glyphs' (embedded), a NIST36 folder, .mat, .npz or image folder")
    a.add_argument("--epochs", type=int, help="default: the tuned setting (60)")
    a.add_argument("--lr", type=float, help="learning rate (default: the tuned setting, 3e-5)")
    a.add_argument("--batch-size", type=int, help="default: the tuned setting (16)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--json", action="store_true", help="one JSON line per epoch: epoch, loss, valid_psnr, ...")
    a.set_defaults(func=cmd_autoencoder)


# ---- explain --------------------------------------------------------------------------------


def add_explain_commands(sub) -> None:
    x = sub.add_parser("explain", help="why the OCR model reads one character as it does: top-5, saliency, occlusion")
    x.add_argument("image", help="a character crop / image of one character (normalized like an OCR crop), or a .npy "
                                 "of network inputs (32, 32) or (N, 32, 32) in the layout of the JSON 'input'")
    x.add_argument("--model", help="model file (default resources/ocr_model.npz)")
    x.add_argument("--target", metavar="CLASS", help="also explain this class ('why not I?'): JSON key 'why'")
    x.add_argument("--json", action="store_true",
                   help='one object per input: "input" (32 rows), "top5", "saliency" (top class), "occlusion", '
                        '"probs"')
    x.set_defaults(func=cmd_explain)


# ---- report ---------------------------------------------------------------------------------


def cmd_debug(args) -> int:
    if args.report and not args.headless:
        raise InputError("--report goes with --headless (in the window: File \u2192 Export report, Ctrl+E)")
    if args.headless:
        check_distinct([("the script", args.script)], [("--report", args.report)])
        return run_headless(args.script, args.args, as_json=args.json, breaks=args.break_on, report=args.report)
    check_script(args.script)  # one error line before any window opens
    from gui.app import run_app  # Qt: only for this command

    return run_app(debug=(args.script, args.args))


def cmd_check(args) -> int:
    report = check_module(args.module)
    if args.json:
        emit_json(report.as_json())
    else:
        print("\n".join(report.lines()))
    return 0 if report.passed else 1


def add_debug_commands(sub) -> None:
    c = sub.add_parser("check", help="check your implementation of the exercise's functions (no changes to it)")
    c.add_argument("module", help="the .py that defines initialize_weights, forward, backwards, ... (any subset)")
    c.add_argument("--json", action="store_true", help='{"passed": ..., "functions": {name: {"passed", "problems"}}}')
    c.set_defaults(func=cmd_check)

    d = sub.add_parser("debug", help="run your own training script under the debugger (its loop, its functions)")
    d.add_argument("script", help="a Python script that attaches with backprop_studio.attach(params)")
    d.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    d.add_argument("--headless", action="store_true", help="no window: print per-epoch figures and diagnoses")
    d.add_argument("--json", action="store_true", help="with --headless: one JSON object per epoch")
    d.add_argument("--break", dest="break_on", action="append", metavar="EXPR",
                   help="with --headless: stop the script at the first batch where this holds (exit 3)")
    d.add_argument("--report", metavar="PATH", type=_report_path,
                   help="with --headless: write the run's self-contained HTML report when the script ends")
    d.set_defaults(func=cmd_debug)


def add_report_commands(sub) -> None:
    r = sub.add_parser("report", help="write one self-contained HTML report of a saved training session")
    r.add_argument("checkpoint", help="a checkpoint saved by train --save or the window (Ctrl+S)")
    r.add_argument("--out", help="the HTML file (default: the checkpoint's name with .html)")
    r.set_defaults(func=cmd_report)


# ---- gui / screenshot -----------------------------------------------------------------------


def _start_virtual_screen() -> bool:
    """Start Xvfb on a free display in its own session (so a terminal's Ctrl+C reaches only the
    app, which then closes cleanly) and point DISPLAY at it; stopped when the app exits."""
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        return False
    n = next(n for n in range(99, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
             and not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen([xvfb, f":{n}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    atexit.register(proc.terminate)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            os.environ["DISPLAY"] = f":{n}"
            return True
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.terminate()
    return False


def cmd_gui(args) -> int:
    """The window. With no display (a server, CI, a container), run it on a virtual X screen
    (Xvfb, installed by install.sh) instead of failing: the app, its worker and its settings
    behave exactly as on a desktop, and `screenshot` shows what it looks like."""
    headless = (sys.platform.startswith("linux") and "QT_QPA_PLATFORM" not in os.environ
                and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")))
    if headless:
        if _start_virtual_screen():
            print(f"no display found: running the window on a virtual X screen (Xvfb, DISPLAY={os.environ['DISPLAY']}); "
                  "`python main.py screenshot --out DIR` saves pictures of it. Ctrl+C quits.", file=sys.stderr)
        else:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
            print("no display found and no Xvfb: running offscreen", file=sys.stderr)
    from gui.app import run_app  # Qt: only for this command

    return run_app()


def cmd_screenshot(args) -> int:
    if args.steps < 0:
        raise InputError(f"--steps must be >= 0, got {args.steps}")
    check_distinct([("--data", p) for p in spec_paths(args.data)], [("--out", args.out)])
    from gui.offscreen.screenshot import screenshot  # Qt: only for this command

    config = TrainConfig(hidden=args.hidden, activation=args.activation, lr=args.lr, epochs=args.epochs)
    for path in screenshot(args.out, steps=args.steps, data=args.data, config=config):
        print(path)
    return 0


def add_gui_commands(sub) -> None:
    s = sub.add_parser("screenshot", help="train N batches in an offscreen window; save a PNG per panel and one "
                                          "of the whole window")
    s.add_argument("--out", required=True, help="folder for window.png and one <panel>.png per panel")
    s.add_argument("--steps", type=int, default=750, help="batches to train before the pictures (default 750)")
    s.add_argument("--data", default="glyphs", help="'glyphs' (embedded), a NIST36 folder, .mat, .npz or image folder")
    s.add_argument("--hidden", type=_hidden_sizes, default=(64,), help="hidden sizes, comma-separated (e.g. 64,64)")
    s.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="sigmoid")
    s.add_argument("--lr", type=float, default=3e-3)
    s.add_argument("--epochs", type=int, default=50, help="planned epochs (sets the progress bar)")
    s.set_defaults(func=cmd_screenshot)


class Parser(argparse.ArgumentParser):
    """argparse with the project's error rule: one line, ``error: ...`` on stderr, exit 2 (argparse's own
    prints the whole usage block first). ``--help`` still prints the usage."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog.split()[-1] if ' ' in self.prog else self.prog}: {_one_line(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="main.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for add in (add_engine_commands, add_ocr_commands, add_autoencoder_commands, add_explain_commands,
                add_debug_commands, add_report_commands,
                add_gui_commands):
        add(sub)
    return p


def _one_line(exc: BaseException) -> str:
    """The message of a user error as one line (an OSError names its file, newlines and all: InputError's
    own rule, engine.errors.one_line, makes it one)."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return one_line(f"{exc.filename}: {exc.strerror or exc}")
    return one_line(str(exc)) or type(exc).__name__


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) if hasattr(args, "func") else cmd_gui(args)  # no subcommand: the window
    except (InputError, *USER_OS_ERRORS) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
