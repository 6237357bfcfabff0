"""A small PyTorch reference of the Models Genesis 3-D U-Net, written from the Genesis spec §5.1.

Used only to generate parity fixtures and to time PyTorch next to `genesis bench model`.
Module names follow the released state-dict keys (down_tr64.ops.0.conv1, bn1, up_tr256.up_conv,
out_tr.final_conv) so checkpoints written from it look like the released ones.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class LUConv(nn.Module):
    """Conv 3x3x3 (padding 1, bias) -> BatchNorm3d -> ReLU; `batch_stats` forces batch statistics."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = nn.Conv3d(c_in, c_out, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm3d(c_out)
        self.batch_stats = True

    def forward(self, x):
        bn = self.bn1
        y = F.batch_norm(self.conv1(x), bn.running_mean, bn.running_var, bn.weight, bn.bias,
                         self.training or self.batch_stats, bn.momentum, bn.eps)
        return F.relu(y)


class Down(nn.Module):
    def __init__(self, c_in, base, level):
        super().__init__()
        mid = base << level
        first_in = c_in if level == 0 else mid
        self.ops = nn.Sequential(LUConv(first_in, mid), LUConv(mid, 2 * mid))

    def forward(self, x):
        return self.ops(x)


class Up(nn.Module):
    def __init__(self, base, level):
        super().__init__()
        below, out = base << (level + 2), base << (level + 1)
        self.up_conv = nn.ConvTranspose3d(below, below, kernel_size=2, stride=2)
        self.ops = nn.Sequential(LUConv(below + out, out), LUConv(out, out))

    def forward(self, x, skip):
        return self.ops(torch.cat([self.up_conv(x), skip], dim=1))


class Out(nn.Module):
    def __init__(self, c_in, n_class):
        super().__init__()
        self.final_conv = nn.Conv3d(c_in, n_class, kernel_size=1)

    def forward(self, x):
        return torch.sigmoid(self.final_conv(x))


class UNet3D(nn.Module):
    def __init__(self, base=32, in_channels=1, n_class=1):
        super().__init__()
        self.down_tr64 = Down(in_channels, base, 0)
        self.down_tr128 = Down(in_channels, base, 1)
        self.down_tr256 = Down(in_channels, base, 2)
        self.down_tr512 = Down(in_channels, base, 3)
        self.up_tr256 = Up(base, 2)
        self.up_tr128 = Up(base, 1)
        self.up_tr64 = Up(base, 0)
        self.out_tr = Out(2 * base, n_class)

    def set_batch_stats(self, on):
        for m in self.modules():
            if isinstance(m, LUConv):
                m.batch_stats = on

    def forward(self, x):
        skip64 = self.down_tr64(x)
        skip128 = self.down_tr128(F.max_pool3d(skip64, 2))
        skip256 = self.down_tr256(F.max_pool3d(skip128, 2))
        out512 = self.down_tr512(F.max_pool3d(skip256, 2))
        x = self.up_tr256(out512, skip256)
        x = self.up_tr128(x, skip128)
        x = self.up_tr64(x, skip64)
        return self.out_tr(x)
