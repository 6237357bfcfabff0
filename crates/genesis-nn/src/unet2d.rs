//! The 2-D U-Net for chest X-rays: the 3-D model's block design in 2-D, width and depth
//! configurable (the 2-D backbone is unpublished, spec §5.6; this is the documented assumption).

use burn::config::Config;
use burn::nn::conv::Conv2d;
use burn::tensor::Device;

use crate::encdec::{EncoderDecoder, Layout};
use crate::norm::BnMode;

/// The 2-D U-Net: an [`EncoderDecoder`] with skips over `[N, C, H, W]`.
pub type UNet2d = EncoderDecoder<Conv2d, 4>;

/// Configuration of [`UNet2d`]. Base 32, depth 4 mirrors the 3-D model; the web page uses a
/// small one (base 8, depth 3).
#[derive(Config, Debug)]
pub struct UNet2dConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Width of the first block.
    #[config(default = 32)]
    pub base: usize,
    /// Encoder levels (≥ 2); inputs must be divisible by 2^(depth − 1).
    #[config(default = 4)]
    pub depth: usize,
    /// Output channels (sigmoid).
    #[config(default = 1)]
    pub n_class: usize,
    /// Batch-norm statistics at inference.
    #[config(default = "BnMode::Batch")]
    pub bn_mode: BnMode,
}

impl UNet2dConfig {
    /// Builds the model.
    pub fn init(&self, device: &Device) -> UNet2d {
        let layout = Layout {
            in_channels: self.in_channels,
            base: self.base,
            depth: self.depth,
            n_class: self.n_class,
            skip_connections: true,
        };
        EncoderDecoder::new(layout, self.bn_mode, device)
    }
}
