//! The U-Net building blocks shared by the 2-D and 3-D models (spec §5.1): LUConv
//! (conv 3 → batch norm → ReLU), encoder and decoder transitions, the output convolution, and
//! the encode/decode passes over a list of transitions.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, Conv3d, Conv3dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d, PaddingConfig3d};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};

use crate::norm::{BnMode, batch_norm};
use crate::ops::{UpConv, max_pool2d_2, max_pool3d_2};

/// What the blocks need from a convolution of one dimensionality (`D` is the tensor rank:
/// 5 for 3-D volumes, 4 for 2-D images).
pub trait Spatial<const D: usize>: Module + Sized {
    /// A convolution with a cubic kernel of side `kernel` (odd), "same" padding and a bias,
    /// initialised like PyTorch.
    fn conv(c_in: usize, c_out: usize, kernel: usize, device: &Device) -> Self;
    /// Applies the convolution.
    fn apply(&self, x: Tensor<D>) -> Tensor<D>;
    /// 2× max pooling along every spatial axis.
    fn pool(x: Tensor<D>) -> Tensor<D>;
    /// The kernel-2/stride-2 up-convolution of this dimensionality.
    fn up(up: &UpConv<D>, x: Tensor<D>) -> Tensor<D>;
}

impl Spatial<5> for Conv3d {
    fn conv(c_in: usize, c_out: usize, kernel: usize, device: &Device) -> Self {
        let p = kernel / 2;
        Conv3dConfig::new([c_in, c_out], [kernel; 3])
            .with_padding(PaddingConfig3d::Explicit(p, p, p))
            .init(device)
    }
    fn apply(&self, x: Tensor<5>) -> Tensor<5> {
        #[cfg(feature = "cpu")]
        return crate::flex_kernels::conv(self, x);
        #[cfg(not(feature = "cpu"))]
        self.forward(x)
    }
    fn pool(x: Tensor<5>) -> Tensor<5> {
        #[cfg(feature = "cpu")]
        return crate::flex_kernels::max_pool(x, max_pool3d_2);
        #[cfg(not(feature = "cpu"))]
        max_pool3d_2(x)
    }
    fn up(up: &UpConv<5>, x: Tensor<5>) -> Tensor<5> {
        up.forward(x)
    }
}

impl Spatial<4> for Conv2d {
    fn conv(c_in: usize, c_out: usize, kernel: usize, device: &Device) -> Self {
        let p = kernel / 2;
        Conv2dConfig::new([c_in, c_out], [kernel; 2])
            .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
            .init(device)
    }
    fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        #[cfg(feature = "cpu")]
        return crate::flex_kernels::conv(self, x);
        #[cfg(not(feature = "cpu"))]
        self.forward(x)
    }
    fn pool(x: Tensor<4>) -> Tensor<4> {
        #[cfg(feature = "cpu")]
        return crate::flex_kernels::max_pool(x, max_pool2d_2);
        #[cfg(not(feature = "cpu"))]
        max_pool2d_2(x)
    }
    fn up(up: &UpConv<4>, x: Tensor<4>) -> Tensor<4> {
        up.forward(x)
    }
}

/// Convolution (kernel 3, padding 1, bias) → batch norm (ε 1e-5, momentum 0.1) → ReLU.
#[derive(Module, Debug)]
pub struct LuConv<C> {
    /// The convolution.
    pub conv1: C,
    /// The batch norm.
    pub bn1: BatchNorm,
}

impl<C> LuConv<C> {
    /// A block from `c_in` to `c_out` channels.
    pub fn new<const D: usize>(c_in: usize, c_out: usize, device: &Device) -> Self
    where
        C: Spatial<D>,
    {
        Self {
            conv1: C::conv(c_in, c_out, 3, device),
            bn1: BatchNormConfig::new(c_out).init(device),
        }
    }

    /// Applies the block.
    pub fn forward<const D: usize>(&self, x: Tensor<D>, mode: BnMode) -> Tensor<D>
    where
        C: Spatial<D>,
    {
        relu(batch_norm(&self.bn1, self.conv1.apply(x), mode))
    }
}

/// Runs a chain of blocks.
fn chain<C: Spatial<D>, const D: usize>(
    ops: &[LuConv<C>],
    x: Tensor<D>,
    mode: BnMode,
) -> Tensor<D> {
    ops.iter().fold(x, |x, op| op.forward(x, mode))
}

/// An encoder level: two blocks; the caller pools between levels.
#[derive(Module, Debug)]
pub struct DownTransition<C> {
    /// The two blocks (`ops.0`, `ops.1`).
    pub ops: Vec<LuConv<C>>,
}

impl<C> DownTransition<C> {
    /// Encoder level `level` (0 = top) of a net of width `base`: `c_in → base·2^level →
    /// base·2^(level+1)`, with `c_in` the input channels at level 0.
    pub fn new<const D: usize>(c_in: usize, base: usize, level: usize, device: &Device) -> Self
    where
        C: Spatial<D>,
    {
        let mid = base << level;
        let c_in = if level == 0 { c_in } else { mid };
        Self { ops: vec![LuConv::new(c_in, mid, device), LuConv::new(mid, 2 * mid, device)] }
    }

    /// The level's output channels.
    pub fn out_channels(base: usize, level: usize) -> usize {
        base << (level + 1)
    }
}

/// A decoder level: up-convolution, concatenation with the skip (if any), two blocks.
#[derive(Module, Debug)]
pub struct UpTransition<C, const D: usize> {
    /// Kernel-2/stride-2 up-convolution keeping the channel count.
    pub up_conv: UpConv<D>,
    /// The two blocks (`ops.0`, `ops.1`).
    pub ops: Vec<LuConv<C>>,
}

impl<C: Spatial<D>, const D: usize> UpTransition<C, D> {
    /// Decoder level `level` (the encoder level whose resolution it restores): up-convolves the
    /// `base·2^(level+2)` channels from below, appends the `base·2^(level+1)` skip channels when
    /// `skip` is set, and narrows to `base·2^(level+1)`.
    pub fn new(base: usize, level: usize, skip: bool, device: &Device) -> Self {
        let below = base << (level + 2);
        let out = base << (level + 1);
        let c_in = if skip { below + out } else { below };
        Self {
            up_conv: UpConv::new(below, below, device),
            ops: vec![LuConv::new(c_in, out, device), LuConv::new(out, out, device)],
        }
    }

    /// Upsamples `x`, concatenates `[up, skip]` on channels when a skip is given, runs the blocks.
    pub fn forward(&self, x: Tensor<D>, skip: Option<Tensor<D>>, mode: BnMode) -> Tensor<D> {
        let up = C::up(&self.up_conv, x);
        let x = match skip {
            Some(skip) => Tensor::cat(vec![up, skip], 1),
            None => up,
        };
        chain(&self.ops, x, mode)
    }
}

/// The 1×1(×1) output convolution followed by a sigmoid.
#[derive(Module, Debug)]
pub struct OutputTransition<C> {
    /// The convolution to `n_class` channels.
    pub final_conv: C,
}

impl<C> OutputTransition<C> {
    /// From `c_in` to `n_class` channels.
    pub fn new<const D: usize>(c_in: usize, n_class: usize, device: &Device) -> Self
    where
        C: Spatial<D>,
    {
        Self { final_conv: C::conv(c_in, n_class, 1, device) }
    }

    /// Sigmoid of the convolution.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D>
    where
        C: Spatial<D>,
    {
        sigmoid(self.final_conv.apply(x))
    }
}

/// Runs the encoder levels top to bottom, pooling between them; returns the bottleneck and the
/// skip tensors (top first, one per level except the last).
pub fn encode<C: Spatial<D>, const D: usize>(
    levels: &[&DownTransition<C>],
    x: Tensor<D>,
    mode: BnMode,
) -> (Tensor<D>, Vec<Tensor<D>>) {
    let mut skips = Vec::with_capacity(levels.len().saturating_sub(1));
    let mut x = x;
    for (i, level) in levels.iter().enumerate() {
        let out = chain(&level.ops, x, mode);
        if i + 1 == levels.len() {
            return (out, skips);
        }
        x = C::pool(out.clone());
        skips.push(out);
    }
    (x, skips)
}

/// Runs the decoder levels bottom to top; `skips` (top first) are consumed from the bottom, or
/// ignored when `None` (the autoencoder).
pub fn decode<C: Spatial<D>, const D: usize>(
    levels: &[&UpTransition<C, D>],
    bottleneck: Tensor<D>,
    mut skips: Option<Vec<Tensor<D>>>,
    mode: BnMode,
) -> Tensor<D> {
    levels.iter().fold(bottleneck, |x, level| {
        let skip = skips.as_mut().and_then(Vec::pop);
        level.forward(x, skip, mode)
    })
}

/// Global average pooling: `[N, C, S…]` → `[N, C]`.
pub fn global_avg_pool<const D: usize>(x: Tensor<D>) -> Tensor<2> {
    let dims = x.dims();
    x.reshape([dims[0] as i64, dims[1] as i64, -1]).mean_dim(2).reshape([dims[0], dims[1]])
}
