"""train, gradcheck, autoencoder and report: the commands that train or look at a training run."""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import asdict

from engine.cli.console import Progress, emit_json
from engine.data.edits import EditList
from engine.data.registry import load_dataset, spec_paths
from engine.debug.watch import parse
from engine.errors import InputError
from engine.files import check_distinct, check_writable
from engine.nn.activations import HIDDEN_ACTIVATIONS
from engine.nn.gradcheck import TOLERANCE, check, default_problem, regularization_checks
from engine.report.data import save_checkpoint
from engine.report.html import write_report
from engine.training.autoencoder import TARGET_PSNR, AutoencoderConfig, make_session
from engine.training.checkpoint import save_network
from engine.training.session import BatchEvent, EpochEvent, State, TrainConfig, TrainingSession


def cmd_train(args) -> int:
    # every flag and the --save location are checked before the data loads and long before training ends
    if not 0 < args.lr_decay <= 1:
        raise InputError(f"--lr-decay must be in (0, 1] (a factor the learning rate shrinks by), got {args.lr_decay}")
    check_distinct([("--data", p) for p in spec_paths(args.data)] + [("--edits", args.edits)],
                   [("--save", args.save), ("--save-model", args.save_model), ("--report", args.report)])
    for flag in ("save", "save_model"):
        if getattr(args, flag) is not None:  # "~/run.npz" quoted is the home folder's, as checked above
            setattr(args, flag, str(check_writable(getattr(args, flag))))
    config = TrainConfig(hidden=args.hidden, activation=args.activation, lr=args.lr, batch_size=args.batch_size,
                         epochs=args.epochs, seed=args.seed, momentum=args.momentum, lr_decay=args.lr_decay,
                         decay_every=args.decay_every, weight_decay=args.weight_decay, dropout=args.dropout)
    data = load_dataset(args.data, seed=args.seed)
    if args.edits:  # relabels/drops kept beside the data (Top losses); the data file itself is unchanged
        data = EditList.load(args.edits).apply(data)
    session = TrainingSession(data, config)
    if args.break_on:
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
    if args.save_model is not None:
        save_model(args.save_model, session)
        if not args.json:
            print(f"saved model {args.save_model}")
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


def save_model(path, session: TrainingSession) -> None:
    """The network alone, with what made it (config, data, epochs, last validation accuracy): what the OCR
    loads, a quarter of a checkpoint (which also holds the optimizer's state, the batch history and the
    report's first-layer weight frames). Deterministic: the same run writes the same parameters."""
    last = session.history.epochs[-1] if session.history.epochs else None
    save_network(path, session.net, session.data.classes,
                 {"config": asdict(session.config), "dataset": session.data.name, "epoch": session.epoch,
                  "valid_acc": last.valid_acc if last is not None else None})


def cmd_gradcheck(args) -> int:
    if args.entries < 1:
        raise InputError(f"--entries must be at least 1 (entries checked per parameter tensor), got {args.entries}")
    results = {}
    for act in HIDDEN_ACTIVATIONS + ("linear",):
        for loss in ("cross_entropy", "squared_error"):
            net, x, target = default_problem(activation=act, loss=loss)
            results[f"{act}/{loss}"] = check(net, x, target, loss, entries=args.entries)
    regularized = regularization_checks(entries=args.entries)
    # the reference network (sigmoid + softmax cross-entropy) is the headline; all combinations must pass
    headline = results["sigmoid/cross_entropy"].max_rel_error
    worst = max(max(r.max_rel_error.values()) for r in results.values())
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


def cmd_autoencoder(args) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise InputError(f"--epochs must be at least 1, got {args.epochs}")
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


def write_train_report(path, session, saved: str | None = None, quiet: bool = False) -> None:
    """The report of a run that just ended, from its checkpoint (--save, or a temporary one): the same
    file as `report` gives."""
    if saved:
        write_report(saved, path)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            save_checkpoint(os.path.join(tmp, "session.npz"), session)
            write_report(os.path.join(tmp, "session.npz"), path, source="an unsaved command-line run")
    if not quiet:
        print(f"report {path}")


def cmd_report(args) -> int:
    out = args.out or os.path.splitext(args.checkpoint)[0] + ".html"  # "run.html" would be its own default
    check_distinct([("checkpoint", args.checkpoint)], [("--out", out)])
    print(write_report(args.checkpoint, out))
    return 0
