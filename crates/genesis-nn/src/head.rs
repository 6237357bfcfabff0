//! The Semantic Genesis classification head on the bottleneck (spec §5.3), in both published
//! variants.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::blocks::{LuConv, Spatial, global_avg_pool};
use crate::norm::BnMode;

/// Which published head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum HeadKind {
    /// PyTorch: conv 3 to 2·C_in (1024 on the 512-channel bottleneck) → BN → ReLU → GAP → FC C.
    #[default]
    Pytorch,
    /// Keras: conv 3 to C_in (512) → BN → ReLU → GAP → FC 1024 → ReLU → FC C.
    Keras,
}

/// Configuration of [`Head`].
#[derive(Config, Debug)]
pub struct HeadConfig {
    /// Channels of the bottleneck it reads (512 for the released 3-D U-Net).
    pub in_channels: usize,
    /// Number of classes (44 for the released Semantic Genesis).
    pub classes: usize,
    /// The variant.
    #[config(default = "HeadKind::Pytorch")]
    pub kind: HeadKind,
    /// Width of the hidden fully connected layer of the Keras variant.
    #[config(default = 1024)]
    pub hidden: usize,
}

/// Classification head: conv block, global average pooling, one or two linear layers.
#[derive(Module, Debug)]
pub struct Head<C> {
    /// The conv → BN → ReLU block.
    pub conv: LuConv<C>,
    /// The hidden layer (Keras variant only).
    pub fc_hidden: Option<Linear>,
    /// The layer giving the logits.
    pub fc: Linear,
}

impl HeadConfig {
    /// Builds the head for convolutions `C` of rank `D`.
    pub fn init<C: Spatial<D>, const D: usize>(&self, device: &Device) -> Head<C> {
        let width = match self.kind {
            HeadKind::Pytorch => 2 * self.in_channels,
            HeadKind::Keras => self.in_channels,
        };
        let (fc_hidden, fc_in) = match self.kind {
            HeadKind::Pytorch => (None, width),
            HeadKind::Keras => {
                (Some(LinearConfig::new(width, self.hidden).init(device)), self.hidden)
            }
        };
        Head {
            conv: LuConv::new(self.in_channels, width, device),
            fc_hidden,
            fc: LinearConfig::new(fc_in, self.classes).init(device),
        }
    }
}

impl<C> Head<C> {
    /// Logits `[N, classes]` from a bottleneck `[N, C_in, S…]`.
    pub fn forward<const D: usize>(&self, features: Tensor<D>, mode: BnMode) -> Tensor<2>
    where
        C: Spatial<D>,
    {
        let pooled = global_avg_pool(self.conv.forward(features, mode));
        let hidden = match &self.fc_hidden {
            Some(fc) => relu(fc.forward(pooled)),
            None => pooled,
        };
        self.fc.forward(hidden)
    }
}
