"""Train the exercise's network (1024-64-36, sigmoid hidden layer, softmax output, batch 32, lr 3e-3)
with the functions of nn.py, the way the exercise's run_q3.py does: its own loop, its own update.

    python main.py debug resources/examples/run_q3.py [--data NIST36_DIR] [--epochs N]   # in the window
    python resources/examples/run_q3.py                       # on its own: attaches to an open window
    python main.py debug resources/examples/run_q3.py --nn my/nn.py   # the same loop with your functions

Three lines are the debugger's (marked). Without a window they do nothing: the run is the same.
"""
import argparse
import importlib.util
import os
import pickle
import sys
import time

import numpy as np
import scipy.io
from nn import backwards, compute_loss_and_acc, forward, get_random_batches, initialize_weights, linear_deriv
from nn import sigmoid_deriv, softmax

import backprop_studio as studio  # debugger


def load(folder):
    """NIST36 .mat files (train_data/train_labels one-hot ...) if given, else the app's embedded glyphs."""
    if folder:
        mat = lambda split: scipy.io.loadmat(f"{folder}/nist36_{split}.mat")  # noqa: E731
        train, valid = mat("train"), mat("valid")
        return train["train_data"], train["train_labels"], valid["valid_data"], valid["valid_labels"]
    from engine.data.registry import load_dataset  # the project's generated set, in NIST36's layout
    d = load_dataset("glyphs")
    eye = np.eye(d.n_classes)
    return d.train.x.astype(np.float64), eye[d.train.y], d.valid.x.astype(np.float64), eye[d.valid.y]


FUNCTIONS = ("backwards", "compute_loss_and_acc", "forward", "get_random_batches", "initialize_weights",
             "linear_deriv", "sigmoid_deriv", "softmax")


def use_nn(path):
    """--nn PATH: the exercise's functions from another nn.py (yours) instead of the one beside this script;
    a function it does not define is the example's (and said so on stderr)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # its own helper modules, if it imports any
    spec = importlib.util.spec_from_file_location("nn", path)
    if spec is None or not os.path.isfile(path):
        sys.exit(f"error: {path}: no such Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules["nn"] = module
    spec.loader.exec_module(module)
    missing = [name for name in FUNCTIONS if not callable(getattr(module, name, None))]
    if missing:
        print(f"{path} has no {', '.join(missing)}: using the example's", file=sys.stderr)
    globals().update({name: getattr(module, name) for name in FUNCTIONS if name not in missing})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", help="a folder with nist36_train.mat and nist36_valid.mat")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--rows", type=int, help="train on the first ROWS rows only (a quick run)")
    ap.add_argument("--save", help="write the trained params as a pickle (like q3_weights.pickle)")
    ap.add_argument("--timing", action="store_true", help="print the training loop's seconds at the end")
    ap.add_argument("--nn", help="train with the functions of this nn.py (yours) instead of the example's")
    args = ap.parse_args()
    if args.nn:
        use_nn(args.nn)
    train_x, train_y, valid_x, valid_y = load(args.data)
    train_x, train_y = train_x[:args.rows], train_y[:args.rows]
    max_iters, batch_size, learning_rate, hidden_size = args.epochs, 32, 3e-3, 64
    np.random.seed(0)
    batches = get_random_batches(train_x, train_y, batch_size)

    params = {}
    initialize_weights(train_x.shape[1], hidden_size, params, 'layer1')
    initialize_weights(hidden_size, train_y.shape[1], params, 'output')
    run = studio.attach(params)  # debugger

    start = time.perf_counter()
    for itr in range(max_iters):
        total_loss, total_acc = 0.0, 0.0
        for xb, yb in run.batches(batches):  # debugger: marks each batch (pause and step stop here)
            h1 = forward(xb, params, 'layer1')
            probs = forward(h1, params, 'output', softmax)
            loss, acc = compute_loss_and_acc(yb, probs)
            total_loss += loss
            total_acc += acc
            delta1 = probs - yb
            delta2 = backwards(delta1, params, 'output', linear_deriv)
            backwards(delta2, params, 'layer1', sigmoid_deriv)
            for k, v in params.items():
                if k.startswith('grad_'):
                    params[k[len('grad_'):]] -= learning_rate * v
        total_acc /= len(batches)
        valid_loss, valid_acc = compute_loss_and_acc(valid_y, forward(forward(valid_x, params, 'layer1'), params,
                                                                     'output', softmax))
        run.log(valid_loss=valid_loss / len(valid_x) * batch_size, valid_acc=valid_acc)  # debugger (per 32 rows, as the loss)
        if itr % 2 == 0:
            print(f"itr: {itr:02d} \t loss: {total_loss:.2f} \t acc : {total_acc:.2f} \t valid acc : {valid_acc:.2f}")

    if args.timing:
        print(f"loop seconds: {time.perf_counter() - start:.6f}")
    if args.save:
        with open(args.save, "wb") as f:
            pickle.dump({k: v for k, v in params.items() if k[0] in "Wb"}, f)


if __name__ == "__main__":
    main()
