"""Times the PyTorch reference UNet3D (base 32) next to `genesis bench model`:

    python tests/parity/bench_unet3d_torch.py [--threads N] [--reps R] [--json]

Forward (no grad, train-mode batch statistics) and one training step (MSE, SGD lr 1.0,
momentum 0.9) on (N, 1, 64, 64, 32) for N = 1, 2, on the CPU.
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F

from unet3d_reference import UNet3D


def timed(fn, reps):
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) * 1000.0 / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for n in (1, 2):
        model = UNet3D()
        opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
        x = torch.rand(n, 1, 64, 64, 32)
        y = torch.rand(n, 1, 64, 64, 32)

        def forward():
            with torch.no_grad():
                model(x)

        def step():
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()

        rows.append({"name": "unet3d-pytorch", "input": [n, 1, 64, 64, 32], "device": "cpu",
                     "forward_ms": timed(forward, args.reps), "train_step_ms": timed(step, args.reps),
                     "threads": args.threads, "torch": torch.__version__})
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['name']} {r['input']}: forward {r['forward_ms']:.0f} ms, train step {r['train_step_ms']:.0f} ms ({r['threads']} threads)")


if __name__ == "__main__":
    main()
