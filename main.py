"""backprop-studio command line. No subcommand opens the desktop app.

Thin by design: parse, call engine/ or gui/, print. Only the project's own input errors
(``engine.errors.InputError``) and the OS errors of opening a user's file become ``error: ...`` on
stderr with exit code 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

# Single-threaded BLAS: the network's GEMMs (32x1024x64) are too small for threads to pay off
# (measured ~20 % faster on one thread), and it leaves the second core to the GUI's event loop.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


from engine.errors import InputError as UserError  # noqa: E402  (the old name; engine.errors is tiny)

# The OS errors of opening a user's file or folder; any other OSError (a full disk, ...) keeps its trace.
USER_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def emit_json(obj) -> None:
    """One JSON line. Strict: a NaN or inf here is a bug upstream, never printed as a result."""
    print(json.dumps(obj, allow_nan=False), flush=True)


# ---- train / gradcheck / bench (engine) -----------------------------------------------------


HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")  # engine.nn.activations.ACTIVATIONS minus the output ones


def _hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden needs positive sizes, got {text!r}")
    return sizes


class Progress:
    """A one-line progress bar with ETA on stderr, only when stderr is a terminal."""

    def __init__(self, total: int):
        self.total, self.enabled = total, sys.stderr.isatty()
        self.start = __import__("time").perf_counter()

    def update(self, done: int, text: str = "") -> None:
        if not self.enabled or self.total <= 0:
            return
        elapsed = __import__("time").perf_counter() - self.start
        eta = elapsed / max(done, 1) * (self.total - done)
        filled = int(30 * done / self.total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} ETA {eta:5.1f}s {text}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def cmd_train(args) -> int:
    from engine.data.registry import load_dataset
    from engine.files import check_writable
    from engine.report.data import save_checkpoint
    from engine.training.session import BatchEvent, EpochEvent, State, TrainConfig, TrainingSession

    # every flag and the --save location are checked before the data loads and long before training ends
    if not 0 < args.lr_decay <= 1:
        raise UserError(f"--lr-decay must be in (0, 1] (a factor the learning rate shrinks by), got {args.lr_decay}")
    if args.save is not None:
        check_writable(args.save)
    config = TrainConfig(hidden=args.hidden, activation=args.activation, lr=args.lr, batch_size=args.batch_size,
                         epochs=args.epochs, seed=args.seed, momentum=args.momentum, lr_decay=args.lr_decay,
                         decay_every=args.decay_every, weight_decay=args.weight_decay, dropout=args.dropout)
    data = load_dataset(args.data, seed=args.seed)
    if args.edits:  # relabels/drops kept beside the data (Top losses); the data file itself is unchanged
        from engine.data.edits import EditList
        data = EditList.load(args.edits).apply(data)
    session = TrainingSession(data, config)
    if args.break_on:
        from engine.debug.watch import parse
        session.checks.extend(parse(expr, session) for expr in args.break_on)  # names checked now
    if not args.json:
        print(f"data {data.name}: {len(data.train)} train / {len(data.valid)} valid / {len(data.test)} test, "
              f"{data.n_classes} classes; network {'-'.join(map(str, session.net.sizes))} {args.activation}"
              + (f", weight decay {config.weight_decay:g}" if config.weight_decay else "")
              + (f", dropout {config.dropout:g}" if config.dropout else ""))
    progress = Progress(config.epochs * session.batches_per_epoch)

    def on_event(event):
        if isinstance(event, BatchEvent):
            if event.step % 20 == 0:
                progress.update(event.step, f"loss {event.loss:.3f}")
        elif isinstance(event, EpochEvent):
            if args.json:
                emit_json(event.as_json())
            else:
                progress.close() if progress.enabled else None
                print(f"epoch {event.epoch:3d}  train loss {event.train_loss:.4f} acc {event.train_acc:.4f}  "
                      f"valid loss {event.valid_loss:.4f} acc {event.valid_acc:.4f}  ({event.seconds:.1f}s)", flush=True)

    session.subscribe(on_event)
    state = session.run()
    progress.close()
    if args.save is not None:
        save_checkpoint(args.save, session)
        if not args.json:
            print(f"saved {args.save}")
    if args.report:
        write_train_report(args.report, session, saved=args.save, quiet=args.json)
    if state == State.DIVERGED:
        print(f"error: {session.message}", file=sys.stderr)
        return 1
    if session.message:  # a watchpoint fired
        print(f"break: {session.message}", file=sys.stderr if args.json else sys.stdout)
        return 3
    if not args.json and len(data.test):
        loss, acc, _ = session.evaluate(data.test)
        if not (loss < float("inf")):  # NaN or inf: like the validation rows, the held-out rows can explode
            print("error: diverged on the test rows: the test loss is not finite (a test example's true class "
                  "got probability 0) \u2014 lower the learning rate", file=sys.stderr)
            return 1
        print(f"test loss {loss:.4f} acc {acc:.4f}")
    return 0


def cmd_gradcheck(args) -> int:
    from engine.nn.gradcheck import TOLERANCE, check, default_problem, regularization_checks

    if args.entries < 1:
        raise UserError(f"--entries must be at least 1 (entries checked per parameter tensor), got {args.entries}")
    results = {}
    for act in HIDDEN_ACTIVATIONS + ("linear",):
        for loss in ("cross_entropy", "squared_error"):
            net, x, target = default_problem(activation=act, loss=loss)
            results[f"{act}/{loss}"] = check(net, x, target, loss, entries=args.entries)
    regularized = regularization_checks(entries=args.entries)
    # the reference network (sigmoid + softmax cross-entropy) is the headline; all combinations must pass
    headline = results["sigmoid/cross_entropy"].max_rel_error
    worst = max(max(r.max_rel_error.values()) for r in results.values())
    worst_reg = max(max(r.max_rel_error.values()) for r in regularized.values())
    passed = all(r.passed for r in (*results.values(), *regularized.values()))
    if args.json:
        emit_json({"max_rel_error": headline, "all": {k: r.max_rel_error for k, r in results.items()},
                   "regularization": {k: r.max_rel_error for k, r in regularized.items()}, "passed": passed})
    else:
        print("1024-64-36 sigmoid, softmax cross-entropy (float64, eps 1e-6):")
        for name, err in headline.items():
            print(f"  {name:10s} max relative error {err:.2e}")
        print(f"all activations x both losses: worst {worst:.2e}")
        print("1024-64-32-36 sigmoid and leaky ReLU, both losses, with dropout 0.5 (fixed mask), weight decay 0.1, both:")
        for name, r in regularized.items():
            print(f"  {name:42s} worst {max(r.max_rel_error.values()):.2e}")
        print(f"tolerance {TOLERANCE:.0e} -> " + ("PASS" if passed else "FAIL"))
    return 0 if passed else 1


def cmd_bench(args) -> int:
    if args.gui:
        from gui.offscreen.bench import bench_gui as run
    elif args.ocr:
        from engine.bench.ocr import bench_ocr as run
    else:
        from engine.bench.training import bench_engine as run
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
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench)


# ---- ocr / ocr-eval (OCR) -------------------------------------------------------------------


def cmd_ocr(args) -> int:
    import time

    from engine.ocr import OcrPipeline

    start = time.perf_counter()
    pipe = OcrPipeline(args.model)
    pipe.open(args.image)
    result = pipe.run()
    result.seconds = time.perf_counter() - start  # wall time, model loading included
    if args.json:
        emit_json(result.as_json())
    elif result.lines:
        print("\n".join(result.lines))
    else:
        print("(no characters found)", file=sys.stderr)
    return 0


def cmd_ocr_eval(args) -> int:
    from engine.ocr.evaluate import evaluate_dir

    result = evaluate_dir(args.dir, model=args.model)
    if args.json:
        emit_json(result.as_json())
    else:
        print("\n".join(result.lines()))
    return 0


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


def cmd_autoencoder(args) -> int:
    from engine.data.registry import load_dataset
    from engine.training.autoencoder import TARGET_PSNR, AutoencoderConfig, make_session
    from engine.training.session import EpochEvent, State

    if args.epochs is not None and args.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    given = {k: getattr(args, k) for k in ("epochs", "lr", "batch_size") if getattr(args, k) is not None}
    data = load_dataset(args.data, seed=args.seed)
    session = make_session(data, AutoencoderConfig(seed=args.seed, **given))
    if not args.json:
        extra = len(session.data.train) - len(data.train)
        print(f"data {data.name}: {len(data.train)} train (+{extra} shifted copies) / {len(data.valid)} valid; "
              f"network {'-'.join(map(str, session.net.sizes))} relu, sigmoid output, squared error", flush=True)

    def on_event(event):
        if not isinstance(event, EpochEvent):
            return
        if args.json:
            emit_json({"epoch": event.epoch, "loss": event.train_loss, "valid_psnr": event.valid_acc,
                       "train_psnr": event.train_acc, "valid_loss": event.valid_loss, "seconds": event.seconds})
        else:
            print(f"epoch {event.epoch:3d}  loss {event.train_loss:8.3f}  train PSNR {event.train_acc:6.2f} dB  "
                  f"valid loss {event.valid_loss:8.3f}  valid PSNR {event.valid_acc:6.2f} dB  ({event.seconds:.1f}s)",
                  flush=True)

    session.subscribe(on_event)
    if session.run() == State.DIVERGED:
        print(f"error: {session.message}", file=sys.stderr)
        return 1
    if not args.json:
        valid = session.history.epochs[-1].valid_acc
        print(f"valid PSNR {valid:.2f} dB ({'above' if valid > TARGET_PSNR else 'below'} the reference's "
              f"{TARGET_PSNR} dB)" + (f"; test PSNR {session.evaluate(data.test)[1]:.2f} dB" if len(data.test) else ""))
    return 0


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


def _ascii(img, ramp=" .:-=+*#%@") -> list[str]:
    """An upright 32x32 picture as 32 lines (values in [0, 1], 1 = darkest glyph)."""
    import numpy as np

    idx = np.clip((np.asarray(img) * (len(ramp) - 1)).round().astype(int), 0, len(ramp) - 1)
    return ["".join(ramp[i] for i in row) for row in idx]


def cmd_explain(args) -> int:
    import numpy as np

    from engine.debug.explain import explain
    from engine.errors import InputError
    from engine.ocr.inputs import load_inputs
    from engine.ocr.model import load_classifier

    clf = load_classifier(args.model)  # a CheckpointError is an InputError
    rows, as_is = load_inputs(args.image)
    if rows.shape[1] != clf.net.sizes[0]:
        raise InputError(f"{args.image}: inputs have {rows.shape[1]} values; the model takes {clf.net.sizes[0]}")
    if args.target is not None and args.target not in clf.classes:
        raise InputError(f"--target {args.target!r} is not a class of the model ({''.join(clf.classes)})")
    for k, row in enumerate(rows):
        e = explain(clf.net, clf.classes, row)
        why = explain(clf.net, clf.classes, row, args.target) if args.target is not None else None
        if args.json:
            obj = e.as_json()
            obj["normalized"] = not as_is
            obj["model"] = clf.path
            if why is not None:
                obj["why"] = {"class": args.target, "probability": round(float(why.probs[why.target]), 6),
                              "saliency": why.as_json()["saliency"], "occlusion": why.as_json()["occlusion"]}
            emit_json(obj)
            continue
        shown = why or e
        sal = shown.image(shown.saliency)
        scale = max(float(np.abs(sal).max()), 1e-12)
        print(f"input {k}: " if len(rows) > 1 else "", end="")
        print("top-5: " + "  ".join(f"{c} {p:.3f}" for c, p in e.top(5)))
        print(f"{'input (ink dark)':34s}saliency for {shown.classes[shown.target]} (+ for it, - against)")
        left = _ascii(1.0 - np.clip(e.image(e.row), 0, 1))
        pos = _ascii(np.clip(sal / scale, 0, 1))
        neg = _ascii(np.clip(-sal / scale, 0, 1), " .:-")
        for a, p, n in zip(left, pos, neg):
            print(f"{a}  " + "".join(pc if pc != " " else nc for pc, nc in zip(p, n)))
    return 0


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


def _report_path(text: str) -> str:
    """--report is checked before training starts, not after an hour of it."""
    from engine.files import check_writable

    try:
        check_writable(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def write_train_report(path, session, saved: str | None = None, quiet: bool = False) -> None:
    """The report of a run that just ended, from its checkpoint (--save, or a temporary one): the same
    file as `report` gives."""
    import tempfile

    from engine.report.data import save_checkpoint
    from engine.report.html import write_report

    if saved:
        write_report(saved, path)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            save_checkpoint(os.path.join(tmp, "session.npz"), session)
            write_report(os.path.join(tmp, "session.npz"), path, source="an unsaved command-line run")
    if not quiet:
        print(f"report {path}")


def cmd_report(args) -> int:
    from engine.report.html import write_report

    out = args.out or os.path.splitext(args.checkpoint)[0] + ".html"
    print(write_report(args.checkpoint, out))
    return 0


def add_report_commands(sub) -> None:
    r = sub.add_parser("report", help="write one self-contained HTML report of a saved training session")
    r.add_argument("checkpoint", help="a checkpoint saved by train --save or the window (Ctrl+S)")
    r.add_argument("--out", help="the HTML file (default: the checkpoint's name with .html)")
    r.set_defaults(func=cmd_report)


# ---- gui / screenshot -----------------------------------------------------------------------


def _start_virtual_screen() -> bool:
    """Start Xvfb on a free display in its own session (so a terminal's Ctrl+C reaches only the
    app, which then closes cleanly) and point DISPLAY at it; stopped when the app exits."""
    import atexit
    import shutil
    import subprocess
    import time
    from pathlib import Path

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
    from gui.app import run_app

    return run_app()


def cmd_screenshot(args) -> int:
    from engine.training.session import TrainConfig
    from gui.offscreen.screenshot import screenshot

    if args.steps < 0:
        raise UserError(f"--steps must be >= 0, got {args.steps}")
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="main.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command")
    for add in (add_engine_commands, add_ocr_commands, add_autoencoder_commands, add_explain_commands,
                add_report_commands,
                add_gui_commands):
        add(sub)
    return p


def _one_line(exc: BaseException) -> str:
    """The message of a user error as one line (an OSError names its file)."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) if hasattr(args, "func") else cmd_gui(args)  # no subcommand: the window
    except (UserError, *USER_OS_ERRORS) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
