"""Regenerates tests/fixtures/parity/ (run only when the reference changes):

    python tests/parity/make_unet3d_fixture.py

Writes, for a base-3 U-Net (spec topology at reduced width) with random weights and random
batch-norm running statistics:
  unet3d_base3.pt        {'epoch', 'state_dict' with 'module.'-prefixed keys} (zip format, like
                         the released Genesis_Chest_CT.pt)
  input.f32              the input, float32 little-endian, shape (2, 1, 16, 16, 8)
  out_base3_batch.f32    output with batch statistics (ContBatchNorm3d behaviour)
  out_base3_running.f32  output with running statistics (eval())
and for a base-1 model saved as a bare state dict in the legacy (non-zip) pickle format:
  unet3d_base1_legacy.pt, out_base1_batch.f32
"""

import copy
import pathlib

import torch

from unet3d_reference import UNet3D

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "parity"


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            n = m.num_features
            m.weight.data = 0.5 + torch.rand(n, generator=gen)
            m.bias.data = 0.2 * torch.randn(n, generator=gen)
            m.running_mean.data = 0.1 * torch.randn(n, generator=gen)
            m.running_var.data = 0.5 + torch.rand(n, generator=gen)


def outputs(model, x, batch_stats):
    m = copy.deepcopy(model).eval()
    m.set_batch_stats(batch_stats)
    with torch.no_grad():
        return m(x)


def write_f32(name, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(OUT / name)


def main():
    torch.manual_seed(7)
    gen = torch.Generator().manual_seed(11)
    OUT.mkdir(parents=True, exist_ok=True)
    x = torch.rand(2, 1, 16, 16, 8, generator=gen)
    write_f32("input.f32", x)

    model = UNet3D(base=3)
    randomize_bn(model, gen)
    state = {"module." + k: v for k, v in model.state_dict().items()}
    torch.save({"epoch": 0, "state_dict": state}, OUT / "unet3d_base3.pt")
    write_f32("out_base3_batch.f32", outputs(model, x, True))
    write_f32("out_base3_running.f32", outputs(model, x, False))

    small = UNet3D(base=1)
    randomize_bn(small, gen)
    torch.save(small.state_dict(), OUT / "unet3d_base1_legacy.pt", _use_new_zipfile_serialization=False)
    write_f32("out_base1_batch.f32", outputs(small, x, True))


if __name__ == "__main__":
    main()
