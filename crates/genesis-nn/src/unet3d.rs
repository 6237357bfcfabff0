//! The Models Genesis 3-D U-Net (spec §5.1), with PyTorch's parameter names.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv3d;
use burn::tensor::{Device, Tensor};

use crate::blocks::{DownTransition, OutputTransition, UpTransition, decode, encode};
use crate::model::{GenesisModel, Network};
use crate::norm::BnMode;

/// Configuration of [`UNet3d`]; the defaults give the released 19,073,665-parameter model.
#[derive(Config, Debug)]
pub struct UNet3dConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Width of the first block (32 in the released model); level d is `base·2^d` wide.
    #[config(default = 32)]
    pub base: usize,
    /// Output channels (sigmoid).
    #[config(default = 1)]
    pub n_class: usize,
    /// Batch-norm statistics at inference.
    #[config(default = "BnMode::Batch")]
    pub bn_mode: BnMode,
}

/// The 3-D U-Net: four encoder levels (three 2× poolings), three decoder levels with skip
/// concatenation, a 1×1×1 sigmoid output. Field names mirror PyTorch's `UNet3D` so released
/// weights load (`down_tr64.ops.0.conv1.weight`, `up_tr256.up_conv.weight`, …).
#[derive(Module, Debug)]
pub struct UNet3d {
    /// Encoder level 0 (32, 64 channels at base 32).
    pub down_tr64: DownTransition<Conv3d>,
    /// Encoder level 1.
    pub down_tr128: DownTransition<Conv3d>,
    /// Encoder level 2.
    pub down_tr256: DownTransition<Conv3d>,
    /// Encoder level 3, the bottleneck (`out512`), not pooled.
    pub down_tr512: DownTransition<Conv3d>,
    /// Decoder level restoring level 2.
    pub up_tr256: UpTransition<Conv3d, 5>,
    /// Decoder level restoring level 1.
    pub up_tr128: UpTransition<Conv3d, 5>,
    /// Decoder level restoring level 0.
    pub up_tr64: UpTransition<Conv3d, 5>,
    /// Output convolution + sigmoid.
    pub out_tr: OutputTransition<Conv3d>,
    /// Input channels.
    pub in_channels: usize,
    /// Batch-norm statistics at inference.
    #[module(skip)]
    pub bn_mode: BnMode,
}

impl UNet3dConfig {
    /// Builds the model with PyTorch's default initialisation.
    pub fn init(&self, device: &Device) -> UNet3d {
        let (c, b) = (self.in_channels, self.base);
        UNet3d {
            down_tr64: DownTransition::new::<5>(c, b, 0, device),
            down_tr128: DownTransition::new::<5>(c, b, 1, device),
            down_tr256: DownTransition::new::<5>(c, b, 2, device),
            down_tr512: DownTransition::new::<5>(c, b, 3, device),
            up_tr256: UpTransition::new(b, 2, true, device),
            up_tr128: UpTransition::new(b, 1, true, device),
            up_tr64: UpTransition::new(b, 0, true, device),
            out_tr: OutputTransition::new::<5>(
                DownTransition::<Conv3d>::out_channels(b, 0),
                self.n_class,
                device,
            ),
            in_channels: c,
            bn_mode: self.bn_mode,
        }
    }
}

impl UNet3d {
    fn encoder(&self) -> [&DownTransition<Conv3d>; 4] {
        [&self.down_tr64, &self.down_tr128, &self.down_tr256, &self.down_tr512]
    }
}

impl GenesisModel<5> for UNet3d {
    fn forward_features(&self, x: Tensor<5>) -> (Tensor<5>, Tensor<5>) {
        let (bottleneck, skips) = encode(&self.encoder(), x, self.bn_mode);
        let up = decode(
            &[&self.up_tr256, &self.up_tr128, &self.up_tr64],
            bottleneck.clone(),
            Some(skips),
            self.bn_mode,
        );
        (self.out_tr.forward(up), bottleneck)
    }

    fn features(&self, x: Tensor<5>) -> Tensor<5> {
        encode(&self.encoder(), x, self.bn_mode).0
    }

    fn in_channels(&self) -> usize {
        self.in_channels
    }

    fn poolings(&self) -> usize {
        3
    }

    fn bn_mode(&self) -> BnMode {
        self.bn_mode
    }

    fn set_bn_mode(&mut self, mode: BnMode) {
        self.bn_mode = mode;
    }
}

impl Network<5> for UNet3d {
    fn freeze_encoder(mut self) -> Self {
        self.down_tr64 = self.down_tr64.no_grad();
        self.down_tr128 = self.down_tr128.no_grad();
        self.down_tr256 = self.down_tr256.no_grad();
        self.down_tr512 = self.down_tr512.no_grad();
        self
    }

    fn with_output_of(self, other: Self) -> Self {
        Self { out_tr: other.out_tr, ..self }
    }
    fn output_layer(&self) -> Vec<burn::module::ParamId> {
        crate::model::param_ids(&self.out_tr)
    }
}
