"""A small convolutional network in PyTorch on the 36 classes, as the exercise's last part trains one:
the 1024-pixel rows as 1x32x32 images, two Conv2d layers (the first one's 5x5 filters are what the
debugger shows as tiles), max-pooling, then two Linear layers; SGD with momentum on the mean loss.

    python main.py debug resources/examples/torch_cnn.py [--data NIST36_DIR] [--epochs N]   # in the window
    python resources/examples/torch_cnn.py                    # on its own: attaches to an open window

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
    sys.exit('torch_cnn.py needs PyTorch: pip install ".[torch]" (in the backprop-studio folder)')
from torch_data import batches, load

import backprop_studio as studio  # debugger


class Net(nn.Module):
    def __init__(self, n_classes=36):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)  # 1x32x32 -> 8x32x32, pooled to 8x16x16
        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)  # -> 16x16x16, pooled to 16x8x8
        self.fc1 = nn.Linear(16 * 8 * 8, 64)
        self.fc2 = nn.Linear(64, n_classes)

    def forward(self, x):
        x = x.view(-1, 1, 32, 32)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", help="a folder with nist36_train.mat and nist36_valid.mat")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--rows", type=int, help="train on the first ROWS rows only (a quick run)")
    ap.add_argument("--save", help="write the trained model's state_dict (torch.save)")
    ap.add_argument("--timing", action="store_true", help="print the training loop's seconds at the end")
    args = ap.parse_args()
    train_x, train_y, valid_x, valid_y = load(args.data, args.rows)
    max_iters, batch_size, learning_rate = args.epochs, 32, 0.01
    torch.manual_seed(0)
    torch.set_num_threads(1)  # a network this small runs fastest on one thread, and the window keeps a core
    train_batches = batches(train_x, train_y, batch_size)

    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)
    run = studio.attach(model, optimizer)  # debugger: the optimizer's step marks each batch

    start = time.perf_counter()
    for itr in range(max_iters):
        total_loss, total_acc = 0.0, 0.0
        for xb, yb in train_batches:
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            total_acc += (out.argmax(1) == yb).float().mean().item()
        total_loss, total_acc = total_loss / len(train_batches), total_acc / len(train_batches)
        run.end_epoch()  # debugger: the epoch is over (optional)
        with torch.no_grad():
            valid_out = model(valid_x)
            valid_loss = F.cross_entropy(valid_out, valid_y).item()
            valid_acc = (valid_out.argmax(1) == valid_y).float().mean().item()
        run.log(train_acc=total_acc, valid_loss=valid_loss, valid_acc=valid_acc)  # debugger
        print(f"itr: {itr:02d} \t loss: {total_loss:.3f} \t acc : {total_acc:.2f} \t valid acc : {valid_acc:.2f}")

    if args.timing:
        print(f"loop seconds: {time.perf_counter() - start:.6f}")
    if args.save:
        torch.save(model.state_dict(), args.save)


if __name__ == "__main__":
    main()
