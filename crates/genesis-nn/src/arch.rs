//! Architectures by name, for front ends that pick a model at run time (`--arch unet3d`).

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::head::HeadConfig;
use crate::model::{Network, materialize};
use crate::norm::BnMode;
use crate::semantic::{SemanticGenesis2d, SemanticGenesis3d};
use crate::{AutoencoderConfig, UNet2dConfig, UNet3dConfig};

/// A model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// The Models Genesis 3-D U-Net (spec §5.1).
    Unet3d,
    /// The 2-D U-Net.
    Unet2d,
    /// The 3-D no-skip autoencoder (spec §5.4).
    Autoencoder3d,
    /// The 2-D no-skip autoencoder.
    Autoencoder2d,
    /// Semantic Genesis 3-D: U-Net + head (spec §5.3).
    Semantic3d,
    /// Semantic Genesis 2-D.
    Semantic2d,
}

/// The names `FromStr` accepts, in order.
pub const ARCH_NAMES: [&str; 6] =
    ["unet3d", "unet2d", "autoencoder3d", "autoencoder2d", "semantic3d", "semantic2d"];

const ARCHES: [Arch; 6] = [
    Arch::Unet3d,
    Arch::Unet2d,
    Arch::Autoencoder3d,
    Arch::Autoencoder2d,
    Arch::Semantic3d,
    Arch::Semantic2d,
];

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ARCH_NAMES.iter().position(|n| *n == s).map(|i| ARCHES[i]).ok_or_else(|| {
            format!("unknown architecture '{s}'; expected one of {}", ARCH_NAMES.join(", "))
        })
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = ARCHES.iter().position(|a| a == self).unwrap_or(0);
        f.write_str(ARCH_NAMES[i])
    }
}

/// A fully specified model: family, width, depth, classes and batch-norm mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchSpec {
    /// The family.
    pub arch: Arch,
    /// Width of the first block (32 in the released models).
    pub base: usize,
    /// Encoder levels for the 2-D and autoencoder models (the 3-D U-Net always has 4).
    pub depth: usize,
    /// Classes of the Semantic Genesis head.
    pub classes: usize,
    /// Batch-norm statistics at inference.
    pub bn_mode: BnMode,
}

impl ArchSpec {
    /// The released configuration of `arch`: base 32, depth 4, 44 classes, batch statistics.
    pub fn new(arch: Arch) -> Self {
        Self { arch, base: 32, depth: 4, classes: 44, bn_mode: BnMode::Batch }
    }

    /// Builds the model on `device` and hands it to `task`. Every parameter is initialised now,
    /// in declaration order, on the CPU ([`init_device`]) and then moved, so a seed (see
    /// [`seed`]) gives the same weights whatever uses the model first and on every device.
    pub fn with_model<T: ModelTask>(&self, device: &Device, task: T) -> T::Output {
        let task = OnDevice { device, task };
        let device = &init_device(device);
        let Self { base, depth, bn_mode, .. } = *self;
        let head = HeadConfig::new(0, self.classes);
        let unet2d = UNet2dConfig::new().with_base(base).with_depth(depth).with_bn_mode(bn_mode);
        let unet3d = UNet3dConfig::new().with_base(base).with_bn_mode(bn_mode);
        let ae = AutoencoderConfig::new().with_base(base).with_depth(depth).with_bn_mode(bn_mode);
        match self.arch {
            Arch::Unet3d => run(task, unet3d.init(device)),
            Arch::Unet2d => run(task, unet2d.init(device)),
            Arch::Autoencoder3d => run(task, ae.init3d(device)),
            Arch::Autoencoder2d => run(task, ae.init2d(device)),
            Arch::Semantic3d => run(task, SemanticGenesis3d::new3d(&unet3d, &head, device)),
            Arch::Semantic2d => run(task, SemanticGenesis2d::new2d(&unet2d, &head, device)),
        }
    }
}

/// Hands `model`, its parameters initialised in declaration order, to `task`.
fn run<T: ModelTask, M: Network<D>, const D: usize>(task: T, model: M) -> T::Output {
    materialize(&model);
    task.run(model)
}

/// Where models are initialised before they move to their device: Flex (the CPU), with the
/// autodiff context of `device`. The random draws of an initialisation then come from one
/// generator whatever the device (GPU backends have their own, seeded differently).
pub fn init_device(device: &Device) -> Device {
    Device::flex().with_autodiff_context_from(device)
}

/// Seeds `device`'s generator and the one models are initialised from ([`init_device`]).
pub fn seed(device: &Device, seed: u64) {
    device.seed(seed);
    init_device(device).seed(seed);
}

/// A task run on a model once it has moved from the initialisation device to `device`.
struct OnDevice<'a, T> {
    device: &'a Device,
    task: T,
}

impl<T: ModelTask> ModelTask for OnDevice<'_, T> {
    type Output = T::Output;
    fn run<M: Network<D>, const D: usize>(self, model: M) -> T::Output {
        self.task.run(model.fork(self.device))
    }
}

/// Work to do on a model whose type is chosen at run time (see [`ArchSpec::with_model`]).
pub trait ModelTask {
    /// What the work returns.
    type Output;
    /// Does the work on `model`, a network over rank-`D` tensors.
    fn run<M: Network<D>, const D: usize>(self, model: M) -> Self::Output;
}
