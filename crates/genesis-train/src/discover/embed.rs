//! Patient embeddings (spec §4.1–4.2): every patient resized to a thumbnail, a no-skip
//! autoencoder trained on the thumbnails by MSE with Adam (through the engine's step), and the
//! globally average-pooled bottleneck of each thumbnail as its embedding.

use std::path::Path;

use anyhow::Context;
use genesis_core::Volume;
use genesis_core::resize::{Filter, resize};
use genesis_core::rng::{RngExt, stream};
use genesis_nn::burn::tensor::Device;
use genesis_nn::host::{read, scalar, upload_volumes};
use genesis_nn::loss::mse;
use genesis_nn::{Arch, ArchSpec, BnMode, ModelTask, Network};
use serde::{Deserialize, Serialize};

use super::patients::Patients;
use crate::observer::Observer;
use crate::recipe::{Dim, Optimizer};
use crate::step::Stepper;

/// The network whose bottleneck embeds the patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum EmbedArch {
    /// The no-skip autoencoder (a true autoencoder; the author's recommendation).
    Autoencoder,
    /// The U-Net (the released code's later default; skips let it copy details past the
    /// bottleneck).
    Unet,
}

/// How patients are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EmbedSettings {
    /// The network.
    pub arch: EmbedArch,
    /// Thumbnail side (2-D: side × side; 3-D: side × side × side/2).
    pub size: usize,
    /// Autoencoder training steps.
    pub steps: usize,
    /// Thumbnails per step.
    pub batch: usize,
    /// Adam learning rate (1e-3 in the original).
    pub lr: f64,
    /// Width of the first autoencoder block (32 in the original).
    pub base: usize,
    /// Encoder levels (4 in the original).
    pub levels: usize,
}

impl Default for EmbedSettings {
    fn default() -> Self {
        Self {
            arch: EmbedArch::Autoencoder,
            size: 64,
            steps: 150,
            batch: 8,
            lr: 1e-3,
            base: 16,
            levels: 4,
        }
    }
}

impl EmbedSettings {
    /// The thumbnail shape in `dim`.
    pub fn shape(&self, dim: Dim) -> [usize; 3] {
        match dim {
            Dim::D2 => [self.size, self.size, 1],
            Dim::D3 => [self.size, self.size, (self.size / 2).max(1)],
        }
    }

    /// The network, with running batch-norm statistics (embeddings of single thumbnails).
    fn arch(&self, dim: Dim) -> ArchSpec {
        let arch = match (dim, self.arch) {
            (Dim::D2, EmbedArch::Autoencoder) => Arch::Autoencoder2d,
            (Dim::D3, EmbedArch::Autoencoder) => Arch::Autoencoder3d,
            (Dim::D2, EmbedArch::Unet) => Arch::Unet2d,
            (Dim::D3, EmbedArch::Unet) => Arch::Unet3d,
        };
        ArchSpec { arch, base: self.base, depth: self.levels, classes: 0, bn_mode: BnMode::Running }
    }
}

/// Embeddings of every patient, row-major `[patients, dim]`, and the autoencoder's losses.
pub struct Embedded {
    /// The vectors.
    pub vectors: Vec<f32>,
    /// Length of one vector.
    pub dim: usize,
    /// Training loss before the first and after the last step.
    pub loss: (f64, f64),
}

/// Loads and shrinks every patient to the thumbnail shape.
pub fn thumbnails(patients: &Patients, shape: [usize; 3]) -> anyhow::Result<Vec<Volume>> {
    (0..patients.len())
        .map(|i| {
            let v = patients.load(i)?;
            resize(&v, shape, Filter::Area)
                .with_context(|| format!("cannot resize {}", patients.names()[i]))
        })
        .collect()
}

/// Trains the autoencoder of `settings` on `thumbs` (on `device`, seeded by `seed`) and embeds
/// them; the weights go to `weights`.
pub fn embed(
    thumbs: &[Volume],
    dim: Dim,
    settings: &EmbedSettings,
    (seed, device): (u64, &Device),
    weights: &Path,
    obs: &mut dyn Observer,
) -> anyhow::Result<Embedded> {
    genesis_nn::seed(device, seed);
    let train_device = device.clone().autodiff();
    let job =
        Job { thumbs, settings, seed, device, train_device: train_device.clone(), weights, obs };
    settings.arch(dim).with_model(&train_device, job)
}

/// What [`embed`] hands to the model dispatch.
struct Job<'a> {
    thumbs: &'a [Volume],
    settings: &'a EmbedSettings,
    seed: u64,
    device: &'a Device,
    train_device: Device,
    weights: &'a Path,
    obs: &'a mut dyn Observer,
}

impl ModelTask for Job<'_> {
    type Output = anyhow::Result<Embedded>;

    fn run<M: Network<D>, const D: usize>(self, model: M) -> Self::Output {
        let Job { thumbs, settings, seed, device, train_device, weights, obs } = self;
        let mut stepper = Stepper::new(model, Optimizer::Adam.build(0.0), 0.0);
        obs.begin("autoencoder", settings.steps as u64, 0);
        let (mut first, mut last) = (f64::NAN, f64::NAN);
        for step in 0..settings.steps {
            let mut rng = stream(seed, "discovery-autoencoder", &[step as u64]);
            let picks: Vec<&Volume> = (0..settings.batch.min(thumbs.len()))
                .map(|_| &thumbs[rng.random_range(0..thumbs.len())])
                .collect();
            let x = upload_volumes::<D>(&picks, &train_device);
            let losses =
                stepper.step(settings.lr, vec![x], |m, x, _| vec![mse(m.forward(x.clone()), x)]);
            last = losses.into_iter().flatten().map(scalar).sum();
            if step == 0 {
                first = last;
            }
            if !last.is_finite() {
                anyhow::bail!("the autoencoder loss became {last} at step {step}; lower --ae-lr");
            }
            obs.advance(&format!("mse {last:.5}"));
        }
        obs.end();
        let model = stepper.model().valid();
        genesis_nn::weights::save_file(&model, weights)?;
        let mut vectors = Vec::new();
        for chunk in thumbs.chunks(16) {
            let refs: Vec<&Volume> = chunk.iter().collect();
            vectors.extend(read(model.embed(upload_volumes::<D>(&refs, device)))?);
        }
        let dim = vectors.len() / thumbs.len().max(1);
        Ok(Embedded { vectors, dim, loss: (first, last) })
    }
}
