//! The no-skip (V-Net style) autoencoder used to embed whole patients for self-discovery
//! (spec §4.1, §5.4): the U-Net without skip concatenation; decoder widths unchanged.

use burn::config::Config;
use burn::nn::conv::{Conv2d, Conv3d};
use burn::tensor::Device;

use crate::encdec::{EncoderDecoder, Layout};
use crate::norm::BnMode;

/// The 3-D autoencoder over `[N, C, X, Y, Z]`.
pub type Autoencoder3d = EncoderDecoder<Conv3d, 5>;
/// The 2-D autoencoder over `[N, C, H, W]`.
pub type Autoencoder2d = EncoderDecoder<Conv2d, 4>;

/// Configuration of the autoencoders; defaults match the 3-D U-Net (base 32, depth 4).
#[derive(Config, Debug)]
pub struct AutoencoderConfig {
    /// Input channels (= output channels).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Width of the first block.
    #[config(default = 32)]
    pub base: usize,
    /// Encoder levels (≥ 2).
    #[config(default = 4)]
    pub depth: usize,
    /// Batch-norm statistics at inference.
    #[config(default = "BnMode::Batch")]
    pub bn_mode: BnMode,
}

impl AutoencoderConfig {
    fn layout(&self) -> Layout {
        Layout {
            in_channels: self.in_channels,
            base: self.base,
            depth: self.depth,
            n_class: self.in_channels,
            skip_connections: false,
        }
    }

    /// Builds the 3-D autoencoder.
    pub fn init3d(&self, device: &Device) -> Autoencoder3d {
        EncoderDecoder::new(self.layout(), self.bn_mode, device)
    }

    /// Builds the 2-D autoencoder.
    pub fn init2d(&self, device: &Device) -> Autoencoder2d {
        EncoderDecoder::new(self.layout(), self.bn_mode, device)
    }
}
