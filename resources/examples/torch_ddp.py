"""torch_fc.py's network on several processes: DistributedDataParallel with the gloo backend on the CPU.

    python main.py debug torchrun --standalone --nproc_per_node 2 resources/examples/torch_ddp.py [--epochs N]
    torchrun --standalone --nproc_per_node 2 resources/examples/torch_ddp.py   # on its own: attaches to a window

Each rank trains on its own share of every epoch's batches; DDP averages the gradients in backward(),
so every rank takes the same step. Rank 0 attaches (marked lines); the other ranks run undisturbed, and a
pause on rank 0 holds them at the next collective. Without a window it runs as without those lines.
"""
import argparse
import os
import sys
import time

try:
    import torch
    import torch.distributed as dist
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel as DDP
except ImportError:
    sys.exit('torch_ddp.py needs PyTorch: pip install ".[torch]" (in the backprop-studio folder)')
from torch_data import batches, load

import backprop_studio as studio  # debugger


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", help="a folder with nist36_train.mat and nist36_valid.mat")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--rows", type=int, help="train on the first ROWS rows only (a quick run)")
    ap.add_argument("--timing", action="store_true", help="print the training loop's seconds at the end")
    args = ap.parse_args()
    if "RANK" not in os.environ:
        sys.exit("torch_ddp.py runs under torchrun: torchrun --standalone --nproc_per_node 2 torch_ddp.py")
    dist.init_process_group("gloo")  # torchrun says where the others are (RANK, WORLD_SIZE, MASTER_ADDR)
    rank, world = dist.get_rank(), dist.get_world_size()
    train_x, train_y, valid_x, valid_y = load(args.data, args.rows)
    max_iters, batch_size, learning_rate, hidden_size = args.epochs, 32, 3e-3, 64
    torch.manual_seed(0)  # the same batches and the same initial weights on every rank
    torch.set_num_threads(1)
    train_batches = batches(train_x, train_y, batch_size)
    mine = train_batches[rank::world][:len(train_batches) // world]  # as many on every rank: no rank waits alone

    net = nn.Sequential(nn.Linear(train_x.shape[1], hidden_size), nn.Sigmoid(), nn.Linear(hidden_size, 36))
    for layer in net[::2]:
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    model = DDP(net)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate * world)  # DDP averages over ranks: x ranks, a summed step
    run = studio.attach(model, optimizer)  # debugger: rank 0 attaches; on the other ranks it does nothing

    start = time.perf_counter()
    for itr in range(max_iters):
        total_loss = 0.0
        for xb, yb in mine:
            loss = F.cross_entropy(model(xb), yb, reduction="sum")
            optimizer.zero_grad()
            loss.backward()  # the gradients are averaged over the ranks here
            optimizer.step()
            total_loss += loss.item()
        run.end_epoch()  # debugger: the epoch is over (optional)
        with torch.no_grad():
            valid_out = net(valid_x)
            valid_loss = F.cross_entropy(valid_out, valid_y).item()
            valid_acc = (valid_out.argmax(1) == valid_y).float().mean().item()
        run.log(valid_loss=valid_loss, valid_acc=valid_acc)  # debugger
        if rank == 0 and itr % 2 == 0:
            print(f"itr: {itr:02d} \t loss: {total_loss:.2f} \t valid acc : {valid_acc:.2f}", flush=True)

    checksum = sum(p.double().sum().item() for p in net.parameters())  # the same on every rank
    print(f"rank {rank}/{world} done: weights checksum {checksum:.9e}", flush=True)
    if args.timing and rank == 0:
        print(f"loop seconds: {time.perf_counter() - start:.6f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
