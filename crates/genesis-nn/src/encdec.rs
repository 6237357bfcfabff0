//! The depth-configurable encoder–decoder behind [`crate::UNet2d`] and the autoencoders: the
//! same blocks as the 3-D U-Net, held in lists (`down.0…`, `up.0…`, top level first).

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::blocks::{DownTransition, OutputTransition, Spatial, UpTransition, decode, encode};
use crate::model::{GenesisModel, Network};
use crate::norm::BnMode;

/// Shape of an [`EncoderDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Input channels.
    pub in_channels: usize,
    /// Width of the first block; level d is `base·2^d` wide.
    pub base: usize,
    /// Encoder levels (≥ 2); the net pools `depth − 1` times.
    pub depth: usize,
    /// Output channels (sigmoid).
    pub n_class: usize,
    /// Concatenate encoder skips in the decoder (U-Net) or not (autoencoder, spec §5.4).
    pub skip_connections: bool,
}

/// An encoder–decoder of rank `D` with convolutions `C` (2-D: `Conv2d`, 4; 3-D: `Conv3d`, 5).
#[derive(Module, Debug)]
pub struct EncoderDecoder<C, const D: usize> {
    /// Encoder levels, top first; the last is the bottleneck.
    pub down: Vec<DownTransition<C>>,
    /// Decoder levels, top first (run bottom first).
    pub up: Vec<UpTransition<C, D>>,
    /// Output convolution + sigmoid.
    pub out_tr: OutputTransition<C>,
    /// Input channels.
    pub in_channels: usize,
    /// Whether the decoder concatenates the encoder skips.
    pub skip_connections: bool,
    /// Batch-norm statistics at inference.
    #[module(skip)]
    pub bn_mode: BnMode,
}

impl<C: Spatial<D>, const D: usize> EncoderDecoder<C, D> {
    /// Builds the net with PyTorch's default initialisation; `depth` is clamped to at least 2.
    pub fn new(layout: Layout, bn_mode: BnMode, device: &Device) -> Self {
        let Layout { in_channels, base, n_class, skip_connections, .. } = layout;
        let depth = layout.depth.max(2);
        Self {
            down: (0..depth)
                .map(|l| DownTransition::new::<D>(in_channels, base, l, device))
                .collect(),
            up: (0..depth - 1)
                .map(|l| UpTransition::new(base, l, skip_connections, device))
                .collect(),
            out_tr: OutputTransition::new::<D>(
                DownTransition::<C>::out_channels(base, 0),
                n_class,
                device,
            ),
            in_channels,
            skip_connections,
            bn_mode,
        }
    }

    fn encoder(&self) -> Vec<&DownTransition<C>> {
        self.down.iter().collect()
    }
}

impl<C: Spatial<D>, const D: usize> GenesisModel<D> for EncoderDecoder<C, D> {
    fn forward_features(&self, x: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
        let (bottleneck, skips) = encode(&self.encoder(), x, self.bn_mode);
        let skips = self.skip_connections.then_some(skips);
        let decoder: Vec<_> = self.up.iter().rev().collect();
        let up = decode(&decoder, bottleneck.clone(), skips, self.bn_mode);
        (self.out_tr.forward(up), bottleneck)
    }

    fn features(&self, x: Tensor<D>) -> Tensor<D> {
        encode(&self.encoder(), x, self.bn_mode).0
    }

    fn in_channels(&self) -> usize {
        self.in_channels
    }

    fn poolings(&self) -> usize {
        self.down.len().saturating_sub(1)
    }

    fn bn_mode(&self) -> BnMode {
        self.bn_mode
    }

    fn set_bn_mode(&mut self, mode: BnMode) {
        self.bn_mode = mode;
    }
}

impl<C: Spatial<D>, const D: usize> Network<D> for EncoderDecoder<C, D>
where
    EncoderDecoder<C, D>: Module + burn::module::ModuleDisplay,
    DownTransition<C>: Module,
    OutputTransition<C>: Module,
{
    fn freeze_encoder(mut self) -> Self {
        self.down = self.down.into_iter().map(Module::no_grad).collect();
        self
    }

    fn with_output_of(self, other: Self) -> Self {
        Self { out_tr: other.out_tr, ..self }
    }
    fn output_layer(&self) -> Vec<burn::module::ParamId> {
        crate::model::param_ids(&self.out_tr)
    }
}
