"""Regenerates the YNet3D parity fixtures in tests/fixtures/parity/ (run only when the reference
changes; byte-for-byte reproducible with torch 2.15):

    python tests/parity/make_ynet3d_fixture.py

Writes, for a base-1 YNet3D (spec §5.3 topology at reduced width, 5 classes) with random
weights, random batch-norm affine parameters and running statistics near the input's own batch
statistics (so that no layer goes all-zero with running statistics at this width), on the
U-Net fixtures' input.f32 (2, 1, 16, 16, 8):
  ynet3d_base1.pt              {'epoch', 'state_dict'} (zip format), keys 'module.'-prefixed like
                               the released semantic_genesis_chest_ct.pt, plus extra
                               'module.projection_head.*' and 'module.prototypes.*' tensors
                               that no part of the model uses
  ynet3d_base1_batch.f32       restoration (2, 1, 16, 16, 8) then logits (2, 5), batch statistics
  ynet3d_base1_running.f32     the same with running statistics (eval())
"""

import copy
import pathlib

import numpy as np
import torch

from make_unet3d_fixture import OUT, randomize_bn
from ynet3d_reference import YNet3D

CLASSES = 5


def calibrate_bn(model, x, gen):
    """Running statistics := the batch statistics of `x`, perturbed."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    for bn in bns:
        bn.momentum = 1.0
    with torch.no_grad():
        model(x)
    for bn in bns:
        n = bn.num_features
        bn.momentum = 0.1
        bn.running_mean.data += 0.05 * torch.randn(n, generator=gen)
        bn.running_var.data *= 0.8 + 0.4 * torch.rand(n, generator=gen)


def outputs(model, x, batch_stats):
    m = copy.deepcopy(model).eval()
    m.set_batch_stats(batch_stats)
    with torch.no_grad():
        restoration, logits = m(x)
    return torch.cat([restoration.flatten(), logits.flatten()])


def write_f32(name, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(OUT / name)


def main():
    torch.manual_seed(17)
    gen = torch.Generator().manual_seed(19)
    x = torch.from_numpy(np.fromfile(OUT / "input.f32", dtype="<f4").reshape(2, 1, 16, 16, 8))

    model = YNet3D(base=1, classes=CLASSES)
    randomize_bn(model, gen)
    calibrate_bn(model, x, gen)
    state = {"module." + k: v for k, v in model.state_dict().items()}
    state["module.projection_head.0.weight"] = torch.randn(8, 16, generator=gen)
    state["module.projection_head.0.bias"] = torch.randn(8, generator=gen)
    state["module.prototypes.weight"] = torch.randn(4, 8, generator=gen)
    torch.save({"epoch": 0, "state_dict": state}, OUT / "ynet3d_base1.pt")
    write_f32("ynet3d_base1_batch.f32", outputs(model, x, True))
    write_f32("ynet3d_base1_running.f32", outputs(model, x, False))


if __name__ == "__main__":
    main()
