//! Semantic Genesis: a U-Net for restoration plus a classification head on its bottleneck for
//! the self-discovered pseudo-classes (spec §5.3).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv3d};
use burn::tensor::{Device, Tensor};

use crate::blocks::Spatial;
use crate::head::{Head, HeadConfig};
use crate::model::{GenesisModel, Network};
use crate::norm::BnMode;
use crate::unet2d::{UNet2d, UNet2dConfig};
use crate::unet3d::{UNet3d, UNet3dConfig};

/// Restoration and class logits from one pass.
#[derive(Debug, Clone)]
pub struct SemanticOutput<const D: usize> {
    /// Sigmoid restoration, the input's shape.
    pub restoration: Tensor<D>,
    /// Class logits `[N, classes]` (no softmax).
    pub logits: Tensor<2>,
}

/// U-Net `M` with convolutions `C` plus a [`Head`] on the bottleneck.
#[derive(Module, Debug)]
pub struct SemanticGenesis<M, C> {
    /// The restoration U-Net.
    pub unet: M,
    /// The classification head.
    pub head: Head<C>,
}

/// The 3-D Semantic Genesis model.
pub type SemanticGenesis3d = SemanticGenesis<UNet3d, Conv3d>;
/// The 2-D Semantic Genesis model.
pub type SemanticGenesis2d = SemanticGenesis<UNet2d, Conv2d>;

impl SemanticGenesis3d {
    /// Builds the 3-D model; the head's `in_channels` is taken from the U-Net.
    pub fn new3d(unet: &UNet3dConfig, head: &HeadConfig, device: &Device) -> Self {
        let head = HeadConfig { in_channels: unet.base * 16, ..head.clone() };
        Self { unet: unet.init(device), head: head.init::<Conv3d, 5>(device) }
    }
}

impl SemanticGenesis2d {
    /// Builds the 2-D model; the head's `in_channels` is taken from the U-Net.
    pub fn new2d(unet: &UNet2dConfig, head: &HeadConfig, device: &Device) -> Self {
        let head = HeadConfig { in_channels: unet.base << unet.depth.max(2), ..head.clone() };
        Self { unet: unet.init(device), head: head.init::<Conv2d, 4>(device) }
    }
}

impl<M, C> SemanticGenesis<M, C> {
    /// Restoration and logits from one pass.
    pub fn forward_all<const D: usize>(&self, x: Tensor<D>) -> SemanticOutput<D>
    where
        M: GenesisModel<D>,
        C: Spatial<D>,
    {
        let (restoration, features) = self.unet.forward_features(x);
        let logits = self.head.forward(features, self.unet.bn_mode());
        SemanticOutput { restoration, logits }
    }
}

impl<M: GenesisModel<D>, C: Spatial<D>, const D: usize> GenesisModel<D> for SemanticGenesis<M, C> {
    fn forward_features(&self, x: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
        self.unet.forward_features(x)
    }

    fn features(&self, x: Tensor<D>) -> Tensor<D> {
        self.unet.features(x)
    }

    fn in_channels(&self) -> usize {
        self.unet.in_channels()
    }

    fn poolings(&self) -> usize {
        self.unet.poolings()
    }

    fn bn_mode(&self) -> BnMode {
        self.unet.bn_mode()
    }

    fn set_bn_mode(&mut self, mode: BnMode) {
        self.unet.set_bn_mode(mode);
    }

    fn outputs(&self, x: Tensor<D>) -> (Tensor<D>, Option<Tensor<2>>) {
        let out = self.forward_all(x);
        (out.restoration, Some(out.logits))
    }

    fn classify(&self, x: Tensor<D>) -> Option<Tensor<2>> {
        Some(self.head.forward(self.unet.features(x), self.unet.bn_mode()))
    }
}

impl<M: Network<D>, C: Spatial<D>, const D: usize> Network<D> for SemanticGenesis<M, C>
where
    SemanticGenesis<M, C>: Module + burn::module::ModuleDisplay,
{
    fn freeze_encoder(self) -> Self {
        Self { unet: self.unet.freeze_encoder(), ..self }
    }

    fn with_output_of(self, other: Self) -> Self {
        Self { unet: self.unet.with_output_of(other.unet), ..self }
    }
    fn output_layer(&self) -> Vec<burn::module::ParamId> {
        self.unet.output_layer()
    }
}
