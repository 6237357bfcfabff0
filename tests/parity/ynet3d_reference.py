"""A small PyTorch reference of the Semantic Genesis YNet3D, written from the Genesis spec §5.3.

The Models Genesis U-Net of unet3d_reference.py plus a classification head on its bottleneck
(`out512`): Conv3d 3x3x3 (padding 1) to twice the bottleneck's channels (512 -> 1024 in the
released model), batch norm (batch statistics, like the U-Net's ContBatchNorm3d), ReLU, global
average pooling, Linear to the pseudo-classes. The head sits under `clc_out`, the prefix of the
released checkpoint's head keys; the names inside it (`conv`, `bn`, `fc`) are this script's own,
as genesis finds the head's modules by role, not by those names. `forward` returns the sigmoid
restoration and the class logits (the released model applies a softmax on top; genesis returns
logits, so the fixture compares logits).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from unet3d_reference import UNet3D


class ClassificationHead(nn.Module):
    """Conv 3x3x3 -> BatchNorm3d -> ReLU -> global average pool -> Linear (logits)."""

    def __init__(self, c_in, classes):
        super().__init__()
        self.conv = nn.Conv3d(c_in, 2 * c_in, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm3d(2 * c_in)
        self.fc = nn.Linear(2 * c_in, classes)
        self.batch_stats = True

    def forward(self, x):
        bn = self.bn
        y = F.batch_norm(self.conv(x), bn.running_mean, bn.running_var, bn.weight, bn.bias,
                         self.training or self.batch_stats, bn.momentum, bn.eps)
        y = F.relu(y).mean(dim=(2, 3, 4))
        return self.fc(y)


class YNet3D(UNet3D):
    def __init__(self, base=32, in_channels=1, n_class=1, classes=44):
        super().__init__(base=base, in_channels=in_channels, n_class=n_class)
        self.clc_out = ClassificationHead(16 * base, classes)

    def set_batch_stats(self, on):
        super().set_batch_stats(on)
        self.clc_out.batch_stats = on

    def forward(self, x):
        skip64 = self.down_tr64(x)
        skip128 = self.down_tr128(F.max_pool3d(skip64, 2))
        skip256 = self.down_tr256(F.max_pool3d(skip128, 2))
        out512 = self.down_tr512(F.max_pool3d(skip256, 2))
        y = self.up_tr256(out512, skip256)
        y = self.up_tr128(y, skip128)
        y = self.up_tr64(y, skip64)
        return self.out_tr(y), self.clc_out(out512)
