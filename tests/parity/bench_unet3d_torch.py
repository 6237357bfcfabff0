"""Times the PyTorch reference UNet3D (base 32) next to `genesis bench model`:

    python tests/parity/bench_unet3d_torch.py [--device cpu|cuda] [--batches 1,2,6]
                                              [--threads N] [--reps R] [--json]

Forward (no grad, train-mode batch statistics) and one training step (MSE, SGD lr 1.0,
momentum 0.9) on (N, 1, 64, 64, 32) for each batch size N, on the CPU or a CUDA GPU (timings
wait for the GPU to finish: torch.cuda.synchronize).
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F

from unet3d_reference import UNet3D


def timed(fn, reps, sync):
    fn()  # warm-up
    sync()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - start) * 1000.0 / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--batches", default="1,2")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    rows = []
    for n in (int(b) for b in args.batches.split(",")):
        model = UNet3D().to(device)
        opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
        x = torch.rand(n, 1, 64, 64, 32, device=device)
        y = torch.rand(n, 1, 64, 64, 32, device=device)

        def forward():
            with torch.no_grad():
                model(x)

        def step():
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()

        rows.append({"name": "unet3d-pytorch", "input": [n, 1, 64, 64, 32], "device": name,
                     "forward_ms": timed(forward, args.reps, sync),
                     "train_step_ms": timed(step, args.reps, sync),
                     "threads": args.threads, "torch": torch.__version__})
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['name']} {r['input']}: forward {r['forward_ms']:.0f} ms, train step {r['train_step_ms']:.0f} ms ({r['threads']} threads)")


if __name__ == "__main__":
    main()
