"""The exercise's fully connected network in PyTorch (1024-64-36, sigmoid hidden layer, softmax output,
batch 32, SGD lr 3e-3 on the loss summed over the batch: run_q3.py's network and update), its own loop.

    python main.py debug resources/examples/torch_fc.py [--data NIST36_DIR] [--epochs N]   # in the window
    python resources/examples/torch_fc.py                     # on its own: attaches to an open window

Four lines are the debugger's (marked). Without a window they do nothing: the run is the same.
"""
import argparse
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit('torch_fc.py needs PyTorch: pip install ".[torch]" (in the backprop-studio folder)')
from torch_data import batches, load

import backprop_studio as studio  # debugger


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", help="a folder with nist36_train.mat and nist36_valid.mat")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--rows", type=int, help="train on the first ROWS rows only (a quick run)")
    ap.add_argument("--save", help="write the trained model's state_dict (torch.save)")
    ap.add_argument("--timing", action="store_true", help="print the training loop's seconds at the end")
    args = ap.parse_args()
    train_x, train_y, valid_x, valid_y = load(args.data, args.rows)
    max_iters, batch_size, learning_rate, hidden_size = args.epochs, 32, 3e-3, 64
    torch.manual_seed(0)
    torch.set_num_threads(1)  # matrices this small run fastest on one thread, and the window keeps a core
    train_batches = batches(train_x, train_y, batch_size)

    model = nn.Sequential(nn.Linear(train_x.shape[1], hidden_size), nn.Sigmoid(), nn.Linear(hidden_size, 36))
    for layer in model[::2]:  # Xavier-uniform weights and zero biases, as the exercise initializes them
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    run = studio.attach(model, optimizer)  # debugger: the optimizer's step marks each batch

    start = time.perf_counter()
    for itr in range(max_iters):
        total_loss, total_acc = 0.0, 0.0
        for xb, yb in train_batches:
            out = model(xb)
            loss = F.cross_entropy(out, yb, reduction="sum")  # summed over the batch, as in run_q3.py
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            total_acc += (out.argmax(1) == yb).float().mean().item()
        total_acc /= len(train_batches)
        run.end_epoch()  # debugger: the epoch is over (optional)
        with torch.no_grad():
            valid_out = model(valid_x)
            valid_loss = F.cross_entropy(valid_out, valid_y).item()
            valid_acc = (valid_out.argmax(1) == valid_y).float().mean().item()
        run.log(train_acc=total_acc, valid_loss=valid_loss, valid_acc=valid_acc)  # debugger
        if itr % 2 == 0:
            print(f"itr: {itr:02d} \t loss: {total_loss:.2f} \t acc : {total_acc:.2f} \t valid acc : {valid_acc:.2f}")

    if args.timing:
        print(f"loop seconds: {time.perf_counter() - start:.6f}")
    if args.save:
        torch.save(model.state_dict(), args.save)


if __name__ == "__main__":
    main()
